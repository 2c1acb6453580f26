"""Deal lists in multi-currency data: the pipeline-changes drill-down and the Targets open-deals list show each
deal's own amount and currency beside the converted amount.

Snapshots A (2026-06-23) and B (2026-06-30) of tests/funnel_fixtures.py, with two deals in other currencies:
D3 is EUR 2,000 in both (2,500 in A, 3,000 in B: the rate moved, not the deal) and F2, new in B, is COP 2,400,000.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from queries.runner import Runner
from saleslens.core import store
from tests import funnel_fixtures as ff
from tests import support

ORIGINALS = {"D3": ("EUR", 2000.0), "F2": ("COP", 2_400_000.0)}


def _with_currencies(opps: pl.DataFrame) -> pl.DataFrame:
    """The deals with their own currency and amount in it where they have one (the others: no currency)."""
    ids = opps["opportunity_id"].to_list()
    return opps.with_columns(
        pl.Series("currency", [ORIGINALS.get(i, (None, None))[0] for i in ids], dtype=pl.String),
        pl.Series("amount_original", [ORIGINALS.get(i, (None, None))[1] for i in ids], dtype=pl.Float64),
    )


def _build(data_dir: Path) -> None:
    for day, opps in ((ff.AS_OF_A, ff.OPPORTUNITIES_A), (ff.AS_OF_B, ff.OPPORTUNITIES_B)):
        tables = {"stages": ff.STAGES, "reps": ff.REPS, "accounts": ff.ACCOUNTS, "products": ff.PRODUCTS,
                  "opportunities": _with_currencies(opps)}
        store.publish_snapshot(data_dir, day, tables, source="currency tests")


data_dir, runner = support.store_fixtures("originals", _build)


def test_pipeline_changes_show_the_original_amounts(runner: Runner) -> None:
    """D3 'increased' by 500 in dollars while its euro amount stayed 2,000: the rate moved."""
    deals = runner.run("pipeline_changes_by_deal", **ff.Q2)
    d3 = deals.filter(pl.col("opportunity_id") == "D3").row(0, named=True)
    assert (d3["category"], d3["amount_before"], d3["amount_after"], d3["change"]) == ("increased", 2500.0, 3000.0,
                                                                                       500.0)
    assert (d3["currency"], d3["amount_original_before"], d3["amount_original_after"]) == ("EUR", 2000.0, 2000.0)
    f2 = deals.filter(pl.col("opportunity_id") == "F2").row(0, named=True)
    assert (f2["category"], f2["currency"], f2["amount_original_before"], f2["amount_original_after"]) == (
        "new", "COP", None, 2_400_000.0)  # not in the first snapshot
    d4 = deals.filter(pl.col("opportunity_id") == "D4").row(0, named=True)
    assert (d4["currency"], d4["amount_original_before"], d4["amount_original_after"]) == (None, None, None)
    # The columns sit after the converted amounts and the change.
    at = deals.columns.index("change")
    assert deals.columns[at + 1:at + 4] == ["currency", "amount_original_before", "amount_original_after"]


def test_open_deals_originals(runner: Runner) -> None:
    """B's open deals with a currency: D3 and F2 (both open); deals without one are not listed."""
    rows = runner.run("open_deals_by_deal").rows()
    assert rows == [("D3", 2000.0, "EUR"), ("F2", 2_400_000.0, "COP")]
