"""Targets & forecast: will the group hit its number, who is behind, how far to trust the forecast, and planning."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from saleslens.core import i18n, windows
from saleslens.core.i18n import money, percent, t
from saleslens.targets import charts as ch
from saleslens.targets import data as td
from saleslens.targets import load as tl
from saleslens.targets import logic as tg
from saleslens.targets import sets as target_sets
from saleslens.targets.forecast import STAGE_HISTORY, TOO_LARGE
from ui import context, widgets
from ui.saved import visibility_choice

ctx = context.current()
lang, f, as_of = ctx.lang, ctx.filters, ctx.snapshot.as_of
MONEY, PCT = widgets.money_format(), "percent"  # money in the data's currency
VIEWS = list(tl.VIEWS)


def money_col(key: str, help_key: str | None = None) -> st.column_config.NumberColumn:
    """A read-only money column with a translated header."""
    return widgets.money_column(t(key, lang), help=t(help_key, lang) if help_key else None)


def pct_col(key: str, help_key: str | None = None) -> st.column_config.NumberColumn:
    """A percentage column with a translated header."""
    return st.column_config.NumberColumn(t(key, lang), format=PCT, help=t(help_key, lang) if help_key else None)


def source_options() -> list[str]:
    """The target sources: the snapshot's targets, then the saved sets."""
    return [td.SNAPSHOT_SOURCE, *target_sets.names(ctx.data_dir, who=ctx.grant)]


def source_from_link(options: list[str]) -> str:
    """The target source: the one picked before, else the link's p_target_set, else the snapshot's."""
    wanted = st.query_params.get("p_target_set", td.SNAPSHOT_SOURCE)
    if st.session_state.get("targets_source") not in options:
        st.session_state["targets_source"] = wanted if wanted in options else td.SNAPSHOT_SOURCE
    return st.session_state["targets_source"]


def choose_source(options: list[str]) -> str:
    """The target source picker (its value was settled by source_from_link); the choice goes into the link."""
    chosen = st.selectbox(t("targets.source", lang), options, key="targets_source",
                          format_func=lambda s: s or t("targets.source.snapshot", lang),
                          help=t("targets.source.help", lang))
    if chosen:
        st.query_params["p_target_set"] = chosen
    elif "p_target_set" in st.query_params:
        del st.query_params["p_target_set"]
    return chosen


def view_from_link() -> str:
    """The section to show: the one picked before, else the link's p_view, else the first."""
    if st.session_state.get("targets_view") not in VIEWS:
        wanted = st.query_params.get("p_view", VIEWS[0])
        st.session_state["targets_view"] = wanted if wanted in VIEWS else VIEWS[0]
    return st.session_state["targets_view"]


def choose_view() -> str:
    """The section picker (only the chosen section's work is done); the choice goes into the link as p_view."""
    view_from_link()
    chosen = st.segmented_control(t("targets.view", lang), VIEWS, key="targets_view", label_visibility="collapsed",
                                  format_func=lambda k: t(f"targets.tab.{k}", lang)) or VIEWS[0]
    if chosen != VIEWS[0]:
        st.query_params["p_view"] = chosen
    elif "p_view" in st.query_params:
        del st.query_params["p_view"]
    return chosen


def read_choices(options: list[str]) -> tl.TargetsChoices:
    """The page's widget values as they stand before the widgets are drawn (each widget returns the same)."""
    state = st.session_state
    return tl.TargetsChoices(
        view=view_from_link(), source=source_from_link(options),
        min_deals=int(state.get("targets_min_deals", tg.MIN_STAGE_DEALS)),
        members_by=state.get("p_members_by") or "rep", grain=state.get("p_grain") or "month",
        cumulative=bool(state.get("p_cumulative_ytd", False)), heat_by=state.get("p_heat_by") or "team")


# ---------------------------------------------------------------- headline


def tile_windows(view: tl.TargetsView) -> list[str]:
    """The days each headline tile covers, in the tiles' order (issue 16: no tile leaves its window to guesswork)."""
    q_start, q_end = view.pacing.q_start, view.pacing.q_end
    quarter, so_far = windows.span(q_start, q_end, lang), windows.span(q_start, min(as_of, q_end), lang)
    return [t("window.tile.target", lang, span=quarter), t("window.tile.won", lang, span=so_far),
            t("window.tile.pace", lang, span=so_far, day=view.day), t("window.tile.forecast", lang, span=quarter),
            t("window.tile.open", lang, day=i18n.day(as_of, lang), span=quarter)]


def render_tiles(view: tl.TargetsView) -> None:
    """The five headline tiles: target, closed, pace, forecast, coverage; under each, the days it covers."""
    p, fcast, c = view.pacing.pace, view.fc.forecast, view.cov.coverage
    tiles = st.columns(5)
    # The short quarter form: "2026年第4季度 目标" was cut in a half-width tile on a 390 px phone.
    quarter = windows.short_quarter(view.pacing.q_start, lang)
    tiles[0].metric(t("targets.tile.target", lang, quarter=quarter), ch.tile_money(p.target, lang), border=True,
                    help=t("targets.tile.target.help", lang))
    tiles[1].metric(t("targets.tile.closed", lang), ch.tile_money(p.closed, lang), border=True,
                    delta=t("targets.tile.of_target", lang, pct=percent(p.attainment, lang, 0)) if p.target else None,
                    delta_color="off", delta_arrow="off", help=t("targets.tile.closed.help", lang))
    if p.gap is not None:
        tiles[2].metric(t("targets.tile.ahead_label" if p.ahead else "targets.tile.behind_label", lang),
                        f"{'+' if p.gap >= 0 else '−'}{ch.tile_money(abs(p.gap), lang)}",
                        delta=f"{'+' if p.gap >= 0 else '-'}{percent(abs(p.gap_pct or 0), lang)}",
                        delta_color="normal", border=True,
                        help=t("targets.tile.pace.help", lang, expected=ch.tile_money(p.expected, lang),
                               share=percent(p.share, lang)))
    else:
        tiles[2].metric(t("targets.tile.pace", lang), "–", border=True, help=t("targets.note.no_quarter_target", lang))
    out = view.fc.outcome
    rng = (t("targets.tile.range_coverage", lang, low=ch.tile_money(out.low, lang), high=ch.tile_money(out.high, lang),
             coverage=percent(out.coverage, lang, 0)) if out.low is not None
           else t(out.no_range_key, lang))
    tiles[3].metric(t("targets.tile.forecast", lang), ch.tile_money(fcast.expected, lang), border=True,
                    delta=rng, delta_color="off", delta_arrow="off", help=t("targets.tile.forecast.help", lang))
    if c.remaining == 0:
        tiles[4].metric(t("targets.tile.coverage", lang), t("targets.tile.target_met", lang), border=True)
    else:
        cov_delta = None
        if c.gap is not None:
            cov_delta = (t("targets.tile.need_more", lang, value=ch.tile_money(c.gap, lang)) if c.gap > 0
                         else t("targets.tile.enough", lang))
        tiles[4].metric(t("targets.tile.coverage", lang), i18n.ratio(c.ratio, lang), border=True, delta=cov_delta,
                        delta_color="inverse" if c.gap else "normal", delta_arrow="off",
                        help=t("targets.tile.coverage.help", lang))
    for col, window in zip(tiles, tile_windows(view), strict=True):
        col.caption(window)
    if p.target is None:
        st.info(t("targets.note.no_quarter_target", lang))


# ---------------------------------------------------------------- pacing, forecast, coverage, who is behind


def render_pacing(view: tl.TargetsView) -> None:
    """Pacing and forecast charts, coverage, who is behind, and the tables behind the forecast."""
    sec, pacing, fc, cov = tl.load_pacing(ctx, view), view.pacing, view.fc, view.cov
    c, out = cov.coverage, fc.outcome
    left, right = st.columns(2)
    left.plotly_chart(sec.pacing_chart, width="stretch", key="chart_pacing")
    left.caption(t(f"targets.note.curve.{pacing.curve_source}", lang, quarters=pacing.quarters_learned))
    right.plotly_chart(sec.forecast_chart, width="stretch", key="chart_forecast")
    if fc.has_stage_history:
        right.caption(t("targets.forecast.basis", lang, closed=money(out.closed, lang),
                        open=money(out.from_open, lang), new=money(out.new, lang), periods=out.periods))
        if out.season.ratio is not None:  # the quarter-of-year level, said where it moves the number
            season = out.season
            right.caption(t("targets.forecast.season", lang, level=i18n.number(season.level, lang, 2),
                            ratio=i18n.number(season.ratio, lang, 2), weight=percent(season.weight, lang, 0)))
    else:
        right.info(t("targets.forecast.fallback", lang, periods=out.periods))
    if out.no_range == TOO_LARGE:  # the rebuilt history would not fit in memory: the fallback, and why
        right.info(t("targets.forecast.too_large", lang))
    elif out.learned_from == STAGE_HISTORY:  # no weekly snapshots of past quarters: say what it learned from
        right.caption(t("targets.forecast.from_history", lang, periods=out.periods))
    if out.deals.is_empty():
        right.info(t("targets.forecast.no_pipeline", lang))
    if fc.categories.is_empty():
        right.caption(t("targets.note.no_categories", lang))

    st.subheader(t("targets.section.coverage", lang))
    c1, c2 = st.columns([3, 2])
    if sec.coverage_chart is None:
        c1.info(t("targets.note.no_quarter_target", lang))
    else:
        c1.plotly_chart(sec.coverage_chart, width="stretch", key="chart_coverage")
    c2.markdown(t("targets.coverage.explain", lang, remaining=money(c.remaining, lang),
                  pipeline=money(c.open_pipeline, lang), ratio=i18n.ratio(c.ratio, lang),
                  win_rate=percent(c.win_rate, lang), needed=money(c.needed, lang),
                  gap=money(c.gap, lang), start=i18n.day(cov.history_start, lang),
                  end=i18n.day(cov.history_end, lang)))
    if cov.win_rate_source != "group":
        c2.caption(t(f"targets.note.win_rate.{cov.win_rate_source}", lang))

    st.subheader(t("targets.section.members", lang))
    render_members(sec)
    render_forecast_tables(view, sec)


def render_members(sec: tl.PacingSection) -> None:
    """Who is behind: the grouping picker, the gap chart and the table."""
    by = st.segmented_control(t("targets.members.by", lang), ["rep", "team", "region"], key="p_members_by",
                              default="rep", format_func=lambda g: t(f"targets.by.{g}", lang)) or "rep"
    table, title = sec.members, sec.members_title
    if table.is_empty():
        st.info(t("targets.note.no_members", lang))
        return
    if sec.members_chart is not None:
        st.plotly_chart(sec.members_chart, width="stretch", key="chart_members")
    if sec.without_target:
        st.caption(t("targets.note.members_without_target", lang, names=", ".join(sec.without_target[:10])))
    widgets.dataframe(
        table.drop("group_key"), lang,
        column_config={
            "group_label": st.column_config.TextColumn(title),
            "target": money_col("targets.col.target"), "closed": money_col("targets.col.closed"),
            "attainment": pct_col("targets.col.attainment"),
            "expected": money_col("targets.col.expected", "targets.col.expected.help"),
            "gap": money_col("targets.col.gap", "targets.col.gap.help"),
            "gap_pct": pct_col("targets.col.gap_pct"),
            "open_pipeline": money_col("targets.col.open_pipeline"),
            "forecast": money_col("targets.col.forecast"), "low": money_col("targets.col.low"),
            "high": money_col("targets.col.high"),
            "forecast_attainment": pct_col("targets.col.forecast_attainment"),
        },
    )
    widgets.downloads(table, f"pacing_by_{by}", lang, key="dl_members")


def render_forecast_tables(view: tl.TargetsView, sec: tl.PacingSection) -> None:
    """The stage odds (with the threshold), the forecast categories and the open deals, each in an expander."""
    fc = view.fc
    with st.expander(t("targets.section.stages", lang)):
        widgets.dataframe(fc.probabilities, lang, column_config={
            "stage": t("targets.col.stage", lang), "position": None,
            "rows": st.column_config.NumberColumn(t("targets.col.rows", lang), format="%.0f"),
            "won_within_period": pct_col("targets.col.won_within"),
            "default_probability": pct_col("targets.col.default"),
            "source": st.column_config.TextColumn(t("targets.col.source", lang)),
        })
    if sec.managers.height:
        with st.expander(t("targets.section.managers", lang)):
            st.caption(t("targets.managers.help", lang))
            widgets.dataframe(sec.managers.drop("manager_id"), lang, column_config={
                "manager": t("targets.col.manager", lang), "closed": money_col("targets.col.closed"),
                "commit_call": money_col("targets.col.commit_call"),
                "best_case_call": money_col("targets.col.best_case_call"),
                "forecast": money_col("targets.col.model_forecast"), "gap": money_col("targets.col.forecast_gap"),
            })
    if fc.categories.height:
        with st.expander(t("targets.section.categories", lang)):
            widgets.dataframe(sec.categories, lang, column_config={
                "category": t("targets.col.category", lang), "deals": t("targets.col.deals", lang),
                "amount": money_col("targets.col.amount"), "weighted": money_col("targets.col.weighted"),
                "rollup": money_col("targets.col.rollup", "targets.col.rollup.help"),
            })
    # Every open deal due this quarter (tens of thousands for the organisation): sent only once opened.
    deals_box = st.expander(t("targets.section.deals", lang, n=fc.forecast.open_deals), key="targets_deals_open",
                            on_change="rerun")
    if deals_box.open:
        with deals_box:
            deals = tl.open_deals(view, ctx)
            widgets.dataframe(deals, lang, column_config={
                # multi-currency data: each deal's own amount (no symbol: each row in its currency) and currency
                "amount_original": st.column_config.NumberColumn(t("money.col.amount_original", lang),
                                                                 format="localized"),
                "currency": t("money.col.currency", lang),
                "opportunity_id": t("targets.col.deal", lang), "owner_name": t("targets.col.owner", lang),
                "account_name": t("targets.col.account", lang), "stage": t("targets.col.stage", lang),
                "forecast_category": t("targets.col.category", lang),
                "expected_close_date": st.column_config.DateColumn(t("targets.col.expected_close", lang)),
                "amount": money_col("targets.col.amount"), "probability": pct_col("targets.col.used"),
                "weighted": money_col("targets.col.weighted"),
            })
            widgets.downloads(deals, "forecast_deals", lang, key="dl_deals")


# ---------------------------------------------------------------- attainment trend


def render_trend(view: tl.TargetsView) -> None:
    """Attainment by month, quarter or year, optionally year to date."""
    c1, c2 = st.columns([1, 3])
    grain = c1.segmented_control(t("targets.grain", lang), list(tg.GRAINS), key="p_grain", default="month",
                                 format_func=lambda g: t(f"targets.grain.{g}", lang)) or "month"
    c2.toggle(t("targets.cumulative", lang), key="p_cumulative_ytd")
    sec = tl.load_trend(ctx, view)
    if sec.empty:
        st.info(t("targets.note.no_trend", lang))
        return
    st.plotly_chart(sec.chart, width="stretch", key="chart_trend")
    if sec.missing:
        st.info(t("targets.note.periods_without_target", lang, periods=sec.missing))
    st.caption(t("targets.note.trend_basis", lang))
    widgets.dataframe(sec.table, lang, column_config={
        "period_start": t(f"targets.grain.{grain}", lang),
        "partial": st.column_config.CheckboxColumn(t("targets.col.partial", lang)),
        "bookings": money_col("targets.col.bookings"), "target": money_col("targets.col.target"),
        "attainment": pct_col("targets.col.attainment"),
        "cumulative_bookings": money_col("targets.col.ytd_bookings"),
        "cumulative_target": money_col("targets.col.ytd_target"),
        "cumulative_attainment": pct_col("targets.col.ytd_attainment"),
    })
    widgets.downloads(sec.trend, f"attainment_by_{grain}", lang, key="dl_trend")


# ---------------------------------------------------------------- forecast accuracy


def render_accuracy(view: tl.TargetsView) -> None:
    """The backtest: per week before quarter end, the model's errors and range coverage beside naive baselines."""
    st.caption(t("targets.accuracy.intro", lang))
    with st.spinner(t("targets.accuracy.working", lang)):
        sec = tl.load_accuracy(ctx, view)
    if sec.backtest.is_empty():
        st.info(t("targets.accuracy.no_backtest", lang))
        return
    m1, m2, m3 = st.columns(3)
    m1.metric(t("targets.accuracy.periods", lang), i18n.count(sec.backtest["period_start"].n_unique(), lang),
              border=True)
    mid = sec.mid or {}
    m2.metric(t("targets.accuracy.mid_mape", lang), percent(mid.get("model_mape"), lang), border=True,
              delta=t("targets.accuracy.bias", lang, pct=("+" if (mid.get("model_bias") or 0) > 0 else "")
                      + percent(mid.get("model_bias"), lang)) if mid else None,
              delta_color="off", delta_arrow="off", help=t("targets.accuracy.mid_mape.help", lang))
    m3.metric(t("targets.accuracy.coverage", lang), percent(mid.get("coverage"), lang, 0), border=True,
              help=t("targets.accuracy.coverage.help", lang))
    if sec.chart is not None:
        st.plotly_chart(sec.chart, width="stretch", key="chart_accuracy")
    pct_cols = {c: pct_col(f"targets.bt.{c}") for c in sec.table.columns if c.endswith(("_mape", "_bias"))}
    widgets.dataframe(sec.table, lang, column_config={
        "weeks_left": t("targets.bt.weeks_left", lang), "periods": t("targets.bt.periods", lang), **pct_cols,
        "coverage": pct_col("targets.bt.coverage"), "ranges": t("targets.bt.ranges", lang),
        "beats_baselines": st.column_config.CheckboxColumn(t("targets.bt.beats_baselines", lang)),
    })
    widgets.downloads(sec.table, "forecast_backtest", lang, key="dl_backtest")
    with st.expander(t("targets.accuracy.detail", lang)):
        money_cols = {c: money_col(f"targets.col.{c}") for c in ("closed", "forecast", "low", "high", "actual")}
        widgets.dataframe(sec.backtest, lang, column_config={
            "period_start": st.column_config.DateColumn(t("targets.col.quarter", lang)),
            "as_of": st.column_config.DateColumn(t("targets.col.as_of", lang)),
            "weeks_left": t("targets.bt.weeks_left", lang), "periods_learned": t("targets.bt.periods_learned", lang),
            "from_open": money_col("targets.bt.from_open"), "new": money_col("targets.bt.new"), **money_cols,
            "commit": money_col("targets.col.commit_call"), "weighted": money_col("targets.bt.weighted"),
            "last_year": money_col("targets.bt.last_year"), "noise_floor": pct_col("targets.bt.noise_floor_mape"),
            "in_range": st.column_config.CheckboxColumn(t("targets.col.in_range", lang)),
            "prior": st.column_config.NumberColumn(t("targets.bt.prior", lang), format="%g"),
            "weighting": t("targets.bt.weighting", lang),
            # the factor on the open deals' chances learned from earlier years' same quarter (1 = none)
            "season": st.column_config.NumberColumn(t("targets.bt.season", lang), format="%.2f"),
        })
        widgets.downloads(sec.backtest, "forecast_accuracy", lang, key="dl_accuracy")


# ---------------------------------------------------------------- leading indicators


def render_leading(view: tl.TargetsView) -> None:
    """Activities per rep and week against target, the conversion steps and the per-rep table."""
    sec = tl.load_leading(ctx, view)
    if sec.status != "ok":
        st.info(t(f"targets.note.{'future_period' if sec.status == 'future' else 'no_activities'}", lang))
        return
    lead = sec.report
    st.caption(t("targets.leading.caption", lang, start=i18n.day(sec.start, lang), end=i18n.day(sec.end, lang)))
    c1, c2 = st.columns([3, 2])
    if sec.activities_chart is None:
        c1.info(t("targets.note.no_activities_period", lang))
    else:
        c1.plotly_chart(sec.activities_chart, width="stretch", key="chart_activities")
    if lead.weekly_target is None:
        c1.caption(t("targets.note.no_activity_target", lang))
    c2.plotly_chart(sec.conversion_chart, width="stretch", key="chart_conversion")
    c1.caption(t("targets.leading.partial_weeks", lang))
    c2.caption(t("targets.leading.conversion_note", lang))
    widgets.dataframe(sec.per_rep, lang, column_config={
        "name": t("targets.col.rep", lang), "team": t("targets.col.team", lang),
        "activities": t("targets.step.activities", lang), "meetings": t("targets.step.meetings", lang),
        "opportunities": t("targets.step.opportunities", lang), "wins": t("targets.step.wins", lang),
        "weeks": st.column_config.NumberColumn(t("targets.col.weeks", lang), format="%.1f"),
        "per_week": st.column_config.NumberColumn(t("targets.col.per_week", lang), format="%.1f"),
        "weekly_target": st.column_config.NumberColumn(t("targets.col.weekly_target", lang), format="%.1f"),
    })
    widgets.downloads(sec.per_rep, "activities_by_rep", lang, key="dl_leading")


# ---------------------------------------------------------------- heatmap


def render_heatmap(view: tl.TargetsView) -> None:
    """Monthly attainment per team, region or rep."""
    h_by = st.segmented_control(t("targets.heatmap.by", lang), ["team", "region", "rep"], key="p_heat_by",
                                default="team", format_func=lambda g: t(f"targets.by.{g}", lang)) or "team"
    sec = tl.load_heatmap(ctx, view)
    if sec.chart is None:
        st.info(t("targets.note.no_heatmap", lang))
        return
    with st.container(key="heatmap"):  # ui/page.css thins its labels on a phone (the .st-key-heatmap class)
        st.plotly_chart(sec.chart, width="stretch", key="chart_heatmap")
    st.caption(t("targets.heatmap.caption", lang))
    widgets.downloads(sec.heat, f"attainment_by_{h_by}_month", lang, key="dl_heat")


# ---------------------------------------------------------------- target planning


def editor_values(edited: object, column: str) -> list[float | None]:
    """The values of one column of what st.data_editor returned (pandas or polars)."""
    values = edited[column].to_list() if hasattr(edited[column], "to_list") else list(edited[column])
    return [None if v is None or v != v else float(v) for v in values]  # NaN != NaN: an emptied cell


def plan_editor(frame: pl.DataFrame, key: str, label_col: str, columns: dict) -> list[float | None]:
    """An editable table whose only editable column is `value`; returns the edited values."""
    override = st.session_state.get(f"{key}_scaled")
    if override is not None and len(override) == frame.height:
        frame = frame.with_columns(pl.Series("value", override, dtype=pl.Float64))
    version = st.session_state.get(f"{key}_version", 0)
    edited = st.data_editor(frame, key=f"{key}_{version}", hide_index=True, width="stretch",
                            height=36 * (frame.height + 1) + 3,
                            disabled=[c for c in frame.columns if c != "value"], column_config=columns)
    return editor_values(edited, "value")


def scale_button(key: str, parent: float, values: list[float | None]) -> None:
    """A button that rescales the edited rows so they sum to the parent again."""
    def scale() -> None:
        st.session_state[f"{key}_scaled"] = tg.scale_to_parent(parent, values)
        st.session_state[f"{key}_version"] = st.session_state.get(f"{key}_version", 0) + 1

    st.button(t("targets.plan.scale", lang), key=f"{key}_scale", on_click=scale, icon=":material/balance:")


def checked(parent: float, labels: list[str], values: list[float | None], proposal: list[float]) -> bool:
    """Show whether the edited rows are usable; a refusal names the row that is wrong."""
    try:
        tg.validate_parts(parent, labels, values, original=proposal)
    except tg.DecompositionError as exc:
        st.error(exc.message(lang))
        return False
    st.success(t("targets.plan.sums", lang, total=money(parent, lang, compact=False)))
    return True


def plan_tab(view: tl.TargetsView) -> None:
    """Decompose a team's annual target into months, then into reps; save it as a target set and export it."""
    teams = tl.plan_teams(view)
    if not teams:
        st.info(t("targets.note.no_teams", lang))
        return
    st.caption(t("targets.plan.intro", lang))
    c1, c2, c3 = st.columns(3)
    team = c1.selectbox(t("targets.plan.team", lang), teams, key="plan_team")
    default_year = as_of.year + 1 if as_of.month >= 10 else as_of.year
    year = int(c2.number_input(t("targets.plan.year", lang), min_value=2000, max_value=2100, value=default_year,
                               step=1, key="plan_year"))
    planned = tl.load_plan_team(ctx, view, team, year)
    team_people, shares = planned.people, planned.shares
    parent = float(c3.number_input(t("targets.plan.parent", lang), min_value=0.0, value=planned.current, step=1000.0,
                                   format="%.0f", key=f"plan_parent_{team}_{year}",
                                   help=t("targets.plan.parent.help", lang)))
    c3.caption(i18n.money(parent, lang, compact=False))  # the input cannot group digits: 2001000 reads $2,001,000
    if parent <= 0:
        st.info(t("targets.note.zero_parent", lang))
        return

    st.markdown(f"**{t('targets.plan.step_months', lang)}**")
    m_method = st.radio(t("targets.plan.method", lang), list(tg.ANNUAL_METHODS), horizontal=True,
                        key="plan_m_method", format_func=lambda m: t(f"targets.plan.annual.{m}", lang))
    if m_method == "seasonality" and shares is None:
        st.caption(t("targets.note.no_seasonality", lang))
    proposal = tg.decompose_annual(parent, year, "even" if m_method == "hand" else m_method, shares)
    labels = [ch.period_label(m, "month", lang) for m in proposal["month"].to_list()]
    table = proposal.with_columns(pl.Series("label", labels)).select("label", "quarter", "share", "value")
    key = f"plan_months_{team}_{year}_{parent:.0f}_{m_method}"
    left, right = st.columns([2, 3])
    with left:
        values = plan_editor(table, key, "label", {
            "label": t("targets.col.month", lang), "quarter": t("targets.col.quarter", lang),
            "share": pct_col("targets.col.share"),
            "value": st.column_config.NumberColumn(t("targets.col.target", lang), format=MONEY, min_value=0.0),
        })
        months_ok = checked(parent, labels, values, proposal["value"].to_list())
        if not months_ok:
            scale_button(key, parent, values)
    months = proposal.with_columns(pl.Series("value", [v or 0.0 for v in values], dtype=pl.Float64))
    with right:
        st.plotly_chart(ch.plan_chart(months, lang), width="stretch", key="chart_plan")
        quarters = tg.quarters_of(months)
        widgets.dataframe(quarters, lang, column_config={
            "quarter": t("targets.col.quarter", lang), "value": money_col("targets.col.target"),
            "share": pct_col("targets.col.share")})
    if not months_ok:
        st.info(t("targets.note.fix_months_first", lang))
        return

    st.markdown(f"**{t('targets.plan.step_reps', lang, team=team)}**")
    r1, r2 = st.columns([3, 1])
    r_method = r1.radio(t("targets.plan.method", lang), list(tg.TEAM_METHODS), horizontal=True, key="plan_r_method",
                        format_func=lambda m: t(f"targets.plan.team.{m}", lang))
    ramp = int(r2.number_input(t("targets.plan.ramp", lang), min_value=0, max_value=12, value=tg.RAMP_MONTHS,
                               key="plan_ramp", help=t("targets.plan.ramp.help", lang)))
    quota = tg.quota_reps(team_people, team, date(year, 1, 1), date(year, 12, 31))
    if quota.is_empty():
        st.info(t("targets.note.no_quota_reps", lang, team=team))
        return
    h_start, h_end = td.history_window(as_of)
    base = tg.decompose_team(months, quota, "history" if r_method == "hand" else r_method, h_start, h_end, ramp)
    for note_key, values_ in base.notes:
        st.caption(t(note_key, lang, **values_))
    rep_table = base.reps.select("name", "hire_date", "share", "value")
    r_key = f"plan_reps_{team}_{year}_{parent:.0f}_{r_method}_{ramp}_{hash(tuple(months['value'].to_list()))}"
    rep_values = plan_editor(rep_table, r_key, "name", {
        "name": t("targets.col.rep", lang),
        "hire_date": st.column_config.DateColumn(t("targets.col.hire_date", lang)),
        "share": pct_col("targets.col.share"),
        "value": st.column_config.NumberColumn(t("targets.col.target", lang), format=MONEY, min_value=0.0),
    })
    names = rep_table["name"].to_list()
    if not checked(parent, names, rep_values, base.reps["value"].to_list()):
        scale_button(r_key, parent, rep_values)
        return
    edited = [abs((v or 0) - o) > 0.005 for v, o in zip(rep_values, base.reps["value"].to_list(), strict=True)]
    split = base if not any(edited) else tg.decompose_team(months, quota, "hand", hand=rep_values)
    plan = tg.plan_rows(team, months, split)

    st.markdown(f"**{t('targets.plan.step_save', lang)}**")
    s1, s2 = st.columns([2, 3])
    name = s1.text_input(t("targets.plan.set_name", lang), value=f"{team} {year}", key="plan_set_name",
                         max_chars=target_sets.NAME_MAX)
    description = s2.text_input(t("targets.plan.description", lang), key="plan_set_description")
    m1, m2 = st.columns([2, 1])
    merge = m1.checkbox(t("targets.plan.merge", lang), value=True, key="plan_merge",
                        help=t("targets.plan.merge.help", lang))
    with m2:
        visibility = visibility_choice("plan_visibility", lang)
    if st.button(t("targets.plan.save", lang), type="primary", key="plan_save", icon=":material/save:"):
        try:
            saved = target_sets.save(ctx.data_dir, name, plan, description, merge=merge,
                                     extra={"source_snapshot": ctx.snapshot.id, "team": team, "year": year,
                                            "months_method": m_method, "reps_method": r_method}, who=ctx.grant,
                                     visibility=visibility)
        except target_sets.SAVE_ERRORS as exc:  # refusals (no right, a newer version) are told, not raised
            st.error(t("targets.plan.save_failed", lang, error=str(exc)))
        else:
            st.success(t("targets.plan.saved", lang, name=saved.name, rows=saved.meta["rows"]))
    export = plan.with_columns(pl.col("owner_id").replace(dict(zip(quota["rep_id"], quota["name"], strict=True)))
                               .alias("owner_name"))
    widgets.downloads(export, f"target_plan_{team}_{year}".replace(" ", "_"), lang, key="dl_plan")

    saved_sets = target_sets.list_meta(ctx.data_dir, who=ctx.grant)
    if saved_sets:
        st.markdown(f"**{t('targets.plan.saved_sets', lang)}**")
        widgets.dataframe(pl.DataFrame([{k: s.get(k) for k in ("name", "description", "rows", "first_period",
                                                               "last_period", "updated_at", "owner", "version")}
                                        for s in saved_sets]), lang,
                          column_config={
                         "name": t("targets.col.set", lang), "description": t("targets.plan.description", lang),
                         "rows": t("targets.col.rows", lang), "first_period": t("targets.col.from", lang),
                         "last_period": t("targets.col.to", lang), "updated_at": t("targets.col.updated", lang),
                         "owner": t("targets.col.set_owner", lang), "version": t("targets.col.version", lang)})




SECTIONS = {"pacing": render_pacing, "trend": render_trend, "accuracy": render_accuracy,
            "leading": render_leading, "heatmap": render_heatmap, "plan": plan_tab}


def main() -> None:
    """Read the widgets, load the headline, draw it, then the chosen section."""
    st.title(t("targets.title", lang))
    options = source_options()
    # the first visit after a publish learns the forecast from past snapshots (seconds at M): say so, not a blank page
    with st.spinner(t("targets.loading", lang)):
        view = tl.load(ctx, read_choices(options))
    if view is None:
        st.info(t("targets.note.no_people", lang))
        st.stop()
    top = st.columns([2, 1])
    with top[1]:
        choose_source(options)
    if view.bad_set is not None:
        st.error(t("targets.note.bad_set", lang, error=view.bad_set))
    pacing = view.pacing
    top[0].markdown(t("targets.caption", lang, group=view.group, quarter=view.q_label,
                      start=i18n.day(pacing.q_start, lang), end=i18n.day(pacing.q_end, lang), day=view.day,
                      days=view.days, as_of=i18n.day(as_of, lang)))
    if f.products or f.segments or f.sources:
        st.caption(t("targets.note.deal_filters", lang))
    render_tiles(view)
    SECTIONS[choose_view()](view)


main()
