"""Deal lists in a two-currency dataset: each deal's original amount and currency beside the converted amount, and
the deals whose currency had no rate. A literal store; every expected value worked out by hand."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import money, store
from tests import fixtures

# Reporting currency USD; EUR at 0.9 per USD. O5 (open, R3): EUR 3,600 -> 4,000 USD. O6 (open, R2): COP 4,000,000
# with no rate -> no amount. O1 (won, R1): USD 1,000 as written. The other deals as in the tiny dataset, in USD.
ORIGINAL = {"O1": (1000.0, "USD"), "O2": (5000.0, "USD"), "O3": (6000.0, "USD"), "O4": (2000.0, "USD"),
            "O5": (3600.0, "EUR"), "O6": (4_000_000.0, "COP"), "O7": (800.0, "USD")}
CONVERTED = {"O5": 4000.0, "O6": None}


@pytest.fixture(scope="module")
def two_currencies(tmp_path_factory: pytest.TempPathFactory) -> store.Snapshot:
    """The tiny dataset with currencies: O5 in EUR, O6 in COP without a rate."""
    opps = fixtures.OPPORTUNITIES
    ids = opps["opportunity_id"].to_list()
    opps = opps.with_columns(
        pl.Series("amount", [CONVERTED.get(i, a) for i, a in zip(ids, opps["amount"].to_list(), strict=True)]),
        pl.Series("amount_original", [ORIGINAL[i][0] for i in ids]),
        pl.Series("currency", [ORIGINAL[i][1] for i in ids]),
    )
    snap = fixtures.build_store(tmp_path_factory.mktemp("money"), opps)
    return snap


@pytest.fixture(scope="module")
def single_currency(tmp_path_factory: pytest.TempPathFactory) -> store.Snapshot:
    """The tiny dataset as a snapshot published before the currency columns joined the schema: its Parquet file
    lacks them (publishing today writes every schema column, so they are dropped here)."""
    snap = fixtures.build_store(tmp_path_factory.mktemp("plain"))
    path = snap.table_path("opportunities")
    pl.read_parquet(path).drop("currency", "amount_original").write_parquet(path)
    return snap


def test_open_deals_carry_original_amount_and_currency(two_currencies: store.Snapshot) -> None:
    """Open deals: O5 (R3) and O6 (R2); O6 has no amount, so it sorts last (amount desc nulls last)."""
    rows = Runner(two_currencies).run("rep_open_deals_by_deal", as_of=date(2026, 6, 30))
    got = rows.select("opportunity_id", "amount", "amount_original", "currency").rows()
    assert got == [("O5", 4000.0, 3600.0, "EUR"), ("O6", None, 4_000_000.0, "COP")]


def test_funnel_drill_down_carries_them_too(two_currencies: store.Snapshot) -> None:
    """Every deal of the current funnel in H1 2026 (all seven were in play), each with its own currency."""
    rows = Runner(two_currencies).run("deals_by_funnel_stage", method="current", start=date(2026, 1, 1),
                                      end=date(2026, 6, 30))
    got = {r["opportunity_id"]: (r["amount_original"], r["currency"]) for r in rows.iter_rows(named=True)}
    assert got == ORIGINAL


def test_deals_without_a_rate_by_currency(two_currencies: store.Snapshot, single_currency: store.Snapshot) -> None:
    """Only O6: COP, one deal, 4,000,000 in its own currency. A dataset without currencies has none."""
    rows = Runner(two_currencies).run("deals_without_rate_by_currency")
    assert rows.rows() == [("COP", 1, 4_000_000.0)]
    assert money.without_rate_note(rows, "en") == (
        "1 deal(s) in COP have no conversion rate and are left out of money figures "
        "(see Data health and the import report).")
    assert money.without_rate_note(rows, "zh").startswith("1 个 COP 商机没有汇率")
    assert Runner(single_currency).run("deals_without_rate_by_currency").is_empty()


def test_old_snapshots_expose_the_columns_empty(single_currency: store.Snapshot) -> None:
    """A snapshot written without the columns still answers the query; the list drops the empty columns."""
    assert "currency" not in pl.read_parquet_schema(single_currency.table_path("opportunities"))
    rows = Runner(single_currency).run("rep_open_deals_by_deal", as_of=date(2026, 6, 30))
    assert rows["currency"].to_list() == [None, None] and rows["amount_original"].to_list() == [None, None]
    assert "currency" not in money.with_original(rows).columns
    assert "amount_original" not in money.with_original(rows).columns


def test_with_original_puts_them_beside_the_amount() -> None:
    frame = pl.DataFrame({"id": ["a"], "amount": [1.0], "stage": ["x"], "amount_original": [2.0],
                          "currency": ["EUR"]})
    assert money.with_original(frame).columns == ["id", "amount", "amount_original", "currency", "stage"]
    plain = frame.with_columns(pl.lit(None, dtype=pl.String).alias("currency"))
    assert money.with_original(plain).columns == ["id", "amount", "stage"]




def test_review_pack_tables_add_them_only_with_currencies(two_currencies: store.Snapshot,
                                                         single_currency: store.Snapshot) -> None:
    """The review pack's open-deals table: original amount and currency after the amount, only when deals have a
    currency; the single-currency pack keeps its columns."""
    from saleslens.rankings import review

    with_money = Runner(two_currencies).run("rep_open_deals_by_deal", as_of=date(2026, 6, 30))
    cols = [c for c, _, _ in review._with_original(review.OPEN_SPEC, with_money)]
    assert cols == ["owner_name", "account_name", "stage", "amount", "amount_original", "currency",
                    "expected_close_date", "age_days"]
    plain = Runner(single_currency).run("rep_open_deals_by_deal", as_of=date(2026, 6, 30))
    assert review._with_original(review.OPEN_SPEC, plain) == review.OPEN_SPEC
