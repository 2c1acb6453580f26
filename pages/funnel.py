"""Funnel: where deals stall and what converts, and how the pipeline moved between two snapshots.

Thin page: shared filters -> named queries (queries/funnel_*, velocity_*, stuck_*, win_rate_*, lead_funnel_*,
payments_*, pipeline_changes_*, deals_*) -> saleslens.funnel.logic helpers -> saleslens.funnel.logic.charts -> st.*.
Every chart that stands for deals opens them: click a bar, or pick it in the selectbox under the chart.
Tabs (Stages, Leads & payments, Speed, Win rates, Pipeline changes); only the open one runs its queries and draws.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from queries.runner import runner_for
from saleslens.core import i18n, store
from saleslens.core.i18n import t
from saleslens.funnel import charts as charts_funnel
from saleslens.funnel import logic as funnel
from ui import context, widgets

ctx = context.current()
lang, f = ctx.lang, ctx.filters
params = f.params()
prev = f.previous()
has_prev = f.start is not None and f.end is not None
has_history = ctx.snapshot.has("stage_changes")
filtered = funnel.has_filters(params)
MONEY_COLS = {"amount", "amount_before", "amount_after", "change", "invoiced_amount", "paid_amount",
              "opportunity_amount", "won_amount", "reached_amount"}
PERCENT_COLS = {"conv_from_prev", "conv_from_top", "to_won", "win_rate", "ci_low", "ci_high", "qualified_rate",
                "converted_rate", "won_rate", "lead_to_won", "share_of_won", "amount_share_of_won"}


def period_text(start, end) -> str:
    """A period as words: '1 Apr 2026 – 30 Jun 2026', or all time."""
    if start is None and end is None:
        return t("funnel.all_time", lang)
    return f"{i18n.day(start, lang)} – {i18n.day(end, lang)}"


def columns(frame: pl.DataFrame) -> dict:
    """Translated column headers with money, percent and date formats."""
    return widgets.column_config(frame, "funnel.col", lang, MONEY_COLS, PERCENT_COLS)


def table(frame: pl.DataFrame, name: str, key: str) -> None:
    """A table with translated headers and its CSV and Excel downloads."""
    widgets.table(frame, name, lang, key, columns(frame))


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
    ids = [s.id for s in reversed(store.list_snapshots(ctx.data_dir))]
    if len(ids) >= 2:
        if st.session_state.get("funnel_pc_to") not in ids:
            st.session_state["funnel_pc_to"] = ctx.snapshot.id if ctx.snapshot.id in ids else ids[0]
        if st.session_state.get("funnel_pc_from") not in ids:
            at = ids.index(st.session_state["funnel_pc_to"])
            st.session_state["funnel_pc_from"] = ids[min(at + 1, len(ids) - 1)]
    return ids


# ---- title, which funnel is which, and what needs history
st.title(t("funnel.title", lang))
st.caption(t("funnel.caption", lang, period=period_text(f.start, f.end)))
if not has_history:
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

# ---- the open tab's queries at once, side by side (its sections below then read them from the runner's cache)
# Only the Pipeline changes tab compares snapshots: the others do not read every snapshot's manifest.
ids = snapshot_ids() if open_tab == "changes" else []
pair = funnel.compare_pair(ids, st.session_state["funnel_pc_from"], st.session_state["funnel_pc_to"]) \
    if len(ids) >= 2 else None
ctx.run_many(funnel.view_calls(funnel.View(
    params=params, prev_params=prev.params() if has_prev else None, has_history=has_history,
    has_leads=ctx.snapshot.has("leads"), has_payments=ctx.snapshot.has("payments"),
    win_by=st.session_state.get("funnel_win_by", funnel.WIN_RATE_BY[0]),
    compare=pair[0] if pair and pair[1] == ctx.snapshot.id else None, tab=open_tab)))


# ---- Stages: bottleneck callouts, current-state funnel, cohort funnel; Leads & payments: the lead funnel, payments

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


def bottlenecks(current: pl.DataFrame, cohorts: pl.DataFrame | None) -> pl.DataFrame:
    """The numbers behind the two weakest steps; the funnel they were read from (the cohort's with history)."""
    st.subheader(t("funnel.bottleneck.header", lang))
    if has_history:
        now = cohorts.filter(pl.col("cohort") == "current")
        before = cohorts.filter(pl.col("cohort") == "previous")
        org = ctx.run("funnel_by_cohort", start=f.start, end=f.end).filter(pl.col("cohort") == "current") \
            if filtered else None
        basis = t("funnel.bottleneck.basis_cohort", lang)
    else:
        now = current
        before = ctx.run("funnel_by_stage", **prev.params()) if has_prev else current.clear()
        org = ctx.run("funnel_by_stage", start=f.start, end=f.end) if filtered else None
        basis = t("funnel.bottleneck.basis_current", lang)
    drop = funnel.drop_vs_previous(now, before) if has_prev else None
    low = funnel.lowest_vs_org(now, org)
    b1, b2 = st.columns(2)
    with b1.container(border=True):
        st.markdown(callout(drop, "funnel.bottleneck.no_drop" if has_prev else "funnel.bottleneck.no_previous"))
    with b2.container(border=True):
        st.markdown(callout(low, "funnel.bottleneck.too_few"))
    st.caption(basis)
    return now


def lead_funnel() -> None:
    """The top, before there is an opportunity (the lead funnel has no product: that filter does not apply)."""
    st.subheader(t("funnel.leads.header", lang))
    lead_params = {k: v for k, v in params.items() if k != "products"}
    leads = ctx.run("lead_funnel_by_source", **lead_params)
    total = leads.filter(pl.col("is_total")).row(0, named=True) if leads.height else None
    if params["products"]:
        st.caption(t("funnel.leads.no_product_filter", lang))
    if not total or total["leads"] == 0:
        st.info(t("funnel.leads.none", lang))
        return
    c1, c2 = st.columns([2, 3])
    with c1:
        picked = chart(charts_funnel.lead_funnel(total, lang), "funnel_leads_chart")
    with c2:
        by_source = leads.filter(~pl.col("is_total")).select(
            "source", "leads", "qualified", "converted", "won", "lead_to_won")
        st.dataframe(by_source, hide_index=True, width="stretch", column_config=columns(by_source))
    widgets.downloads(leads, "lead_funnel_by_source", lang, key="funnel_leads_table_dl")
    steps = {k: t(f"funnel.leads.{k}", lang) for k in ("leads", "qualified", "converted", "won")}
    choice = drill(picked[0] if picked else None, steps, "funnel_leads_drill", t("funnel.leads.drill", lang))
    deals_for(choice, lambda s: ctx.run("lead_funnel_by_lead", step=s, **lead_params), "leads", "funnel_leads_dl")


def current_funnel(current: pl.DataFrame) -> None:
    """The current-state stage funnel and its outcomes."""
    st.subheader(t("funnel.current.header", lang))
    st.caption(t("funnel.current.explain", lang))
    top = current.filter(pl.col("kind") == "stage").sort("step")
    n_deals = int(top["reached"][0]) if top.height else 0
    if n_deals == 0:
        st.info(t("funnel.current.none", lang))
        return
    outcome = {r["kind"]: r for r in current.filter(pl.col("kind") != "stage").iter_rows(named=True)}
    won, lost = outcome.get("won", {}), outcome.get("lost", {})
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
    picked = chart(charts_funnel.stage_funnel(current, lang), "funnel_current_chart")
    st.caption(charts_funnel.click_hint(lang))
    stage_opts = {r["stage"]: r["stage"] for r in current.sort("step").iter_rows(named=True)}
    choice = drill(picked[0] if picked else None, stage_opts, "funnel_current_drill",
                   t("funnel.current.drill", lang))
    deals_for(choice, lambda s: ctx.run("deals_by_funnel_stage", method="current", stage=s, **params),
              "deals_current_funnel", "funnel_current_dl")
    with st.expander(t("funnel.current.table", lang)):
        table(current, "funnel_by_stage", "funnel_current_table_dl")


def cohort_funnel(cohorts: pl.DataFrame | None, now: pl.DataFrame) -> None:
    """The cohort funnel from stage history, beside the previous period's cohort."""
    st.subheader(t("funnel.cohort.header", lang))
    if not has_history:
        st.caption(t("funnel.cohort.needs_history", lang))
        return
    st.caption(t("funnel.cohort.explain", lang))
    now_size = int(now["cohort_deals"][0]) if now.height else 0
    if now_size == 0:
        st.info(t("funnel.cohort.none", lang))
        return
    labels = {"current": t("funnel.cohort.label", lang, period=period_text(f.start, f.end)),
              "previous": t("funnel.cohort.label", lang, period=period_text(prev.start, prev.end))}
    picked = chart(charts_funnel.cohort_funnel(cohorts, lang, labels), "funnel_cohort_chart")
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

    def cohort_deals(option: str) -> pl.DataFrame:
        cohort, stage = option.split("|", 1)
        period = prev if cohort == "previous" else f
        return ctx.run("deals_by_funnel_stage", method="cohort", stage=stage,
                       **{**params, "start": period.start, "end": period.end})

    deals_for(choice, cohort_deals, "deals_cohort_funnel", "funnel_cohort_dl")
    with st.expander(t("funnel.cohort.table", lang)):
        table(cohorts, "funnel_by_cohort", "funnel_cohort_table_dl")


def payments() -> None:
    """The payment stage: the bottom, after the deal is won."""
    st.subheader(t("funnel.pay.header", lang))
    pay = ctx.run("payments_by_stage", **params)
    if pay.filter(pl.col("step") == "won")["deals"].sum() == 0:
        st.info(t("funnel.pay.none", lang))
        return
    picked = chart(charts_funnel.payments(pay, lang), "funnel_pay_chart")
    med = {r["step"]: r["median_days"] for r in pay.iter_rows(named=True)}
    st.caption(t("funnel.pay.days", lang, invoice=i18n.days(med.get("invoiced"), lang),
                 paid=i18n.days(med.get("paid"), lang)))
    pay_opts = {k: t(f"funnel.pay.{k}", lang) for k in ("won", "invoiced", "paid")}
    choice = drill(picked[0] if picked else None, pay_opts, "funnel_pay_drill", t("funnel.pay.drill", lang))
    deals_for(choice, lambda s: ctx.run("deals_by_payment_stage", step=s, **params), "deals_payments",
              "funnel_pay_dl")


def stages_tab() -> None:
    """Where deals stand and stall: bottlenecks first, then the current-state and cohort funnels."""
    current = ctx.run("funnel_by_stage", **params)
    cohorts = (ctx.run("funnel_by_cohort", **params, prev_start=prev.start if has_prev else None,
                       prev_end=prev.end if has_prev else None) if has_history else None)
    now = bottlenecks(current, cohorts)
    current_funnel(current)
    cohort_funnel(cohorts, now)


def leads_payments_tab() -> None:
    """The two ends of the journey: from lead to opportunity, and from the won deal to cash."""
    if ctx.snapshot.has("leads"):
        lead_funnel()
    if ctx.snapshot.has("payments"):
        payments()


# ---- Speed: sales cycle (no history needed), days in stage and stuck deals (history)

def speed_tab() -> None:
    """How fast deals move: sales cycles, days in each stage and the deals stuck now."""
    st.subheader(t("funnel.velocity.header", lang))
    cycle = {r["outcome"]: r for r in ctx.run("velocity_by_outcome", **params).iter_rows(named=True)}
    cycle_cols = st.columns(2)
    for col, key in zip(cycle_cols, ("won", "lost"), strict=True):
        r = cycle.get(key, {})
        col.metric(t(f"funnel.velocity.cycle_{key}", lang), i18n.days(r.get("median_days"), lang), border=True,
                   help=t("funnel.velocity.cycle_help", lang),
                   delta=t("funnel.velocity.cycle_detail", lang, p75=i18n.days(r.get("p75_days"), lang),
                           n=i18n.count(r.get("deals"), lang)), delta_color="off", delta_arrow="off")
    if not has_history:
        st.caption(t("funnel.velocity.needs_history", lang))
        return
    stays = ctx.run("velocity_by_stage", **params)
    if stays["stays"].sum() == 0:
        st.info(t("funnel.velocity.none", lang))
    else:
        st.plotly_chart(charts_funnel.velocity(stays, lang), width="stretch", key="funnel_velocity_chart")
        st.caption(t("funnel.velocity.explain", lang))
    st.markdown(f"**{t('funnel.stuck.header', lang)}**")
    stuck = ctx.run("stuck_by_deal", **{k: v for k, v in params.items() if k not in ("start", "end")})
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
    by = st.radio(t("funnel.win.by", lang), funnel.WIN_RATE_BY, horizontal=True, key="funnel_win_by",
                  format_func=lambda d: t(f"funnel.win.dim.{d}", lang))
    rates = funnel.with_labels(ctx.run("win_rate_by_group", by=by, **params), by, lang,
                               t("funnel.none_label", lang))
    overall = funnel.overall_win_rate(rates)
    if rates.height == 0:
        st.info(t("funnel.win.none", lang))
        return
    shown = rates.head(20)
    picked = chart(charts_funnel.win_rates(shown, overall, t(f"funnel.win.dim.{by}", lang), lang),
                   f"funnel_win_chart_{by}")
    st.caption(t("funnel.win.explain", lang) + " " + charts_funnel.click_hint(lang))
    if rates.height > shown.height:
        st.caption(t("funnel.win.top_only", lang, n=shown.height, total=rates.height))
    group_opts = dict(zip(rates["group_key"].to_list(), rates["label"].to_list(), strict=True))
    choice = drill(picked[0] if picked else None, group_opts, f"funnel_win_drill_{by}", t("funnel.win.drill", lang))
    deals_for(choice, lambda g: ctx.run("deals_by_win_rate_group", by=by, group=g, **params),
              f"deals_win_rate_{by}", "funnel_win_dl")
    with st.expander(t("funnel.win.table", lang)):
        table(rates.drop("band_order"), f"win_rate_by_{by}", "funnel_win_table_dl")


# ---- Pipeline changes: the waterfall between two snapshots

def changes_tab() -> None:
    """How the open pipeline moved between two snapshots, bar by bar, with the deals behind each bar."""
    st.subheader(t("funnel.pc.header", lang))
    if len(ids) < 2:
        st.info(t("funnel.pc.one_snapshot", lang))
        return
    c1, c2 = st.columns(2)
    chosen = funnel.compare_pair(ids, c1.selectbox(t("funnel.pc.from", lang), ids, key="funnel_pc_from"),
                                 c2.selectbox(t("funnel.pc.to", lang), ids, key="funnel_pc_to"))
    if chosen is None:
        st.info(t("funnel.pc.same", lang))
        return
    first_id, second_id, swapped = chosen
    if swapped:  # picked the newer one first: compared in time order
        st.caption(t("funnel.pc.swapped", lang))
    pc_runner = ctx.runner if second_id == ctx.snapshot.id else runner_for(ctx.data_dir, second_id,
                                                                           ctx.runner.scope)
    bars = pc_runner.run("pipeline_changes_by_category", compare=first_id, **params)
    st.caption(t("funnel.pc.explain", lang, period=period_text(f.start, f.end)))
    picked = chart(charts_funnel.waterfall(bars, lang, first_id, second_id), "funnel_pc_chart")
    st.caption(charts_funnel.click_hint(lang))
    with st.expander(t("funnel.pc.definitions", lang)):
        st.markdown("\n".join(f"- **{t(f'funnel.pc.{c}', lang)}**: {t(f'funnel.pc.def.{c}', lang)}"
                              for c in funnel.CATEGORIES))
    cat_opts = {c: t(f"funnel.pc.{c}", lang) for c in funnel.CATEGORIES}
    choice = drill(picked[0] if picked else None, cat_opts, "funnel_pc_drill", t("funnel.pc.drill", lang))
    reasons = {r: t(f"funnel.pc.reason.{r}", lang) for r in funnel.REMAINDER_REASONS}

    def change_list(category: str) -> pl.DataFrame:
        """The deals of a bar, with the category and the reason for a remainder in words."""
        frame = pc_runner.run("pipeline_changes_by_deal", compare=first_id, category=category, **params)
        return frame.with_columns(pl.col("category").replace_strict(cat_opts, default=pl.col("category")),
                                  pl.col("remainder_reason").replace_strict(reasons, default=None))

    deals_for(choice, change_list, "pipeline_changes", "funnel_pc_dl")


# ---- the open tab, drawn
DRAW = {"stages": stages_tab, "leads_payments": leads_payments_tab, "speed": speed_tab, "win_rates": win_rates_tab,
        "changes": changes_tab}
with tabs[open_tab]:
    DRAW[open_tab]()
