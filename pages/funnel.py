"""Funnel: where deals stall and what converts, and how the pipeline moved between two snapshots.

Thin page: widgets -> saleslens.funnel.load (named queries, saleslens.funnel.logic helpers and charts) -> st.*.
Every chart that stands for deals opens them: click a bar, or pick it in the selectbox under the chart.
Tabs (Stages, Leads & payments, Speed, Win rates, Pipeline changes); only the open one runs its queries and draws.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from saleslens.core import i18n, windows
from saleslens.core.i18n import t
from saleslens.funnel import charts as charts_funnel
from saleslens.funnel import load as funnel_load
from saleslens.funnel import logic as funnel
from saleslens.funnel.load import FunnelView
from ui import context, widgets
from ui import money as ui_money

ctx = context.current()
lang = ctx.lang
MONEY_COLS = {"amount", "amount_before", "amount_after", "change", "invoiced_amount", "paid_amount",
              "opportunity_amount", "won_amount", "reached_amount"}
PERCENT_COLS = {"conv_from_prev", "conv_from_top", "to_won", "win_rate", "ci_low", "ci_high", "qualified_rate",
                "converted_rate", "won_rate", "lead_to_won", "share_of_won", "amount_share_of_won"}


def columns(frame: pl.DataFrame) -> dict:
    """Translated column headers with money, percent and date formats; the amounts' currency named."""
    return ui_money.deal_columns(widgets.column_config(frame, "funnel.col", lang, MONEY_COLS, PERCENT_COLS), frame,
                                 lang)


def table(frame: pl.DataFrame, name: str, key: str, call: tuple[str, dict] | None = None) -> None:
    """A table with translated headers and its CSV and Excel downloads (and its CLI line, given its query)."""
    widgets.table(frame, name, lang, key, columns(frame), call)


def chart(fig, key: str) -> list | None:
    """Show a figure whose bars can be clicked; the customdata of the clicked bar, if any."""
    event = st.plotly_chart(fig, width="stretch", on_select="rerun", selection_mode="points", key=key)
    return funnel.selected_point(event)


def drill(picked: object, options: dict[str, str], key: str, label: str) -> str | None:
    """A selectbox of what to open, moved by a click on the chart above; the chosen option or None."""
    seen = f"_{key}_seen"
    if picked is not None and picked != st.session_state.get(seen) and picked in options:
        st.session_state[key] = picked  # a new click on the chart chooses the bar
    st.session_state[seen] = picked
    if st.session_state.get(key) not in options:
        st.session_state[key] = None
    return st.selectbox(label, list(options), format_func=lambda k: options[k], key=key,
                        placeholder=t("funnel.drill.placeholder", lang))


def deals_for(choice: str | None, run: Callable[[str], pl.DataFrame], name: str, key: str) -> None:
    """The list behind a chosen bar, with its downloads; nothing when nothing is chosen."""
    if choice is None:
        return
    frame = run(choice)
    st.caption(t("funnel.drill.count", lang, n=frame.height))
    table(frame, f"{name}_{choice}".replace(" ", "_"), key)


def snapshot_ids() -> list[str]:
    """The published snapshots, newest first, with the waterfall's two pickers set to their defaults if unset."""
    ids = funnel_load.snapshot_ids(ctx)
    if len(ids) >= 2:
        _, second = funnel_load.default_pair(ids, ctx.snapshot.id)
        if st.session_state.get("funnel_pc_to") not in ids:
            st.session_state["funnel_pc_to"] = second
        if st.session_state.get("funnel_pc_from") not in ids:
            at = ids.index(st.session_state["funnel_pc_to"])
            st.session_state["funnel_pc_from"] = ids[min(at + 1, len(ids) - 1)]
    return ids


def choices(open_tab: str) -> funnel_load.Choices:
    """The open tab and the choices it reads (its widgets draw later, from the same session state)."""
    ids = snapshot_ids() if open_tab == "changes" else []  # only this tab reads every snapshot's manifest
    two = len(ids) >= 2
    return funnel_load.Choices(
        tab=open_tab, win_by=st.session_state.get("funnel_win_by", funnel.WIN_RATE_BY[0]), snapshots=tuple(ids),
        pc_from=st.session_state["funnel_pc_from"] if two else None,
        pc_to=st.session_state["funnel_pc_to"] if two else None)


# ---- title, which funnel is which, and what needs history
st.title(t("funnel.title", lang))
# The window in the words the Overview and the Leaderboard use ("Q4 2026 to date, 1 Oct – 2 Dec 2026").
f_start, f_end = ctx.filters.start, ctx.filters.end
st.caption(t("funnel.caption", lang, period=windows.label(f_start, f_end, ctx.snapshot.as_of, lang) if f_start and f_end
             else funnel_load.period_text(f_start, f_end, lang)))
ui_money.notes(ctx)
if not ctx.snapshot.has("stage_changes"):
    st.info(t("funnel.no_history", lang), icon=":material/history_toggle_off:")

# Only the open tab does its work: switching tabs reruns the page (on_change="rerun"), and tab.open says which.
has_ends = ctx.snapshot.has("leads") or ctx.snapshot.has("payments")  # a CRM import may have neither
shown_tabs = [k for k in funnel.TABS if k != "leads_payments" or has_ends]
tabs = dict(zip(shown_tabs, st.tabs([t(f"funnel.tab.{k}", lang) for k in shown_tabs], key="funnel_tab",
                                    on_change="rerun"), strict=True))
open_tab = next((name for name, tab in tabs.items() if tab.open), shown_tabs[0])
# The choices made on a tab, by key prefix: kept while the tab is closed, since Streamlit forgets the state of
# widgets a run does not draw (the deals opened under a chart, the win-rate dimension, the two snapshots).
TAB_CHOICES = {
    "stages": ("funnel_current_drill", "funnel_cohort_drill"),
    "leads_payments": ("funnel_leads_drill", "funnel_pay_drill"),
    "win_rates": ("funnel_win_by", "funnel_win_drill_"),
    "changes": ("funnel_pc_from", "funnel_pc_to", "funnel_pc_drill"),
}

widgets.keep_choices(tuple(p for name, keys in TAB_CHOICES.items() if name != open_tab for p in keys))

# ---- the open tab's queries, frames and figures (saleslens.funnel.load, the same call the benchmark times)
choices_made = choices(open_tab)
view: FunnelView = funnel_load.load(ctx, choices_made)


# ---- Stages: bottlenecks, current-state funnel, cohort funnel; Leads & payments: the lead funnel, payments

def callout(b: funnel.Bottleneck | None, empty_key: str) -> str:
    """One bottleneck in words, with the counts and rates behind it."""
    if b is None:
        return t(empty_key, lang)
    s, r = b.step, b.reference
    words = {"from_stage": s.from_stage, "to_stage": s.to_stage, "rate": i18n.percent(s.rate, lang),
             "moved": i18n.count(s.moved_on, lang), "decided": i18n.count(s.decided, lang),
             "waiting": i18n.count(s.waiting, lang)}
    if r is not None:
        words |= {"ref_rate": i18n.percent(r.rate, lang), "ref_moved": i18n.count(r.moved_on, lang),
                  "ref_decided": i18n.count(r.decided, lang), "points": f"{b.change * 100:+.1f}"}
    return t(f"funnel.bottleneck.{b.kind}", lang, **words)


def bottlenecks(s: funnel_load.Stages) -> None:
    """The numbers behind the two weakest steps, and the funnel they were read from (the cohort's with history)."""
    st.subheader(t("funnel.bottleneck.header", lang))
    b1, b2 = st.columns(2)
    with b1.container(border=True):
        st.markdown(callout(s.drop, "funnel.bottleneck.no_drop" if view.has_prev else "funnel.bottleneck.no_previous"))
    with b2.container(border=True):
        st.markdown(callout(s.low, "funnel.bottleneck.too_few"))
    st.caption(t("funnel.bottleneck.basis_cohort" if view.has_history else "funnel.bottleneck.basis_current", lang))


def lead_funnel(lp: funnel_load.LeadsPayments) -> None:
    """The top, before there is an opportunity (the lead funnel has no product: that filter does not apply)."""
    st.subheader(t("funnel.leads.header", lang))
    leads, total = lp.leads, lp.lead_total
    if ctx.filters.params()["products"]:
        st.caption(t("funnel.leads.no_product_filter", lang))
    if not total or total["leads"] == 0:
        st.info(t("funnel.leads.none", lang))
        return
    c1, c2 = st.columns([2, 3])
    with c1:
        picked = chart(lp.lead_fig, "funnel_leads_chart")
    with c2:
        by_source = leads.filter(~pl.col("is_total")).select(
            "source", "leads", "qualified", "converted", "won", "lead_to_won")
        widgets.dataframe(by_source, lang, column_config=columns(by_source))
    widgets.downloads(leads, "lead_funnel_by_source", lang, key="funnel_leads_table_dl")
    steps = {k: t(f"funnel.leads.{k}", lang) for k in ("leads", "qualified", "converted", "won")}
    choice = drill(picked[0] if picked else None, steps, "funnel_leads_drill", t("funnel.leads.drill", lang))
    deals_for(choice, lambda s: funnel_load.lead_deals(ctx, s), "leads", "funnel_leads_dl")


def tile_window(kind: str) -> str:
    """The line under a funnel tile: the deals it counts, won, lost or closed in the period or open today (issue 16);
    without a whole period chosen, the period in words."""
    start, end, as_of = ctx.filters.start, ctx.filters.end, ctx.snapshot.as_of
    if not (start and end):
        return funnel_load.period_text(start, end, lang)
    if kind == "open_created":
        return t("window.tile.open_created", lang, day=i18n.day(as_of, lang), end=i18n.day(end, lang))
    return t(f"window.tile.{kind}", lang, span=windows.span(start, windows.last_day(start, end, as_of), lang))


def current_funnel(current: pl.DataFrame, fig, note: str | None = None) -> None:
    """The current-state stage funnel and its outcomes; the outcomes alone when the data has no open stage."""
    st.subheader(t("funnel.current.header", lang))
    st.caption(t("funnel.current.explain", lang))
    top = current.filter(pl.col("kind") == "stage").sort("step")
    outcome = {r["kind"]: r for r in current.filter(pl.col("kind") != "stage").iter_rows(named=True)}
    won, lost = outcome.get("won", {}), outcome.get("lost", {})
    closed = (won.get("deals") or 0) + (lost.get("deals") or 0)
    n_deals = int(top["reached"][0]) if top.height else closed
    if n_deals == 0:
        st.info(t("funnel.current.none", lang))
        return
    still_open = n_deals - (won.get("deals") or 0) - (lost.get("deals") or 0)
    m = st.columns(5)
    m[0].metric(t("funnel.current.won", lang), i18n.count(won.get("deals"), lang),
                delta=i18n.money(won.get("amount"), lang), delta_color="off", delta_arrow="off", border=True,
                help=t("funnel.current.won_help", lang))
    m[1].metric(t("funnel.current.lost", lang), i18n.count(lost.get("deals"), lang),
                delta=i18n.money(lost.get("amount"), lang), delta_color="off", delta_arrow="off", border=True,
                help=t("funnel.current.lost_help", lang))
    m[2].metric(t("funnel.current.open", lang), i18n.count(still_open, lang), border=True,
                help=t("funnel.current.open_help", lang))
    m[3].metric(t("funnel.current.win_rate", lang), i18n.percent(won.get("win_rate"), lang), border=True,
                help=t("funnel.current.win_rate_help", lang))
    m[4].metric(t("funnel.current.rate_to_won", lang), i18n.percent(won.get("conv_from_top"), lang), border=True,
                help=t("funnel.current.rate_to_won_help", lang))
    for col, kind in zip(m, ("won", "lost", "open_created", "closed", "in_play"), strict=True):
        col.caption(tile_window(kind))
    if note:
        st.info(note, icon=":material/info:")
    if fig is None:  # outcomes only: no stage to chart or drill into
        with st.expander(t("funnel.current.table", lang)):
            table(current, "funnel_by_stage", "funnel_current_table_dl", ("funnel_by_stage", ctx.filters.params()))
        return
    picked = chart(fig, "funnel_current_chart")
    st.caption(charts_funnel.click_hint(lang))
    stage_opts = {r["stage"]: r["stage"] for r in current.sort("step").iter_rows(named=True)}
    choice = drill(picked[0] if picked else None, stage_opts, "funnel_current_drill",
                   t("funnel.current.drill", lang))
    deals_for(choice, lambda s: funnel_load.current_deals(ctx, s), "deals_current_funnel", "funnel_current_dl")
    with st.expander(t("funnel.current.table", lang)):
        table(current, "funnel_by_stage", "funnel_current_table_dl", ("funnel_by_stage", ctx.filters.params()))


def cohort_funnel(s: funnel_load.Stages) -> None:
    """The cohort funnel from stage history, beside the previous period's cohort."""
    st.subheader(t("funnel.cohort.header", lang))
    if not view.has_history:
        st.caption(t("funnel.cohort.needs_history", lang))
        return
    st.caption(t("funnel.cohort.explain", lang))
    if s.cohort_fig is None:
        st.info(t("funnel.cohort.none", lang))
        return
    cohorts, now, labels = s.cohorts, s.now, s.cohort_labels
    picked = chart(s.cohort_fig, "funnel_cohort_chart")
    regressed = now.filter(pl.col("regressed") > 0)
    if regressed.height:
        st.markdown(t("funnel.cohort.regressions", lang, items=", ".join(
            f"{r['stage']} ({r['regressed']})" for r in regressed.iter_rows(named=True))))
    else:
        st.caption(t("funnel.cohort.no_regressions", lang))
    cohort_opts = {f"{r['cohort']}|{r['stage']}": f"{labels[r['cohort']]} · {r['stage']}"
                   for r in cohorts.sort(["cohort", "step"]).iter_rows(named=True)}
    pick = f"{picked[1]}|{picked[0]}" if picked and len(picked) > 1 else None
    choice = drill(pick, cohort_opts, "funnel_cohort_drill", t("funnel.cohort.drill", lang))
    deals_for(choice, lambda o: funnel_load.cohort_deals(ctx, o), "deals_cohort_funnel", "funnel_cohort_dl")
    with st.expander(t("funnel.cohort.table", lang)):
        table(cohorts, "funnel_by_cohort", "funnel_cohort_table_dl")


def payments(lp: funnel_load.LeadsPayments) -> None:
    """The payment stage: the bottom, after the deal is won."""
    st.subheader(t("funnel.pay.header", lang))
    if lp.payments_fig is None:
        st.info(t("funnel.pay.none", lang))
        return
    picked = chart(lp.payments_fig, "funnel_pay_chart")
    med = lp.payment_days
    st.caption(t("funnel.pay.days", lang, invoice=i18n.days(med.get("invoiced"), lang),
                 paid=i18n.days(med.get("paid"), lang)))
    pay_opts = {k: t(f"funnel.pay.{k}", lang) for k in ("won", "invoiced", "paid")}
    choice = drill(picked[0] if picked else None, pay_opts, "funnel_pay_drill", t("funnel.pay.drill", lang))
    deals_for(choice, lambda s: funnel_load.payment_deals(ctx, s), "deals_payments", "funnel_pay_dl")


def stages_tab() -> None:
    """Where deals stand and stall: bottlenecks first, then the current-state and cohort funnels."""
    s = view.stages
    bottlenecks(s)
    current_funnel(s.current, s.current_fig, s.note)
    cohort_funnel(s)


def leads_payments_tab() -> None:
    """The two ends of the journey: from lead to opportunity, and from the won deal to cash."""
    lp = view.leads_payments
    if lp.leads is not None:
        lead_funnel(lp)
    if lp.payments is not None:
        payments(lp)


# ---- Speed: sales cycle (no history needed), days in stage and stuck deals (history)

def speed_tab() -> None:
    """How fast deals move: sales cycles, days in each stage and the deals stuck now."""
    st.subheader(t("funnel.velocity.header", lang))
    sp = view.speed
    cycle_cols = st.columns(2)
    for col, key in zip(cycle_cols, ("won", "lost"), strict=True):
        r = sp.cycle.get(key, {})
        col.metric(t(f"funnel.velocity.cycle_{key}", lang), i18n.days(r.get("median_days"), lang), border=True,
                   help=t("funnel.velocity.cycle_help", lang),
                   delta=t("funnel.velocity.cycle_detail", lang, p75=i18n.days(r.get("p75_days"), lang),
                           n=i18n.count(r.get("deals"), lang)), delta_color="off", delta_arrow="off")
        col.caption(tile_window(key))  # the cycle of the deals won (lost) in the period
    if sp.stays is None:
        st.caption(t("funnel.velocity.needs_history", lang))
        return
    if sp.velocity_fig is None:
        st.info(t("funnel.velocity.none", lang))
    else:
        st.plotly_chart(sp.velocity_fig, width="stretch", key="funnel_velocity_chart")
        st.caption(t("funnel.velocity.explain", lang))
    st.markdown(f"**{t('funnel.stuck.header', lang)}**")
    stuck = sp.stuck
    st.caption(t("funnel.stuck.explain", lang))
    if stuck.height == 0:
        st.info(t("funnel.stuck.none", lang))
    else:
        st.caption(t("funnel.stuck.count", lang, n=stuck.height, amount=i18n.money(stuck["amount"].sum(), lang)))
        table(stuck, "stuck_deals", "funnel_stuck_dl")


# ---- Win rates: by segment, industry, source, product, region and deal size, with 95% intervals

def win_rates_tab() -> None:
    """Win rates of one dimension at a time, with their intervals and the deals behind each bar."""
    st.subheader(t("funnel.win.header", lang))
    # The radio returns the dimension load already read from the session state (the same key, default first).
    by = st.radio(t("funnel.win.by", lang), funnel.WIN_RATE_BY, horizontal=True, key="funnel_win_by",
                  format_func=lambda d: t(f"funnel.win.dim.{d}", lang))
    w = view.win_rates if view.win_rates.by == by else funnel_load.load_win_rates(ctx, by)
    rates = w.rates
    if rates.height == 0:
        st.info(t("funnel.win.none", lang))
        return
    shown = w.shown
    picked = chart(w.fig, f"funnel_win_chart_{by}")
    st.caption(t("funnel.win.explain", lang) + " " + charts_funnel.click_hint(lang))
    if rates.height > shown.height:
        st.caption(t("funnel.win.top_only", lang, n=shown.height, total=rates.height))
    group_opts = dict(zip(rates["group_key"].to_list(), rates["label"].to_list(), strict=True))
    choice = drill(picked[0] if picked else None, group_opts, f"funnel_win_drill_{by}", t("funnel.win.drill", lang))
    deals_for(choice, lambda g: funnel_load.win_rate_deals(ctx, by, g), f"deals_win_rate_{by}", "funnel_win_dl")
    with st.expander(t("funnel.win.table", lang)):
        table(rates.drop("band_order"), f"win_rate_by_{by}", "funnel_win_table_dl")


# ---- Pipeline changes: the waterfall between two snapshots

def changes_tab() -> None:
    """How the open pipeline moved between two snapshots, bar by bar, with the deals behind each bar."""
    st.subheader(t("funnel.pc.header", lang))
    ids = list(choices_made.snapshots)
    if len(ids) < 2:
        st.info(t("funnel.pc.one_snapshot", lang))
        return
    c1, c2 = st.columns(2)
    c1.selectbox(t("funnel.pc.from", lang), ids, key="funnel_pc_from")
    c2.selectbox(t("funnel.pc.to", lang), ids, key="funnel_pc_to")
    pc = view.changes
    if pc is None:
        st.info(t("funnel.pc.same", lang))
        return
    if pc.swapped:  # picked the newer one first: compared in time order
        st.caption(t("funnel.pc.swapped", lang))
    st.caption(t("funnel.pc.explain", lang, period=view.period))
    picked = chart(pc.fig, "funnel_pc_chart")
    st.caption(charts_funnel.click_hint(lang))
    with st.expander(t("funnel.pc.definitions", lang)):
        st.markdown("\n".join(f"- **{t(f'funnel.pc.{c}', lang)}**: {t(f'funnel.pc.def.{c}', lang)}"
                              for c in funnel.CATEGORIES))
    cat_opts = {c: t(f"funnel.pc.{c}", lang) for c in funnel.CATEGORIES}
    choice = drill(picked[0] if picked else None, cat_opts, "funnel_pc_drill", t("funnel.pc.drill", lang))
    deals_for(choice, lambda c: funnel_load.change_deals(ctx, pc, c), "pipeline_changes", "funnel_pc_dl")


# ---- the open tab, drawn
DRAW = {"stages": stages_tab, "leads_payments": leads_payments_tab, "speed": speed_tab, "win_rates": win_rates_tab,
        "changes": changes_tab}
with tabs[open_tab]:
    DRAW[open_tab]()
