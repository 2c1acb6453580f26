"""The lead funnel counts a lead as converted only when its deal exists (issue 16 item 7)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from queries.runner import Runner
from saleslens.core import store
from tests import fixtures


def test_a_link_to_no_deal_converts_nothing(tmp_path: Path) -> None:
    """L1 became O1 (won, 1,000); L2 and L3 carry their own ids as 'deals' (no such deal); L4 has none.
    4 leads, 1 qualified (L1, by its real deal), 1 converted, 1 won."""
    snap = fixtures.build_store(tmp_path)
    leads = pl.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4"], "source": ["Web"] * 4, "owner_id": ["R1"] * 4,
        "created_date": [date(2026, 1, 2)] * 4, "converted_opportunity_id": ["O1", "L2", "L3", None],
    })
    tables = {name: pl.read_parquet(snap.table_path(name))
              for name in ("stages", "reps", "accounts", "products", "opportunities", "targets")}
    store.publish_snapshot(tmp_path, snap.as_of, {**tables, "leads": leads}, source="tests")
    r = Runner(store.open_snapshot(tmp_path))
    try:
        total = r.run("lead_funnel_by_source", start=None, end=None).filter(pl.col("is_total")).row(0, named=True)
        assert (total["leads"], total["qualified"], total["converted"], total["won"]) == (4, 1, 1, 1)
        assert total["won_amount"] == 1000.0
        drill = r.run("lead_funnel_by_lead", step="converted", start=None, end=None)
        assert drill["lead_id"].to_list() == ["L1"]
    finally:
        r.close()
