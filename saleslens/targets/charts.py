"""Figures of the targets page: attainment trend, pacing, forecast, coverage, accuracy, activities, heatmap."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from saleslens.core import i18n
from saleslens.core.charts import PALETTE, base_layout, ends, ends_note, localize, memoized
from saleslens.core.i18n import money, percent, t
from saleslens.targets.logic import Coverage, Forecast, Pace

TYPE_COLORS = {"call": "#2563eb", "email": "#0ea5e9", "meeting": "#16a34a", "demo": "#a855f7", "visit": "#f59e0b"}


def period_label(start: date, grain: str, lang: str) -> str:
    """A month as 'Jan 2026' (2026年1月) or a quarter as 'Q1 2026' (2026年第1季度)."""
    if grain != "quarter":
        return i18n.month(start, lang)  # CLDR's month names, as on every axis
    q = (start.month - 1) // 3 + 1
    return f"{start.year}年第{q}季度" if lang == "zh" else f"Q{q} {start.year}"


def tile_money(value: float | None, lang: str) -> str:
    """Money short enough for a metric tile ($1,045万, not $1,044.8万): i18n.money_short, as every tile."""
    return i18n.money_short(value, lang)


@memoized
def attainment_trend(table: pl.DataFrame, grain: str, lang: str, cumulative: bool = False) -> go.Figure:
    """Bookings per period as bars against the target line, attainment written on each bar."""
    x = [period_label(d, grain, lang) for d in table["period_start"].to_list()]
    actual = table["cumulative_bookings" if cumulative else "bookings"].to_list()
    target = table["cumulative_target" if cumulative else "target"].to_list()
    att = table["cumulative_attainment" if cumulative else "attainment"].to_list()
    partial = table["partial"].to_list()
    colors = [PALETTE["previous"] if p else PALETTE["actual"] for p in partial]
    text = [percent(a, lang, 0) if a is not None else "" for a in att]
    fig = go.Figure()
    fig.add_bar(x=x, y=actual, name=t("targets.chart.actual", lang), marker_color=colors, text=text,
                textposition="outside", cliponaxis=False,
                customdata=[[money(v, lang), money(tt, lang), a]
                            for v, tt, a in zip(actual, target, text, strict=True)],
                hovertemplate=t("targets.chart.hover_attainment", lang) + "<extra></extra>")
    fig.add_scatter(x=x, y=target, name=t("targets.chart.target", lang), mode="lines+markers",
                    line={"color": PALETTE["target"], "width": 3, "shape": "linear" if cumulative else "hvh"},
                    connectgaps=False, hoverinfo="skip")
    title = t("targets.chart.trend_cumulative" if cumulative else "targets.chart.trend", lang,
              grain=t(f"targets.grain.{grain}", lang))
    fig = base_layout(fig, title, t(f"targets.grain.{grain}", lang), t("targets.chart.bookings_axis", lang), "money")
    fig.update_layout(hovermode="closest")
    if any(partial):
        fig.add_annotation(text=t("targets.chart.partial_note", lang), xref="paper", yref="paper", x=0, y=-0.22,
                           showarrow=False, font={"size": 11, "color": PALETTE["neutral"]}, xanchor="left")
        fig.update_layout(margin={"b": 80})
    return localize(fig, lang)


def _hline(y: float, line: dict, text: str | None = None) -> tuple[dict, list[dict]]:
    """A horizontal line across the plot with its label at the top left: what fig.add_hline adds, as dicts."""
    shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y, "line": line}
    notes = [] if text is None else [{"text": text, "showarrow": False, "xref": "x domain", "x": 0, "xanchor": "left",
                                      "yref": "y", "y": y, "yanchor": "bottom"}]
    return shape, notes


def _vline(x: float, line: dict, text: str | None = None) -> tuple[dict, list[dict]]:
    """A vertical line across the plot with its label on top: what fig.add_vline adds, as dicts."""
    shape = {"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "y domain", "y0": 0, "y1": 1, "line": line}
    notes = [] if text is None else [{"text": text, "showarrow": False, "xref": "x", "x": x, "xanchor": "center",
                                      "yref": "y domain", "y": 1, "yanchor": "bottom"}]
    return shape, notes


# The figures of the page's default view are built from dicts in one go: go.Figure(go.Bar(...)), add_hline and
# update_xaxes each validate and copy again, which cost about a third of each figure's time (same JSON).


@memoized
def pacing_chart(daily: pl.DataFrame, expected: pl.DataFrame, p: Pace, as_of: date, lang: str) -> go.Figure:
    """Closed so far this quarter (cumulative) against the usual path to the target, with today's gap marked."""
    data, shapes, notes = [], [], []
    if p.target:
        data.append({"type": "scatter", "x": expected["day"].to_list(), "y": expected["expected"].to_list(),
                     "mode": "lines", "name": t("targets.chart.usual_pace", lang),
                     "line": {"color": PALETTE["target"], "dash": "dash", "width": 2},
                     "hovertemplate": "%{x|%d %b}: %{y:$,.0f}<extra></extra>"})
        shape, labels = _hline(p.target, {"color": PALETTE["neutral"], "dash": "dot"},
                               t("targets.chart.quarter_target", lang, value=money(p.target, lang)))
        shapes.append(shape)
        notes += labels
    q_start = expected["day"][0] if expected.height else as_of
    days = [q_start, *daily["day"].to_list(), as_of]
    cum = [0.0, *daily["cumulative"].to_list(), p.closed]
    data.append({"type": "scatter", "x": days, "y": cum, "mode": "lines",
                 "line": {"shape": "hv", "color": PALETTE["actual"], "width": 3},
                 "name": t("targets.chart.closed_so_far", lang),
                 "hovertemplate": "%{x|%d %b}: %{y:$,.0f}<extra></extra>"})
    if p.expected is not None:
        color = PALETTE["good"] if p.ahead else PALETTE["bad"]
        data.append({"type": "scatter", "x": [as_of, as_of], "y": [p.expected, p.closed], "mode": "lines+markers",
                     "showlegend": False, "line": {"color": color, "width": 4}, "hoverinfo": "skip"})
        word = "targets.chart.ahead_by" if p.ahead else "targets.chart.behind_by"
        notes.append({"x": as_of, "y": max(p.expected, p.closed), "yshift": 14, "showarrow": False,
                      "text": t(word, lang, value=money(abs(p.gap), lang), pct=percent(abs(p.gap_pct or 0), lang, 0)),
                      "font": {"color": color, "size": 13}})
    fig = go.Figure(data=data, layout={"shapes": shapes, "annotations": notes, "xaxis": {"tickformat": "%d %b"}})
    return localize(base_layout(fig, t("targets.chart.pacing_title", lang), t("targets.chart.day_axis", lang),
                       t("targets.chart.cum_bookings_axis", lang), "money"), lang)


@memoized
def forecast_chart(fc: Forecast, categories: pl.DataFrame, target: float | None, lang: str) -> go.Figure:
    """Closed, forecast with its range, the category roll-ups and everything open, against the target."""
    # Without a range (the fallback, or too few past errors) low = high = the forecast: the label says so, and no
    # bracket is drawn, instead of naming an 80% range that is not there.
    ranged = fc.high > fc.low
    rows = [(t("targets.chart.closed_to_date", lang), fc.closed, PALETTE["actual"]),
            (t("targets.chart.forecast_range" if ranged else "targets.chart.forecast_point", lang), fc.expected,
             "#60a5fa")]
    if categories.height:
        rows += [(t(f"targets.category.rollup.{r['category']}", lang), r["rollup"], PALETTE["previous"])
                 for r in categories.filter(pl.col("category") != "omitted").iter_rows(named=True)]
    else:
        rows.append((t("targets.chart.all_open", lang), fc.closed + fc.open_total, PALETTE["previous"]))
    labels = [r[0] for r in rows]
    data = [
        {"type": "bar", "x": [r[1] for r in rows], "y": labels, "orientation": "h",
         "marker": {"color": [r[2] for r in rows]}, "text": [money(r[1], lang) for r in rows],
         "textposition": "inside", "insidetextanchor": "start", "hovertemplate": "%{y}: %{x:$,.0f}<extra></extra>",
         "showlegend": False},
        # the range as a bracket on the forecast bar: low to high, with a tick at each end
        {"type": "scatter", "x": [fc.low, fc.high], "y": [labels[1]] * 2, "mode": "lines+markers",
         "name": t("targets.chart.range", lang), "line": {"color": "#1e3a8a", "width": 3},
         "marker": {"symbol": "line-ns", "size": 16, "line": {"width": 3, "color": "#1e3a8a"}},
         "customdata": [money(fc.low, lang), money(fc.high, lang)],
         "hovertemplate": "%{customdata}<extra></extra>", "showlegend": False},
    ][:2 if ranged else 1]
    layout: dict = {}
    if target:
        shape, notes = _vline(target, {"color": PALETTE["target"], "width": 3, "dash": "dash"},
                              t("targets.chart.target_marker", lang, value=money(target, lang)))
        layout = {"shapes": [shape], "annotations": notes}
    fig = base_layout(go.Figure(data=data, layout=layout), t("targets.chart.forecast_title", lang),
                      t("targets.chart.bookings_axis", lang), "", "count")
    fig.update_layout(xaxis=_money_ticks(), yaxis={"tickformat": "", "autorange": "reversed", "rangemode": "normal"},
                      hovermode="closest", height=120 + 48 * len(labels), margin={"l": 180, "t": 70})
    return localize(fig, lang)


def _money_ticks() -> dict:
    """Money ticks with the currency symbol, for an axis of a layout."""
    return {"tickformat": "~s", "tickprefix": i18n.currency_symbol()}


@memoized
def coverage_chart(cov: Coverage, lang: str) -> go.Figure:
    """Remaining target, open pipeline due and the pipeline needed at the historical win rate."""
    rows = [(t("targets.chart.remaining", lang), cov.remaining, PALETTE["target"]),
            (t("targets.chart.open_pipeline", lang), cov.open_pipeline, PALETTE["actual"])]
    if cov.needed is not None:
        rows.append((t("targets.chart.needed", lang), cov.needed, PALETTE["bad"] if cov.gap else PALETTE["good"]))
    fig = go.Figure(data=[{
        "type": "bar", "x": [r[0] for r in rows], "y": [r[1] for r in rows], "marker": {"color": [r[2] for r in rows]},
        "text": [money(r[1], lang) for r in rows], "textposition": "outside", "cliponaxis": False,
        "hovertemplate": "%{x}: %{y:$,.0f}<extra></extra>",
    }])
    title = t("targets.chart.coverage_title", lang, ratio=i18n.ratio(cov.ratio, lang))
    fig = base_layout(fig, title, "", t("targets.chart.amount_axis", lang), "money")
    fig.update_layout(showlegend=False, hovermode="closest")
    return localize(fig, lang)


@memoized
def members_gap_chart(table: pl.DataFrame, group_title: str, lang: str) -> go.Figure:
    """Ahead (green) or behind (red) of pace per rep, team or region, most behind at the top; of a long list, the
    members furthest behind and furthest ahead (charts.ends)."""
    data = table.filter(pl.col("gap").is_not_null()).sort("gap", descending=True)
    total = data.height
    data = ends(data)
    gaps = data["gap"].to_list()
    pcts = data["gap_pct"].to_list()
    bars = {
        "type": "bar", "x": gaps, "y": data["group_label"].to_list(), "orientation": "h",
        # 1 ahead (green), 0 behind (red) on a two-colour scale: the same bars as a colour per bar, whose
        # per-element validation took 40 ms for the organisation's 3,000 reps
        "marker": {"color": [1 if g >= 0 else 0 for g in gaps], "cmin": 0, "cmax": 1,
                   "colorscale": [[0, PALETTE["bad"]], [1, PALETTE["good"]]]},
        "text": [f"{'+' if g >= 0 else '−'}{money(abs(g), lang)} ({percent(p, lang, 0) if p is not None else '–'})"
                 for g, p in zip(gaps, pcts, strict=True)],
        "textposition": "outside", "cliponaxis": False, "hovertemplate": "%{y}: %{text}<extra></extra>",
    }
    # room on both sides for the labels written beyond the bar ends, so they never cover the names
    lo, hi = min([0.0, *gaps]), max([0.0, *gaps])
    pad = 0.45 * (hi - lo or 1.0)
    shape, _ = _vline(0, {"color": PALETTE["neutral"]})
    fig = go.Figure(data=[bars], layout={
        "xaxis": {"range": [lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0)]}, "shapes": [shape]})
    title = t("targets.chart.members_title", lang, group=group_title) + ends_note(data.height, total, lang)
    fig = base_layout(fig, title, t("targets.chart.gap_axis", lang), group_title, "count")
    fig.update_layout(xaxis=_money_ticks(), yaxis={"tickformat": "", "rangemode": "normal"}, hovermode="closest",
                      height=max(260, 90 + 26 * len(gaps)), showlegend=False)
    return localize(fig, lang)


@memoized
def accuracy_chart(frame: pl.DataFrame, lang: str) -> go.Figure:
    """Forecast error at each weekly snapshot of past quarters: 0% means it called the quarter exactly."""
    fig = go.Figure()
    for (quarter,), part in frame.filter(pl.col("error_pct").is_not_null()).partition_by(
            "quarter", as_dict=True, maintain_order=True).items():
        part = part.sort("as_of")
        fig.add_scatter(
            x=part["week"].to_list(), y=part["error_pct"].to_list(), mode="lines+markers",
            name=period_label(quarter, "quarter", lang),
            customdata=[[money(f, lang), money(a, lang), d.isoformat()] for f, a, d in
                        zip(part["forecast"].to_list(), part["actual"].to_list(), part["as_of"].to_list(),
                            strict=True)],
            hovertemplate=t("targets.chart.hover_accuracy", lang) + "<extra></extra>",
        )
    fig.add_hline(y=0, line={"color": PALETTE["neutral"], "dash": "dot"})
    fig = base_layout(fig, t("targets.chart.accuracy_title", lang), t("targets.chart.week_axis", lang),
                      t("targets.chart.error_axis", lang), "percent")
    fig.update_yaxes(rangemode="normal", zeroline=True)
    fig.update_xaxes(dtick=1)
    fig.update_layout(hovermode="closest")
    return fig


@memoized
def activities_chart(weekly: pl.DataFrame, weekly_target: float | None, lang: str) -> go.Figure:
    """Activities per rep per week, stacked by type, against the weekly activity target per rep."""
    fig = go.Figure()
    for kind in [k for k in TYPE_COLORS if k in set(weekly["type"].to_list())]:
        part = weekly.filter(pl.col("type") == kind).sort("week")
        fig.add_bar(x=part["week"].to_list(), y=part["per_rep"].to_list(), name=t(f"targets.activity.{kind}", lang),
                    marker_color=TYPE_COLORS[kind], hovertemplate="%{x|%d %b}: %{y:.1f}<extra>%{fullData.name}</extra>")
    weeks = sorted(set(weekly["week"].to_list()))
    if weekly_target and weeks:
        # The target as a dashed line named in the legend: its label written on the plot sat on the bars.
        fig.add_scatter(x=weeks, y=[weekly_target] * len(weeks), mode="lines", hoverinfo="skip",
                        name=t("targets.chart.activity_target", lang, value=i18n.number(weekly_target, lang)),
                        line={"color": PALETTE["target"], "width": 3, "dash": "dash", "shape": "hvh"})
    fig = base_layout(fig, t("targets.chart.activities_title", lang), t("targets.chart.week_of_axis", lang),
                      t("targets.chart.per_rep_axis", lang), "count")
    fig.update_yaxes(tickformat=",.1f")
    fig.update_xaxes(tickformat="%d %b")
    fig.update_layout(barmode="stack", hovermode="x unified")
    return localize(fig, lang)


@memoized
def conversion_chart(steps: pl.DataFrame, lang: str) -> go.Figure:
    """Activities → meetings → opportunities → wins, with each step's rate from the previous one."""
    labels = [t(f"targets.step.{s}", lang) for s in steps["step"].to_list()]
    counts = steps["count"].to_list()
    rates = steps["rate"].to_list()
    text = [f"{i18n.count(c, lang)}" + (f" · {percent(r, lang, 0)}" if r is not None else "")
            for c, r in zip(counts, rates, strict=True)]
    fig = go.Figure(go.Bar(x=labels, y=counts, text=text, textposition="outside", cliponaxis=False,
                           marker_color=[PALETTE["actual"], TYPE_COLORS["meeting"], "#a855f7", PALETTE["good"]],
                           hovertemplate="%{x}: %{text}<extra></extra>"))
    fig = base_layout(fig, t("targets.chart.conversion_title", lang), "", t("targets.chart.count_axis", lang), "count")
    fig.update_layout(showlegend=False, hovermode="closest")
    return fig


# Colour-blind safe (ColorBrewer PuOr): orange well below target, near white at target, purple above; red and
# green told the same story to one reader in twelve.
HEAT_SCALE = [[0, "#b35806"], [0.4, "#fdb863"], [0.6667, "#f7f7f7"], [0.8, "#b2abd2"], [1, "#542788"]]


@memoized
def heatmap(table: pl.DataFrame, group_title: str, lang: str) -> go.Figure:
    """Attainment per group (rows) and month (columns): orange below target, purple above, blank without one; the
    month in progress uncoloured with its attainment so far (it showed as a solid red 0% on its first day)."""
    months = sorted(table["period_start"].unique().to_list())
    groups = sorted(table["group_label"].unique().to_list(), reverse=True)
    cell = {(r["group_label"], r["period_start"]): r for r in table.iter_rows(named=True)}
    running = {r["period_start"] for r in table.iter_rows(named=True) if r.get("partial")}
    z, text, hover = [], [], []
    for g in groups:
        z_row, t_row, h_row = [], [], []
        for m in months:
            r = cell.get((g, m), {})
            a = r.get("attainment")
            shown = percent(a, lang, 0) if a is not None else ""
            z_row.append(min(a, 1.5) if a is not None and m not in running else None)
            t_row.append(t("targets.chart.heat_so_far", lang, pct=shown) if shown and m in running else shown)
            h_row.append(t("targets.chart.hover_heat", lang, group=g, month=period_label(m, "month", lang),
                           bookings=money(r.get("bookings"), lang), target=money(r.get("target"), lang),
                           attainment=percent(a, lang, 0))
                         + (" · " + t("targets.chart.in_progress", lang) if m in running else ""))
        z.append(z_row)
        text.append(t_row)
        hover.append(h_row)
    x = [period_label(m, "month", lang) + ("<br>" + t("targets.chart.in_progress", lang) if m in running else "")
         for m in months]
    fig = go.Figure(go.Heatmap(
        z=z, x=x, y=groups, text=text, texttemplate="%{text}", textfont={"size": 11},
        customdata=hover, hovertemplate="%{customdata}<extra></extra>", zmin=0, zmax=1.5, zmid=1.0,
        colorscale=HEAT_SCALE,
        colorbar={"title": {"text": t("targets.chart.attainment", lang)}, "tickformat": ".0%", "thickness": 12},
        xgap=2, ygap=2,
    ))
    fig = base_layout(fig, t("targets.chart.heatmap_title", lang, group=group_title), t("targets.chart.month", lang),
                      group_title, "count")
    fig.update_yaxes(tickformat="", rangemode="normal", automargin=True)
    fig.update_xaxes(automargin=True)
    fig.update_layout(hovermode="closest", height=max(300, 140 + 34 * len(groups)))
    return fig


@memoized
def plan_chart(months: pl.DataFrame, lang: str) -> go.Figure:
    """The monthly split of an annual target, coloured by quarter."""
    quarter_colors = ["#2563eb", "#16a34a", "#f59e0b", "#a855f7"]
    x = [period_label(m, "month", lang) for m in months["month"].to_list()]
    colors = [quarter_colors[(m.month - 1) // 3] for m in months["month"].to_list()]
    fig = go.Figure(go.Bar(x=x, y=months["value"].to_list(), marker_color=colors,
                           text=[money(v, lang) for v in months["value"].to_list()], textposition="outside",
                           cliponaxis=False, hovertemplate="%{x}: %{y:$,.0f}<extra></extra>"))
    fig = base_layout(fig, t("targets.chart.plan_title", lang), t("targets.chart.month", lang),
                      t("targets.chart.target_axis", lang), "money")
    fig.update_layout(showlegend=False, hovermode="closest", height=320)
    return localize(fig, lang)
