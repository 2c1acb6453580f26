"""The targets queries and saleslens.targets.logic.data on the literal store of tests/targets_fixtures.py.

Every expected value is worked out by hand from the fixture's rows (written out in the comments).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import access, store
from saleslens.core.filters import Filters
from saleslens.targets import data as td
from saleslens.targets import forecast as fm
from saleslens.targets import sets as target_sets
from tests import support
from tests import targets_fixtures as fx

D = date
Q2_START, Q2_END = D(2026, 4, 1), D(2026, 6, 30)


# The fixture store, built once for the module, and a runner on its latest snapshot.
data_dir, runner = support.store_fixtures("targets", fx.build_store)


def group(**kw: tuple[str, ...]) -> Filters:
    """Filters selecting a group."""
    return Filters(period="custom", **kw)


# ---------------------------------------------------------------- queries


def test_attainment_by_rep_month(runner: Runner) -> None:
    rows = runner.run("attainment_by_rep_month", start="2026-01-01", end="2026-12-31")
    got = {(r["rep_id"], r["month"]): r["bookings"] for r in rows.iter_rows(named=True)}
    # Won in 2026: W3 R1 Jan 1,000; W4 R2 Feb 1,000; W5 R4 Mar 2,000; W6 R1 Apr 1,500; W7 R2 May 1,500.
    assert got == {("R1", D(2026, 1, 1)): 1000.0, ("R2", D(2026, 2, 1)): 1000.0, ("R4", D(2026, 3, 1)): 2000.0,
                   ("R1", D(2026, 4, 1)): 1500.0, ("R2", D(2026, 5, 1)): 1500.0}


def test_targets_by_owner(runner: Runner) -> None:
    bookings = runner.run("targets_by_owner")
    # R1 6 + R2 6 + R3 3 + R4 2 quarter rows + 2 team rows = 19; activities: R1's 3 months.
    assert bookings.height == 19
    assert runner.run("targets_by_owner", metric="activities").height == 3
    assert runner.run("targets_by_owner", start="2026-07-01").height == 1  # only North's H2 row


def test_seasonality_by_week(runner: Runner) -> None:
    rows = runner.run("seasonality_by_week", as_of=fx.AS_OF)
    # W1 20 Oct 2025 (day index 19 -> week 3), W2 15 Dec (74 -> 11), W3 20 Jan (19 -> 3), W4 20 Feb (50 -> 8),
    # W5 25 Mar (83 -> 12). Q2 itself (W6, W7) is left out.
    got = sorted((r["quarter_start"], r["week"], r["bookings"]) for r in rows.iter_rows(named=True))
    assert got == [(D(2025, 10, 1), 3, 2000.0), (D(2025, 10, 1), 11, 4000.0), (D(2026, 1, 1), 3, 1000.0),
                   (D(2026, 1, 1), 8, 1000.0), (D(2026, 1, 1), 12, 2000.0)]


def test_forecast_by_stage_counts_closed_deals_that_were_in_each_stage(runner: Runner) -> None:
    stats = {r["stage"]: r for r in runner.run("forecast_by_stage").iter_rows(named=True)}
    # Prospecting: W1 W2 W3 W4 W6 W7 won (11,000) and L1 L2 L3 L4 lost (6,500); W5 started in Proposal.
    assert (stats["Prospecting"]["deals"], stats["Prospecting"]["won"]) == (10, 6)
    assert (stats["Prospecting"]["amount"], stats["Prospecting"]["won_amount"]) == (17500.0, 11000.0)
    # Proposal: W1 W2 W3 W5 W6 W7 won (12,000), L2 L3 lost (3,000). Negotiation: W1 W7 won, L3 lost.
    assert (stats["Proposal"]["deals"], stats["Proposal"]["won_amount"]) == (8, 12000.0)
    assert (stats["Negotiation"]["deals"], stats["Negotiation"]["won"]) == (3, 2)
    # Open deals (O1-O5) never count, however far they got.


def test_forecast_by_deal_takes_open_deals_due_in_the_period(runner: Runner) -> None:
    deals = runner.run("forecast_by_deal", start=Q2_START, end=Q2_END)
    # O4 is due 20 July (next quarter); O5 has no expected date, so it counts in this period.
    assert sorted(deals["opportunity_id"]) == ["O1", "O2", "O3", "O5"]
    north = runner.run("forecast_by_deal", start=Q2_START, end=Q2_END, teams=["Solo"])
    assert north.is_empty()


def test_coverage_by_rep_and_activities(runner: Runner) -> None:
    rates = {r["rep_id"]: r for r in runner.run("coverage_by_rep", start="2025-04-01", end="2026-03-31")
             .iter_rows(named=True)}
    # R1 won W1 2,000 + W3 1,000, lost L1 3,000 + L3 1,000; R2 won W2 4,000 + W4 1,000, lost L2 2,000.
    assert (rates["R1"]["won_amount"], rates["R1"]["lost_amount"]) == (3000.0, 4000.0)
    assert (rates["R2"]["won_amount"], rates["R2"]["lost_amount"]) == (5000.0, 2000.0)
    acts = {r["rep_id"]: r for r in runner.run("activities_by_rep", start="2026-04-01", end="2026-05-12")
            .iter_rows(named=True)}
    # Ann: 3 calls, 1 meeting, 2 emails = 6, 1 meeting; created O1; won W6.
    assert (acts["R1"]["activities"], acts["R1"]["meetings"], acts["R1"]["opportunities"], acts["R1"]["wins"]) == (
        6, 1, 1, 1)
    assert acts["R3"]["activities"] == 0 and acts["R3"]["opportunities"] == 1  # the new hire opened O3


# ---------------------------------------------------------------- attainment


def test_attainment_table_by_team_and_rep(runner: Runner, data_dir: Path) -> None:
    f = group()
    people, rows = td.members(runner, f), td.target_rows(runner, data_dir)
    team = td.attainment_table(runner, f, rows, people, "team", "quarter", D(2026, 1, 1), D(2026, 12, 31), fx.AS_OF)
    by = {(r["group_key"], r["period_start"]): r for r in team.iter_rows(named=True)}
    # North Q2: R1 4,500 + R2 6,000 + R3 3,000 = 13,500 (not the team's 99,999); closed W6 + W7 = 3,000.
    assert by[("North", D(2026, 4, 1))]["target"] == 13500.0
    assert by[("North", D(2026, 4, 1))]["attainment"] == pytest.approx(3000 / 13500)
    # Solo Q3: no target at all -> empty attainment, not zero and not an error.
    assert by[("Solo", D(2026, 7, 1))]["target"] is None and by[("Solo", D(2026, 7, 1))]["attainment"] is None
    rep = td.attainment_table(runner, group(reps=("R1",)), rows, td.members(runner, group(reps=("R1",))), "rep",
                              "quarter", D(2026, 1, 1), D(2026, 12, 31), fx.AS_OF)
    q = {r["period_start"]: r for r in rep.iter_rows(named=True)}
    # Ann's target changes mid-year: Q1 3 x 1,000 = 3,000 (won 1,000), Q2 3 x 1,500 = 4,500 (won 1,500).
    assert (q[D(2026, 1, 1)]["target"], q[D(2026, 1, 1)]["bookings"]) == (3000.0, 1000.0)
    assert (q[D(2026, 4, 1)]["target"], q[D(2026, 4, 1)]["bookings"]) == (4500.0, 1500.0)
    assert q[D(2026, 7, 1)]["target"] is None  # North's H2 team row is not Ann's target


def test_trend_range_covers_whole_years() -> None:
    assert td.trend_range(Filters(start=D(2026, 4, 1), end=D(2026, 6, 30)), fx.AS_OF) == (
        D(2026, 1, 1), D(2026, 12, 31))
    assert td.trend_range(Filters(), fx.AS_OF) == (D(2025, 1, 1), D(2026, 12, 31))


# ---------------------------------------------------------------- pacing


@pytest.mark.parametrize(("filters", "target", "share", "closed", "source"), [
    # Org: Q2 target 16,500; org curve by the end of week 6 = 3,000 / 10,000 = 0.3 -> 4,950 expected.
    (group(), 16500.0, 0.3, 3000.0, "group"),
    # Team North: its own two quarters: Q4 2,000 (wk 3) + 4,000 (wk 11), Q1 1,000 (wk 3) + 1,000 (wk 8);
    # by week 6: 3,000 / 8,000 = 0.375 -> 13,500 x 0.375 = 5,062.5 expected.
    (group(teams=("North",)), 13500.0, 0.375, 3000.0, "group"),
    # The new hire Cy: no history of his own, so the organisation's curve (0.3); target 500 + 1,000 + 1,500.
    (group(reps=("R3",)), 3000.0, 0.3, 0.0, "org"),
    # Team Solo (one rep, one past quarter with bookings): too little for its own curve -> the org's.
    (group(teams=("Solo",)), 3000.0, 0.3, 0.0, "org"),
])
def test_pacing_report(runner: Runner, data_dir: Path, filters: Filters, target: float, share: float, closed: float,
                       source: str) -> None:
    people = td.members(runner, filters)
    p = td.pacing_report(runner, filters, td.target_rows(runner, data_dir), people, fx.AS_OF)
    assert (p.q_start, p.q_end) == (Q2_START, Q2_END)
    assert p.pace.target == pytest.approx(target) and p.pace.share == pytest.approx(share)
    assert p.pace.closed == closed and p.curve_source == source
    assert p.pace.expected == pytest.approx(target * share)
    assert p.pace.gap == pytest.approx(closed - target * share)
    assert p.expected["expected"][-1] == pytest.approx(target)  # the usual path ends at the target


# ---------------------------------------------------------------- forecast and coverage


def test_forecast_report_falls_back_to_stage_defaults_with_one_past_quarter(runner: Runner) -> None:
    fc = td.forecast_report(runner, group(), Q2_START, Q2_END, 3000.0)
    # Only Q1 has snapshots before Q2: fewer than two past quarters, so the stage defaults for deals due in Q2:
    # O1 Proposal 2,000 x .5 = 1,000; O2 Negotiation 1,000 x .8 = 800; O3 Prospecting 4,000 x .1 = 400;
    # O5 Prospecting 500 x .1 = 50 (no expected close date: counts at quarter end). O4 is due in July: 0.
    assert fc.forecast.weighted == pytest.approx(2250.0)
    assert fc.forecast.expected == pytest.approx(5250.0)
    assert fc.forecast.open_total == 7500.0 and not fc.has_stage_history
    assert set(fc.probabilities["source"]) == {"default"}
    # The reps' call: commit O1, best case O2, pipeline O3 on top of the 3,000 closed.
    cats = dict(fc.categories.select("category", "rollup").iter_rows())
    assert (cats["commit"], cats["best_case"], cats["pipeline"]) == (5000.0, 6000.0, 10000.0)


def test_coverage_report(runner: Runner) -> None:
    rep = td.coverage_report(runner, group(), Q2_START, 16500.0, 3000.0, 7500.0)
    # Win rate Apr 2025 - Mar 2026 by value: won 10,000 / (10,000 + lost 6,000) = 0.625.
    # Needed 13,500 / 0.625 = 21,600; missing 21,600 - 7,500 = 14,100.
    assert rep.win_rate_source == "group" and rep.coverage.win_rate == pytest.approx(0.625)
    assert rep.coverage.needed == pytest.approx(21600.0) and rep.coverage.gap == pytest.approx(14100.0)
    new_hire = td.coverage_report(runner, group(reps=("R3",)), Q2_START, 3000.0, 0.0, 4000.0)
    # Cy closed nothing in the window: the organisation's 0.625; 3,000 / 0.625 = 4,800; 4,800 - 4,000 = 800.
    assert new_hire.win_rate_source == "org" and new_hire.coverage.gap == pytest.approx(800.0)
    assert new_hire.coverage.ratio == pytest.approx(4000 / 3000)


def test_members_table_by_team(runner: Runner, data_dir: Path) -> None:
    f = group()
    people, rows = td.members(runner, f), td.target_rows(runner, data_dir)
    pacing = td.pacing_report(runner, f, rows, people, fx.AS_OF)
    fc = td.forecast_report(runner, f, Q2_START, Q2_END, pacing.pace.closed, min_deals=4)
    table = {r["group_key"]: r for r in td.members_table(runner, f, rows, people, "team", pacing, fc)
             .iter_rows(named=True)}
    # North: 13,500 target, 3,000 closed, expected 13,500 x 0.3 = 4,050 -> 1,050 behind; all four open deals.
    assert table["North"]["expected"] == pytest.approx(4050.0) and table["North"]["gap"] == pytest.approx(-1050.0)
    assert table["North"]["open_pipeline"] == 7500.0
    # Solo: 3,000 target, nothing closed, O4 is due next quarter: forecast 0.
    assert table["Solo"]["gap"] == pytest.approx(-900.0) and table["Solo"]["forecast"] == 0.0


# ---------------------------------------------------------------- forecast accuracy


def test_one_snapshot_without_stage_history_means_the_fallback_and_no_accuracy(tmp_path: Path) -> None:
    tables = {"stages": fx.STAGES, "reps": fx.REPS, "accounts": fx.ACCOUNTS, "products": fx.PRODUCTS,
              "opportunities": fx.opportunities_as_of(fx.AS_OF), "targets": fx.TARGETS}
    store.publish_snapshot(tmp_path, fx.AS_OF, tables, source="tests")  # no stage changes: nothing to rebuild from
    r = Runner(store.open_snapshot(tmp_path))
    try:
        assert td.accuracy(r, group()).is_empty()
        out = td.forecast_report(r, group(), Q2_START, Q2_END, 3000.0).outcome
        assert (out.method, out.periods, out.low) == ("stage_default", 0, None)  # no past quarter at all
        assert out.learned_from == fm.SNAPSHOTS
    finally:
        r.close()


def test_one_snapshot_with_stage_history_learns_from_rebuilt_weeks(tmp_path: Path) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))
    r = Runner(store.open_snapshot(tmp_path))
    try:
        out = td.forecast_report(r, group(), Q2_START, Q2_END, 3000.0).outcome
        # The first deal (L3) was created on 1 Aug 2025: rebuilt Tuesdays from 5 Aug 2025, so Q3 2025, Q4 2025 and
        # Q1 2026 are past quarters with pipeline: the model, not the fallback
        assert (out.learned_from, out.method, out.periods) == (fm.STAGE_HISTORY, "model", 3)
        # Q1 2026 is the only quarter with two earlier ones: its 13 Tuesdays (6 Jan - 31 Mar) are backtested
        bt = td.accuracy(r, group())
        assert bt["period_start"].unique().to_list() == [D(2026, 1, 1)] and bt.height == 13
    finally:
        r.close()


# ---------------------------------------------------------------- leading indicators


def test_leading_report(runner: Runner, data_dir: Path) -> None:
    f = group()
    lead = td.leading_report(runner, data_dir, f, Q2_START, Q2_END, "", td.members(runner, f))
    # The range is cut at the snapshot date (12 May); whole weeks inside 1 Apr - 12 May: 6, 13, 20, 27 Apr, 4 May.
    assert lead.weeks == [D(2026, 4, 6), D(2026, 4, 13), D(2026, 4, 20), D(2026, 4, 27), D(2026, 5, 4)]
    w = {(r["week"], r["type"]): r for r in lead.weekly.iter_rows(named=True)}
    # Week of 6 Apr: Ann 3 + Bob 1 calls over 4 sales reps (Ann, Bob, Cy, Dee) = 1.0 a rep.
    assert w[(D(2026, 4, 6), "call")]["per_rep"] == 1.0 and w[(D(2026, 4, 6), "call")]["headcount"] == 4
    per = {r["rep_id"]: r for r in lead.per_rep.iter_rows(named=True)}
    # Ann: 6 activities over 42 days = 6 weeks -> 1.0 a week against 40 x 12 / 52 = 9.23.
    assert per["R1"]["per_week"] == pytest.approx(1.0) and per["R1"]["weekly_target"] == pytest.approx(40 * 12 / 52)
    assert per["R2"]["weekly_target"] is None and "M1" not in per  # managers are not in the table
    steps = dict(lead.conversion.select("step", "count").iter_rows())
    # 9 activities, 3 meetings (meeting, demo, visit), 4 opportunities created (O1 O3 O4 O5), 2 wins (W6 W7).
    assert steps == {"activities": 9.0, "meetings": 3.0, "opportunities": 4.0, "wins": 2.0}


# ---------------------------------------------------------------- planning and target sets


def test_team_annual_target_and_plan_inputs(runner: Runner, data_dir: Path) -> None:
    rows, people = td.target_rows(runner, data_dir), td.members(runner, group())
    # North 2026: reps Jan-Jun (R1 3,000 + 4,500, R2 12,000, R3 3,000 = 22,500) + team row Jul-Dec 30,000.
    assert td.team_annual_target(rows, people, "North", 2026) == pytest.approx(52500.0)
    assert td.team_annual_target(rows, people, "Solo", 2027) is None
    team, shares = td.plan_inputs(runner, group(), "North", fx.AS_OF)
    # History May 2025 - Apr 2026: Ann W1 2,000 + W3 1,000 + W6 1,500 = 4,500; Bob W2 4,000 + W4 1,000 = 5,000.
    hist = dict(team.select("rep_id", "history_bookings").iter_rows())
    assert hist["R1"] == 4500.0 and hist["R2"] == 5000.0 and hist["R3"] == 0.0
    # North's bookings by calendar month over May 2024 - Apr 2026: Oct 2,000, Dec 4,000, Jan 1,000, Feb 1,000,
    # Apr 1,500 -> total 9,500.
    assert shares[9] == pytest.approx(2000 / 9500) and shares[3] == pytest.approx(1500 / 9500)


def test_a_saved_set_replaces_the_snapshot_targets(runner: Runner, tmp_path: Path) -> None:
    target_sets.save(tmp_path, "Ann stretch", pl.DataFrame([{
        "owner_type": "rep", "owner_id": "R1", "period_start": Q2_START, "period_end": Q2_END,
        "metric": "bookings", "value": 9000.0}]), who=access.User("ana", "Ana", "analyst"))
    f = group(reps=("R1",))
    people = td.members(runner, f)
    rows = td.target_rows(runner, tmp_path, "Ann stretch")
    p = td.pacing_report(runner, f, rows, people, fx.AS_OF)
    # Ann's Q2 target is 9,000 in the set (4,500 in the snapshot); Ann's curve: W1 (Q4 wk 3), W3 (Q1 wk 3)
    # -> everything by week 3: share 1 by week 6 -> expected 9,000, closed 1,500.
    assert p.pace.target == 9000.0 and p.pace.share == pytest.approx(1.0)
    assert p.pace.gap == pytest.approx(1500.0 - 9000.0)
    with pytest.raises(target_sets.TargetSetError):
        td.target_rows(runner, tmp_path, "missing set")


@pytest.mark.parametrize("by", ["org", "team", "rep"])
@pytest.mark.parametrize("filters", [group(), group(reps=("R1",)), group(teams=("North",))])
def test_monthly_targets_within_a_quarter_equal_the_whole_spread(runner: Runner, data_dir: Path, by: str,
                                                                 filters: Filters) -> None:
    rows, people = td.target_rows(runner, data_dir), td.members(runner, filters)
    for start, end in ((Q2_START, Q2_END), (D(2026, 7, 1), D(2026, 9, 30)), (D(2026, 1, 1), D(2026, 3, 31))):
        months = pl.col("month").is_between(start, end)
        whole = td.monthly_targets(rows, people, filters, by).filter(months).sort("group_key", "month")
        within = td.monthly_targets(rows, people, filters, by, within=(start, end)).filter(months)
        assert within.sort("group_key", "month").equals(whole)


@pytest.mark.parametrize("filters", [group(), group(teams=("North",)), group(reps=("R1",))])
def test_a_prefetch_runs_every_query_of_the_headline_and_pacing_section(data_dir: Path, filters: Filters) -> None:
    r = Runner(store.open_snapshot(data_dir))
    try:
        r.run_many(td.view_calls(filters, fx.AS_OF))
        prefetched = set(r._cache)
        people, rows = td.members(r, filters), td.target_rows(r, data_dir)
        pacing = td.pacing_report(r, filters, rows, people, fx.AS_OF)
        fc = td.forecast_report(r, filters, pacing.q_start, pacing.q_end, pacing.pace.closed)
        td.coverage_report(r, filters, pacing.q_start, pacing.pace.target, pacing.pace.closed,
                           fc.forecast.open_total)
        td.members_table(r, filters, rows, people, "rep", pacing, fc)
        assert set(r._cache) == prefetched  # the reports found every query cached
    finally:
        r.close()


# ---------------------------------------------------------------- past pipeline rebuilt from stage history


def test_rebuilt_pipeline_as_of_past_weeks(tmp_path: Path) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))  # one snapshot (Tue 12 May 2026) and every deal's stage changes
    r = Runner(store.open_snapshot(tmp_path))
    try:
        rows = r.run("forecast_rebuilt_by_deal", first=D(2026, 4, 1), as_of=fx.AS_OF)
    finally:
        r.close()
    at = {day: {x["opportunity_id"]: (x["stage"], x["amount"], x["expected_close_date"], x["owner_id"])
                for x in rows.filter(pl.col("as_of") == day).iter_rows(named=True)}
          for day in rows["as_of"].unique().to_list()}
    # Tuesdays back to 1 Apr: 7 Apr, 14, 21, 28 Apr, 5 May, and the snapshot day itself.
    assert sorted(at) == [D(2026, 4, 7), D(2026, 4, 14), D(2026, 4, 21), D(2026, 4, 28), D(2026, 5, 5), fx.AS_OF]
    # End of 14 Apr: W6 won on 10 Apr (closed); W7 in Proposal since 25 Mar (Negotiation only on 15 Apr); L4 in
    # Prospecting until it is lost on 20 Apr; O1 in Prospecting (Proposal on 20 Apr); O2 in Proposal since 1 Apr;
    # O3 is created on 15 Apr. A past day's expected close date is unknown; amount and owner are today's.
    assert at[D(2026, 4, 14)] == {"W7": ("Proposal", 1500.0, None, "R2"), "L4": ("Prospecting", 500.0, None, "R4"),
                                  "O1": ("Prospecting", 2000.0, None, "R1"), "O2": ("Proposal", 1000.0, None, "R2")}
    # End of 5 May: W7 won that day (not open at its end); O2 in Negotiation since 1 May, O4 in Proposal since 1 May.
    assert {k: v[0] for k, v in at[D(2026, 5, 5)].items()} == {
        "O1": "Proposal", "O2": "Negotiation", "O3": "Prospecting", "O4": "Proposal", "O5": "Prospecting"}
    # The snapshot day: today's open deals as they are, expected close dates included.
    assert at[fx.AS_OF]["O1"] == ("Proposal", 2000.0, D(2026, 6, 15), "R1") and len(at[fx.AS_OF]) == 5


def test_another_k_redoes_only_the_models_part_of_the_backtest(tmp_path: Path) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))
    r = Runner(store.open_snapshot(tmp_path))
    try:
        h = fm.history(r, Filters(), fx.AS_OF)
        run = {k: fm.backtest(h.rows, h.rows, h.calendar, h.facts, h.wins, Q2_START, prior=k, cells=h.cells,
                              levels=h.levels, ranges=False) for k in (20.0, 5.0)}
        counted = fm.backtest(h.rows, h.rows, h.calendar, h.facts, h.wins, Q2_START, prior=5.0, cells=h.cells,
                              levels=h.levels, ranges=False, weighting=fm.COUNT)
    finally:
        r.close()
    # another weighting too: the same as a backtest run counting each deal once
    by_count = fm.with_prior(run[20.0], h.cells, h.rows, h.levels, 5.0, fm.COUNT)
    assert by_count["forecast"].to_list() == pytest.approx(counted["forecast"].to_list())
    assert by_count["weighting"].unique().to_list() == [fm.COUNT] == counted["weighting"].unique().to_list()
    # the same with the rows keyed by cell and the earlier quarters' cells summed once (as the forecast does it)
    # several fits in one pass, each the same as its own run
    both = fm.with_priors(run[20.0], h.cells, h.rows, h.levels, [fm.Fit(fm.COUNT, 5.0), fm.Fit(fm.VALUE, 5.0)])
    assert both[fm.Fit(fm.COUNT, 5.0)]["forecast"].to_list() == pytest.approx(counted["forecast"].to_list())
    assert both[fm.Fit(fm.VALUE, 5.0)]["forecast"].to_list() == pytest.approx(run[5.0]["forecast"].to_list())
    assert both[fm.Fit(fm.COUNT, 5.0)]["noise_floor"].to_list() == pytest.approx(counted["noise_floor"].to_list())
    assert run[20.0]["weighting"].unique().to_list() == [fm.VALUE]
    assert counted["forecast"].to_list() != pytest.approx(run[5.0]["forecast"].to_list())  # counting changed something
    redone = fm.with_prior(run[20.0], h.cells, h.rows, h.levels, 5.0)
    # the same days, closed, new business, actual and baselines; from_open and forecast as a k = 5 run made them
    assert redone.select("as_of", "closed", "new", "actual", "weighted").equals(
        run[5.0].select("as_of", "closed", "new", "actual", "weighted"))
    assert redone["forecast"].to_list() == pytest.approx(run[5.0]["forecast"].to_list())
    # the noise floor too, from the k = 5 chances
    assert redone["noise_floor"].to_list() == pytest.approx(run[5.0]["noise_floor"].to_list())
    assert redone["prior"].unique().to_list() == [5.0]
    assert redone["forecast"].to_list() != pytest.approx(run[20.0]["forecast"].to_list())  # k changed something
