"""Figures of the what-if page: attainment distribution before/after, bookings against target per group.

A slider move changes only the numbers, never the layout, so each figure's layout is built once (with
charts.base_layout, validated) and cached; a move only assembles new traces from fixed, known-valid
keys and wraps them without plotly's property validation. Building and validating a figure with its
template on every move cost several times more than the scenario math itself (st.plotly_chart
re-validates a dict, but not a go.Figure). tests/unit/test_scenarios.py validates both figures fully.
"""

from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go
import polars as pl

from saleslens.core import i18n
from saleslens.core.charts import PALETTE, base_layout, localize, memoized
from saleslens.core.i18n import t

BIN = 0.1  # attainment bins of 10 points
TOP = 2.0  # attainment at and above 200% falls in the last bin
MAX_GROUPS = 25


def _figure(spec: dict) -> go.Figure:
    """A go.Figure from a spec whose layout was validated when cached and whose traces use fixed keys."""
    try:
        return go.Figure(spec, _validate=False)  # plotly's own switch, used by its figure factories
    except TypeError:  # a plotly without the switch: validate, slower but correct
        return go.Figure(spec)


def attainment_bins(values: pl.Series | list[float | None]) -> list[int]:
    """Reps per 10-point attainment bin from 0% to 200%, the last bin holding everything from 200% up."""
    n_bins = round(TOP / BIN) + 1
    series = pl.Series(values, dtype=pl.Float64).drop_nulls().drop_nans()
    # The small epsilon keeps 1.0 (exactly at quota) in the 100-110% bin despite float error.
    index = (series.clip(lower_bound=0.0) / BIN + 1e-9).floor().clip(upper_bound=n_bins - 1).cast(pl.Int64)
    counts = [0] * n_bins
    for i, n in index.value_counts().rows():
        counts[i] = n
    return counts


def bin_labels() -> list[str]:
    """The bins' labels: 0–10%, 10–20%, ..., ≥200%."""
    n_bins = round(TOP / BIN) + 1
    labels = [f"{round(i * BIN * 100)}–{round((i + 1) * BIN * 100)}%" for i in range(n_bins - 1)]
    return [*labels, f"≥{round(TOP * 100)}%"]


def _legend_under_title(fig: go.Figure) -> go.Figure:
    """Title on its own line and the legend under it, so neither covers the other in a half-width chart (what
    charts.base_layout now does for every chart; kept for the layouts cached here)."""
    fig.update_layout(legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"})
    return fig


@lru_cache(maxsize=32)
def _histogram_layout(lang: str, currency: str) -> dict:
    """The histogram's layout (titles, axes, quota line), built once per language."""
    del currency  # part of the cache key: base_layout reads the currency setting
    fig = base_layout(go.Figure(), t("whatif.chart.hist_title", lang), t("whatif.chart.attainment_axis", lang),
                      t("whatif.chart.reps_axis", lang), "count")
    fig.update_layout(barmode="overlay", bargap=0.05, hovermode="closest")
    # The quota line sits between the 90-100% and 100-110% bins (category positions 9 and 10).
    fig.add_vline(x=9.5, line_dash="dash", line_color=PALETTE["target"], line_width=2)
    fig.add_annotation(x=9.5, y=1, yref="paper", text=t("whatif.chart.quota", lang), showarrow=False,
                       xanchor="left", yanchor="top", font={"color": PALETTE["target"]})
    fig.update_xaxes(tickangle=-45, type="category", categoryorder="array", categoryarray=bin_labels())
    return _legend_under_title(fig).to_dict()["layout"]


@memoized
def attainment_histogram(reps: pl.DataFrame, lang: str) -> go.Figure:
    """Overlaid histograms of rep attainment, baseline and scenario, with the quota line at 100%."""
    labels = bin_labels()
    base = attainment_bins(reps.filter(~pl.col("new_hire"))["attainment_base"])
    scen = attainment_bins(reps["attainment"])
    traces = []
    for name, counts, color, opacity in (
        (t("whatif.chart.baseline", lang), base, PALETTE["previous"], 0.75),
        (t("whatif.chart.scenario", lang), scen, PALETTE["actual"], 0.55),
    ):
        traces.append({"type": "bar", "x": labels, "y": counts, "name": name, "opacity": opacity,
                       "marker": {"color": color}, "hovertemplate": "%{x}: %{y}<extra>" + name + "</extra>"})
    return _figure({"data": traces, "layout": _histogram_layout(lang, i18n.currency_symbol())})


@lru_cache(maxsize=64)
def _groups_layout(by: str, group_title: str, lang: str, rows: int, total: int, currency: str) -> dict:
    """The group chart's layout for a number of rows, built once per shape and language."""
    title = t(f"whatif.chart.by_{by}_title", lang)
    if total > MAX_GROUPS:
        title += " " + t("whatif.chart.top_n", lang, n=MAX_GROUPS, total=total)
    fig = base_layout(go.Figure(), title, t("whatif.chart.amount_axis", lang), group_title, "count")
    fig.update_xaxes(tickformat="~s", tickprefix=currency, rangemode="tozero")
    fig.update_yaxes(tickformat="", rangemode="normal", type="category")
    fig.update_layout(barmode="group", hovermode="y unified", height=max(380, 150 + 46 * rows))
    return _legend_under_title(fig).to_dict()["layout"]


@memoized
def bookings_by_group(groups: pl.DataFrame, by: str, group_title: str, lang: str) -> go.Figure:
    """Baseline and projected bookings per team or region as bars, the scenario target as a marker."""
    data = groups.filter(pl.col("target").is_not_null() | (pl.col("projected") > 0))
    data = data.sort("target", descending=True, nulls_last=True).head(MAX_GROUPS).reverse()
    names = [str(v) for v in data[by].to_list()]
    money = "%{x:$,.0f}<extra>%{fullData.name}</extra>"
    traces = [
        {"type": "bar", "orientation": "h", "y": names, "x": data["baseline"].to_list(),
         "name": t("whatif.chart.baseline", lang), "marker": {"color": PALETTE["previous"]}, "hovertemplate": money},
        {"type": "bar", "orientation": "h", "y": names, "x": data["projected"].to_list(),
         "name": t("whatif.chart.projected", lang), "marker": {"color": PALETTE["actual"]}, "hovertemplate": money},
        {"type": "scatter", "mode": "markers", "y": names, "x": data["target"].to_list(),
         "name": t("whatif.chart.target", lang), "hovertemplate": money,
         "marker": {"symbol": "line-ns", "size": 22, "color": PALETTE["target"],
                    "line": {"width": 4, "color": PALETTE["target"]}}},
    ]
    layout = _groups_layout(by, group_title, lang, len(names), groups.height, i18n.currency_symbol())
    return localize(_figure({"data": traces, "layout": layout}), lang)
