"""Figures of the Data health page: field completeness, deals without amounts, stale deals, pushed close dates.

Every figure uses charts.base_layout (title, axis titles, number formats).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from saleslens.core import i18n
from saleslens.core.charts import PALETTE, base_layout, memoized
from saleslens.core.i18n import t
from saleslens.health.words import plural


def _horizontal(fig: go.Figure, n_bars: int) -> go.Figure:
    """Categories top to bottom in the given order, hover per bar, a height that fits the bars."""
    fig.update_yaxes(autorange="reversed", tickformat="", tickprefix="", rangemode="normal")
    fig.update_layout(hovermode="closest", height=max(260, 110 + 26 * n_bars), bargap=0.25)
    return fig


@memoized
def completeness(frame: pl.DataFrame, lang: str) -> go.Figure:
    """Share of rows with a value, per field of one or more tables, least complete first."""
    rows = frame.sort("completeness")
    labels = [f"{r['table_name']}.{r['field']}" for r in rows.iter_rows(named=True)]
    shares = rows["completeness"].to_list()
    colours = [PALETTE["good"] if s >= 0.95 else PALETTE["target"] if s >= 0.5 else PALETTE["bad"] for s in shares]
    text = [t("health.chart.filled_text", lang, share=i18n.percent(s, lang, 0), filled=i18n.count(f, lang),
              rows=i18n.count(n, lang))
            for s, f, n in zip(shares, rows["filled"].to_list(), rows["row_count"].to_list(), strict=True)]
    fig = go.Figure(go.Bar(x=shares, y=labels, orientation="h", marker_color=colours, text=text,
                           textposition="auto", hovertemplate="%{y}: %{text}<extra></extra>"))
    fig = base_layout(fig, t("health.chart.completeness_title", lang), t("health.chart.share_filled", lang),
                      t("health.chart.field", lang), "count")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    return _horizontal(fig, len(labels))


@memoized
def missing_amounts(frame: pl.DataFrame, lang: str) -> go.Figure:
    """Deals per stage, split into those with an amount, with an amount of 0 and without one (stacked)."""
    stages = frame["stage"].to_list()
    without = frame["without_amount"].to_list()
    zero = frame["zero_amount"].to_list() if "zero_amount" in frame.columns else [0] * len(stages)
    with_amount = [d - w - z for d, w, z in zip(frame["deals"].to_list(), without, zero, strict=True)]
    fig = go.Figure()
    fig.add_bar(x=stages, y=with_amount, name=t("health.chart.with_amount", lang), marker_color=PALETTE["actual"],
                hovertemplate="%{x}: %{y:,d}<extra></extra>")
    if any(zero):
        fig.add_bar(x=stages, y=zero, name=t("health.chart.zero_amount", lang), marker_color=PALETTE["target"],
                    hovertemplate="%{x}: %{y:,d}<extra></extra>")
    fig.add_bar(x=stages, y=without, name=t("health.chart.without_amount", lang), marker_color=PALETTE["bad"],
                hovertemplate="%{x}: %{y:,d}<extra></extra>")
    fig = base_layout(fig, t("health.chart.amounts_title", lang), t("health.chart.stage", lang),
                      t("health.chart.deals", lang), "count")
    fig.update_layout(barmode="stack", hovermode="closest")
    return fig


@memoized
def stale_by_owner(frame: pl.DataFrame, lang: str, days: int, top: int = 20) -> go.Figure:
    """Open deals without activity for the given days, counted per owner (the most first)."""
    counts = (frame.group_by("owner_name").agg(pl.len().alias("deals"), pl.col("amount").sum().alias("amount"))
              .sort(["deals", "owner_name"], descending=[True, False]).head(top))
    text = [plural("health.chart.stale_text", d, lang, deals=i18n.count(d, lang), amount=i18n.money(a, lang))
            for d, a in zip(counts["deals"].to_list(), counts["amount"].to_list(), strict=True)]
    fig = go.Figure(go.Bar(x=counts["deals"].to_list(), y=counts["owner_name"].to_list(), orientation="h",
                           marker_color=PALETTE["target"], text=text, textposition="auto",
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig = base_layout(fig, t("health.chart.stale_title", lang, days=days), t("health.chart.deals", lang),
                      t("health.chart.owner", lang), "count")
    fig.update_xaxes(tickformat=",d", rangemode="tozero")
    return _horizontal(fig, counts.height)


@memoized
def slips(frame: pl.DataFrame, lang: str) -> go.Figure:
    """How many deals were pushed out 2, 3, ... times, with their open amount."""
    counts = (frame.group_by("pushes").agg(pl.len().alias("deals"), pl.col("amount").sum().alias("amount"))
              .sort("pushes"))
    labels = [t("health.chart.pushes_label", lang, n=n) for n in counts["pushes"].to_list()]
    text = [plural("health.chart.stale_text", d, lang, deals=i18n.count(d, lang), amount=i18n.money(a, lang))
            for d, a in zip(counts["deals"].to_list(), counts["amount"].to_list(), strict=True)]
    fig = go.Figure(go.Bar(x=labels, y=counts["deals"].to_list(), marker_color=PALETTE["bad"], text=text,
                           textposition="auto", hovertemplate="%{x}: %{text}<extra></extra>"))
    fig = base_layout(fig, t("health.chart.slips_title", lang), t("health.chart.pushes", lang),
                      t("health.chart.deals", lang), "count")
    fig.update_layout(hovermode="closest")
    return fig
