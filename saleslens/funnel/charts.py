"""Figures of the Funnel page: stage funnels, velocity, win rates with intervals, leads, payments, waterfall.

Every figure uses charts.base_layout (title, axis titles, number formats). Bars that open a drill-down
carry the key of what they stand for in customdata, which the page reads from the chart selection.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go
import polars as pl

from saleslens.core import i18n
from saleslens.core.charts import PALETTE, base_layout, localize, memoized
from saleslens.core.i18n import t

_CLICK = "funnel.chart.click_hint"


def _sym() -> str:
    return i18n.currency_symbol()


def _horizontal(fig: go.Figure, n_bars: int) -> go.Figure:
    """Categories top to bottom in the given order, hover per bar, height that fits the bars."""
    fig.update_yaxes(autorange="reversed", tickformat="", tickprefix="", rangemode="normal", title_text="")
    fig.update_layout(hovermode="closest", height=max(260, 110 + 44 * n_bars), bargap=0.25)
    return fig


def _pct(value: float | None, lang: str) -> str:
    return i18n.percent(value, lang, digits=0)


@memoized
def stage_funnel(frame: pl.DataFrame, lang: str) -> go.Figure:
    """Current-state funnel: deals that reached each open stage, with amount and conversion from the previous."""
    rows = frame.filter(pl.col("kind") == "stage").sort("step")
    text = [
        t("funnel.chart.bar_text", lang, deals=i18n.count(r["reached"], lang),
          amount=i18n.money(r["reached_amount"], lang), rate=_pct(r["conv_from_prev"], lang))
        if r["conv_from_prev"] is not None else
        t("funnel.chart.bar_text_top", lang, deals=i18n.count(r["reached"], lang),
          amount=i18n.money(r["reached_amount"], lang))
        for r in rows.iter_rows(named=True)
    ]
    fig = go.Figure(go.Bar(
        x=rows["reached"].to_list(), y=rows["stage"].to_list(), orientation="h", marker_color=PALETTE["actual"],
        text=text, textposition="auto", customdata=[[s] for s in rows["stage"].to_list()],
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    fig = base_layout(fig, t("funnel.chart.current_title", lang), t("funnel.chart.deals_reached", lang), "",
                      "count")
    fig.update_xaxes(tickformat=",d", rangemode="tozero")
    return _horizontal(fig, rows.height)


@memoized
def cohort_funnel(frame: pl.DataFrame, lang: str, labels: dict[str, str]) -> go.Figure:
    """Cohort funnel: share of each cohort that reached each open stage, this period beside the previous one."""
    fig = go.Figure()
    colours = {"current": PALETTE["actual"], "previous": PALETTE["previous"]}
    stages = frame.filter(pl.col("kind") == "stage")
    for cohort in ("current", "previous"):
        rows = stages.filter(pl.col("cohort") == cohort).sort("step")
        if rows.height == 0:
            continue
        fig.add_bar(
            x=rows["conv_from_top"].fill_null(0).to_list(), y=rows["stage"].to_list(), orientation="h",
            name=labels[cohort], marker_color=colours[cohort],
            text=[t("funnel.chart.cohort_text", lang, deals=i18n.count(r["reached"], lang),
                    share=_pct(r["conv_from_top"], lang)) for r in rows.iter_rows(named=True)],
            textposition="auto", customdata=[[s, cohort] for s in rows["stage"].to_list()],
            hovertemplate="%{y} · " + labels[cohort] + ": %{text}<extra></extra>",
        )
    fig = base_layout(fig, t("funnel.chart.cohort_title", lang), t("funnel.chart.share_of_cohort", lang), "",
                      "percent")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.05])
    fig.update_layout(barmode="group")
    return _horizontal(fig, 2 * stages["stage"].n_unique())


@memoized
def velocity(frame: pl.DataFrame, lang: str) -> go.Figure:
    """Median days in each stage for won and lost deals, with a whisker up to the 75th percentile."""
    fig = go.Figure()
    colours = {"won": PALETTE["good"], "lost": PALETTE["bad"]}
    for outcome in ("won", "lost"):
        rows = frame.filter(pl.col("outcome") == outcome).sort("step")
        med = rows["median_days"].to_list()
        p75 = rows["p75_days"].to_list()
        fig.add_bar(
            x=rows["stage"].to_list(), y=med, name=t(f"funnel.outcome.{outcome}", lang),
            marker_color=colours[outcome],
            error_y={"type": "data", "symmetric": False, "array": [(b - a) if a is not None else None
                                                                    for a, b in zip(med, p75, strict=True)],
                     "arrayminus": [0] * len(med), "color": "#334155", "thickness": 1.5, "width": 6},
            customdata=[[i18n.days(a, lang), i18n.days(b, lang), n]
                        for a, b, n in zip(med, p75, rows["stays"].to_list(), strict=True)],
            hovertemplate="%{x} · " + t(f"funnel.outcome.{outcome}", lang) + ": "
            + t("funnel.chart.velocity_hover", lang) + "<extra></extra>",
        )
    fig = base_layout(fig, t("funnel.chart.velocity_title", lang), t("funnel.chart.stage", lang),
                      t("funnel.chart.days_in_stage", lang), "days")
    fig.update_layout(barmode="group", hovermode="closest")
    fig.update_xaxes(categoryorder="array", categoryarray=frame.sort("step")["stage"].unique(maintain_order=True)
                     .to_list())
    return fig


@memoized
def win_rates(frame: pl.DataFrame, overall: float | None, dimension: str, lang: str) -> go.Figure:
    """Win rate per group as bars with 95% Wilson intervals, each count after its whisker, the overall rate a line."""
    rates = frame["win_rate"].to_list()
    highs = [hi if hi is not None else (r or 0.0) for r, hi in zip(rates, frame["ci_high"].to_list(), strict=True)]
    labels = frame["label"].to_list()
    texts = [t("funnel.chart.win_rate_text", lang, rate=_pct(r["win_rate"], lang), won=r["won"], n=r["closed"])
             for r in frame.iter_rows(named=True)]
    fig = go.Figure(go.Bar(
        x=rates, y=labels, orientation="h", marker_color=PALETTE["actual"],
        error_x={"type": "data", "symmetric": False,
                 "array": [hi - (r or 0.0) for r, hi in zip(rates, highs, strict=True)],
                 "arrayminus": [(r or 0.0) - (lo if lo is not None else (r or 0.0))
                                for r, lo in zip(rates, frame["ci_low"].to_list(), strict=True)],
                 "color": "#334155", "thickness": 1.5, "width": 5},
        text=texts, textposition="none",
        customdata=[[k, _pct(lo, lang), _pct(hi, lang)] for k, lo, hi in
                    zip(frame["group_key"].to_list(), frame["ci_low"].to_list(), frame["ci_high"].to_list(),
                        strict=True)],
        hovertemplate="%{y}: %{text}<br>" + t("funnel.chart.interval", lang) + ": %{customdata[1]} – "
        "%{customdata[2]}<extra></extra>",
    ))
    # Each label after its whisker, on a white ground: inside the bar it sat on the whisker and under the overall line.
    notes = [{"x": hi, "y": label, "text": text, "xanchor": "left", "xshift": 6, "showarrow": False,
              "bgcolor": "rgba(255,255,255,0.9)", "font": {"size": 12}}
             for hi, label, text in zip(highs, labels, texts, strict=True)]
    fig.update_layout(annotations=notes)
    if overall is not None:
        fig.add_vline(x=overall, line_dash="dash", line_color=PALETTE["target"])
        # the overall rate's label above the plot, where no bar label can cover it
        fig.add_annotation(x=overall, y=1, yref="paper", yanchor="bottom", showarrow=False,
                           text=t("funnel.chart.overall", lang, rate=_pct(overall, lang)),
                           font={"color": PALETTE["target"], "size": 12})
    title = t("funnel.chart.win_rate_title", lang, dimension=dimension)
    fig = base_layout(fig, title, t("funnel.chart.win_rate_axis", lang), dimension, "percent")
    # Zoom to the rates shown (with their intervals), so rates of 15% and 25% do not look alike; room on the right
    # for the labels, with ticks only up to 100%.
    right = min(1.0, max([*highs, overall or 0.0, 0.1]))
    fig.update_xaxes(tickformat=".0%", range=[0, right * 1.6], tickvals=_percent_ticks(right))
    fig.update_layout(margin={"t": fig.layout.margin.t + 18})  # the overall label above the plot
    return _horizontal(fig, frame.height)


def _percent_ticks(right: float) -> list[float]:
    """Round percentage ticks from 0 up to `right` (at most 100%)."""
    step = next(s for s in (0.05, 0.1, 0.2, 0.25) if right / s <= 6)
    return [round(i * step, 4) for i in range(int(right / step + 1e-9) + 1)]


@memoized
def lead_funnel(total: dict, lang: str) -> go.Figure:
    """Leads, qualified, converted and won as a funnel, each with its share of the step before."""
    keys = ["leads", "qualified", "converted", "won"]
    rates = [None, total["qualified_rate"], total["converted_rate"], total["won_rate"]]
    values = [total[k] for k in keys]
    fig = go.Figure(go.Bar(
        x=values, y=[t(f"funnel.leads.{k}", lang) for k in keys], orientation="h",
        marker_color=[PALETTE["neutral"], PALETTE["neutral"], PALETTE["actual"], PALETTE["good"]],
        text=[i18n.count(v, lang) if r is None else t("funnel.chart.lead_text", lang, n=i18n.count(v, lang),
                                                        rate=_pct(r, lang))
              for v, r in zip(values, rates, strict=True)],
        textposition="auto", customdata=[[k] for k in keys],
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    fig = base_layout(fig, t("funnel.chart.lead_title", lang), t("funnel.chart.leads_axis", lang), "", "count")
    fig.update_xaxes(tickformat=",d")
    return _horizontal(fig, len(keys))


@memoized
def payments(frame: pl.DataFrame, lang: str) -> go.Figure:
    """Won, invoiced and paid amounts, each with its share of the won amount."""
    rows = frame.sort("position")
    fig = go.Figure(go.Bar(
        x=rows["amount"].to_list(), y=[t(f"funnel.pay.{s}", lang) for s in rows["step"].to_list()],
        orientation="h", marker_color=[PALETTE["good"], PALETTE["actual"], PALETTE["target"]][: rows.height],
        text=[t("funnel.chart.pay_text", lang, amount=i18n.money(r["amount"], lang),
                deals=i18n.count(r["deals"], lang), share=_pct(r["amount_share_of_won"], lang))
              for r in rows.iter_rows(named=True)],
        textposition="auto", customdata=[[s] for s in rows["step"].to_list()],
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    fig = base_layout(fig, t("funnel.chart.pay_title", lang), t("funnel.chart.amount", lang), "", "money")
    fig.update_xaxes(tickformat="~s", tickprefix=_sym())
    return localize(_horizontal(fig, rows.height), lang)


def _wrap(text: str, width: int = 14) -> str:
    """Break a long axis label over lines (at spaces), so ten labels fit side by side without tilting."""
    return "<br>".join(textwrap.wrap(text, width)) or text


@memoized
def waterfall(frame: pl.DataFrame, lang: str, first: str, second: str) -> go.Figure:
    """Open pipeline at the first snapshot, each category's change as a floating bar, open pipeline at the second.

    A week's changes are small beside the whole pipeline, so the money axis starts near the lowest level
    the pipeline reaches rather than at zero (the totals run off the bottom; the axis title says so).
    """
    rows = frame.sort("position")
    labels, bases, heights, colours, texts = [], [], [], [], []
    for r in rows.iter_rows(named=True):
        cat, amount = r["category"], r["amount"] or 0.0
        if r["kind"] == "total":
            labels.append(_wrap(t(f"funnel.pc.{cat}_bar", lang, snapshot=first if cat == "start" else second)))
            bases.append(0.0)
            heights.append(amount)
            colours.append(PALETTE["actual"])
            texts.append(f"<b>{i18n.money(amount, lang)}</b>")
        else:
            labels.append(_wrap(t(f"funnel.pc.{cat}", lang)))
            bases.append(r["bar_base"])
            heights.append(amount)
            colours.append(PALETTE["neutral"] if cat == "remainder" else
                           PALETTE["good"] if amount > 0 else PALETTE["bad"] if amount < 0 else PALETTE["neutral"])
            sign = "+" if amount > 0 else ""
            deals = t("funnel.pc.one_deal" if r["deals"] == 1 else "funnel.pc.n_deals", lang, n=r["deals"])
            texts.append(f"{sign}{i18n.money(amount, lang)}<br>{deals}")
    fig = go.Figure(go.Bar(
        x=labels, y=heights, base=bases, marker_color=colours, text=texts, textposition="outside",
        constraintext="none", textfont={"size": 12}, cliponaxis=False,
        customdata=[[c] for c in rows["category"].to_list()],
        hovertemplate="%{x}: %{text}<extra></extra>",
    ))
    levels = [b + h for b, h in zip(bases, heights, strict=True)] + [b for b, k in
                                                                      zip(bases, rows["kind"].to_list(), strict=True)
                                                                      if k != "total"]
    top, low = max(levels), min(levels)
    span = max(top - low, abs(top) * 0.02, 1.0)
    zoomed = low > 0 and span < 0.5 * top
    bottom = max(0.0, low - 0.6 * span) if zoomed else min(0.0, low - 0.1 * span)
    y_title = t("funnel.chart.open_pipeline_zoomed" if zoomed else "funnel.chart.open_pipeline", lang)
    fig = base_layout(fig, t("funnel.chart.pc_title", lang, first=first, second=second), "", y_title, "money")
    fig.update_yaxes(range=[bottom, top + 0.35 * span], rangemode="normal")
    fig.update_xaxes(tickangle=0)
    fig.update_layout(hovermode="closest", height=480, showlegend=False, margin={"b": 80})
    return localize(fig, lang)


def click_hint(lang: str) -> str:
    """The caption under charts that open their deals."""
    return t(_CLICK, lang)
