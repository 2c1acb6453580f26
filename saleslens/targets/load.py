"""Everything the Targets & forecast page draws, computed without Streamlit: the page and the benchmark call this.

load() computes the headline (pacing, forecast, coverage); each section has its own load_* so only the
open section computes, as on the page. The planning section's later steps follow widgets one by one and
stay in the page; load_plan_team gives them the team's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

import plotly.graph_objects as go
import polars as pl

from saleslens.core import pymap
from saleslens.core.context import DataContext
from saleslens.core.filters import Filters
from saleslens.core.i18n import t
from saleslens.core.money import with_original
from saleslens.targets import charts as ch
from saleslens.targets import data as td
from saleslens.targets import forecast as fm
from saleslens.targets import logic as tg
from saleslens.targets import sets as target_sets

if TYPE_CHECKING:  # the benchmark's pandas baseline process imports features without loading DuckDB
    from queries.runner import Runner

VIEWS = ("pacing", "trend", "accuracy", "leading", "heatmap", "plan")


@dataclass(frozen=True)
class TargetsChoices:
    """What the page's own widgets say (the sidebar filters come with the context)."""

    view: str = VIEWS[0]
    source: str = td.SNAPSHOT_SOURCE  # the snapshot's targets, or a saved target set's name
    min_deals: int = tg.MIN_STAGE_DEALS
    members_by: str = "rep"
    grain: str = "month"
    cumulative: bool = False
    heat_by: str = "team"


class _ViaContext:
    """The context's runner with run() going through ctx.run, so a timing context (the benchmark) sees each query."""

    def __init__(self, ctx: DataContext) -> None:
        self._ctx = ctx

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query through the context."""
        return self._ctx.run(name, **params)

    def __getattr__(self, name: str) -> object:
        return getattr(self._ctx.runner, name)


def runner_of(ctx: DataContext) -> Runner:
    """The runner the data functions take, routed through the context."""
    return cast("Runner", _ViaContext(ctx))


@dataclass(frozen=True)
class TargetsView:
    """The headline: whose numbers, the quarter, pacing, forecast and coverage."""

    choices: TargetsChoices
    as_of: date
    people: pl.DataFrame
    source: str  # the source used: the snapshot's when the chosen set could not be read
    bad_set: str | None  # why the chosen target set could not be read
    rows: pl.DataFrame
    group: str  # whose numbers, in words
    pacing: td.PacingReport
    fc: td.ForecastReport
    cov: td.CoverageReport
    q_label: str
    day: int  # day of the quarter
    days: int  # days in the quarter


def group_description(f: Filters, people: pl.DataFrame, lang: str) -> str:
    """Whose numbers these are, in words: the organisation, a region, a team or some reps."""
    kind, values = td.group_kind(f)
    if kind == "org":
        return t("targets.group.org", lang)
    if kind == "rep":
        names = people.filter(pl.col("rep_id").is_in(values))["name"].to_list() or values
        return t("targets.group.rep", lang, names=", ".join(names))
    return t(f"targets.group.{kind}", lang, names=", ".join(values))


def load(ctx: DataContext, choices: TargetsChoices) -> TargetsView | None:
    """The headline's numbers for the filters and the chosen target source; None when the group has nobody."""
    f, as_of, runner = ctx.filters, ctx.snapshot.as_of, runner_of(ctx)
    # The headline's queries (and the Pacing section's, when it is the one shown) run at once, not one by one.
    ctx.run_many(td.view_calls(f, as_of, members_table=choices.view == "pacing"))
    people = td.members(runner, f)
    if people.is_empty():
        return None
    source, bad_set = choices.source, None
    try:
        if source and source not in target_sets.names(ctx.data_dir, who=getattr(ctx, "grant", None)):
            raise target_sets.TargetSetError(f"There is no target set '{source}' you may see.")  # a private one
        rows = td.target_rows(runner, ctx.data_dir, source)
    except target_sets.TargetSetError as exc:
        source, bad_set = td.SNAPSHOT_SOURCE, str(exc)
        rows = td.target_rows(runner, ctx.data_dir)
    pacing = td.pacing_report(runner, f, rows, people, as_of)
    p = pacing.pace
    fc = td.forecast_report(runner, f, pacing.q_start, pacing.q_end, p.closed, choices.min_deals)
    cov = td.coverage_report(runner, f, pacing.q_start, p.target, p.closed, fc.forecast.open_total)
    return TargetsView(choices, as_of, people, source, bad_set, rows, group_description(f, people, ctx.lang),
                       pacing, fc, cov, ch.period_label(pacing.q_start, "quarter", ctx.lang),
                       (as_of - pacing.q_start).days + 1, (pacing.q_end - pacing.q_start).days + 1)


# ---------------------------------------------------------------- pacing, forecast, coverage, who is behind


@dataclass(frozen=True)
class PacingSection:
    """The Pacing section: its three charts, the stage and category tables and who is behind."""

    pacing_chart: go.Figure
    forecast_chart: go.Figure
    learned: int  # stages whose probability was learned from history
    coverage_chart: go.Figure | None  # None without a quarter target
    members: pl.DataFrame  # per rep, team or region (choices.members_by)
    members_title: str
    members_chart: go.Figure | None  # None when no member has a gap
    without_target: list[str]  # members with no target (the first ten are named)
    categories: pl.DataFrame  # the forecast categories, translated
    managers: pl.DataFrame  # per manager: the model's forecast beside the reps' call, and the gap


def load_pacing(ctx: DataContext, view: TargetsView) -> PacingSection:
    """The Pacing section's figures and tables, the members grouped by the choices' members_by."""
    lang, pacing, fc, c, by = ctx.lang, view.pacing, view.fc, view.cov.coverage, view.choices.members_by
    table = td.members_table(runner_of(ctx), ctx.filters, view.rows, view.people, by, pacing, fc)
    title = t(f"targets.by.{by}", lang)
    has_gap = not table.is_empty() and table["gap"].is_not_null().any()
    no_target = [] if table.is_empty() else table.filter(pl.col("target").is_null())["group_label"].to_list()
    cats = fc.categories.with_columns(
        pymap.map_values(fc.categories["category"], lambda k: t(f"targets.category.{k}", lang), pl.String)
    ) if fc.categories.height else fc.categories
    return PacingSection(
        ch.pacing_chart(pacing.daily, pacing.expected, pacing.pace, view.as_of, lang),
        ch.forecast_chart(fc.forecast, fc.categories, pacing.pace.target, lang),
        fc.probabilities.filter(pl.col("source") == "learned").height,
        None if c.target is None else ch.coverage_chart(c, lang),
        table, title, ch.members_gap_chart(table, title, lang) if has_gap else None, no_target, cats,
        td.manager_gap(fc, view.people))


def open_deals(view: TargetsView, ctx: DataContext | None = None) -> pl.DataFrame:
    """Every open deal with the model's chance of closing won this quarter, for the drill-down opened on demand;
    with `ctx`, each deal's original amount and currency beside the converted amount in multi-currency data."""
    deals = view.fc.deals.select("opportunity_id", "owner_name", "account_name", "stage", "forecast_category",
                                 "expected_close_date", "amount", "probability", "weighted")
    if ctx is None:
        return deals
    originals = ctx.run("open_deals_by_deal")
    return with_original(deals.join(originals, on="opportunity_id", how="left", maintain_order="left"))


# ---------------------------------------------------------------- attainment trend


@dataclass(frozen=True)
class TrendSection:
    """Attainment by month, quarter or year; empty when there is neither a target nor a booking."""

    trend: pl.DataFrame
    empty: bool
    chart: go.Figure | None
    missing: str  # the periods without a target (at most 12), in words; "" when none
    table: pl.DataFrame  # the trend with period labels, as the page shows it


def load_trend(ctx: DataContext, view: TargetsView) -> TrendSection:
    """The attainment trend for the choices' grain, cumulative or not."""
    lang, grain = ctx.lang, view.choices.grain
    start, end = td.trend_range(ctx.filters, view.as_of)
    trend = td.attainment_table(runner_of(ctx), ctx.filters, view.rows, view.people, "org", grain, start, end,
                                view.as_of)
    if trend.is_empty() or (trend["target"].is_null().all() and (trend["bookings"].fill_null(0) == 0).all()):
        return TrendSection(trend, True, None, "", trend)
    missing = tg.periods_without_target(trend)
    table = trend.drop("group_key", "group_label", "period_end").with_columns(
        pymap.map_values(trend["period_start"], lambda d: ch.period_label(d, grain, lang), pl.String))
    return TrendSection(trend, False, ch.attainment_trend(trend, grain, lang, view.choices.cumulative),
                        ", ".join(ch.period_label(m, grain, lang) for m in missing[:12]), table)


# ---------------------------------------------------------------- forecast accuracy


@dataclass(frozen=True)
class AccuracySection:
    """The model's backtest: per week before quarter end, its errors beside three naive baselines."""

    backtest: pl.DataFrame  # one row per snapshot day of each complete past quarter; empty without history
    table: pl.DataFrame  # per week before quarter end: MAPE, bias, coverage of the model and the baselines
    outcome: fm.Outcome  # this quarter's forecast, its range and the range's past coverage
    mid: dict | None  # the table's row at mid-quarter (six weeks before the end), when there is one
    chart: go.Figure | None  # the error at each backtested day, one line per quarter; None without a backtest


MID_WEEKS = 6  # weeks before quarter end that count as "mid-quarter"


def load_accuracy(ctx: DataContext, view: TargetsView) -> AccuracySection:
    """The backtest of the forecast over every complete past quarter with snapshots (the model fit before each)."""
    bt = td.accuracy(runner_of(ctx), ctx.filters)
    table = td.accuracy_summary(bt)
    if "weighting" in bt.columns:  # how each quarter's model weighed its learning rows, in the reader's words
        bt = bt.with_columns(pl.col("weighting").replace(
            {w: t(f"targets.bt.weighting.{w}", ctx.lang) for w in fm.WEIGHTINGS}))
    mid = table.filter(pl.col("weeks_left") == MID_WEEKS).to_dicts() if "model_mape" in table.columns else []
    chart = None
    if bt.height:  # the error chart reads quarter, week of the quarter and error_pct
        errors = bt.with_columns(
            pl.col("period_start").alias("quarter"),
            pymap.map_values(bt["as_of"], tg.week_of_quarter, pl.Int64).alias("week"),
            pl.when(pl.col("actual") > 0).then(pl.col("forecast") / pl.col("actual") - 1).alias("error_pct"))
        chart = ch.accuracy_chart(errors, ctx.lang)
    return AccuracySection(bt, table, view.fc.outcome, mid[0] if mid else None, chart)


# ---------------------------------------------------------------- leading indicators


@dataclass(frozen=True)
class LeadingSection:
    """Activities against their target and the conversion steps, or why there are none (status)."""

    start: date
    end: date
    status: str  # ok, future (the period starts after the snapshot) or no_activities (no activities table)
    report: td.LeadingReport | None
    activities_chart: go.Figure | None  # None when the period has no activities
    conversion_chart: go.Figure | None
    per_rep: pl.DataFrame | None


def load_leading(ctx: DataContext, view: TargetsView) -> LeadingSection:
    """Leading indicators over the filtered period (else this quarter) up to the snapshot."""
    f, as_of = ctx.filters, view.as_of
    start, end = (f.start or view.pacing.q_start), min(f.end or as_of, as_of)
    if start > as_of:
        return LeadingSection(start, end, "future", None, None, None, None)
    if not ctx.snapshot.has("activities"):
        return LeadingSection(start, end, "no_activities", None, None, None, None)
    lead = td.leading_report(runner_of(ctx), ctx.data_dir, f, start, end, view.source, view.people)
    weekly = None if lead.weekly.is_empty() else ch.activities_chart(lead.weekly, lead.weekly_target, ctx.lang)
    per_rep = lead.per_rep.select("name", "team", "activities", "meetings", "opportunities", "wins",
                                  "weeks", "per_week", "weekly_target")
    return LeadingSection(start, end, "ok", lead, weekly, ch.conversion_chart(lead.conversion, ctx.lang), per_rep)


# ---------------------------------------------------------------- heatmap


@dataclass(frozen=True)
class HeatmapSection:
    """Monthly attainment per team, region or rep; no chart when no cell has an attainment."""

    heat: pl.DataFrame
    title: str
    chart: go.Figure | None


def load_heatmap(ctx: DataContext, view: TargetsView) -> HeatmapSection:
    """The attainment heatmap by the choices' grouping, months up to the snapshot's."""
    by = view.choices.heat_by
    h_start, h_end = td.trend_range(ctx.filters, view.as_of)
    h_end = min(h_end, tg.month_end(view.as_of))
    heat = td.attainment_table(runner_of(ctx), ctx.filters, view.rows, view.people, by, "month", h_start, h_end,
                               view.as_of)
    title = t(f"targets.by.{by}", ctx.lang)
    if heat.is_empty() or heat["attainment"].is_null().all():
        return HeatmapSection(heat, title, None)
    return HeatmapSection(heat, title, ch.heatmap(heat, title, ctx.lang))


# ---------------------------------------------------------------- target planning


def plan_teams(view: TargetsView) -> list[str]:
    """The teams the planning section offers."""
    return sorted({x for x in view.people["team"].to_list() if x})


@dataclass(frozen=True)
class PlanTeam:
    """A team's people with bookings history, its month shares, and the annual target to start from."""

    people: pl.DataFrame
    shares: list[float] | None
    current: float  # the team's target for the year, else last 12 months' bookings + 10% (rounded), else 0


def load_plan_team(ctx: DataContext, view: TargetsView, team: str, year: int) -> PlanTeam:
    """What the planning section needs once a team and a year are chosen."""
    team_people, shares = td.plan_inputs(runner_of(ctx), ctx.filters, team, view.as_of)
    current = td.team_annual_target(view.rows, view.people, team, year)
    if current is None:
        hist = float(team_people["history_bookings"].sum())
        current = float(round(hist * 1.1, -3)) if hist > 0 else 0.0
    return PlanTeam(team_people, shares, float(current))
