"""saleslens.health.load on the tiny dataset (tests/fixtures.py, one snapshot as of 2026-06-30) and a variant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import from_query
from saleslens.health import load as hl
from tests import fixtures, support


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    yield from support.open_runner(support.built_store(tmp_path_factory, "health_load", fixtures.build_store))


def ctx_for(runner: Runner, query: dict[str, str] | None = None) -> Ctx:
    return Ctx(runner.snapshot.data_dir, runner.snapshot, runner, from_query(query or {}, runner.snapshot.as_of))


def test_default_choices(runner: Runner) -> None:
    view = hl.load(ctx_for(runner), hl.Choices(), today=date(2026, 7, 10))
    fr = view.freshness
    # One snapshot, as of 30 Jun: 10 days old on 10 Jul, and no history to compare close dates with.
    assert (fr.latest.as_of, fr.age, fr.count, fr.history, fr.older) == (date(2026, 6, 30), 10, 1, 1, False)
    assert view.slips is None and view.slips_fig is None
    c = view.completeness
    assert c.table == "opportunities" and c.tables[c.default] == "opportunities" and c.fig is not None
    # Open O5 (4,000, silent 90 days) and O6 (1,000, 60 days) are stale at 30 days.
    assert view.stale.deals["opportunity_id"].to_list() == ["O5", "O6"]
    assert view.stale.open_deals == 2 and view.stale.fig is not None
    # Every deal has an amount; the two accounts do not look alike; every reference links.
    assert (view.amounts.missing, view.amounts.fig, view.amounts.deals) == (0, None, None)
    assert view.duplicates.pairs.height == 0 and view.duplicates.similarity == 0.93
    assert view.unlinked.height == 0
    assert view.figures() == [c.fig, view.stale.fig]


def test_choices_move_the_sections(runner: Runner) -> None:
    view = hl.load(ctx_for(runner), hl.Choices(table="accounts", stale_days=61), today=date(2026, 6, 30))
    assert view.freshness.age == 0
    assert view.completeness.table == "accounts"
    assert view.stale.days == 61 and view.stale.deals["opportunity_id"].to_list() == ["O5"]  # 90 days silent
    # A table that is not there falls back to the default.
    assert hl.load_completeness(ctx_for(runner), "leads").table == "opportunities"
    # R2's deals only: O6 is stale, O5 (R3) is not.
    assert hl.load_stale(ctx_for(runner, {"rep": "R2"}), 30).deals["opportunity_id"].to_list() == ["O6"]


def test_missing_amounts_list_the_deals(tmp_path: Path) -> None:
    """O5 (open) and O7 (lost) without an amount: 2 of 7 deals, listed open first."""
    opps = fixtures.OPPORTUNITIES.with_columns(
        pl.when(pl.col("opportunity_id").is_in(["O5", "O7"])).then(None).otherwise(pl.col("amount")).alias("amount"))
    fixtures.build_store(tmp_path, opps)
    r = Runner(store.open_snapshot(tmp_path))
    try:
        a = hl.load_amounts(ctx_for(r))
        assert a.missing == 2 and a.by_stage["deals"].sum() == 7
        assert a.deals["opportunity_id"].to_list() == ["O5", "O7"] and "owner_id" not in a.deals.columns
        assert a.fig is not None
    finally:
        r.close()


def _store_with(tmp_path: Path, opps: pl.DataFrame) -> Runner:
    fixtures.build_store(tmp_path, opps)
    return Runner(store.open_snapshot(tmp_path))


def test_zero_amounts_are_reported(tmp_path: Path) -> None:
    """O1 and O3 (won) and O6 (open) at 0: 3 deals reported, 2 of them won; no deal lacks an amount."""
    opps = fixtures.OPPORTUNITIES.with_columns(
        pl.when(pl.col("opportunity_id").is_in(["O1", "O3", "O6"])).then(0.0).otherwise(pl.col("amount"))
        .alias("amount"))
    r = _store_with(tmp_path, opps)
    try:
        a = hl.load_amounts(ctx_for(r))
        assert (a.missing, a.zero, a.zero_won) == (0, 3, 2)
        assert sorted(a.deals["opportunity_id"].to_list()) == ["O1", "O3", "O6"]
        assert a.deals.filter(pl.col("opportunity_id") == "O6")["amount"].to_list() == [0.0]
        assert a.fig is not None
    finally:
        r.close()


def test_completeness_counts_only_the_deals_a_field_applies_to(runner: Runner) -> None:
    """Lost reason on the 2 lost deals, close date on the 5 closed, forecast category and expected close on the
    2 open; owner_id on all 7."""
    by_field = hl.load_completeness(ctx_for(runner), None).by_field.filter(pl.col("table_name") == "opportunities")
    rows = {r["field"]: (r["row_count"], r["filled"]) for r in by_field.iter_rows(named=True)}
    assert rows["lost_reason"] == (2, 0)
    assert rows["close_date"] == (5, 5)
    assert rows["forecast_category"] == (2, 0)
    assert rows["expected_close_date"] == (2, 2)
    assert rows["owner_id"] == (7, 7)


def test_lead_links_to_no_deal_are_reported(tmp_path: Path) -> None:
    """L1 names O1 (a deal), L2 names X9 (none), L3 names none: one lead link points nowhere."""
    snap = fixtures.build_store(tmp_path)
    leads = pl.DataFrame({
        "lead_id": ["L1", "L2", "L3"], "source": ["Web"] * 3, "owner_id": ["R1"] * 3,
        "created_date": [date(2026, 1, 2)] * 3, "converted_opportunity_id": ["O1", "X9", None],
    })
    tables = {name: pl.read_parquet(snap.table_path(name)) for name in ("stages", "reps", "accounts", "products",
                                                                          "opportunities", "targets")}
    store.publish_snapshot(tmp_path, snap.as_of, {**tables, "leads": leads}, source="tests")
    r = Runner(store.open_snapshot(tmp_path))
    try:
        unlinked = hl.load(ctx_for(r), hl.Choices(), today=date(2026, 7, 1)).unlinked
        row = unlinked.filter(pl.col("relation") == "leads.converted_opportunity_id → opportunities")
        assert (row["not_found"].to_list(), row["example"].to_list()) == ([1], ["X9"])
    finally:
        r.close()


@pytest.mark.parametrize(("n", "expected"), [(1, "1 deal, $5"), (2, "2 deals, $5")])
def test_one_deal_is_a_deal(n: int, expected: str) -> None:
    """'1 deal', never '1 deals'."""
    from saleslens.health.words import plural

    assert plural("health.chart.stale_text", n, "en", deals=n, amount="$5") == expected
