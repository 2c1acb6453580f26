"""What the Overview page draws, computed without Streamlit: the tiles, the trend and the KPIs by group.

The page (pages/overview.py) and the benchmark (bench/pages.py) both call load(ctx, choices). The trend and the
group table are also loaded on their own (trend_figure, load_group) when only their section reruns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import plotly.graph_objects as go
import polars as pl

from saleslens.core import charts, i18n, windows
from saleslens.core.context import DataContext
from saleslens.core.filters import Filters
from saleslens.core.i18n import t
from saleslens.kpis.registry import METRICS, ratio_expr
from saleslens.overview import calls

HEADLINE = ("bookings", "attainment", "win_rate", "avg_deal_size", "open_pipeline", "cycle_days")
DEFAULT_METRIC = next(iter(METRICS))


@dataclass(frozen=True)
class Choices:
    """The Overview's own widgets: running totals on the trend, and the dimension and KPI of the group chart."""

    cumulative: bool = False
    group: str = calls.DEFAULT_GROUP
    metric: str = DEFAULT_METRIC


@dataclass(frozen=True)
class Group:
    """The KPIs for each group of one dimension: the chart of the top 25 and the table."""

    group: str
    metric: str
    by_group: pl.DataFrame  # as the query returns it (the download)
    fig: go.Figure | None  # None when there is no group
    table: pl.DataFrame  # without the key, the label column named after the dimension
    call: tuple[str, dict] | None = None  # the named query and parameters that printed it (the page's CLI line)


@dataclass(frozen=True)
class OverviewView:
    """Everything the Overview draws: the compared periods, the tiles now and before, the trend, the groups."""

    current: Filters  # the period the tiles cover (a running period: the days so far)
    previous: Filters  # the period they are compared with
    row: dict  # this period's organisation KPIs; empty when there is no row
    prev_row: dict  # the previous period's; empty when there is none
    trend: pl.DataFrame
    trend_fig: go.Figure
    cumulative: bool  # whether trend_fig shows running totals
    group: Group
    windows: Windows | None = None  # what each tile and chart covers, in words

    @property
    def no_deals(self) -> bool:
        """Whether the period has no won, lost or open deal."""
        r = self.row
        return not r or (r["deals_won"] + r["deals_lost"] + r["open_deals"]) == 0

    def figures(self) -> list[go.Figure]:
        """The figures the page draws, in page order."""
        return [self.trend_fig, *([self.group.fig] if self.group.fig is not None else [])]


# The tiles by the window their value covers: deals closed in the days so far, bookings so far against the whole
# period's target, and deals open today that are expected to close in the period.
CLOSED_TILES = ("bookings", "win_rate", "avg_deal_size", "cycle_days")


@dataclass(frozen=True)
class Windows:
    """What each part of the Overview covers, in words: the caption, each tile and each chart."""

    caption: str
    tiles: dict[str, str]  # tile key -> its window (and the window its change compares with)
    compared: dict[str, bool]  # tile key -> whether its change against the previous period is shown
    trend: str
    group: str


def describe_windows(f: Filters, as_of: date, current: Filters, previous: Filters, lang: str) -> Windows:
    """The windows of the tiles, the trend and the group chart, written with saleslens.core.windows."""
    if not (f.start and f.end):
        every = t("overview.window.all_time", lang)
        return Windows(t("overview.caption_all_time", lang), dict.fromkeys(HEADLINE, every),
                       dict.fromkeys(HEADLINE, False), every, every)
    whole = windows.label(f.start, f.end, as_of, lang)
    full_prev = f.previous()
    prev_name = windows.name(full_prev.start, full_prev.end, lang) or windows.span(full_prev.start, full_prev.end,
                                                                                    lang)
    prev_days = windows.span(previous.start, previous.end, lang)
    so_far = windows.running(f.start, f.end, as_of)
    # A running period is compared with the same days of the previous one, never with all of it: "previous" then
    # names those days, and the Leaderboard's rank change (against the whole previous period) says so in its words.
    key = "overview.caption_running" if so_far else "overview.caption"
    caption = t(key, lang, window=whole, prev=prev_days, prev_name=prev_name)
    closed = t("overview.window.closed", lang, span=windows.span(current.start, current.end, lang), prev=prev_days)
    tiles = dict.fromkeys(CLOSED_TILES, closed)
    tiles["attainment"] = t("overview.window.attainment", lang, span=windows.span(current.start, current.end, lang),
                            name=windows.name(f.start, f.end, lang) or windows.span(f.start, f.end, lang),
                            prev=prev_days, prev_name=prev_name)
    tiles["open_pipeline"] = t("overview.window.open", lang, day=i18n.day(as_of, lang),
                               span=windows.span(f.start, f.end, lang))
    # Open pipeline is today's open deals: "before" would be today's deals expected in the previous window (overdue
    # ones), not the pipeline the previous period had, so no change is shown for it.
    compared = {k: k != "open_pipeline" for k in HEADLINE}
    start, end = calls.trend_window(f, as_of)
    trend = t("overview.window.trend", lang, span=windows.span(start, end, lang))
    group = t("overview.window.group", lang, span=windows.span(f.start, min(f.end, as_of), lang),
              open_span=windows.span(f.start, f.end, lang))
    return Windows(caption, tiles, compared, trend, group)


def _tiles(kpis: dict[str, pl.DataFrame]) -> tuple[dict, dict]:
    """This period's and the previous period's organisation KPIs, each a row (empty when missing)."""
    now = kpis["now"]
    if "so_far" in kpis:
        # Open pipeline and targets cover the whole period; bookings, win rate and cycle the days so far.
        now = kpis["so_far"].with_columns(now.select("target", "open_deals", "open_pipeline", "weighted_pipeline"))
        now = now.with_columns(ratio_expr("attainment"))
    before = kpis.get("before", now.clear())
    if "full_before" in kpis and before.height:
        # The previous period's attainment is measured against its whole target, like this period's.
        before = before.with_columns(kpis["full_before"].select("target")).with_columns(ratio_expr("attainment"))
    return (now.row(0, named=True) if now.height else {}), (before.row(0, named=True) if before.height else {})


def trend_figure(trend: pl.DataFrame, lang: str, cumulative: bool) -> go.Figure:
    """The bookings-vs-target trend, monthly or as running totals."""
    return charts.bookings_vs_target(trend, lang, cumulative)


def load_group(ctx: DataContext, group: str, metric: str) -> Group:
    """Any KPI for each group of one dimension: the chart of the top 25 and the whole table."""
    lang = ctx.lang
    name, params = calls.group_call(ctx.filters, group)
    by_group = ctx.run(name, **params)
    label = t(f"group.{group}", lang)
    fig = charts.kpi_by_group_bar(by_group.head(25), metric, METRICS[metric].format, label, lang) \
        if by_group.height else None
    return Group(group, metric, by_group, fig, by_group.drop("group_key").rename({"group_label": label}),
                 (name, params))


def load(ctx: DataContext, choices: Choices) -> OverviewView:
    """The tiles' periods and the trend side by side, then the group chart and table for the choices."""
    f, as_of = ctx.filters, ctx.snapshot.as_of
    # Closed-deal KPIs compare like with like: a running period against the same elapsed days of the previous one.
    current, previous = f.compared(as_of)
    periods, header = calls.header_calls(f, as_of)
    *frames, trend = ctx.run_many(header)
    row, prev_row = _tiles(dict(zip(periods, frames, strict=True)))
    return OverviewView(current, previous, row, prev_row, trend, trend_figure(trend, ctx.lang, choices.cumulative),
                        choices.cumulative,
                        load_group(ctx, choices.group, choices.metric),
                        describe_windows(f, as_of, current, previous, ctx.lang))
