"""What the Funnel page draws, computed without Streamlit: one load per view for the open tab, plus the drill-downs.

The page (pages/funnel.py) and the benchmark (bench/pages.py) both call load(ctx, choices), so the benchmark
times exactly the page's work. Only the open tab computes: the others' fields stay None.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import plotly.graph_objects as go
import polars as pl

from saleslens.core import i18n, store
from saleslens.core.context import DataContext
from saleslens.core.i18n import t
from saleslens.core.money import has_original, with_original
from saleslens.funnel import charts as charts_funnel
from saleslens.funnel import logic as funnel


@dataclass(frozen=True)
class Choices:
    """The Funnel's own widgets: the open tab, the win-rate dimension and the waterfall's two snapshots."""

    tab: str = funnel.TABS[0]
    win_by: str = funnel.WIN_RATE_BY[0]
    snapshots: tuple[str, ...] = ()  # the snapshots the waterfall's pickers offer, newest first (changes tab only)
    pc_from: str | None = None
    pc_to: str | None = None


@dataclass(frozen=True)
class Stages:
    """The Stages tab: the bottlenecks, the current-state funnel and the cohort funnel."""

    current: pl.DataFrame
    cohorts: pl.DataFrame | None  # None without stage history
    now: pl.DataFrame  # the funnel the bottlenecks were read from (the cohort's with history)
    drop: funnel.Bottleneck | None  # None without a previous period, or when no step dropped
    low: funnel.Bottleneck | None
    current_fig: go.Figure | None  # None when no deal is in the funnel
    cohort_labels: dict[str, str]
    cohort_fig: go.Figure | None  # None without history or without a deal in the cohort
    note: str | None = None  # one line on what the data lacks for the current-state funnel (no open stage or deal)


@dataclass(frozen=True)
class LeadsPayments:
    """The Leads & payments tab: the lead funnel (no product filter applies) and the payment stage."""

    leads: pl.DataFrame | None  # None when the snapshot has no leads
    lead_total: dict | None
    lead_fig: go.Figure | None
    payments: pl.DataFrame | None  # None when the snapshot has no payments
    payments_fig: go.Figure | None
    payment_days: dict[str, float | None]  # median days to invoice and to payment, by step


@dataclass(frozen=True)
class Speed:
    """The Speed tab: sales cycles by outcome; days in stage and stuck deals (these two need history)."""

    cycle: dict[str, dict]
    stays: pl.DataFrame | None
    velocity_fig: go.Figure | None
    stuck: pl.DataFrame | None


@dataclass(frozen=True)
class WinRates:
    """The Win rates tab for one dimension: all groups, the top 20 charted, the overall rate."""

    by: str
    rates: pl.DataFrame
    shown: pl.DataFrame
    overall: float | None
    fig: go.Figure | None  # None when there is no decided deal


@dataclass(frozen=True)
class Changes:
    """The Pipeline changes tab: the waterfall between two snapshots, in time order."""

    first: str
    second: str
    swapped: bool  # the newer snapshot was picked first
    bars: pl.DataFrame
    fig: go.Figure


@dataclass(frozen=True)
class FunnelView:
    """Everything the Funnel page draws for one view; only the open tab's field is filled."""

    tab: str
    has_history: bool
    has_prev: bool
    period: str
    stages: Stages | None = None
    leads_payments: LeadsPayments | None = None
    speed: Speed | None = None
    win_rates: WinRates | None = None
    changes: Changes | None = None

    def figures(self) -> list[go.Figure]:
        """The figures the page draws for this view, in page order."""
        parts: list[go.Figure | None] = []
        if self.stages is not None:
            parts += [self.stages.current_fig, self.stages.cohort_fig]
        if self.leads_payments is not None:
            parts += [self.leads_payments.lead_fig, self.leads_payments.payments_fig]
        if self.speed is not None:
            parts.append(self.speed.velocity_fig)
        if self.win_rates is not None:
            parts.append(self.win_rates.fig)
        if self.changes is not None:
            parts.append(self.changes.fig)
        return [fig for fig in parts if fig is not None]

    def downloads(self) -> list[pl.DataFrame]:
        """The tables the page offers for download on every run (the drill-downs' only when opened)."""
        frames: list[pl.DataFrame] = []
        if self.stages is not None:
            s = self.stages
            frames += [s.current] if s.current_fig is not None else []
            frames += [s.cohorts] if s.cohort_fig is not None else []
        if self.leads_payments is not None and self.leads_payments.lead_fig is not None:
            frames.append(self.leads_payments.leads)
        if self.speed is not None and self.speed.stuck is not None and self.speed.stuck.height:
            frames.append(self.speed.stuck)
        if self.win_rates is not None and self.win_rates.rates.height:
            frames.append(self.win_rates.rates.drop("band_order"))
        return frames


def period_text(start: date | None, end: date | None, lang: str) -> str:
    """A period as words: '1 Apr 2026 – 30 Jun 2026', or all time."""
    if start is None and end is None:
        return t("funnel.all_time", lang)
    return f"{i18n.day(start, lang)} – {i18n.day(end, lang)}"


def snapshot_ids(ctx: DataContext) -> list[str]:
    """The published snapshots, newest first (what the waterfall's pickers offer)."""
    return [s.id for s in reversed(store.list_snapshots(ctx.data_dir))]


def default_pair(ids: list[str], current: str) -> tuple[str, str]:
    """The waterfall's default pickers (from, to): the view's snapshot against the one before it."""
    to = current if current in ids else ids[0]
    return ids[min(ids.index(to) + 1, len(ids) - 1)], to


def _has_prev(ctx: DataContext) -> bool:
    """Whether there is a previous period to compare with (only with a chosen period)."""
    return ctx.filters.start is not None and ctx.filters.end is not None


def _pair(choices: Choices) -> tuple[str, str, bool] | None:
    """The waterfall's snapshots in time order, or None when fewer than two or the same one twice."""
    if len(choices.snapshots) < 2 or choices.pc_from is None or choices.pc_to is None:
        return None
    return funnel.compare_pair(list(choices.snapshots), choices.pc_from, choices.pc_to)


def load(ctx: DataContext, choices: Choices) -> FunnelView:
    """The open tab's frames, bottlenecks and figures; its queries run side by side first (the rest are cache hits)."""
    f, snap = ctx.filters, ctx.snapshot
    has_prev, has_history = _has_prev(ctx), snap.has("stage_changes")
    pair = _pair(choices)
    ctx.run_many(funnel.view_calls(funnel.View(
        params=f.params(), prev_params=f.previous().params() if has_prev else None, has_history=has_history,
        has_leads=snap.has("leads"), has_payments=snap.has("payments"), win_by=choices.win_by,
        compare=pair[0] if pair and pair[1] == snap.id else None, tab=choices.tab)))
    view = FunnelView(choices.tab, has_history, has_prev, period_text(f.start, f.end, ctx.lang))
    if choices.tab == "stages":
        return _with(view, stages=load_stages(ctx))
    if choices.tab == "leads_payments":
        return _with(view, leads_payments=load_leads_payments(ctx))
    if choices.tab == "speed":
        return _with(view, speed=load_speed(ctx))
    if choices.tab == "win_rates":
        return _with(view, win_rates=load_win_rates(ctx, choices.win_by))
    return _with(view, changes=load_changes(ctx, pair) if pair else None)


def _with(view: FunnelView, **tab: object) -> FunnelView:
    """The view with its open tab's part filled."""
    return replace(view, **tab)


def load_stages(ctx: DataContext) -> Stages:
    """Bottlenecks (against the previous period and the whole organisation), current-state and cohort funnels."""
    f, lang = ctx.filters, ctx.lang
    params, prev, has_prev = f.params(), f.previous(), _has_prev(ctx)
    has_history, filtered = ctx.snapshot.has("stage_changes"), funnel.has_filters(params)
    current = ctx.run("funnel_by_stage", **params)
    cohorts = (ctx.run("funnel_by_cohort", **params, prev_start=prev.start if has_prev else None,
                       prev_end=prev.end if has_prev else None) if has_history else None)
    if has_history:
        now = cohorts.filter(pl.col("cohort") == "current")
        before = cohorts.filter(pl.col("cohort") == "previous")
        org = ctx.run("funnel_by_cohort", start=f.start, end=f.end).filter(pl.col("cohort") == "current") \
            if filtered else None
    else:
        now = current
        before = ctx.run("funnel_by_stage", **prev.params()) if has_prev else current.clear()
        org = ctx.run("funnel_by_stage", start=f.start, end=f.end) if filtered else None
    top = current.filter(pl.col("kind") == "stage").sort("step")
    labels = {"current": t("funnel.cohort.label", lang, period=period_text(f.start, f.end, lang)),
              "previous": t("funnel.cohort.label", lang, period=period_text(prev.start, prev.end, lang))}
    cohort_size = int(now["cohort_deals"][0]) if has_history and now.height else 0
    return Stages(
        current=current, cohorts=cohorts, now=now,
        drop=funnel.drop_vs_previous(now, before) if has_prev else None, low=funnel.lowest_vs_org(now, org),
        current_fig=charts_funnel.stage_funnel(current, lang) if top.height and int(top["reached"][0]) else None,
        cohort_labels=labels,
        cohort_fig=charts_funnel.cohort_funnel(cohorts, lang, labels) if cohort_size else None,
        note=missing_note(current, lang))


def missing_note(current: pl.DataFrame, lang: str) -> str | None:
    """What the current-state funnel cannot show for lack of data, in one line; None when nothing is missing.

    An export of closed deals only (a won-deals list) has won and lost deals but no open stage, or no open deal:
    the outcomes are still worth showing, with a word on what is missing.
    """
    stages = current.filter(pl.col("kind") == "stage")
    closed = int(current.filter(pl.col("kind") != "stage")["deals"].sum())
    if not closed:
        return None
    if stages.height == 0:
        return t("funnel.current.no_open_stages", lang)
    if int(stages["still_open"].sum()) == 0:
        return t("funnel.current.no_open_deals", lang)
    return None


def lead_params(ctx: DataContext) -> dict[str, object]:
    """The filters the lead funnel takes: all but the product (a lead has none)."""
    return {k: v for k, v in ctx.filters.params().items() if k != "products"}


def load_leads_payments(ctx: DataContext) -> LeadsPayments:
    """The lead funnel by source with its total, and the payment stage, for the data the snapshot has."""
    lang = ctx.lang
    leads = total = lead_fig = pay = pay_fig = None
    days: dict[str, float | None] = {}
    if ctx.snapshot.has("leads"):
        leads = ctx.run("lead_funnel_by_source", **lead_params(ctx))
        total = leads.filter(pl.col("is_total")).row(0, named=True) if leads.height else None
        lead_fig = charts_funnel.lead_funnel(total, lang) if total and total["leads"] != 0 else None
    if ctx.snapshot.has("payments"):
        pay = ctx.run("payments_by_stage", **ctx.filters.params())
        if pay.filter(pl.col("step") == "won")["deals"].sum():
            pay_fig = charts_funnel.payments(pay, lang)
            days = {r["step"]: r["median_days"] for r in pay.iter_rows(named=True)}
    return LeadsPayments(leads, total, lead_fig, pay, pay_fig, days)


def load_speed(ctx: DataContext) -> Speed:
    """Sales cycles by outcome; with stage history, days in each stage and the deals stuck now."""
    params = ctx.filters.params()
    cycle = {r["outcome"]: r for r in ctx.run("velocity_by_outcome", **params).iter_rows(named=True)}
    if not ctx.snapshot.has("stage_changes"):
        return Speed(cycle, None, None, None)
    stays = ctx.run("velocity_by_stage", **params)
    fig = charts_funnel.velocity(stays, ctx.lang) if stays["stays"].sum() else None
    stuck = with_original(ctx.run("stuck_by_deal", **{k: v for k, v in params.items() if k not in ("start", "end")}))
    return Speed(cycle, stays, fig, stuck)


def load_win_rates(ctx: DataContext, by: str) -> WinRates:
    """Win rates of one dimension with their labels and intervals, the top 20 charted."""
    lang = ctx.lang
    rates = funnel.with_labels(ctx.run("win_rate_by_group", by=by, **ctx.filters.params()), by, lang,
                               t("funnel.none_label", lang))
    overall = funnel.overall_win_rate(rates)
    shown = rates.head(20)
    fig = charts_funnel.win_rates(shown, overall, t(f"funnel.win.dim.{by}", lang), lang) if rates.height else None
    return WinRates(by, rates, shown, overall, fig)


def _pair_runner(ctx: DataContext, second: str) -> object:
    """What reads the later snapshot: the view's own context, or a runner opened on that snapshot."""
    from queries.runner import runner_for

    return ctx if second == ctx.snapshot.id else runner_for(ctx.data_dir, second, ctx.runner.scope)


def load_changes(ctx: DataContext, pair: tuple[str, str, bool]) -> Changes:
    """The waterfall of the open pipeline from the first snapshot to the second."""
    first, second, swapped = pair
    bars = _pair_runner(ctx, second).run("pipeline_changes_by_category", compare=first, **ctx.filters.params())
    return Changes(first, second, swapped, bars, charts_funnel.waterfall(bars, ctx.lang, first, second))


# ---- the drill-downs: the deals behind one bar, computed only when the bar is opened

def current_deals(ctx: DataContext, stage: str) -> pl.DataFrame:
    """The deals of one stage of the current-state funnel."""
    return with_original(ctx.run("deals_by_funnel_stage", method="current", stage=stage, **ctx.filters.params()))


def cohort_deals(ctx: DataContext, option: str) -> pl.DataFrame:
    """The deals of one stage of one cohort; option is 'cohort|stage'."""
    cohort, stage = option.split("|", 1)
    f = ctx.filters
    period = f.previous() if cohort == "previous" else f
    return with_original(ctx.run("deals_by_funnel_stage", method="cohort", stage=stage,
                                 **{**f.params(), "start": period.start, "end": period.end}))


def lead_deals(ctx: DataContext, step: str) -> pl.DataFrame:
    """The leads that reached one step of the lead funnel."""
    return ctx.run("lead_funnel_by_lead", step=step, **lead_params(ctx))


def payment_deals(ctx: DataContext, step: str) -> pl.DataFrame:
    """The won deals at one payment step."""
    return with_original(ctx.run("deals_by_payment_stage", step=step, **ctx.filters.params()))


def win_rate_deals(ctx: DataContext, by: str, group: str) -> pl.DataFrame:
    """The deals of one win-rate group."""
    return with_original(ctx.run("deals_by_win_rate_group", by=by, group=group, **ctx.filters.params()))


def change_deals(ctx: DataContext, changes: Changes, category: str) -> pl.DataFrame:
    """The deals of one waterfall bar, with the category and the reason for a remainder in words."""
    lang = ctx.lang
    cats = {c: t(f"funnel.pc.{c}", lang) for c in funnel.CATEGORIES}
    reasons = {r: t(f"funnel.pc.reason.{r}", lang) for r in funnel.REMAINDER_REASONS}
    frame = _pair_runner(ctx, changes.second).run("pipeline_changes_by_deal", compare=changes.first,
                                                  category=category, **ctx.filters.params())
    if not has_original(frame):  # single-currency data: the list as it always was
        frame = frame.drop("currency", "amount_original_before", "amount_original_after")
    return frame.with_columns(pl.col("category").replace_strict(cats, default=pl.col("category")),
                              pl.col("remainder_reason").replace_strict(reasons, default=None))
