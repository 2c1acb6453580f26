"""saleslens.targets.logic on small literal inputs; every expected value is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from saleslens.targets import logic as tg
from tests import targets_fixtures as fx

D = date


def people() -> pl.DataFrame:
    """The fixture's people with the columns the library reads."""
    return fx.REPS.select("rep_id", "name", "role", "team", "region", "hire_date", "leave_date")


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(("day", "start", "end", "week"), [
    (D(2026, 5, 12), D(2026, 4, 1), D(2026, 6, 30), 6),  # day index 41 -> 41 // 7 + 1 = 6
    (D(2026, 12, 31), D(2026, 10, 1), D(2026, 12, 31), 14),  # index 91 of a 92-day quarter
    (D(2026, 1, 1), D(2026, 1, 1), D(2026, 3, 31), 1),
])
def test_quarter_bounds_and_week(day: date, start: date, end: date, week: int) -> None:
    assert tg.quarter_bounds(day) == (start, end)
    assert tg.week_of_quarter(day) == week


# ---------------------------------------------------------------- targets


def test_spread_monthly_splits_a_quarter_row_evenly() -> None:
    # R4's Q1 row of 3,000 covers Jan-Mar: 3,000 / 3 = 1,000 a month.
    monthly = tg.spread_monthly(fx.TARGETS.filter(pl.col("owner_id") == "R4"))
    q1 = monthly.filter(pl.col("month") < D(2026, 4, 1)).sort("month")
    assert q1["value"].to_list() == [1000.0, 1000.0, 1000.0]
    assert monthly["value"].sum() == pytest.approx(6000.0)  # both quarters


def _group(by: str, month: date, team_rows: bool = True) -> dict[str, float]:
    rows = tg.rows_for_group(fx.TARGETS, people(), team_rows=team_rows)
    frame = tg.group_targets(tg.spread_monthly(rows), people(), by)
    return dict(frame.filter(pl.col("month") == month).select("group_key", "target").iter_rows())


def test_group_targets_prefer_rep_targets_and_fill_with_team_targets() -> None:
    # April: R1 1,500 + R2 2,000 + R3 500 + R4 1,000 = 5,000; North's team row (99,999 / 3) is ignored
    # because North's reps have targets that month.
    assert _group("org", D(2026, 4, 1)) == {"org": pytest.approx(5000.0)}
    assert _group("team", D(2026, 4, 1)) == {"North": pytest.approx(4000.0), "Solo": pytest.approx(1000.0)}
    # July: no rep has a target, so North's H2 row counts: 30,000 / 6 months = 5,000. Solo has none.
    assert _group("team", D(2026, 7, 1)) == {"North": pytest.approx(5000.0)}
    assert _group("region", D(2026, 7, 1)) == {"East": pytest.approx(5000.0)}
    # By rep only rep rows count; with reps picked (team_rows=False) the team row disappears too.
    assert _group("rep", D(2026, 7, 1)) == {}
    assert _group("org", D(2026, 7, 1), team_rows=False) == {}


def _attainment_inputs() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Org bookings and targets per month, as the fixture has them (see tests/targets_fixtures.py)."""
    actual = pl.DataFrame({
        "group_key": ["org"] * 5, "group_label": ["All"] * 5,
        "month": [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1), D(2026, 4, 1), D(2026, 5, 1)],
        "bookings": [1000.0, 1000.0, 2000.0, 1500.0, 1500.0],
    })
    rows = tg.rows_for_group(fx.TARGETS, people())
    return actual, tg.group_targets(tg.spread_monthly(rows), people(), "org")


def test_attainment_by_month_with_a_target_change_and_a_mid_period_date() -> None:
    actual, target = _attainment_inputs()
    t = tg.attainment(actual, target, D(2026, 1, 1), D(2026, 12, 31), fx.AS_OF, "month")
    by = {r["period_start"]: r for r in t.iter_rows(named=True)}
    # Jan: target R1 1,000 + R2 2,000 + R4 (3,000 / 3) 1,000 = 4,000; 1,000 / 4,000 = 25%.
    assert by[D(2026, 1, 1)]["target"] == pytest.approx(4000.0)
    assert by[D(2026, 1, 1)]["attainment"] == pytest.approx(0.25)
    # Mar: 2,000 / 4,000 = 50%; year to date (1,000 + 1,000 + 2,000) / 12,000 = 33.3%.
    assert by[D(2026, 3, 1)]["attainment"] == pytest.approx(0.5)
    assert by[D(2026, 3, 1)]["cumulative_attainment"] == pytest.approx(4000 / 12000)
    # Apr: R1's target changes to 1,500 and R3 starts at 500: 1,500 + 2,000 + 500 + 1,000 = 5,000.
    assert by[D(2026, 4, 1)]["target"] == pytest.approx(5000.0)
    # May holds the snapshot date (12 May): partial; 1,500 / (1,500 + 2,000 + 1,000 + 1,000) = 27.3%;
    # year to date 7,000 / (12,000 + 5,000 + 5,500) = 31.1%.
    may = by[D(2026, 5, 1)]
    assert may["partial"] and may["attainment"] == pytest.approx(1500 / 5500)
    assert may["cumulative_attainment"] == pytest.approx(7000 / 22500)
    # June has not started: no bookings (not zero), no attainment, but its target 6,000 is there.
    jun = by[D(2026, 6, 1)]
    assert jun["bookings"] is None and jun["attainment"] is None and jun["target"] == pytest.approx(6000.0)
    assert not jun["partial"]
    # July: North's team target fills in, 30,000 / 6 = 5,000.
    assert by[D(2026, 7, 1)]["target"] == pytest.approx(5000.0)


def test_attainment_by_quarter() -> None:
    actual, target = _attainment_inputs()
    t = tg.attainment(actual, target, D(2026, 1, 1), D(2026, 12, 31), fx.AS_OF, "quarter")
    by = {r["period_start"]: r for r in t.iter_rows(named=True)}
    # Q1: 4,000 / 12,000 = 33.3%. Q2 (partial): 3,000 / (5,000 + 5,500 + 6,000 = 16,500) = 18.2%.
    assert by[D(2026, 1, 1)]["attainment"] == pytest.approx(1 / 3)
    assert by[D(2026, 4, 1)]["target"] == pytest.approx(16500.0)
    assert by[D(2026, 4, 1)]["attainment"] == pytest.approx(3000 / 16500)
    assert by[D(2026, 4, 1)]["partial"]
    # Q3: team North 3 x 5,000 = 15,000; no bookings yet.
    assert by[D(2026, 7, 1)]["target"] == pytest.approx(15000.0) and by[D(2026, 7, 1)]["bookings"] is None


def test_attainment_running_totals_restart_each_year_and_stay_empty_without_target() -> None:
    actual = pl.DataFrame({"group_key": ["org"] * 3, "group_label": ["All"] * 3,
                           "month": [D(2025, 10, 1), D(2025, 12, 1), D(2026, 1, 1)],
                           "bookings": [2000.0, 4000.0, 1000.0]})
    target = pl.DataFrame(schema={"group_key": pl.String, "group_label": pl.String, "month": pl.Date,
                                  "target": pl.Float64})
    t = tg.attainment(actual, target, D(2025, 10, 1), D(2026, 1, 31), fx.AS_OF, "month")
    # Oct 2,000, Nov 0, Dec 4,000 -> 6,000 by December; January starts again at 1,000.
    assert t["cumulative_bookings"].to_list() == [2000.0, 2000.0, 6000.0, 1000.0]
    # No target anywhere: attainment is empty, never a division by zero.
    assert t["attainment"].is_null().all() and t["cumulative_attainment"].is_null().all()
    assert tg.periods_without_target(t) == [D(2025, 10, 1), D(2025, 11, 1), D(2025, 12, 1), D(2026, 1, 1)]


# ---------------------------------------------------------------- pacing

# Past quarters of the fixture: Q4 2025 closed 2,000 in week 3 and 4,000 in week 11; Q1 2026 closed
# 1,000 in week 3, 1,000 in week 8 and 2,000 in week 12. Pooled total 10,000.
WEEKLY = pl.DataFrame({
    "quarter_start": [D(2025, 10, 1)] * 2 + [D(2026, 1, 1)] * 3,
    "week": [3, 11, 3, 8, 12], "bookings": [2000.0, 4000.0, 1000.0, 1000.0, 2000.0],
})


def test_seasonality_curve_pools_past_quarters() -> None:
    curve = tg.seasonality_curve(WEEKLY)
    # By the end of week 3: 3,000 / 10,000 = 0.3; week 8: 4,000 -> 0.4; week 11: 8,000 -> 0.8; week 12: 1.
    assert curve[:3] == [0.0, 0.0, 0.0]
    assert curve[3] == pytest.approx(0.3) and curve[7] == pytest.approx(0.3)
    assert curve[8] == pytest.approx(0.4) and curve[11] == pytest.approx(0.8)
    assert curve[12] == pytest.approx(1.0) and len(curve) == 15
    assert tg.seasonality_curve(WEEKLY.clear()) is None


@pytest.mark.parametrize(("as_of", "share"), [
    # 12 May is day 42 of Q2: exactly the end of week 6 -> curve[6] = 0.3.
    (D(2026, 5, 12), 0.3),
    # 24 May is day 54, in week 8 (days 50-56): 0.3 + (0.4 - 0.3) x (54 - 49) / 7 = 0.371429.
    (D(2026, 5, 24), 0.3 + 0.1 * 5 / 7),
    # 30 June is day 91 of 91: the quarter's end, share 1.
    (D(2026, 6, 30), 1.0),
])
def test_expected_share_interpolates_within_the_week(as_of: date, share: float) -> None:
    assert tg.expected_share(tg.seasonality_curve(WEEKLY), as_of) == pytest.approx(share)


def test_expected_share_last_days_and_no_history() -> None:
    curve = [0.0] * 12 + [0.65, 0.9, 1.0]
    # 29 June is day 90 of a 91-day quarter, week 13 (days 85-91, the last one): 0.65 + 0.35 x 6 / 7 = 0.95.
    assert tg.expected_share(curve, D(2026, 6, 29)) == pytest.approx(0.95)
    # 31 December is day 92 of 92, alone in week 14: the share reaches 1.
    assert tg.expected_share(curve, D(2026, 12, 31)) == pytest.approx(1.0)
    # Without history the pace is even: day 42 of 91.
    assert tg.expected_share(None, D(2026, 5, 12)) == pytest.approx(42 / 91)


def test_pace_ahead_behind_and_without_target() -> None:
    # Q2 target 16,500, share 0.3 -> expected 4,950; closed 3,000 -> 1,950 behind, -1,950 / 4,950 = -39.4%.
    p = tg.pace(16500.0, 3000.0, 0.3)
    assert p.expected == pytest.approx(4950.0) and p.gap == pytest.approx(-1950.0)
    assert p.gap_pct == pytest.approx(-1950 / 4950) and p.ahead is False
    assert p.attainment == pytest.approx(3000 / 16500)
    # Closed 6,000 against the same 4,950: 1,050 ahead (+21.2%).
    assert tg.pace(16500.0, 6000.0, 0.3).ahead is True
    # No target: nothing expected, no gap, no division.
    empty = tg.pace(None, 3000.0, 0.3)
    assert empty.expected is None and empty.gap is None and empty.ahead is None
    assert tg.pace(0.0, 3000.0, 0.3).gap is None


def test_pace_on_the_first_day_has_nothing_expected_yet() -> None:
    # Day 1 with no bookings history in week 1: share 0, expected 0, gap 0, no percentage.
    p = tg.pace(9000.0, 0.0, 0.0)
    assert p.expected == 0.0 and p.gap == 0.0 and p.gap_pct is None


# ---------------------------------------------------------------- forecast

STATS = pl.DataFrame({
    # Closed deals that were in each stage (see the stage paths in tests/targets_fixtures.py).
    "stage": ["Prospecting", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
    "position": [1, 2, 3, 4, 5], "is_won": [False, False, False, True, False],
    "is_lost": [False, False, False, False, True], "default_probability": [0.1, 0.5, 0.8, 1.0, 0.0],
    "deals": [10, 8, 3, 7, 4], "won": [6, 6, 2, 7, 0],
    "amount": [17500.0, 15000.0, 4500.0, 13000.0, 6500.0], "won_amount": [11000.0, 12000.0, 3500.0, 13000.0, 0.0],
})


def test_stage_probabilities_learn_by_value_and_fall_back_when_thin() -> None:
    probs = {r["stage"]: r for r in tg.stage_probabilities(STATS, min_deals=4).iter_rows(named=True)}
    # Prospecting: won 11,000 of 17,500 closed value = 0.6286 (10 deals >= 4: learned); by count 6 / 10.
    assert probs["Prospecting"]["probability"] == pytest.approx(11000 / 17500)
    assert probs["Prospecting"]["win_rate_count"] == pytest.approx(0.6)
    # Proposal: 12,000 / 15,000 = 0.8.
    assert probs["Proposal"]["probability"] == pytest.approx(0.8) and probs["Proposal"]["source"] == "learned"
    # Negotiation: 3 deals < 4, so its default 0.8 is used although 3,500 / 4,500 = 0.778 was learned.
    assert probs["Negotiation"]["source"] == "default" and probs["Negotiation"]["probability"] == 0.8
    assert probs["Negotiation"]["learned"] == pytest.approx(3500 / 4500)
    assert probs["Closed Won"]["probability"] == 1.0 and probs["Closed Lost"]["probability"] == 0.0
    # With a high threshold every open stage keeps its default.
    high = tg.stage_probabilities(STATS, min_deals=100)
    assert high.filter(pl.col("source") == "learned").is_empty()


DEALS = pl.DataFrame({
    "opportunity_id": ["O1", "O2", "O3", "O5"], "amount": [2000.0, 1000.0, 4000.0, 500.0],
    "probability": [0.75, 0.8, 0.6, 0.6], "forecast_category": ["commit", "best_case", "pipeline", None],
}).with_columns((pl.col("amount") * pl.col("probability")).alias("weighted"))


def test_forecast_range_is_clipped_to_what_can_happen() -> None:
    fc = tg.forecast(3000.0, DEALS)
    # Weighted: 2,000 x .75 + 1,000 x .8 + 4,000 x .6 + 500 x .6 = 1,500 + 800 + 2,400 + 300 = 5,000.
    assert fc.weighted == pytest.approx(5000.0) and fc.expected == pytest.approx(8000.0)
    assert fc.open_total == 7500.0 and fc.open_deals == 4
    # Variance: 2,000² x .75 x .25 + 1,000² x .8 x .2 + 4,000² x .6 x .4 + 500² x .6 x .4
    #         = 750,000 + 160,000 + 3,840,000 + 60,000 = 4,810,000; sd 2,193.17; 1.2816 sd = 2,810.77.
    assert fc.low == pytest.approx(3000 + 5000 - 1.2816 * 4_810_000 ** 0.5)
    assert fc.low == pytest.approx(5189.23, abs=0.01)
    # 5,000 + 2,810.77 = 7,810.77 is more than all open deals (7,500): the high is clipped to 3,000 + 7,500.
    assert fc.high == pytest.approx(10500.0)
    empty = tg.forecast(3000.0, DEALS.clear())
    assert (empty.expected, empty.low, empty.high) == (3000.0, 3000.0, 3000.0)


def test_members_pace_and_forecast_in_columns_match_pace_and_forecast() -> None:
    groups = pl.DataFrame({
        "group_key": ["A", "B", "C", "D", "E"], "group_label": ["Ann", "Bob", "Cy", "Dee", "Eve"],
        "closed": [3000.0, None, 500.0, 0.0, 100.0], "target": [10000.0, 4000.0, None, 0.0, float("nan")],
    })
    # A holds the four deals of DEALS; B one deal; C, D and E none.
    deals = pl.concat([DEALS.select(pl.lit("A").alias("group_key"), "amount", "probability"),
                       pl.DataFrame({"group_key": ["B"], "amount": [None], "probability": [0.5]})])
    got = {r["group_key"]: r for r in tg.members_pace_and_forecast(groups, deals, 0.3).iter_rows(named=True)}
    # A by hand: expected 10,000 x .3 = 3,000, gap 0; forecast 3,000 + 5,000 with the range of
    # test_forecast_range_is_clipped_to_what_can_happen.
    assert (got["A"]["expected"], got["A"]["gap"], got["A"]["gap_pct"]) == (3000.0, 0.0, 0.0)
    assert got["A"]["forecast"] == pytest.approx(8000.0) and got["A"]["high"] == pytest.approx(10500.0)
    assert got["A"]["low"] == pytest.approx(5189.23, abs=0.01)
    assert got["A"]["forecast_attainment"] == pytest.approx(0.8)
    # B: nothing closed, a deal without an amount; C, D, E: no usable target (none, zero, NaN), no deals.
    assert (got["B"]["closed"], got["B"]["open_pipeline"], got["B"]["gap"]) == (0.0, 0.0, -1200.0)
    for key in ("C", "D", "E"):
        assert got[key]["target"] is None and got[key]["gap"] is None and got[key]["forecast_attainment"] is None
        assert got[key]["low"] == got[key]["high"] == got[key]["forecast"] == got[key]["closed"]
    # Every column equals what pace() and forecast() give for the group alone.
    for r in groups.iter_rows(named=True):
        p = tg.pace(r["target"], r["closed"], 0.3)
        fc = tg.forecast(r["closed"], deals.filter(pl.col("group_key") == r["group_key"]))
        want = {"target": p.target, "closed": p.closed, "attainment": p.attainment, "expected": p.expected,
                "gap": p.gap, "gap_pct": p.gap_pct, "open_pipeline": fc.open_total, "forecast": fc.expected,
                "low": fc.low, "high": fc.high, "forecast_attainment": tg.ratio_or_none(fc.expected, p.target)}
        row = {k: got[r["group_key"]][k] for k in tg.MEMBER_COLUMNS}
        assert row == pytest.approx(want), r["group_key"]


def test_spread_monthly_skips_unusable_rows_and_keeps_partial_months() -> None:
    rows = pl.DataFrame({
        "owner_type": ["rep"] * 5, "owner_id": ["a", "b", "c", "d", "e"],
        "period_start": [D(2026, 1, 15), None, D(2026, 3, 1), D(2026, 2, 1), D(2025, 12, 31)],
        "period_end": [D(2026, 3, 31), D(2026, 1, 31), D(2026, 2, 1), D(2026, 2, 28), D(2026, 1, 1)],
        "metric": ["bookings"] * 5, "value": [9.0, 1.0, 5.0, float("nan"), 4.0],
    })
    got = {(r["owner_id"], r["month"]): r["value"] for r in tg.spread_monthly(rows).iter_rows(named=True)}
    # a: Jan 15 - Mar 31 touches three months, 3 each; b has no start, c ends before its first month, d is NaN;
    # e: 31 Dec - 1 Jan touches two months, 2 each.
    assert got == {("a", D(2026, 1, 1)): 3.0, ("a", D(2026, 2, 1)): 3.0, ("a", D(2026, 3, 1)): 3.0,
                   ("e", D(2025, 12, 1)): 2.0, ("e", D(2026, 1, 1)): 2.0}
    assert tg.spread_monthly(rows.clear()).columns == ["owner_type", "owner_id", "metric", "month", "value"]


def test_forecast_categories_roll_up() -> None:
    cats = {r["category"]: r for r in tg.forecast_categories(3000.0, DEALS).iter_rows(named=True)}
    # Closed 3,000 + commit 2,000 = 5,000; + best case 1,000 = 6,000; + pipeline 4,000 = 10,000.
    assert cats["commit"]["rollup"] == 5000.0 and cats["best_case"]["rollup"] == 6000.0
    assert cats["pipeline"]["rollup"] == 10000.0
    assert cats["omitted"]["deals"] == 0 and cats["omitted"]["rollup"] is None
    assert tg.forecast_categories(3000.0, DEALS.with_columns(pl.lit(None, pl.String).alias("forecast_category"))
                                  ).is_empty()


# ---------------------------------------------------------------- coverage


def test_coverage_and_pipeline_needed() -> None:
    c = tg.coverage(16500.0, 3000.0, 7500.0, 0.625)
    # Remaining 16,500 - 3,000 = 13,500; coverage 7,500 / 13,500 = 0.556;
    # needed at 62.5% 13,500 / 0.625 = 21,600; missing 21,600 - 7,500 = 14,100.
    assert c.remaining == 13500.0 and c.ratio == pytest.approx(7500 / 13500)
    assert c.needed == pytest.approx(21600.0) and c.gap == pytest.approx(14100.0)


def test_coverage_edge_cases_never_divide_by_zero() -> None:
    met = tg.coverage(1000.0, 1500.0, 500.0, 0.5)  # target already met: nothing remains
    assert met.remaining == 0.0 and met.ratio is None and met.gap == 0.0
    no_rate = tg.coverage(1000.0, 0.0, 500.0, None)  # no closed history
    assert no_rate.ratio == 0.5 and no_rate.needed is None and no_rate.gap is None
    no_target = tg.coverage(None, 0.0, 500.0, 0.5)
    assert no_target.remaining is None and no_target.ratio is None
    assert tg.win_rate_by_value(10000.0, 6000.0) == pytest.approx(0.625)
    assert tg.win_rate_by_value(0.0, 0.0) is None


# ---------------------------------------------------------------- leading indicators


def test_headcount_and_weeks_employed() -> None:
    heads = tg.headcount_by_week(people(), [D(2026, 3, 23), D(2026, 3, 30)])
    # Week of 23 Mar: R1, R2, R4 (R3 not hired yet); week of 30 Mar ends 5 Apr, after R3's 1 Apr start: 4.
    # Managers do not count as sales reps.
    assert heads["headcount"].to_list() == [3, 4]
    # 1 Apr - 12 May is 42 days = 6 weeks; hired on 15 Apr: 28 days = 4 weeks.
    assert tg.weeks_employed(D(2026, 4, 1), None, D(2026, 4, 1), D(2026, 5, 12)) == 6.0
    assert tg.weeks_employed(D(2026, 4, 15), None, D(2026, 4, 1), D(2026, 5, 12)) == 4.0
    assert tg.weeks_employed(D(2026, 6, 1), None, D(2026, 4, 1), D(2026, 5, 12)) == 0.0


def test_activities_per_rep_fills_quiet_weeks() -> None:
    weekly = pl.DataFrame({"rep_id": ["R1", "R2", "R1"], "week": [D(2026, 4, 6), D(2026, 4, 6), D(2026, 4, 13)],
                           "type": ["call", "call", "email"], "activities": [3, 1, 2]})
    heads = pl.DataFrame({"week": [D(2026, 4, 6), D(2026, 4, 13)], "headcount": [4, 0]})
    out = {(r["week"], r["type"]): r["per_rep"] for r in tg.activities_per_rep(weekly, heads).iter_rows(named=True)}
    # Week of 6 Apr: (3 + 1) calls / 4 reps = 1.0, no email -> 0; week of 13 Apr has nobody: empty, not a division.
    assert out[(D(2026, 4, 6), "call")] == 1.0 and out[(D(2026, 4, 6), "email")] == 0.0
    assert out[(D(2026, 4, 13), "email")] is None


def test_weekly_activity_target_and_conversion() -> None:
    monthly = tg.spread_monthly(fx.TARGETS)
    # R1's 40 activities a month = 40 x 12 / 52 = 9.23 a week.
    assert tg.weekly_activity_target(monthly, people()) == pytest.approx(40 * 12 / 52)
    steps = tg.conversion({"activities": 9, "meetings": 3, "opportunities": 4, "wins": 2})
    # 3 / 9 = 33%, 4 / 3 = 133%, 2 / 4 = 50%.
    assert steps["rate"].to_list() == [None, pytest.approx(1 / 3), pytest.approx(4 / 3), pytest.approx(0.5)]
    assert tg.conversion({})["rate"].to_list() == [None, None, None, None]


# ---------------------------------------------------------------- decomposition


@pytest.mark.parametrize(("parent", "weights", "parts"), [
    (100.0, [1, 1, 1], [34.0, 33.0, 33.0]),  # 33.33 each: the one leftover unit goes to the first row
    (1000.0, [1, 2, 3], [167.0, 333.0, 500.0]),  # 166.67 / 333.33 / 500: the .67 fraction wins the unit
    (10.5, [1, 1], [5.25, 5.25]),  # a parent with cents is split to the cent
    (100.0, [0, 0], [50.0, 50.0]),  # no weights at all: evenly
    (0.0, [1, 2], [0.0, 0.0]),
])
def test_allocate_sums_exactly(parent: float, weights: list[float], parts: list[float]) -> None:
    assert tg.allocate(parent, weights) == parts
    assert sum(tg.allocate(parent, weights)) == pytest.approx(parent)


def test_allocate_refuses_negative_input() -> None:
    with pytest.raises(tg.DecompositionError):
        tg.allocate(-1.0, [1.0])
    with pytest.raises(tg.DecompositionError):
        tg.allocate(10.0, [1.0, -1.0])


def test_validate_parts_names_the_wrong_row() -> None:
    labels = ["Ann Able", "Bob Best", "Cy New"]
    tg.validate_parts(9000.0, labels, [3000.0, 3000.0, 3000.0])  # fine
    with pytest.raises(tg.DecompositionError, match="Row 'Bob Best' is negative"):
        tg.validate_parts(9000.0, labels, [3000.0, -100.0, 6100.0])
    with pytest.raises(tg.DecompositionError, match="Row 'Cy New' is empty"):
        tg.validate_parts(9000.0, labels, [3000.0, 3000.0, None])
    # Bob was raised by 500 from the proposal: the parts now sum to 9,500, and Bob is named.
    with pytest.raises(tg.DecompositionError, match=r"9,500.*9,000.*changed rows: Bob Best") as err:
        tg.validate_parts(9000.0, labels, [3000.0, 3500.0, 3000.0], original=[3000.0, 3000.0, 3000.0])
    assert err.value.code == "sum_changed" and err.value.values["diff"] == 500.0
    assert "9,500" in err.value.message("zh")
    with pytest.raises(tg.DecompositionError, match="not the target"):
        tg.validate_parts(9000.0, labels, [3000.0, 3500.0, 3000.0])


def test_seasonal_month_shares() -> None:
    history = pl.DataFrame({"month": [D(2025, 10, 1), D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)],
                            "bookings": [2000.0, 4000.0, 1000.0, 1000.0, 2000.0]})
    shares = tg.seasonal_month_shares(history)
    # Total 10,000: Jan .1, Feb .1, Mar .2, Oct .2, Dec .4, the rest 0.
    assert shares == pytest.approx([0.1, 0.1, 0.2, 0, 0, 0, 0, 0, 0, 0.2, 0, 0.4])
    assert tg.seasonal_month_shares(history.clear()) is None


def test_decompose_annual_by_seasonality_evenly_and_by_hand() -> None:
    shares = [0.1, 0.1, 0.2, 0, 0, 0, 0, 0, 0, 0.2, 0, 0.4]
    months = tg.decompose_annual(120000.0, 2027, "seasonality", shares)
    # 120,000 x .1 = 12,000 (Jan, Feb), x .2 = 24,000 (Mar, Oct), x .4 = 48,000 (Dec).
    assert months["value"].to_list() == [12000.0, 12000.0, 24000.0, 0, 0, 0, 0, 0, 0, 24000.0, 0, 48000.0]
    quarters = dict(tg.quarters_of(months).select("quarter", "value").iter_rows())
    assert quarters == {"Q1 2027": 48000.0, "Q2 2027": 0.0, "Q3 2027": 0.0, "Q4 2027": 72000.0}
    # Evenly: 100,000 / 12 = 8,333.33; 4 units left over go to the first four months.
    even = tg.decompose_annual(100000.0, 2027, "even")["value"].to_list()
    assert even == [8334.0] * 4 + [8333.0] * 8 and sum(even) == 100000.0
    # No seasonality history: evenly.
    assert tg.decompose_annual(1200.0, 2027, "seasonality", None)["value"].to_list() == [100.0] * 12
    hand = [10000.0] * 12
    assert tg.decompose_annual(120000.0, 2027, "hand", hand=hand)["value"].sum() == 120000.0
    with pytest.raises(tg.DecompositionError, match="Row 'Mar 2027' is negative"):
        tg.decompose_annual(120000.0, 2027, "hand", hand=[10000.0] * 2 + [-1.0] + [10000.0] * 9)
    with pytest.raises(tg.DecompositionError, match="Expected 12 values, got 11"):
        tg.decompose_annual(120000.0, 2027, "hand", hand=[10000.0] * 11)


def test_months_employed() -> None:
    # Hired 1 Oct 2025, window Apr 2025 - Mar 2026: Oct..Mar = 6 months.
    assert tg.months_employed(D(2025, 10, 1), None, D(2025, 4, 1), D(2026, 3, 31)) == 6
    assert tg.months_employed(D(2026, 4, 1), None, D(2025, 4, 1), D(2026, 3, 31)) == 0


Q2 = pl.DataFrame({"month": [D(2026, 4, 1), D(2026, 5, 1), D(2026, 6, 1)], "value": [3000.0, 3000.0, 3000.0]})


def _reps(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        [{"rep_id": r[0], "name": r[1], "hire_date": r[2], "leave_date": None, "history_bookings": r[3]}
         for r in rows],
        schema={"rep_id": pl.String, "name": pl.String, "hire_date": pl.Date, "leave_date": pl.Date,
                "history_bookings": pl.Float64},
    )


def test_decompose_team_by_capacity_ramps_up_a_new_hire() -> None:
    reps = _reps(("R1", "Ann Able", D(2022, 1, 10), 0.0), ("R3", "Cy New", D(2026, 4, 1), 0.0))
    split = tg.decompose_team(Q2, reps, "capacity", ramp_months=3)
    # Cy's capacity: Apr .25, May .5, Jun .75 against Ann's 1.
    # Apr 3,000 x 1/1.25 = 2,400 | 600; May 3,000 x 1/1.5 = 2,000 | 1,000;
    # Jun 3,000 / 1.75 = 1,714.29 | 1,285.71 -> rounded 1,714 | 1,286 (the larger fraction gets the unit).
    # Ann 2,400 + 2,000 + 1,714 = 6,114; Cy 600 + 1,000 + 1,286 = 2,886; together 9,000.
    assert split.reps["value"].to_list() == [6114.0, 2886.0]
    month_sums = split.monthly.group_by("month").agg(pl.col("value").sum()).sort("month")["value"].to_list()
    assert month_sums == [3000.0, 3000.0, 3000.0]
    assert any(key == "targets.note.ramping" and "Cy New" in v["names"] for key, v in split.notes)


def test_decompose_team_by_capacity_gives_nothing_before_the_hire_month() -> None:
    """Cy, hired 20 May: no capacity in April, then the ramp counts May whole: .25, then June .5."""
    reps = _reps(("R1", "Ann Able", D(2022, 1, 10), 0.0), ("R3", "Cy New", D(2026, 5, 20), 0.0))
    split = tg.decompose_team(Q2, reps, "capacity", ramp_months=3)
    # Apr 3,000 | 0; May 3,000 x 1/1.25 = 2,400 | 600; Jun 3,000 x 1/1.5 = 2,000 | 1,000.
    assert split.reps["value"].to_list() == [7400.0, 1600.0]
    cy = split.monthly.filter(pl.col("rep_id") == "R3").sort("month")["value"].to_list()
    assert cy == [0.0, 600.0, 1000.0]


def test_decompose_team_by_history_gives_a_rep_without_history_the_average() -> None:
    reps = _reps(("R1", "Ann Able", D(2022, 1, 10), 12000.0), ("R2", "Bob Best", D(2025, 10, 1), 9000.0),
                 ("R3", "Cy New", D(2026, 4, 1), 0.0))
    split = tg.decompose_team(Q2, reps, "history", D(2025, 4, 1), D(2026, 3, 31))
    # Per month worked: Ann 12,000 / 12 = 1,000; Bob (hired Oct) 9,000 / 6 = 1,500; Cy none -> average 1,250.
    # 9,000 x 1,000 / 3,750 = 2,400; x 1,500 / 3,750 = 3,600; x 1,250 / 3,750 = 3,000.
    assert split.reps["value"].to_list() == [2400.0, 3600.0, 3000.0]
    assert ("targets.note.no_history", {"names": "Cy New"}) in split.notes


def test_decompose_team_with_one_rep_and_by_hand() -> None:
    one = tg.decompose_team(Q2, _reps(("R4", "Dee Solo", D(2024, 1, 1), 2000.0)), "history",
                            D(2025, 4, 1), D(2026, 3, 31))
    # One rep: the whole 9,000 goes to Dee, with a note, and no division by a team of one.
    assert one.reps["value"].to_list() == [9000.0] and one.reps["share"].to_list() == [1.0]
    assert ("targets.note.one_rep", {"name": "Dee Solo"}) in one.notes
    reps = _reps(("R1", "Ann Able", None, 0.0), ("R2", "Bob Best", None, 0.0))
    hand = tg.decompose_team(Q2, reps, "hand", hand=[6000.0, 3000.0])
    # Ann 6,000 of 9,000 = 2/3 of each month: 2,000 a month.
    assert hand.monthly.filter(pl.col("rep_id") == "R1")["value"].to_list() == [2000.0, 2000.0, 2000.0]
    with pytest.raises(tg.DecompositionError, match="Row 'Bob Best' is negative"):
        tg.decompose_team(Q2, reps, "hand", hand=[9500.0, -500.0])
    with pytest.raises(tg.DecompositionError, match="add up to"):
        tg.decompose_team(Q2, reps, "hand", hand=[6000.0, 2000.0])
    with pytest.raises(tg.DecompositionError):
        tg.decompose_team(Q2, reps.clear(), "history")


def test_plan_rows_and_scale_to_parent() -> None:
    reps = _reps(("R1", "Ann Able", None, 1.0), ("R2", "Bob Best", None, 1.0))
    rows = tg.plan_rows("North", Q2, tg.decompose_team(Q2, reps, "history"))
    # 3 team months + 2 reps x 3 months, each a month long.
    assert rows.height == 9 and set(rows["owner_type"]) == {"team", "rep"}
    assert rows.filter(pl.col("owner_type") == "rep")["value"].sum() == 9000.0
    assert rows["period_end"].to_list()[0] == D(2026, 4, 30)
    # Edited rows 3,000 / 3,500 / 3,000 (9,500) scaled back to 9,000: 2,842.1 / 3,315.8 / 2,842.1
    # -> 2,842 / 3,316 / 2,842.
    assert tg.scale_to_parent(9000.0, [3000.0, 3500.0, 3000.0]) == [2842.0, 3316.0, 2842.0]
