"""Figures of the Leaderboard page and the review pack, built on saleslens.core.charts.base_layout."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl

from saleslens.core import i18n
from saleslens.core.charts import PALETTE, base_layout, ends, ends_note, localize, memoized
from saleslens.core.i18n import t
from saleslens.rankings.scorecards import KPIS, NEUTRAL, is_rating, parse_quarter, quarter_of

# One colour per scorecard KPI, so a KPI keeps its colour across the stacked bars and the waterfall.
KPI_COLOURS = [
    "#2563eb", "#16a34a", "#f59e0b", "#9333ea", "#0891b2", "#dc2626", "#65a30d", "#db2777", "#475569",
    "#ea580c", "#0d9488", "#7c3aed", "#ca8a04",
]


def kpi_label(key: str, lang: str) -> str:
    """The label of a scorecard KPI or rating."""
    if is_rating(key):
        return t(f"lb.rating.{key.split('.', 1)[1]}", lang)
    return t(KPIS[key].label_key, lang)


def _fmt(kind: str, value: object, lang: str) -> str:
    return i18n.fmt(kind, value, lang)


def _hbar_axes(fig: go.Figure, kind: str, n: int) -> go.Figure:
    """Shared settings of horizontal bar charts: value axis formatted, category axis plain."""
    if kind in i18n.FORMATTERS:
        prefix = i18n.currency_symbol() if kind == "money" else ""
        fig.update_xaxes(tickformat=i18n.tick_format(kind), tickprefix=prefix)
    fig.update_yaxes(tickformat="", tickprefix="", rangemode="normal", automargin=True)
    fig.update_layout(hovermode="closest", height=max(320, 90 + 30 * n))
    return fig


@memoized
def kpi_ranking(board: pl.DataFrame, key: str, lang: str) -> go.Figure:
    """Reps as horizontal bars of one KPI, best at the top; flagged (uncertain) values in grey."""
    kpi = KPIS[key]
    ranked = board.filter(pl.col("value").is_not_null())
    data = ends(ranked).reverse()
    labels = [
        f"#{r} {n}" if r is not None else f"– {n}"
        for r, n in zip(data["rank"].to_list(), data["name"].to_list(), strict=True)
    ]
    flags = data["flagged"].to_list()
    values = data["value"].to_list()
    texts = [_fmt(kpi.format, v, lang) + (" ⚠" if f else "") for v, f in zip(values, flags, strict=True)]
    # Arrays, and the two colours as 0/1 on a two-colour scale: Plotly checks a list of colour names one by
    # one, which cost 0.1 s of CPU for the 4,700 reps of a large organisation.
    fig = go.Figure(go.Bar(
        x=np.array(values, dtype=float), y=np.array(labels, dtype=object), orientation="h",
        text=np.array(texts, dtype=object), textposition="auto",
        marker={"color": np.array(flags, dtype=float), "cmin": 0, "cmax": 1,
                "colorscale": [[0, PALETTE["actual"]], [1, PALETTE["previous"]]]},
        customdata=np.array(data["rep_id"].to_list(), dtype=object), hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    label = t(kpi.label_key, lang)
    fig = base_layout(fig, t("lb.chart.ranking_title", lang, kpi=label) + ends_note(data.height, ranked.height, lang),
                      label, t("lb.col.rep", lang), "count")
    return localize(_hbar_axes(fig, kpi.format, len(values)), lang)


@memoized
def score_stack(scores: pl.DataFrame, breakdown: pl.DataFrame, lang: str) -> go.Figure:
    """Each rep's score as a stacked bar of its KPIs' contributions, best at the top."""
    scored = scores.filter(pl.col("score").is_not_null()).sort("score")
    ranked = ends(scored)  # lowest and highest scores: the order stays (best at the top)
    names = dict(zip(ranked["rep_id"].to_list(), ranked["name"].to_list(), strict=True))
    order = ranked["rep_id"].to_list()
    labels = [f"#{r} {names[i]}" if r is not None else names[i]
              for i, r in zip(order, ranked["rank"].to_list(), strict=True)]
    fig = go.Figure()
    keys = breakdown["kpi"].unique(maintain_order=True).to_list()
    y = np.array(labels, dtype=object)  # arrays: Plotly checks a list element by element
    for n, key in enumerate(keys):
        part = breakdown.filter(pl.col("kpi") == key)
        by_rep = dict(zip(part["rep_id"].to_list(), part["contribution"].to_list(), strict=True))
        fig.add_bar(
            x=np.array([by_rep.get(i) or 0 for i in order], dtype=float), y=y, orientation="h",
            name=kpi_label(key, lang),
            marker_color=KPI_COLOURS[n % len(KPI_COLOURS)],
            hovertemplate="%{y}<br>" + kpi_label(key, lang) + ": %{x:.1f}<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig = base_layout(fig, t("lb.chart.score_stack_title", lang) + ends_note(ranked.height, scored.height, lang),
                      t("lb.chart.score_points", lang), t("lb.col.rep", lang), "count")
    fig.update_xaxes(tickformat=",.0f")
    fig = _hbar_axes(fig, "none", len(order))
    fig.update_layout(legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left",
                              "traceorder": "normal"}, margin={"b": 110})
    return fig


@memoized
def score_waterfall(parts: pl.DataFrame, name: str, lang: str) -> go.Figure:
    """How one rep's score adds up: each KPI's contribution, then the total."""
    keys = parts["kpi"].to_list()
    contrib = [c or 0.0 for c in parts["contribution"].to_list()]
    total = sum(contrib)
    labels = [kpi_label(k, lang) for k in keys] + [t("lb.col.score", lang)]
    fig = go.Figure(go.Waterfall(
        x=labels, y=[*contrib, total], measure=["relative"] * len(keys) + ["total"],
        text=[f"{v:.1f}" for v in [*contrib, total]], textposition="outside",
        connector={"line": {"color": PALETTE["neutral"]}},
        increasing={"marker": {"color": PALETTE["actual"]}}, totals={"marker": {"color": PALETTE["good"]}},
        hovertemplate="%{x}: %{y:.1f}<extra></extra>",
    ))
    fig = base_layout(fig, t("lb.chart.waterfall_title", lang, name=name), t("lb.col.kpi", lang),
                      t("lb.chart.score_points", lang), "count")
    fig.update_yaxes(tickformat=",.0f", range=[0, max(total, 1) * 1.18])
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


@memoized
def peer_percentiles(position: pl.DataFrame, name: str, peers: int, lang: str) -> go.Figure:
    """One rep's percentile among peers per KPI: right of 50 is better than the median peer."""
    data = position.filter(pl.col("percentile").is_not_null()).reverse()
    keys = data["kpi"].to_list()
    pct = data["percentile"].to_list()
    texts = [
        f"{p:.0f} · {_fmt(KPIS[k].format, v, lang)} vs {_fmt(KPIS[k].format, m, lang)}"
        for k, p, v, m in zip(keys, pct, data["value"].to_list(), data["peer_median"].to_list(), strict=True)
    ]
    # Bars grow from the median (50) to the rep's percentile: right is better than the median peer, left worse.
    fig = go.Figure(go.Bar(
        x=[p - NEUTRAL for p in pct], base=NEUTRAL, y=[kpi_label(k, lang) for k in keys], orientation="h",
        text=texts, textposition="auto", insidetextanchor="middle",
        marker_color=[PALETTE["good"] if p > NEUTRAL else PALETTE["bad"] if p < NEUTRAL else PALETTE["neutral"]
                      for p in pct],
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    fig.add_vline(x=NEUTRAL, line_dash="dash", line_color=PALETTE["neutral"],
                  annotation_text=t("lb.chart.peer_median", lang), annotation_position="top")
    fig = base_layout(fig, t("lb.chart.percentile_title", lang, name=name, peers=peers),
                      t("lb.chart.percentile_axis", lang), t("lb.col.kpi", lang), "count")
    fig.update_xaxes(range=[0, 100], tickformat=",.0f")
    return _hbar_axes(fig, "none", len(keys))


@memoized
def compare_bars(categories: list[str], first: list[float | None], second: list[float | None], names: tuple[str, str],
                 title: str, x_title: str, y_title: str, kind: str, lang: str = "en") -> go.Figure:
    """Two groups side by side per category (a rep against peers, the top quartile against the rest)."""
    fig = go.Figure()
    for values, name, colour in ((first, names[0], PALETTE["actual"]), (second, names[1], PALETTE["previous"])):
        fig.add_bar(x=categories, y=values, name=name, marker_color=colour,
                    text=[i18n.fmt(kind, v, lang) if v is not None else "" for v in values], textposition="outside",
                    hovertemplate=name + " · %{x}: %{text}<extra></extra>")
    fig.update_layout(barmode="group")
    fig = base_layout(fig, title, x_title, y_title, kind)
    fig.update_layout(hovermode="closest")
    top = max([v for v in [*first, *second] if v is not None] or [1])
    fig.update_yaxes(range=[0, top * 1.2])
    return fig


def _period_label(start, end, lang: str = "en") -> str:
    """2026Q3 for a calendar quarter, else the first day."""
    q = quarter_of(start)
    return q if parse_quarter(q) == (start, end) else i18n.day(start, lang)


@memoized
def score_history(history: pl.DataFrame, name: str, lang: str) -> go.Figure:
    """One rep's score per period with the rank written on each point."""
    periods = zip(history["period_start"].to_list(), history["period_end"].to_list(), strict=True)
    labels = [_period_label(s, e, lang) for s, e in periods]
    ranks = history["rank"].to_list()
    fig = go.Figure(go.Scatter(
        x=labels, y=history["score"].to_list(), mode="lines+markers+text",
        text=[f"#{r}" if r is not None else "" for r in ranks], textposition="top center",
        line={"color": PALETTE["actual"], "width": 3}, hovertemplate="%{x}: %{y:.1f} (%{text})<extra></extra>",
    ))
    fig = base_layout(fig, t("lb.chart.history_title", lang, name=name), t("lb.chart.period_start", lang),
                      t("lb.chart.score_points", lang), "count")
    top = max([s for s in history["score"].to_list() if s is not None] or [100])
    fig.update_yaxes(tickformat=",.0f", range=[0, top * 1.2])
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


@memoized
def member_scores(members: pl.DataFrame, lang: str) -> go.Figure:
    """A team's members by score, coloured by role (each scored against peers of their own role)."""
    data = members.filter(pl.col("score").is_not_null()).sort("score")
    fig = go.Figure()
    for n, role in enumerate(data["role"].unique(maintain_order=True).to_list()):
        part = data.filter(pl.col("role") == role)
        fig.add_bar(
            x=part["score"].to_list(), y=part["name"].to_list(), orientation="h", name=role,
            marker_color=KPI_COLOURS[n % len(KPI_COLOURS)], text=[f"{s:.1f}" for s in part["score"].to_list()],
            textposition="auto", hovertemplate="%{y}: %{x:.1f}<extra></extra>",
        )
    fig = base_layout(fig, t("lb.chart.members_title", lang), t("lb.chart.score_points", lang),
                      t("lb.col.rep", lang), "count")
    fig.update_xaxes(tickformat=",.0f")
    fig.update_yaxes(categoryorder="array", categoryarray=data["name"].to_list())
    return _hbar_axes(fig, "none", data.height)
