"""Pipeline changes between two snapshots: the waterfall categories and the runner's compare snapshot.

Snapshot A (2026-06-23) and B (2026-06-30) of tests/funnel_fixtures.py; period Q2 2026 (expected closes).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner, Scope
from saleslens.core import store
from tests import funnel_fixtures as ff
from tests import support

Q2 = ff.Q2


# The fixture store, built once for the module, and a runner on its latest snapshot.
data_dir, runner = support.store_fixtures("changes", ff.build_store)


def waterfall(frame: pl.DataFrame) -> dict[str, tuple[int, float]]:
    return {r["category"]: (r["deals"], r["amount"]) for r in frame.iter_rows(named=True)}


def test_one_deal_in_each_category(runner: Runner) -> None:
    bars = runner.run("pipeline_changes_by_category", **Q2)
    assert bars["category"].to_list() == ["start", "new", "increased", "decreased", "pulled_in", "pushed_out",
                                          "won", "lost", "remainder", "end"]
    # Open in A and expected to close in Q2: D3 2,500, D4 700, D5 1,500, D6 4,000, E3 5,000, F3 1,200, F4 900,
    # F5 300 = 16,100 (F1 was due Jul 10). Open in B and due in Q2: D3 3,000, D4 500, F1 2,500, F2 600, F3 1,200,
    # F5 300 = 8,100 (E3 is now due Jul 15).
    assert waterfall(bars) == {
        "start": (8, 16100.0),
        "new": (1, 600.0),          # F2, created after A
        "increased": (1, 500.0),    # D3 2,500 -> 3,000
        "decreased": (1, -200.0),   # D4 700 -> 500
        "pulled_in": (1, 2500.0),   # F1 due Jul 10 -> Jun 29
        "pushed_out": (1, -5000.0),  # E3 due Jun 25 -> Jul 15
        "won": (1, -4000.0),        # D6
        "lost": (1, -1500.0),       # D5
        "remainder": (3, -900.0),   # F4 deleted -900; F3 and F5 unchanged 0
        "end": (6, 8100.0),
    }
    # 16,100 + 600 + 500 - 200 + 2,500 - 5,000 - 4,000 - 1,500 - 900 = 8,100: the bars add up.
    changes = bars.filter(pl.col("kind") == "change")["amount"].sum()
    assert bars["amount"][0] + changes == bars["amount"][-1]
    assert bars["running_total"][-2] == 8100.0
    assert (bars["first_snapshot"][0], bars["second_snapshot"][0]) == ("2026-06-23", "2026-06-30")


def test_filters_are_applied_to_each_snapshot(runner: Runner) -> None:
    # East (R1, R2). A: D3 2,500, D6 4,000, F4 900, F5 300 (R1 then) = 7,700. B: D3 3,000, F1 2,500, F2 600 = 6,100.
    bars = waterfall(runner.run("pipeline_changes_by_category", regions=["East"], **Q2))
    assert bars["start"] == (4, 7700.0) and bars["end"] == (3, 6100.0)
    assert bars["won"] == (1, -4000.0) and bars["lost"] == (0, 0.0) and bars["pushed_out"] == (0, 0.0)
    # F4 deleted (-900) and F5 handed to R3 in the West (-300) are the remainder.
    assert bars["remainder"] == (2, -1200.0)
    deals = runner.run("pipeline_changes_by_deal", category="remainder", regions=["East"], **Q2)
    assert dict(zip(deals["opportunity_id"], deals["remainder_reason"], strict=True)) == {
        "F4": "deleted", "F5": "left_filters"}


def test_filters_matching_nothing_and_no_period(runner: Runner) -> None:
    bars = runner.run("pipeline_changes_by_category", regions=["Atlantis"], **Q2)
    assert bars.height == 10 and bars["deals"].sum() == 0 and bars["amount"].sum() == 0
    # Without a period every open deal counts, so nothing is pulled in or pushed out: E3 and F1 stay unchanged.
    # A: D3 2,500 + D4 700 + D5 1,500 + D6 4,000 + E3 5,000 + F1 2,500 + F3 1,200 + F4 900 + F5 300 = 18,600.
    bars = waterfall(runner.run("pipeline_changes_by_category"))
    assert bars["start"] == (9, 18600.0)
    assert bars["pulled_in"] == (0, 0.0) and bars["pushed_out"] == (0, 0.0)
    assert bars["end"] == (7, 18600.0 + 600 + 500 - 200 - 4000 - 1500 - 900)


def test_deal_list_matches_the_bars(runner: Runner) -> None:
    bars = runner.run("pipeline_changes_by_category", **Q2)
    deals = runner.run("pipeline_changes_by_deal", **Q2)
    assert deals["opportunity_id"].n_unique() == deals.height == 10  # each deal once
    summed = deals.group_by("category").agg(pl.len().alias("deals"), pl.col("change").sum().alias("amount"))
    got = {r["category"]: (r["deals"], r["amount"]) for r in summed.iter_rows(named=True)}
    expected = {c: v for c, v in waterfall(bars).items() if c not in ("start", "end") and v[0] > 0}
    assert got == expected
    one = runner.run("pipeline_changes_by_deal", category="pulled_in", **Q2).row(0, named=True)
    assert (one["opportunity_id"], str(one["close_before"]), str(one["close_after"])) == ("F1", "2026-07-10",
                                                                                          "2026-06-29")


def test_compare_snapshot_can_be_named_and_defaults_to_the_one_before(runner: Runner, data_dir: Path) -> None:
    named = runner.run("pipeline_changes_by_category", compare="2026-06-23", **Q2)
    assert named["amount"].to_list() == runner.run("pipeline_changes_by_category", **Q2)["amount"].to_list()
    same = runner.run("pipeline_changes_by_category", compare="2026-06-30", **Q2)
    assert waterfall(same)["remainder"] == (6, 0.0)  # B against itself: nothing changed
    with pytest.raises(store.StoreError):
        runner.run("pipeline_changes_by_category", compare="2026-01-01", **Q2)
    first = Runner(store.open_snapshot(data_dir, "2026-06-23"))
    try:
        # The oldest snapshot has nothing before it: every deal in its pipeline is new.
        bars = waterfall(first.run("pipeline_changes_by_category", **Q2))
        assert bars["start"] == (0, 0.0) and bars["new"] == bars["end"] == (8, 16100.0)
    finally:
        first.close()


def test_compare_snapshot_has_the_same_row_scope(data_dir: Path) -> None:
    only_r2 = Runner(store.open_snapshot(data_dir), Scope("r2", frozenset({"R2"})))
    nobody = Runner(store.open_snapshot(data_dir), Scope("none", frozenset()))
    try:
        # R2 in A: D3 2,500, D6 4,000, F4 900 (F1 is due in July). In B: D3 3,000, F1 2,500.
        bars = waterfall(only_r2.run("pipeline_changes_by_category", **Q2))
        assert bars["start"] == (3, 7400.0) and bars["end"] == (2, 5500.0)
        assert nobody.run("pipeline_changes_by_category", **Q2)["deals"].sum() == 0
    finally:
        only_r2.close()
        nobody.close()


def test_plain_queries_do_not_open_a_compare_database(runner: Runner) -> None:
    runner.run("funnel_by_stage", **Q2)
    before = len(runner._compare_dbs)
    runner.run("funnel_by_cohort", **Q2)
    assert len(runner._compare_dbs) == before


@pytest.mark.parametrize("reps", [None, {"R1"}, {"R3"}, {"R1", "R2"}])
@pytest.mark.parametrize("filters", [{}, {"regions": ["West"]}, {"products": ["P1"]}, {"start": None, "end": None}])
def test_bars_match_the_deal_list_in_every_scope(data_dir: Path, reps: set | None, filters: dict) -> None:
    # The bars look up only the deals in one pipeline; the list full-joins both snapshots: they must agree,
    # also for F5, whose owner moved from R1 (East) to R3 (West) between the snapshots.
    r = Runner(store.open_snapshot(data_dir), Scope("s", frozenset(reps)) if reps is not None else None)
    try:
        params = {**Q2, **filters}
        bars = waterfall(r.run("pipeline_changes_by_category", **params))
        deals = r.run("pipeline_changes_by_deal", **params)
        summed = deals.group_by("category").agg(pl.len().alias("deals"), pl.col("change").sum().alias("amount"))
        got = {row["category"]: (row["deals"], row["amount"]) for row in summed.iter_rows(named=True)}
        assert got == {c: v for c, v in bars.items() if c not in ("start", "end") and v[0] > 0}
        assert bars["start"][1] + sum(v[1] for c, v in bars.items() if c not in ("start", "end")) == bars["end"][1]
    finally:
        r.close()
