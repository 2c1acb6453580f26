"""What the targets page and the targets commands show, gathered in one place so both print the same numbers.

Each function runs the named queries for the group the filters select and hands the facts to the pure
functions in saleslens.targets.logic. No Streamlit here; the runner is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from queries.runner import Runner
from saleslens.core import pymap
from saleslens.core.context import Call
from saleslens.core.filters import Filters
from saleslens.targets import forecast as fm
from saleslens.targets import logic as tg
from saleslens.targets import sets as target_sets

SNAPSHOT_SOURCE = ""  # the target source meaning "the snapshot's targets table"
HISTORY_QUARTERS = 8  # past quarters the pacing curve learns from
MIN_CURVE_QUARTERS = 2  # a group needs bookings in this many past quarters to have its own curve


def org_params(f: Filters) -> dict[str, list[str]]:
    """The region/team/rep filters as query parameters."""
    return {"regions": list(f.regions), "teams": list(f.teams), "reps": list(f.reps)}


def deal_params(f: Filters) -> dict[str, list[str]]:
    """Every list filter (org and deal filters) as query parameters."""
    return {k: v for k, v in f.params().items() if k not in ("start", "end")}


def group_kind(f: Filters) -> tuple[str, list[str]]:
    """What the filters select: ('rep', ids), ('team', names), ('region', names) or ('org', [])."""
    for kind, values in (("rep", f.reps), ("team", f.teams), ("region", f.regions)):
        if values:
            return kind, list(values)
    return "org", []


# The named queries behind the reports, each built in one place so the page's run_many asks for what they ask.


def _run(runner: Runner, call: Call) -> pl.DataFrame:
    """Run one named query call."""
    name, params = call
    return runner.run(name, **params)


def members_call(f: Filters, history: tuple[date, date] | None = None) -> Call:
    """The people of the group, with their bookings over an optional history window."""
    h_start, h_end = history or (None, None)
    return "targets_by_rep", {"history_start": h_start, "history_end": h_end, **org_params(f)}


def daily_call(f: Filters, start: date, end: date) -> Call:
    """Won bookings per day of the group."""
    return "pacing_by_day", {"start": start, "end": end, **deal_params(f)}


def weekly_call(f: Filters, as_of: date) -> Call:
    """Won bookings per week of past quarters, for the seasonality curve."""
    return "seasonality_by_week", {"as_of": as_of, "quarters": HISTORY_QUARTERS, **deal_params(f)}


def win_rates_call(f: Filters, start: date, end: date) -> Call:
    """Won and lost value per rep in a window."""
    return "coverage_by_rep", {"start": start, "end": end, **deal_params(f)}


def rep_months_call(f: Filters, start: date, end: date) -> Call:
    """Won bookings per rep and month."""
    return "attainment_by_rep_month", {"start": start, "end": end, **deal_params(f)}


STAGE_STATS_CALL: Call = ("forecast_by_stage", {})


def target_rows_call(metric: str = "bookings") -> Call:
    """The snapshot's target rows of a metric (the same for every group)."""
    return "targets_by_owner", {"metric": metric}


def coverage_window(q_start: date) -> tuple[date, date]:
    """The four quarters before a quarter: the history behind the coverage win rate."""
    return tg.add_months(q_start, -12), q_start - timedelta(days=1)


def view_calls(f: Filters, as_of: date, members_table: bool = True) -> list[Call]:
    """The queries of the page's headline for a group (and of its table of members), slowest first.

    The same calls members, target_rows, pacing_report, forecast_report, coverage_report and members_table make,
    so after running them side by side (Runner.run_many) the reports read the runner's cache; the organisation's
    fallbacks run only where a group needs them. The snapshot's target rows come once per runner (unused while a
    saved target set is chosen).
    """
    q_start = tg.quarter_bounds(as_of)[0]
    calls = [*fm.calls(f, as_of), win_rates_call(f, *coverage_window(q_start)), members_call(f),
             weekly_call(f, as_of), daily_call(f, q_start, as_of), STAGE_STATS_CALL, target_rows_call()]
    return [*calls, rep_months_call(f, q_start, as_of)] if members_table else calls


def members(runner: Runner, f: Filters, history: tuple[date, date] | None = None) -> pl.DataFrame:
    """The people of the group, with their bookings over an optional history window."""
    return _run(runner, members_call(f, history))


def target_rows(runner: Runner, data_dir: Path, source: str = SNAPSHOT_SOURCE, metric: str = "bookings"
                ) -> pl.DataFrame:
    """Target rows of a metric from the snapshot, or from a saved set when `source` names one."""
    if source:
        rows = target_sets.load(data_dir, source).rows
        return rows.filter(pl.col("metric") == metric).select(tg.TARGET_COLUMNS)
    return _run(runner, target_rows_call(metric)).select(tg.TARGET_COLUMNS)


def monthly_targets(rows: pl.DataFrame, people: pl.DataFrame, f: Filters, by: str, metric: str = "bookings",
                    within: tuple[date, date] | None = None) -> pl.DataFrame:
    """Target per group and month for the people of the filtered group (team rows only when no rep is picked).

    With `within`, only the rows whose period touches that range are spread: the months in it come out the
    same, and a quarter needs an eighth of the rows.
    """
    if within is not None:
        rows = rows.filter((pl.col("period_end") >= within[0]) & (pl.col("period_start") <= within[1]))
    mine = tg.rows_for_group(rows.filter(pl.col("metric") == metric), people, team_rows=not f.reps)
    return tg.group_targets(tg.spread_monthly(mine), people, by, metric)


def trend_range(f: Filters, as_of: date) -> tuple[date, date]:
    """The trend's range: the whole calendar years the period touches (all time: last year and this one)."""
    start = f.start or date(as_of.year - 1, 1, 1)
    end = f.end or date(as_of.year, 12, 31)
    return date(start.year, 1, 1), date(end.year, 12, 31)


def attainment_table(runner: Runner, f: Filters, rows: pl.DataFrame, people: pl.DataFrame, by: str, grain: str,
                     start: date, end: date, as_of: date) -> pl.DataFrame:
    """Attainment per group and period (month or quarter) with year-to-date running totals."""
    facts = _run(runner, rep_months_call(f, start, end))
    actual = tg.group_actuals(facts, people, by)
    target = monthly_targets(rows, people, f, by)
    return tg.attainment(actual, target, start, end, as_of, grain)


# ---------------------------------------------------------------- pacing


@dataclass(frozen=True)
class PacingReport:
    """Pacing of the current quarter for the group."""

    as_of: date
    q_start: date
    q_end: date
    pace: tg.Pace
    curve: list[float] | None
    curve_source: str  # group, org or linear
    quarters_learned: int
    daily: pl.DataFrame  # day, bookings, cumulative
    expected: pl.DataFrame  # day, expected


def learned_curve(runner: Runner, f: Filters, as_of: date) -> tuple[list[float] | None, str, int]:
    """The group's seasonality curve, the organisation's when the group has too little history, else none."""
    weekly = _run(runner, weekly_call(f, as_of))
    n = weekly.filter(pl.col("bookings") > 0)["quarter_start"].n_unique() if weekly.height else 0
    if n >= MIN_CURVE_QUARTERS and (curve := tg.seasonality_curve(weekly)):
        return curve, "group", n
    org = _run(runner, weekly_call(Filters(), as_of))
    n_org = org.filter(pl.col("bookings") > 0)["quarter_start"].n_unique() if org.height else 0
    if n_org and (curve := tg.seasonality_curve(org)):
        return curve, "org", n_org
    return None, "linear", 0


def quarter_target(rows: pl.DataFrame, people: pl.DataFrame, f: Filters, q_start: date) -> float | None:
    """The group's bookings target for the quarter starting on q_start; None when it has none."""
    q_end = tg.quarter_bounds(q_start)[1]
    monthly = monthly_targets(rows, people, f, "org", within=(q_start, q_end))
    months = tg.months_between(q_start, q_end)
    in_q = monthly.filter(pl.col("month").is_in(months))
    return float(in_q["target"].sum()) if in_q.height else None


def pacing_report(runner: Runner, f: Filters, rows: pl.DataFrame, people: pl.DataFrame, as_of: date
                  ) -> PacingReport:
    """Closed to date in the quarter of `as_of` against where the group usually is by then."""
    q_start, q_end = tg.quarter_bounds(as_of)
    daily = _run(runner, daily_call(f, q_start, as_of)).sort("day")
    daily = daily.with_columns(pl.col("bookings").cum_sum().alias("cumulative"))
    closed = float(daily["bookings"].sum()) if daily.height else 0.0
    curve, source, n = learned_curve(runner, f, as_of)
    share = tg.expected_share(curve, as_of)
    target = quarter_target(rows, people, f, q_start)
    expected = tg.expected_curve(curve, q_start, target or 0.0)
    return PacingReport(as_of, q_start, q_end, tg.pace(target, closed, share), curve, source, n,
                        daily.select("day", "bookings", "cumulative"), expected)


# ---------------------------------------------------------------- forecast and coverage


@dataclass(frozen=True)
class ForecastReport:
    """Forecast to the end of the quarter: the one model's outcome, its deals and stage rates, and the reps' call."""

    probabilities: pl.DataFrame  # per stage: learning rows, share won within the period, default probability
    deals: pl.DataFrame  # open deals with the model's chance (probability) and amount x chance (weighted)
    forecast: tg.Forecast
    categories: pl.DataFrame  # the reps' call: open deals due in the quarter by forecast category
    has_stage_history: bool  # whether the model learned (else the fallback was used)
    min_deals: int
    outcome: fm.Outcome


def stage_probabilities(runner: Runner, learned: bool = True) -> pl.DataFrame:
    """Per stage: the learning rows and the share won within the period, by value or by count as the model chose (the
    defaults when not learned)."""
    stages = _run(runner, STAGE_STATS_CALL).select("stage", "position", "is_won", "is_lost", "default_probability")
    learned = fm.stage_table(runner) if learned else pl.DataFrame(
        schema={"stage": pl.String, "n": pl.Float64, "wins": pl.Float64, "p": pl.Float64})
    frame = stages.filter(~pl.col("is_won") & ~pl.col("is_lost")).join(learned, on="stage", how="left")
    frame = frame.with_columns(
        pl.col("n").fill_null(0).cast(pl.Int64).alias("rows"),
        pl.col("p").alias("won_within_period"),
        pl.when(pl.col("p").is_not_null()).then(pl.lit("learned")).otherwise(pl.lit("default")).alias("source"),
    )
    return frame.select("stage", "position", "rows", "won_within_period", "default_probability", "source").sort(
        "position")


def _due_deals(deals: pl.DataFrame, q_start: date, q_end: date) -> pl.DataFrame:
    """Open deals the reps expect this quarter: expected close in it (overdue ones too) or none given."""
    return deals.filter(pl.coalesce(pl.col("expected_close_date"), pl.lit(q_end)).is_between(q_start, q_end))


def forecast_report(runner: Runner, f: Filters, q_start: date, q_end: date, closed: float,
                    min_deals: int = tg.MIN_STAGE_DEALS) -> ForecastReport:
    """The model's forecast of the quarter (saleslens.targets.forecast), with its deals and the reps' call.

    `closed` is the pacing's closed to date; the model counts the same won deals, so the two agree.
    """
    out = fm.model_forecast(runner, f)
    probs = stage_probabilities(runner, out.method == "model")
    deals = out.deals.with_columns(pl.col("current_owner_id").alias("owner_id"),
                                   pl.col("expected").alias("weighted")).sort(
        ["amount", "opportunity_id"], descending=[True, False])
    due = _due_deals(deals, q_start, q_end)
    # the deals in the forecast: those it counts (a chance above 0) and those the reps expect this quarter
    deals = deals.filter((pl.col("probability") > 0) | pl.col("opportunity_id").is_in(due["opportunity_id"].to_list()))
    expected = out.expected
    low = out.low if out.low is not None else expected
    high = out.high if out.high is not None else expected
    forecast = tg.Forecast(out.closed, out.from_open + out.new, float(due["amount"].sum()), due.height, low, high)
    return ForecastReport(probs, deals, forecast, tg.forecast_categories(out.closed, due), out.method == "model",
                          min_deals, out)


@dataclass(frozen=True)
class CoverageReport:
    """Coverage of the remaining target, with where the win rate came from."""

    coverage: tg.Coverage
    win_rate_source: str  # group, org or none
    history_start: date
    history_end: date


def win_rates(runner: Runner, f: Filters, start: date, end: date) -> pl.DataFrame:
    """Won and lost value per rep in a window (the basis of historical win rates)."""
    return _run(runner, win_rates_call(f, start, end))


def coverage_report(runner: Runner, f: Filters, q_start: date, target: float | None, closed: float,
                    open_pipeline: float) -> CoverageReport:
    """Open pipeline against the remaining target; the win rate is the group's last four quarters (else the org's)."""
    h_start, h_end = coverage_window(q_start)
    mine = win_rates(runner, f, h_start, h_end)
    rate = tg.win_rate_by_value(mine["won_amount"].sum(), mine["lost_amount"].sum()) if mine.height else None
    source = "group"
    if rate is None:
        org = win_rates(runner, Filters(), h_start, h_end)
        rate = tg.win_rate_by_value(org["won_amount"].sum(), org["lost_amount"].sum()) if org.height else None
        source = "org" if rate is not None else "none"
    return CoverageReport(tg.coverage(target, closed, open_pipeline, rate), source, h_start, h_end)


# ---------------------------------------------------------------- who is behind


def members_table(runner: Runner, f: Filters, rows: pl.DataFrame, people: pl.DataFrame, by: str,
                  pacing: PacingReport, fc: ForecastReport) -> pl.DataFrame:
    """Per rep (or team, region) of the group: target, closed, expected by today, gap and the model's forecast."""
    q_start, q_end, as_of = pacing.q_start, pacing.q_end, pacing.as_of
    facts = _run(runner, rep_months_call(f, q_start, as_of))
    closed = tg.group_actuals(facts, people, by).group_by("group_key").agg(
        pl.col("group_label").first(), pl.col("bookings").sum().alias("closed"))
    months = tg.months_between(q_start, q_end)
    target = monthly_targets(rows, people, f, by, within=(q_start, q_end)).filter(pl.col("month").is_in(months))
    target = target.group_by("group_key").agg(pl.col("group_label").first(), pl.col("target").sum())
    people_cols = people.select("rep_id", "name", "team", "region")
    deals = _due_deals(fc.deals, q_start, q_end).select(pl.col("owner_id").alias("rep_id"), "amount",
                                                         "probability").join(people_cols, on="rep_id", how="inner")
    deals = tg._with_group(deals, by) if deals.height else deals.with_columns(
        pl.lit(None, pl.String).alias("group_key"), pl.lit(None, pl.String).alias("group_label"))
    owners = fc.outcome.by_owner.rename({"owner_id": "rep_id"}).join(people_cols, on="rep_id", how="inner")
    owners = tg._with_group(owners, by) if owners.height else owners.with_columns(
        pl.lit(None, pl.String).alias("group_key"), pl.lit(None, pl.String).alias("group_label"))
    model = owners.group_by("group_key").agg(pl.col("group_label").first(), pl.col("forecast").sum().alias("model"))
    keys = pl.concat([closed.select("group_key", "group_label"), target.select("group_key", "group_label"),
                      model.select("group_key", "group_label")]).unique("group_key", keep="first")
    groups = keys.join(closed.select("group_key", "closed"), on="group_key", how="left", maintain_order="left").join(
        target.select("group_key", "target"), on="group_key", how="left", maintain_order="left")
    frame = tg.members_pace_and_forecast(groups, deals.select("group_key", "amount", "probability"),
                                         pacing.pace.share)
    # the forecast is the model's per owner (closed + open deals' chances + new business); the range is the
    # group's only (past errors are learned for the group, not for each member), so members show none
    frame = frame.join(model.select("group_key", "model"), on="group_key", how="left").with_columns(
        pl.coalesce("model", "closed").alias("forecast"), pl.lit(None, pl.Float64).alias("low"),
        pl.lit(None, pl.Float64).alias("high"),
    ).with_columns(
        pl.when(pl.col("target") > 0).then(pl.col("forecast") / pl.col("target")).alias("forecast_attainment"),
    ).drop("model")
    return frame.sort(["gap", "group_label"], nulls_last=True)


# ---------------------------------------------------------------- forecast accuracy


def accuracy(runner: Runner, f: Filters) -> pl.DataFrame:
    """The model's backtest for the group: one row per snapshot day of each complete past quarter."""
    return fm.backtest_for(runner, f)


def accuracy_summary(frame: pl.DataFrame) -> pl.DataFrame:
    """Per week before quarter end: MAPE and bias of the model and the naive baselines, and range coverage."""
    return fm.summary(frame)


def manager_gap(fc: ForecastReport, people: pl.DataFrame) -> pl.DataFrame:
    """Per manager: the model's forecast beside the reps' call (closed + commit, + best case) and the gap."""
    return fm.manager_gap(fc.outcome.by_owner, fc.outcome.deals, people)


# ---------------------------------------------------------------- leading indicators


@dataclass
class LeadingReport:
    """Activities per rep per week against the activity target, a per-rep table and the conversion steps."""

    weekly: pl.DataFrame  # week, type, activities, headcount, per_rep
    per_rep: pl.DataFrame  # rep_id, name, team, activities, meetings, opportunities, wins, weeks, per_week, target
    conversion: pl.DataFrame  # step, count, rate
    weekly_target: float | None
    weeks: list[date] = field(default_factory=list)


def _weeks(start: date, end: date) -> list[date]:
    """Mondays of the weeks that touch start..end."""
    first = start - timedelta(days=start.weekday())
    return [first + timedelta(days=7 * i) for i in range((end - first).days // 7 + 1)]


def leading_report(runner: Runner, data_dir: Path, f: Filters, start: date, end: date, source: str,
                   people: pl.DataFrame) -> LeadingReport:
    """Activities per rep and week by type, each rep's weekly average against target, and the conversion steps."""
    end = min(end, runner.snapshot.as_of)  # weeks after the snapshot have not happened yet
    start = min(start, end)
    # the chart shows whole weeks only: a partial first or last week would look like a slump
    weeks = [w for w in _weeks(start, end) if w >= start and w + timedelta(days=6) <= end]
    by_week = runner.run("activities_by_rep_week", start=start, end=end, **org_params(f))
    weekly = tg.activities_per_rep(by_week.filter(pl.col("week").is_in(weeks)), tg.headcount_by_week(people, weeks))
    rows = target_rows(runner, data_dir, source, "activities")
    monthly = tg.spread_monthly(tg.rows_for_group(rows, people, team_rows=False))
    in_range = monthly.filter(pl.col("month").is_between(tg.month_start(start), end))
    per_rep = runner.run("activities_by_rep", start=start, end=end, **org_params(f))
    per_rep = per_rep.filter(pl.col("role").is_in(list(tg.SALES_ROLES)))
    rep_targets = in_range.filter(pl.col("owner_type") == "rep").group_by("owner_id").agg(
        (pl.col("value").mean() * 12 / 52).alias("weekly_target"))
    per_rep = per_rep.with_columns(
        pymap.map_values(per_rep.select(pl.struct("hire_date", "leave_date")).to_series(),
            lambda r: tg.weeks_employed(r["hire_date"], r["leave_date"], start, end), pl.Float64
        ).alias("weeks")
    ).with_columns(
        pl.when(pl.col("weeks") > 0).then(pl.col("activities") / pl.col("weeks")).alias("per_week")
    ).join(rep_targets, left_on="rep_id", right_on="owner_id", how="left")
    counts = {step: float(per_rep[step].sum()) if per_rep.height else 0.0 for step in tg.CONVERSION_STEPS}
    return LeadingReport(weekly, per_rep.sort("per_week", nulls_last=True), tg.conversion(counts),
                         tg.weekly_activity_target(in_range, people), weeks)


# ---------------------------------------------------------------- planning


def plan_inputs(runner: Runner, f: Filters, team: str, as_of: date) -> tuple[pl.DataFrame, list[float] | None]:
    """The team's people with 12 months of bookings history, and the yearly seasonality shares of the team."""
    h_start, h_end = tg.add_months(tg.month_start(as_of), -12), tg.month_start(as_of) - timedelta(days=1)
    people = runner.run("targets_by_rep", history_start=h_start, history_end=h_end, teams=[team])
    season = runner.run("seasonality_by_month", as_of=as_of, years=2, teams=[team])
    shares = tg.seasonal_month_shares(season)
    if shares is None:  # a new team: the organisation's seasonality is the best guess
        shares = tg.seasonal_month_shares(runner.run("seasonality_by_month", as_of=as_of, years=2))
    return people, shares


def team_annual_target(rows: pl.DataFrame, people: pl.DataFrame, team: str, year: int) -> float | None:
    """A team's current bookings target for a year (its reps' targets, or the team's own where they have none)."""
    team_people = people.filter(pl.col("team") == team)
    mine = tg.rows_for_group(rows.filter(pl.col("metric") == "bookings"), team_people)
    monthly = tg.group_targets(tg.spread_monthly(mine), team_people, "team")
    in_year = monthly.filter(pl.col("month").dt.year() == year)
    return float(in_year["target"].sum()) if in_year.height else None


def history_window(as_of: date) -> tuple[date, date]:
    """The 12 whole months before the month of `as_of`: the bookings history used to split a team target."""
    return tg.add_months(tg.month_start(as_of), -12), tg.month_start(as_of) - timedelta(days=1)
