"""kpis_by_group reads the period's whole months from the monthly rollups and only the days outside them from the
deals and the daily activity counts: the same numbers as reading every deal (the query before, kept beside this
file), on the tiny set worked out by hand and on the S demo for every dimension, filter and kind of period."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from queries import catalog
from queries.runner import Runner, Scope
from saleslens.core import store
from tests import support

BEFORE = Path(__file__).with_name("kpis_by_group_deals.sql")


def test_a_period_of_whole_months_and_edge_days_counts_each_close_once(tiny: Runner) -> None:
    # 2026-01-15..04-20 (tests/fixtures.py): whole months Feb and Mar from the rollup, Jan 15-31 and Apr 1-20 from the
    # deals. Closed: O1 won 1000 on 02-10 (31 days), O2 lost on 03-20, O3 won 6000 on 04-15 (an edge day, 73 days);
    # O4 closed 05-01, outside. Targets starting Feb 1, Mar 1, Apr 1: R1 3 x 1000, R2 3 x 2000, R3 1500 + 1500 + 2000.
    # No open deal is expected in the period (O5 07-15, O6 06-30). Activities X2 (02-03), X3 (03-01), X4 (04-02, an
    # edge day); X1 (01-12) is before the period.
    frame = tiny.run("kpis_by_group", by="org", start=date(2026, 1, 15), end=date(2026, 4, 20))
    got = frame.row(0, named=True)
    assert (got["bookings"], got["deals_won"], got["deals_lost"]) == (7000.0, 2, 1)
    assert got["cycle_days"] == pytest.approx((31 + 73) / 2)
    assert got["target"] == 3000.0 + 6000.0 + 5000.0
    assert got["attainment"] == pytest.approx(7000 / 14000)
    assert (got["open_deals"], got["open_pipeline"], got["activities"]) == (0, 0.0, 3)


def test_each_rep_gets_their_own_whole_months_and_edge_days(tiny: Runner) -> None:
    # The same period by rep: R1 O1 won (Feb), O2 lost (Mar), X2; R2 O3 won on an edge day, X3; R3 nothing closed,
    # X4 on an edge day, target 5000.
    frame = tiny.run("kpis_by_group", by="rep", start=date(2026, 1, 15), end=date(2026, 4, 20))
    got = {r["group_key"]: (r["bookings"], r["deals_won"], r["deals_lost"], r["target"], r["activities"])
           for r in frame.iter_rows(named=True)}
    assert got == {"R1": (1000.0, 1, 1, 3000.0, 1), "R2": (6000.0, 1, 0, 6000.0, 1), "R3": (0.0, 0, 0, 5000.0, 1)}


def test_a_period_inside_one_month_reads_only_the_deals(tiny: Runner) -> None:
    # 02-05..02-20: no whole month; O1 (02-10) once, X2 (02-03) is before it, no target starts in it.
    got = tiny.run("kpis_by_group", by="org", start=date(2026, 2, 5), end=date(2026, 2, 20)).row(0, named=True)
    assert (got["bookings"], got["deals_won"], got["deals_lost"], got["target"], got["activities"]) == (
        1000.0, 1, 0, None, 0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the S demo (its derived tables written at publish, the rollups among them)."""
    return support.demo_copy(tmp_path_factory, "kpis-rollup")


@pytest.fixture(scope="module")
def everyone(demo: Path) -> Iterator[Runner]:
    yield from support.open_runner(demo)


def _cases(snap: store.Snapshot) -> Iterator[dict[str, object]]:
    """Every dimension with periods of whole months, edge days, one month's days and open bounds, and each filter."""
    reps = pl.read_parquet(snap.table_path("reps")).filter(pl.col("role") == "AE").sort("rep_id")
    product = pl.read_parquet(snap.table_path("products"))["product_id"].sort()[0]
    segment = pl.read_parquet(snap.table_path("accounts"))["segment"].drop_nulls().sort()[0]
    a, y = snap.as_of, snap.as_of.year
    periods = [(None, None), (date(y, 10, 1), date(y, 12, 31)), (date(y, 10, 1), a), (date(y, 7, 1), date(y, 9, a.day)),
               (date(y, 10, 5), date(y, 10, 20)), (date(y - 1, 1, 15), date(y, 11, 3)), (None, date(y, 6, 30)),
               (date(y, 3, 1), None), (date(y, 2, 28), date(y, 3, 1))]
    filters = [{}, {"regions": [reps["region"][0]]}, {"teams": [reps["team"][0]]}, {"reps": [reps["rep_id"][0]]},
               {"products": [product]}, {"segments": [segment]}, {"sources": ["Inbound", "Referral"]}]
    dimensions = ("org", "region", "team", "manager", "rep", "source")
    for (start, end), f, by in itertools.product(periods, filters, dimensions):
        yield {"by": by, "start": start, "end": end, **f}


def _same_as_before(runner: Runner) -> int:
    """Compare the shipped query with the one before on every case; how many cases were compared."""
    query = catalog.get("kpis_by_group")
    before = catalog.expand(BEFORE.read_text(encoding="utf-8"), BEFORE.name)
    cur = runner._db.cursor()
    n = 0
    try:
        for params in _cases(runner.snapshot):
            bound = catalog.bind(query, params)
            new, old = cur.sql(query.sql, params=bound).pl(), cur.sql(before, params=bound).pl()
            # amounts are whole numbers, so even the sums are exact whatever the order they are added in
            assert_frame_equal(new, old, check_exact=True)
            n += 1
    finally:
        cur.close()
    return n


def test_the_s_demo_gets_the_same_kpis_as_from_every_deal(everyone: Runner) -> None:
    assert runner_reads_the_stored_rollups(everyone)
    assert _same_as_before(everyone) == 9 * 7 * 6


def test_a_row_scoped_viewer_gets_the_same_kpis_as_from_every_deal(demo: Path) -> None:
    snap = store.open_snapshot(demo)
    reps = pl.read_parquet(snap.table_path("reps")).sort("rep_id")
    team = reps["team"].drop_nulls()[0]
    mine = frozenset(reps.filter(pl.col("team") == team)["rep_id"].to_list() + reps["rep_id"][:3].to_list())
    runner = Runner(snap, Scope("some reps", mine))
    try:
        assert _same_as_before(runner) == 9 * 7 * 6
        # the viewer's organisation is their reps only
        org = runner.run("kpis_by_group", by="rep")
        assert set(org["group_key"].to_list()) <= mine
    finally:
        runner.close()


def runner_reads_the_stored_rollups(runner: Runner) -> bool:
    """Whether the demo's snapshot has the rollups the query reads as files (written at publish)."""
    from queries.runner import derived_file

    return all(derived_file(runner.snapshot, name).exists() for name in ("rep_kpis_by_month", "rep_targets"))
