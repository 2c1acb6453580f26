"""Plotly figures built from small query results; every axis labelled, money and percent formatted."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from saleslens.core import i18n
from saleslens.core.i18n import t

# Set once as the default: passing template= per figure validates and copies the whole template each time
# (about 25 ms of CPU per figure); the figures' JSON is the same.
pio.templates.default = "plotly_white"

PALETTE = {
    "actual": "#2563eb", "target": "#f59e0b", "good": "#16a34a", "bad": "#dc2626",
    "neutral": "#64748b", "previous": "#94a3b8",
}


# More bars than this are unreadable (thousands of reps drew charts 80,000 px tall): a bar chart of members keeps
# the two ends of the list, and the table beside it lists everyone.
MAX_BARS = 30


def ends(frame: pl.DataFrame, limit: int = MAX_BARS) -> pl.DataFrame:
    """The first and last rows of a sorted frame (half each) when it has more than `limit` rows; else all."""
    if frame.height <= limit:
        return frame
    return pl.concat([frame.head(limit - limit // 2), frame.tail(limit // 2)])


def ends_note(shown: int, total: int, lang: str) -> str:
    """The title suffix saying a chart shows only the ends of a longer list."""
    if total <= shown:
        return ""
    return " · " + t("chart.ends", lang, top=shown - shown // 2, bottom=shown // 2, total=i18n.count(total, lang))


def base_layout(fig: go.Figure, title: str, x_title: str, y_title: str, y_kind: str = "count") -> go.Figure:
    """Apply the shared look: title, axis titles, number formats, legend on top."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        height=380,
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, tickformat=i18n.tick_format(y_kind), rangemode="tozero")
    if y_kind == "money":
        fig.update_yaxes(tickprefix=i18n.currency_symbol())
    return fig


def bookings_vs_target(trend: pl.DataFrame, lang: str, cumulative: bool = False) -> go.Figure:
    """Monthly bookings as bars against the target line (or both running totals)."""
    months = trend["month"].to_list()
    actual = trend["cumulative_bookings" if cumulative else "bookings"].to_list()
    target = trend["cumulative_target" if cumulative else "target"].to_list()
    fig = go.Figure()
    fig.add_bar(x=months, y=actual, name=t("chart.bookings", lang), marker_color=PALETTE["actual"],
                hovertemplate="%{y:$,.0f}<extra></extra>")
    fig.add_scatter(x=months, y=target, name=t("chart.target", lang), mode="lines+markers",
                    line={"color": PALETTE["target"], "width": 3, "shape": "hv" if not cumulative else "linear"},
                    hovertemplate="%{y:$,.0f}<extra></extra>")
    title = t("chart.cumulative_title" if cumulative else "chart.trend_title", lang)
    fig = base_layout(fig, title, t("chart.month", lang), t("chart.amount", lang), "money")
    fig.update_xaxes(tickformat="%b %Y", dtick="M1" if len(months) <= 12 else "M3")
    return fig


def kpi_by_group_bar(frame: pl.DataFrame, metric: str, kind: str, group_title: str, lang: str) -> go.Figure:
    """One KPI per group as horizontal bars, largest at the top, values written on the bars."""
    data = frame.filter(pl.col(metric).is_not_null()).sort(metric)
    values = data[metric].to_list()
    fig = go.Figure(
        go.Bar(
            x=values, y=data["group_label"].to_list(), orientation="h", marker_color=PALETTE["actual"],
            text=[i18n.fmt(kind, v, lang) for v in values], textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    title = t("chart.by_group_title", lang, metric=t(f"metric.{metric}", lang), group=group_title)
    fig = base_layout(fig, title, t(f"metric.{metric}", lang), group_title, "count")
    prefix = i18n.currency_symbol() if kind == "money" else ""
    fig.update_xaxes(tickformat=i18n.tick_format(kind), tickprefix=prefix)
    fig.update_yaxes(tickformat="", rangemode="normal")
    fig.update_layout(hovermode="closest", height=max(300, 60 + 28 * len(values)))
    return fig
