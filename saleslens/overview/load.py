"""What the Overview page draws, computed without Streamlit: the tiles, the trend and the KPIs by group.

The page (pages/overview.py) and the benchmark (bench/pages.py) both call load(ctx, choices). The trend and the
group table are also loaded on their own (trend_figure, load_group) when only their section reruns.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl

from saleslens.core import charts
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

    @property
    def no_deals(self) -> bool:
        """Whether the period has no won, lost or open deal."""
        r = self.row
        return not r or (r["deals_won"] + r["deals_lost"] + r["open_deals"]) == 0

    def figures(self) -> list[go.Figure]:
        """The figures the page draws, in page order."""
        return [self.trend_fig, *([self.group.fig] if self.group.fig is not None else [])]


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
    return Group(group, metric, by_group, fig, by_group.drop("group_key").rename({"group_label": label}))


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
                        load_group(ctx, choices.group, choices.metric))
