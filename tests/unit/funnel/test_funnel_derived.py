"""The Funnel page's derived tables (queries/derived/funnel_deals.sql, funnel_stays.sql): literal rows in,
hand-worked rows out; stored (written at publish) or computed as views, unscoped or row-scoped, the funnel
queries give the same frames; the percentiles read off stay counts equal quantile_cont over every stay."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from queries import runner as runner_module
from queries.runner import Runner, Scope
from saleslens.core import store
from tests import funnel_fixtures as ff
from tests.support import sql_rows

Q2 = ff.Q2
FILTERS = {"regions": [], "teams": [], "reps": [], "products": [], "segments": [], "sources": []}
NO_PERIOD = {"start": None, "end": None}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The funnel fixtures twice: derived tables written at publish, and left to the runner's views."""
    stored, computed = tmp_path_factory.mktemp("stored"), tmp_path_factory.mktemp("computed")
    ff.build_store(stored, derive=True)
    ff.build_store(computed)
    return {"stored": stored, "computed": computed}


@pytest.fixture(scope="module", params=["stored", "computed"])
def runner(request: pytest.FixtureRequest, stores: dict[str, Path]) -> Runner:
    """Snapshot B, reading the derived tables from their files or computing them."""
    r = Runner(store.open_snapshot(stores[request.param]))
    yield r
    r.close()


def test_publish_writes_the_funnel_tables(stores: dict[str, Path]) -> None:
    snap = store.open_snapshot(stores["stored"])
    assert runner_module.derived_file(snap, "funnel_deals").exists()
    assert runner_module.derived_file(snap, "funnel_stays").exists()
    assert snap.manifest["derived"]["funnel_deals"] == 13  # the 13 deals of snapshot B (F4 was deleted)
    assert snap.manifest["derived"]["funnel_stays"] == 20
    assert not runner_module.derived_file(store.open_snapshot(stores["computed"]), "funnel_deals").exists()


def test_funnel_deals_facts_from_stage_history(runner: Runner) -> None:
    got = {r[0]: r[1:] for r in sql_rows(runner, "select opportunity_id, furthest_step, lost_from_step, "
                                              "regressed_steps, entered_current_at from funnel_deals")}
    at9 = lambda d: datetime.fromisoformat(d + "T09:00:00")  # noqa: E731 - every move is at 09:00
    # Steps: Prospecting 1, Qualification 2, Proposal 3. Open deals: the last move into their current stage.
    assert got == {
        "D1": (3, None, [], None),                    # P, Q, Proposal, won
        "D2": (3, 3, [], None),                       # P, Proposal (skips Q), lost from Proposal
        "D3": (3, None, [3], at9("2026-05-21")),      # back from Proposal to Q on 05-21, open in Q
        "D4": (1, None, [], at9("2026-05-01")),
        "D5": (2, 2, [], None),                       # lost from Qualification
        "D6": (2, None, [], None),                    # created in Q, won
        "F2": (1, None, [], at9("2026-06-26")),
        "E1": (2, None, [], None),
        "E2": (1, 1, [], None),                       # lost from Prospecting
        "E3": (3, None, [], at9("2026-04-01")),
        "F1": (3, None, [], at9("2026-03-01")),
        "F3": (2, None, [], at9("2025-12-01")),
        "F5": (2, None, [], at9("2025-10-01")),
    }
    # The filter columns are the deals view's: the owner's region and team, the account's segment.
    f5 = sql_rows(runner, "select owner_id, region, team, segment, source, status from funnel_deals "
                          "where opportunity_id = 'F5'")
    assert f5 == [("R3", "West", "West 1", "Enterprise", "Partner", "open")]


def test_funnel_stays_are_completed_stays_in_open_stages(runner: Runner) -> None:
    got = sorted(sql_rows(runner, "select opportunity_id, stage, days, first_stay, status from funnel_stays"))
    p, q, pr = "Prospecting", "Qualification", "Proposal"
    # Whole days from the move into a stage to the next move; current stays (D3 back in Q, D4, F2...) are not here.
    assert got == sorted([
        ("D1", p, 5, True, "won"), ("D1", q, 10, True, "won"), ("D1", pr, 34, True, "won"),
        ("D2", p, 10, True, "lost"), ("D2", pr, 56, True, "lost"),
        ("D3", p, 10, True, "open"), ("D3", q, 11, True, "open"), ("D3", pr, 20, True, "open"),
        ("D5", p, 5, True, "lost"), ("D5", q, 43, True, "lost"),
        ("D6", q, 24, True, "won"),
        ("E1", p, 10, True, "won"), ("E1", q, 31, True, "won"),
        ("E2", p, 28, True, "lost"),
        ("E3", p, 10, True, "open"), ("E3", q, 21, True, "open"),
        ("F1", p, 35, True, "open"), ("F1", q, 55, True, "open"),
        ("F3", p, 30, True, "open"),
        ("F5", p, 30, True, "open"),
    ])
    # Each stay carries its stage's step, numbered as in the funnel queries.
    steps = sql_rows(runner, "select distinct stage, step from funnel_stays")
    assert sorted(steps) == sorted([(p, 1), (q, 2), (pr, 3)])


def test_scoped_runner_sees_only_its_deals_rows(stores: dict[str, Path]) -> None:
    for kind in ("stored", "computed"):
        r = Runner(store.open_snapshot(stores[kind]), Scope("r3", frozenset({"R3"})))
        try:
            assert sorted(x[0] for x in sql_rows(r, "select opportunity_id from funnel_deals")) == [
                "D4", "D5", "E3", "F3", "F5"]
            assert sorted({x[0] for x in sql_rows(r, "select opportunity_id from funnel_stays")}) == [
                "D5", "E3", "F3", "F5"]
        finally:
            r.close()


PAGE_CALLS = [
    ("funnel_by_stage", Q2),
    ("funnel_by_cohort", {**Q2, "prev_start": ff.Q1["start"], "prev_end": ff.Q1["end"]}),
    ("funnel_by_cohort", NO_PERIOD),
    ("velocity_by_stage", Q2),
    ("velocity_by_stage", NO_PERIOD),
    ("stuck_by_deal", {"min_stays": 1}),
    ("stuck_by_deal", {}),
]


@pytest.mark.parametrize(("name", "params"), PAGE_CALLS)
def test_stored_and_computed_tables_give_the_same_results(stores: dict[str, Path], name: str, params: dict) -> None:
    frames = []
    for kind in ("stored", "computed"):
        r = Runner(store.open_snapshot(stores[kind]))
        try:
            frames.append(r.run(name, **params))
        finally:
            r.close()
    assert_frame_equal(frames[0], frames[1])


@pytest.mark.parametrize(("name", "params"), PAGE_CALLS)
@pytest.mark.parametrize("kind", ["stored", "computed"])
def test_a_scope_gives_what_the_rep_filter_gives(stores: dict[str, Path], kind: str, name: str, params: dict) -> None:
    everyone = Runner(store.open_snapshot(stores[kind]))
    scoped = Runner(store.open_snapshot(stores[kind]), Scope("r3", frozenset({"R3"})))
    try:
        assert_frame_equal(scoped.run(name, **params), everyone.run(name, **params, reps=["R3"]))
    finally:
        everyone.close()
        scoped.close()


# ---- the percentiles read off (stage, days) counts against quantile_cont over every stay, on random history

def _random_store(path: Path, seed: int) -> None:
    """80 deals with random moves (repeated stages, regressions, skips, same-day moves) and outcomes."""
    rng = random.Random(seed)
    open_stages = ["Prospecting", "Qualification", "Proposal"]
    deals, moves = [], []
    for i in range(80):
        at = datetime(2026, 1, 1, 9) + timedelta(days=rng.randint(0, 90))
        created = at.date()
        stage, prev = rng.choice(open_stages), None
        for _ in range(rng.randint(1, 6)):
            moves.append((f"X{i}", prev, stage, at))
            # at least an hour apart, so the order of a deal's moves is never a tie
            at += timedelta(days=rng.choice([0, 1, 2, 3, 5, 8, 13, 21]), hours=rng.randint(1, 3))
            prev, stage = stage, rng.choice(open_stages)
        status = rng.choice(["open", "won", "lost"])
        close = None
        if status != "open":
            stage = "Closed Won" if status == "won" else "Closed Lost"
            moves.append((f"X{i}", prev, stage, at))
            close = at.date()
        else:
            stage = prev
        deals.append((f"X{i}", rng.choice(["R1", "R2", "R3"]), rng.choice(["A1", "A2", "A3"]), "P1", "Inbound",
                      created, None, close, float(rng.randint(1, 9) * 100), stage, status))
    history = pl.DataFrame({"opportunity_id": [m[0] for m in moves], "from_stage": [m[1] for m in moves],
                            "to_stage": [m[2] for m in moves], "changed_at": [m[3] for m in moves]},
                           schema_overrides={"from_stage": pl.String})
    store.write_events(path, "stage_changes", history)
    opps = pl.DataFrame([dict(zip(["opportunity_id", "owner_id", "account_id", "product_id", "source",
                                   "created_date", "expected_close_date", "close_date", "amount", "stage",
                                   "status"], d, strict=True)) for d in deals],
                        schema_overrides={"expected_close_date": pl.Date, "close_date": pl.Date})
    store.publish_snapshot(path, date(2026, 6, 30), {"stages": ff.STAGES, "reps": ff.REPS, "accounts": ff.ACCOUNTS,
                                                     "products": ff.PRODUCTS, "opportunities": opps},
                           source="random funnel", derive=runner_module.build_derived)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_from_counts_equal_quantile_cont(tmp_path: Path, seed: int) -> None:
    _random_store(tmp_path, seed)
    r = Runner(store.open_snapshot(tmp_path))
    try:
        stays = r.run("velocity_by_stage", start=None, end=None)
        cur = r._db.cursor()
        # Reference: quantile_cont over every completed stay of closed deals, straight from the stage history.
        want = cur.sql("""
            with moves as (
                select c.opportunity_id, c.to_stage, c.changed_at,
                       lead(c.changed_at) over (partition by c.opportunity_id order by c.changed_at) as left_at
                from stage_changes c)
            select m.to_stage as stage, o.status as outcome, count(*) as stays,
                   count(distinct m.opportunity_id) as deals,
                   quantile_cont(cast(m.left_at as date) - cast(m.changed_at as date), 0.5) as median_days,
                   quantile_cont(cast(m.left_at as date) - cast(m.changed_at as date), 0.75) as p75_days,
                   avg(cast(m.left_at as date) - cast(m.changed_at as date)) as avg_days
            from moves m join opportunities o using (opportunity_id)
            where m.left_at is not null and o.status in ('won', 'lost')
              and m.to_stage in ('Prospecting', 'Qualification', 'Proposal')
            group by all""").pl()
        cur.close()
        got = stays.filter(pl.col("stays") > 0).select(want.columns)
        key = ["stage", "outcome"]
        assert_frame_equal(got.sort(key), want.sort(key), check_dtypes=False)
        # The stuck reference (every completed stay, all deals) the same way: each stuck deal's p90 and median.
        stuck = r.run("stuck_by_deal", min_stays=1)
        ref = r._db.cursor().sql("""
            with moves as (
                select c.opportunity_id, c.to_stage, c.changed_at,
                       lead(c.changed_at) over (partition by c.opportunity_id order by c.changed_at) as left_at
                from stage_changes c where c.opportunity_id in (select opportunity_id from opportunities))
            select to_stage as stage, count(*) as completed_stays,
                   quantile_cont(cast(left_at as date) - cast(changed_at as date), 0.9) as stage_p90_days,
                   quantile_cont(cast(left_at as date) - cast(changed_at as date), 0.5) as stage_median_days
            from moves where left_at is not null group by all""").pl()
        joined = stuck.join(ref, on="stage", suffix="_ref")
        assert joined.height == stuck.height
        for col in ("completed_stays", "stage_p90_days", "stage_median_days"):
            assert joined[col].to_list() == joined[f"{col}_ref"].to_list()
    finally:
        r.close()
