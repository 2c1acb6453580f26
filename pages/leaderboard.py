"""Leaderboard: reps ranked by any KPI, fair scorecards, rep profiles, top performers, ratings, review packs."""

from __future__ import annotations

import polars as pl
import streamlit as st

from saleslens.core import charts, i18n
from saleslens.core.filters import add_months
from saleslens.core.i18n import t
from saleslens.rankings import charts as lbc
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import ratings, review, scorecards
from saleslens.rankings.data import Org
from saleslens.rankings.scorecards import KPIS, LEADERBOARD_KPIS, RATING_CRITERIA, SCORE_KEYS, SCORED_ROLES, Definition
from ui import context, widgets

NUMBER_FORMATS = {"money": "dollar", "percent": "percent", "count": "localized", "days": "%.0f"}

ctx = context.current()
lang, f = ctx.lang, ctx.filters


def url_seed(name: str, options: list[str], default: str) -> str:
    """Seed a widget from the link (?p_<name>=) once per session, so a shared link opens the same view."""
    key = f"lb_{name}"
    if st.session_state.get(key) not in options:
        wanted = st.query_params.get(f"p_{name}", default)
        st.session_state[key] = wanted if wanted in options else default
    return key


def url_keep(name: str, value: str) -> None:
    """Write a page choice into the link."""
    if st.query_params.get(f"p_{name}") != value:
        st.query_params[f"p_{name}"] = value


def change_text(change: int | None, prev_rank: int | None) -> str:
    """A rank change for reading: ▲ 2, ▼ 1, = or new."""
    if prev_rank is None:
        return t("lb.change.new", lang)
    if change is None:
        return "–"
    return f"▲ {change}" if change > 0 else f"▼ {-change}" if change < 0 else "="


def fmt(key: str, value: object) -> str:
    """A KPI value formatted by its kind."""
    return i18n.fmt(KPIS[key].format, value, lang)


def basis_text(key: str, row: dict, min_sample: int) -> str:
    """What a rate rests on (e.g. 6 closed deals), with a warning when too few to rank."""
    kpi = KPIS[key]
    if kpi.sample is None:
        return ""
    n = int(row.get(kpi.sample) or 0)
    text = t(f"lb.sample.{kpi.sample}", lang, n=n)
    return f"⚠ {text} · {t('lb.too_few', lang, min=min_sample)}" if n < min_sample else text


# ---------------------------------------------------------------- period, peers, data

st.title(t("lb.title", lang))
start, end = f.start, f.end
if start is None or end is None:
    start, end = scorecards.parse_quarter(scorecards.quarter_of(ctx.snapshot.as_of))
    st.info(t("lb.all_time_note", lang, start=i18n.day(start, lang), end=i18n.day(end, lang)))
(prev_start, prev_end), = scorecard_data.previous_periods(start, end, 1)
# The period, the one before and the trend's periods come from one query; every tab reads from it.
window = scorecard_data.Window(start, end, scorecard_data.TREND_PERIODS)
org = Org(f.regions, f.teams, f.reps, SCORED_ROLES)
all_kpis = scorecard_data.kpis(ctx, start, end, org, within=window)
roles = [r for r in SCORED_ROLES if r in set(all_kpis["role"].to_list())]
if not roles:
    st.info(t("lb.no_reps", lang))
    st.stop()

role_key = url_seed("role", roles, roles[0])
role = st.radio(t("lb.role", lang), roles, key=role_key, horizontal=True,
                format_func=lambda r: t(f"lb.role_name.{r}", lang), help=t("lb.role_help", lang))
url_keep("role", role)
kpis = all_kpis.filter(pl.col("role") == role)
prev_kpis = scorecard_data.kpis(ctx, prev_start, prev_end, org, within=window).filter(pl.col("role") == role)
st.caption(t("lb.caption", lang, start=i18n.day(start, lang), end=i18n.day(end, lang),
             prev_start=i18n.day(prev_start, lang), prev_end=i18n.day(prev_end, lang), n=kpis.height,
             role=t(f"lb.role_name.{role}", lang)))
if end > ctx.snapshot.as_of:
    st.caption(t("lb.partial_period", lang, date=i18n.day(ctx.snapshot.as_of, lang)))
if f.products or f.segments or f.sources:
    st.caption(t("lb.deal_filters_ignored", lang))
names = dict(zip(kpis["rep_id"].to_list(), kpis["name"].to_list(), strict=True))

# Only the open tab does its work: switching tabs reruns the page (on_change="rerun"), and tab.open says which.
tab_board, tab_score, tab_profile, tab_top, tab_rate, tab_pack = st.tabs([
    t("lb.tab.leaderboard", lang), t("lb.tab.scorecard", lang), t("lb.tab.profile", lang),
    t("lb.tab.top", lang), t("lb.tab.ratings", lang), t("lb.tab.review", lang),
], key="lb_tab", on_change="rerun")
# The choices made on a tab, by key prefix: kept while the tab is closed, since Streamlit forgets the state of
# widgets a run does not draw (the chosen scorecard and its weights also score the other tabs).
TAB_CHOICES = {
    tab_score: ("lb_def_", "lb_w_", "lb_ramp_", "lb_min_", "lb_save_name", "lb_score_rep"),
    tab_rate: ("lb_rate_quarter", "lb_rate_rep"),
    tab_pack: ("lb_pack_kind", "lb_pack_rep", "lb_pack_team", "lb_pack_quarter"),
}



def chosen_definition() -> tuple[str, Definition]:
    """The scorecard chosen on the Scorecard tab, read from its widgets' state while that tab is closed."""
    saved = [d.name for d in scorecard_defs.load_all(ctx.data_dir, role)]
    name = st.session_state.get(f"lb_def_{role}", f"default:{role}")
    name = name if name in [f"default:{role}", *saved] else f"default:{role}"
    base = scorecard_defs.get(ctx.data_dir, name, role)
    weights = {k: float(st.session_state.get(f"lb_w_{name}_{k}", base.weights.get(k, 0))) for k in SCORE_KEYS}
    ramp_on = bool(st.session_state.get(f"lb_ramp_{name}", bool(base.ramp)))
    min_sample = int(st.session_state.get(f"lb_min_{name}", base.min_sample))
    chosen = Definition(name, role, weights, scorecards.DEFAULT_RAMP if ramp_on else (), min_sample)
    return name, chosen if chosen.active_weights() else scorecards.default_definition(role)


def scored_now(definition: Definition) -> scorecard_data.Scored:
    """The chosen role's reps scored for the period, with the previous period's rank."""
    return scorecard_data.scored_with_change(ctx, start, end, definition, Org(f.regions, f.teams, f.reps),
                                             ctx.data_dir, window)


def ranked_reps(scored: scorecard_data.Scored) -> list[str]:
    """The role's reps by score rank (then name), the order of the rep pickers."""
    return scored.scores.sort(["rank", "name"], nulls_last=True)["rep_id"].to_list() or kpis["rep_id"].to_list()


def review_quarters() -> list[str]:
    """The quarters to rate or review: the period's quarter, the three before it, then any other rated quarter."""
    quarters = [scorecards.quarter_of(end)]
    for _ in range(3):
        quarters.append(scorecards.previous_quarter(quarters[-1]))
    return quarters + [q for q in ratings.quarters(ctx.data_dir) if q not in quarters]


def profile_rep(rep_ids: list[str]) -> str:
    """The rep open on the Rep profile tab (from the link until chosen there)."""
    return st.session_state[url_seed("rep", rep_ids, rep_ids[0])]


widgets.keep_choices(tuple(p for tab, keys in TAB_CHOICES.items() if not tab.open for p in keys))

# ---------------------------------------------------------------- leaderboard

if tab_board.open:
    with tab_board:
        kpi_key = url_seed("kpi", list(LEADERBOARD_KPIS), "bookings")
        kpi = st.selectbox(t("lb.rank_by", lang), LEADERBOARD_KPIS, key=kpi_key,
                           format_func=lambda k: t(KPIS[k].label_key, lang), help=t("lb.rank_by_help", lang))
        url_keep("kpi", kpi)
        st.caption(t(KPIS[kpi].definition_key, lang))
        min_sample = scorecards.DEFAULT_MIN_SAMPLE
        board = scorecards.leaderboard(kpis, kpi, prev_kpis, min_sample)
        hist = scorecard_data.history(ctx, start, end, scorecard_data.TREND_PERIODS, org, within=window).filter(
            pl.col("role") == role)
        # Each rep's values oldest first, in one group-by and a join (a frame or a Python list per rep cost
        # 0.5 s for the 4,700 reps of a large organisation).
        trend = hist.sort("period_start").group_by("rep_id", maintain_order=True).agg(
            (pl.col(kpi) if kpi in hist.columns else pl.lit(None)).cast(pl.Float64).alias("trend"))
        sample = KPIS[kpi].sample
        counts = dict(zip(kpis["rep_id"].to_list(), kpis[sample].to_list(), strict=True)) if sample else {}
        table = board.select(
            "rank", "rep_id", "name", "team", "value", "flagged", "prev_rank", "rank_change"
        ).with_columns(
            pl.Series("change", [change_text(c, p) for c, p in zip(board["rank_change"].to_list(),
                                                                    board["prev_rank"].to_list(), strict=True)]),
            pl.Series("basis", [basis_text(kpi, {sample: counts.get(r)}, min_sample)
                                for r in board["rep_id"].to_list()], dtype=pl.String),
        ).join(trend, on="rep_id", how="left").with_columns(
            pl.col("trend").fill_null(pl.lit([], dtype=pl.List(pl.Float64))))
        ties = board.filter(pl.col("rank").is_not_null())["rank"].is_duplicated().any()
        if ties:
            st.caption(t("lb.ties_note", lang))
        if board["flagged"].any():
            st.caption(t("lb.flag_note", lang, min=min_sample))
        shown = ["rank", "change", "name", "team", "value", "basis", "trend"]
        if KPIS[kpi].sample is None:
            shown.remove("basis")  # a count or an amount rests on no sample to warn about
        st.dataframe(
            table.select(shown),
            hide_index=True, width="stretch",
            column_config={
                "rank": st.column_config.NumberColumn(t("lb.col.rank", lang), help=t("lb.col.rank_help", lang)),
                "change": st.column_config.TextColumn(t("lb.col.change", lang), help=t("lb.col.change_help", lang)),
                "name": st.column_config.TextColumn(t("lb.col.rep", lang)),
                "team": st.column_config.TextColumn(t("lb.col.team", lang)),
                "value": st.column_config.NumberColumn(t(KPIS[kpi].label_key, lang),
                                                       format=NUMBER_FORMATS[KPIS[kpi].format]),
                "basis": st.column_config.TextColumn(t("lb.col.basis", lang)),
                "trend": st.column_config.LineChartColumn(
                    t("lb.col.trend", lang, n=scorecard_data.TREND_PERIODS),
                    help=t("lb.col.trend_help", lang, n=scorecard_data.TREND_PERIODS)),
            },
        )
        event = st.plotly_chart(lbc.kpi_ranking(board, kpi, lang), width="stretch", key="lb_rank_chart",
                                on_select="rerun", selection_mode="points")
        picked = [p.get("customdata") for p in (event.selection.points if event and event.selection else [])]
        reps_sorted = board["rep_id"].to_list()
        drill = st.selectbox(t("lb.drill", lang), reps_sorted, index=reps_sorted.index(picked[0])
                             if picked and picked[0] in reps_sorted else None,
                             format_func=lambda r: names.get(r, r), placeholder=t("lb.drill_placeholder", lang),
                             key=f"lb_drill_{picked[0] if picked else ''}")
        if drill:
            deals = ctx.run("rep_deals_by_deal", start=start, end=end, reps=[drill])
            st.caption(t("lb.drill_caption", lang, name=names.get(drill, drill), n=deals.height))
            st.dataframe(deals.drop("owner_id"), hide_index=True, width="stretch")
        widgets.downloads(table.drop("trend"), f"leaderboard_{role}_{kpi}", lang, key="lb_board_dl")

# ---------------------------------------------------------------- scorecard

if tab_score.open:
    with tab_score:
        pending = st.session_state.pop("_lb_pending_def", None)
        saved = scorecard_defs.load_all(ctx.data_dir, role)
        options = [f"default:{role}"] + [d.name for d in saved]
        def_key = f"lb_def_{role}"
        if pending in options:
            st.session_state[def_key] = pending
        def_name = st.selectbox(
            t("lb.scorecard", lang), options, key=def_key,
            format_func=lambda n: t("lb.default_scorecard", lang, role=role) if n.startswith("default:") else n,
        )
        base = scorecard_defs.get(ctx.data_dir, def_name, role)
        with st.expander(t("lb.adjust_weights", lang), expanded=False):
            st.caption(t("lb.weights_help", lang))
            weights: dict[str, float] = {}
            cols = st.columns(4)
            for i, key in enumerate(SCORE_KEYS):
                kind = "lb.kind.rating" if scorecards.is_rating(key) else f"lb.kind.{KPIS[key].kind}"
                weights[key] = cols[i % 4].number_input(
                    lbc.kpi_label(key, lang), min_value=0.0, max_value=100.0, step=5.0, format="%.0f",
                    value=float(base.weights.get(key, 0)), key=f"lb_w_{def_name}_{key}", help=t(kind, lang))
            c1, c2 = st.columns(2)
            ramp_on = c1.checkbox(t("lb.ramp_toggle", lang), value=bool(base.ramp), key=f"lb_ramp_{def_name}",
                                  help=t("lb.ramp_help", lang))
            min_sample = int(c2.number_input(t("lb.min_sample", lang), min_value=1, max_value=50, step=1,
                                             value=base.min_sample, key=f"lb_min_{def_name}",
                                             help=t("lb.min_sample_help", lang)))
            total = sum(weights.values())
            st.caption(t("lb.weights_total", lang, total=f"{total:.0f}"))
            c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
            new_name = c1.text_input(t("lb.save_as", lang), key="lb_save_name", max_chars=scorecard_defs.MAX_NAME,
                                     placeholder=t("lb.save_placeholder", lang))
            if c2.button(t("lb.save", lang), key="lb_save_btn", icon=":material/save:"):
                try:
                    stored = scorecard_defs.save(ctx.data_dir, Definition(
                        new_name, role, weights, scorecards.DEFAULT_RAMP if ramp_on else (), min_sample))
                    st.session_state["_lb_pending_def"] = stored.name
                    st.session_state["_lb_flash"] = t("lb.saved_def", lang, name=stored.name)
                    st.rerun()
                except (scorecard_defs.DefinitionError, OSError) as exc:
                    st.error(t("lb.save_error", lang, error=str(exc)))
            if not def_name.startswith("default:") and c3.button(t("lb.delete", lang), key="lb_del_btn",
                                                                  icon=":material/delete:"):
                scorecard_defs.delete(ctx.data_dir, def_name)
                st.session_state["_lb_pending_def"] = f"default:{role}"
                st.rerun()
        if flash := st.session_state.pop("_lb_flash", None):
            st.success(flash)
        definition = Definition(def_name, role, weights, scorecards.DEFAULT_RAMP if ramp_on else (), min_sample)
        if not definition.active_weights():
            st.warning(t("lb.no_weights", lang))
            definition = scorecards.default_definition(role)
        scored = scored_now(definition)
        scores = scored.scores.sort(["rank", "name"], nulls_last=True)
        st.caption(t("lb.score_caption", lang, quarter=scorecards.quarter_of(end)))
        score_table = scores.with_columns(
            pl.Series("change", [change_text(c, p) for c, p in zip(scores["rank_change"].to_list(),
                                                                    scores["prev_rank"].to_list(), strict=True)]),
            pl.Series("uncertain", [t("lb.flags_text", lang, n=n) if n else "" for n in scores["flags"].to_list()]),
        )
        st.dataframe(
            score_table.select("rank", "change", "name", "team", "score", "kpis_scored", "uncertain"),
            hide_index=True, width="stretch",
            column_config={
                "rank": st.column_config.NumberColumn(t("lb.col.rank", lang), help=t("lb.col.rank_help", lang)),
                "change": st.column_config.TextColumn(t("lb.col.change", lang), help=t("lb.col.change_help", lang)),
                "name": st.column_config.TextColumn(t("lb.col.rep", lang)),
                "team": st.column_config.TextColumn(t("lb.col.team", lang)),
                "score": st.column_config.ProgressColumn(t("lb.col.score", lang), help=t("lb.col.score_help", lang),
                                                         format="%.1f", min_value=0,
                                                         max_value=max(100.0, scores["score"].max() or 0)),
                "kpis_scored": st.column_config.NumberColumn(t("lb.col.kpis_scored", lang)),
                "uncertain": st.column_config.TextColumn(t("lb.col.flags", lang)),
            },
        )
        st.plotly_chart(lbc.score_stack(scores, scored.breakdown, lang), width="stretch", key="lb_stack")
        ranked_ids = scores["rep_id"].to_list()
        focus = st.selectbox(t("lb.open_score", lang), ranked_ids, format_func=lambda r: names.get(r, r),
                             key="lb_score_rep")
        if focus:
            parts = scored.breakdown.filter(pl.col("rep_id") == focus)
            srow = scores.filter(pl.col("rep_id") == focus).row(0, named=True)
            total_text = " + ".join(f"{c or 0:.1f}" for c in parts["contribution"].to_list())
            st.markdown(t("lb.score_sum", lang, name=names.get(focus, focus),
                          score="–" if srow["score"] is None else f"{srow['score']:.1f}", parts=total_text))
            st.dataframe(review.breakdown_display(parts, lang), hide_index=True, width="stretch")
            st.plotly_chart(lbc.score_waterfall(parts, names.get(focus, focus), lang), width="stretch",
                            key="lb_waterfall")
            st.caption(t("lb.method_legend", lang, cap=f"{definition.cap * 100:.0f}%", min=definition.min_sample))
        widgets.downloads(scored.breakdown.join(scores.select("rep_id", "name", "score", "rank"), on="rep_id"),
                          f"scorecard_{role}", lang, key="lb_score_dl")

# ---------------------------------------------------------------- rep profile

if tab_profile.open:
    with tab_profile:
        def_name, definition = chosen_definition()
        scored = scored_now(definition)
        rep_ids = ranked_reps(scored)
        rep = st.selectbox(t("lb.pick_rep", lang), rep_ids, key=url_seed("rep", rep_ids, rep_ids[0]),
                           format_func=lambda r: names.get(r, r))
        url_keep("rep", rep)
        info = kpis.filter(pl.col("rep_id") == rep).row(0, named=True)
        st.subheader(t("lb.profile_title", lang, name=info["name"], role=role, team=info["team"] or "–"))
        if info.get("hire_date"):
            months = scorecards.tenure_months(info["hire_date"], end) or 0
            note = t("lb.ramping", lang, factor=i18n.percent(info["ramp_factor"], lang)) if (
                info.get("ramp_factor") or 1) < 1 else ""
            st.caption(t("lb.tenure", lang, date=i18n.day(info["hire_date"], lang), months=max(months, 0), note=note))
        position = scorecards.peer_position(scored.kpis, rep, min_sample=definition.min_sample)
        pos = {r["kpi"]: r for r in position.iter_rows(named=True)}
        tiles = ["bookings", "attainment", "win_rate", "pipeline_created", "activities", "cycle_days"]
        st.caption(t("lb.tiles_caption", lang))
        tile_cols = [*st.columns(3), *st.columns(3)]
        for col, key in zip(tile_cols, tiles, strict=True):
            p = pos.get(key, {})
            value, median = p.get("value"), p.get("peer_median")
            delta = None
            if value is not None and median is not None:
                diff = value - median
                # A rate's difference is in percentage points, not a percentage of the median.
                size = t("lb.points", lang, value=f"{abs(diff) * 100:.1f}") if KPIS[key].format == "percent" \
                    else fmt(key, abs(diff))
                delta = ("-" if diff < 0 else "+") + size
            col.metric(t(KPIS[key].label_key, lang), fmt(key, value) + (" ⚠" if p.get("flagged") else ""), delta=delta,
                       delta_color="normal" if KPIS[key].higher_is_better else "inverse", border=True,
                       help=t("lb.tile_help", lang, target=fmt("bookings", p.get("target")) if key == "bookings" else
                              fmt(key, p.get("target")), median=fmt(key, median),
                              pct="–" if p.get("percentile") is None else f"{p['percentile']:.0f}"))
        strong, weak = scorecards.strengths_weaknesses(position)
        c1, c2 = st.columns(2)
        def sw_lines(keys: list[str]) -> str:
            """Strengths or weaknesses as Markdown bullets with the value, the peer median and the percentile."""
            return "\n".join(
                f"- **{t(KPIS[k].label_key, lang)}**: " + t("lb.strength_line", lang, value=fmt(k, pos[k]["value"]),
                                                            median=fmt(k, pos[k]["peer_median"]),
                                                            pct=f"{pos[k]['percentile']:.0f}")
                for k in keys
            ) or t("lb.none_found", lang)

        c1.success(t("lb.strengths_head", lang) + "\n\n" + sw_lines(strong))
        c2.warning(t("lb.weaknesses_head", lang) + "\n\n" + sw_lines(weak))
        st.plotly_chart(lbc.peer_percentiles(position, info["name"], kpis.height, lang), width="stretch",
                        key="lb_percentiles")
        st.dataframe(review.position_display(position, lang), hide_index=True, width="stretch")
        trend = scorecard_data.monthly_trend(ctx, add_months(start, -9), end, (rep,), (), definition.ramp)
        c1, c2 = st.columns(2)
        fig = charts.bookings_vs_target(trend, lang)
        fig.update_layout(title={"text": t("lb.chart.monthly_title", lang)})
        c1.plotly_chart(fig, width="stretch", key="lb_rep_trend")
        score_hist = scorecard_data.score_history(ctx, start, end, scorecard_data.TREND_PERIODS, definition,
                                                  Org(f.regions, f.teams, f.reps), ctx.data_dir,
                                                  window).filter(pl.col("rep_id") == rep)
        c2.plotly_chart(lbc.score_history(score_hist, info["name"], lang), width="stretch", key="lb_rep_hist")
        peer_ids = set(kpis["rep_id"].to_list())
        mine, theirs = review.activity_mix(kpis, {rep}), review.activity_mix(kpis, peer_ids - {rep})
        type_labels = [t(f"lb.activity.{x}", lang) for x in mine]
        c1, c2 = st.columns(2)
        c1.plotly_chart(lbc.compare_bars(type_labels, list(mine.values()), list(theirs.values()),
                                         (info["name"], t("lb.chart.peers", lang)), t("lb.chart.mix_title", lang),
                                         t("lb.chart.activity_type", lang), t("lb.chart.share", lang), "percent", lang),
                        width="stretch", key="lb_mix")
        by_stage = scorecard_data.conversion_by_stage(ctx, start, end, Org(f.regions, f.teams, f.reps, (role,)))
        conv_rep = review.stage_conversion(by_stage, {rep})
        conv_peers = review.stage_conversion(by_stage, peer_ids - {rep})
        conv = conv_peers.select("stage", "position", pl.col("conversion").alias("peers")).join(
            conv_rep.select("stage", "conversion"), on="stage", how="full", coalesce=True).sort("position")
        if conv.height:
            c2.plotly_chart(lbc.compare_bars(conv["stage"].to_list(), conv["conversion"].to_list(),
                                             conv["peers"].to_list(), (info["name"], t("lb.chart.peers", lang)),
                                             t("lb.chart.conversion_title", lang), t("lb.col.stage", lang),
                                             t("lb.kpi.conversion", lang), "percent", lang),
                            width="stretch", key="lb_conv")
        else:
            c2.info(t("lb.no_stage_history", lang))
        open_deals = ctx.run("rep_open_deals_by_deal", reps=[rep], as_of=ctx.snapshot.as_of)
        st.markdown(f"**{t('lb.review.open_deals', lang)}** · " + t(
            "lb.review.open_text", lang, n=open_deals.height, amount=i18n.money(open_deals["amount"].sum(), lang)))
        st.dataframe(
            open_deals.select("opportunity_id", "account_name", "stage", "amount", "expected_close_date", "age_days",
                              "overdue"),
            hide_index=True, width="stretch",
            column_config={
                "opportunity_id": t("lb.col.deal", lang), "account_name": t("lb.col.account", lang),
                "stage": t("lb.col.stage", lang),
                "amount": st.column_config.NumberColumn(t("lb.col.amount", lang), format="dollar"),
                "expected_close_date": st.column_config.DateColumn(t("lb.col.expected_close", lang)),
                "age_days": st.column_config.NumberColumn(t("lb.col.age", lang)),
                "overdue": st.column_config.CheckboxColumn(t("lb.col.overdue", lang)),
            },
        )
        widgets.downloads(open_deals, f"open_deals_{rep}", lang, key="lb_open_dl")

# ---------------------------------------------------------------- top performers

if tab_top.open:
    with tab_top:
        def_name, definition = chosen_definition()
        scored = scored_now(definition)
        scores = scored.scores
        by_stage = scorecard_data.conversion_by_stage(ctx, start, end, Org(f.regions, f.teams, f.reps, (role,)))
        top, comparison = scorecard_data.top_performers(scored, by_stage, definition.min_sample)
        if not top:
            st.info(t("lb.top_too_few", lang, n=scorecards.MIN_FOR_QUARTILES))
        else:
            st.caption(t("lb.top_caption", lang, k=len(top), n=scores.filter(pl.col("score").is_not_null()).height,
                         names=", ".join(sorted(names.get(r, r) for r in top))))
            mix = comparison.filter(pl.col("group") == "activity_mix")
            stage = comparison.filter(pl.col("group") == "stage")
            c1, c2 = st.columns(2)
            groups = (t("lb.top_group", lang), t("lb.rest_group", lang))
            c1.plotly_chart(lbc.compare_bars([t(f"lb.activity.{m}", lang) for m in mix["measure"].to_list()],
                                             mix["top"].to_list(), mix["rest"].to_list(), groups,
                                             t("lb.chart.top_mix_title", lang), t("lb.chart.activity_type", lang),
                                             t("lb.chart.share", lang), "percent", lang),
                            width="stretch", key="lb_top_mix")
            if stage.height:
                c2.plotly_chart(lbc.compare_bars(stage["measure"].to_list(), stage["top"].to_list(),
                                                 stage["rest"].to_list(), groups, t("lb.chart.top_conv_title", lang),
                                                 t("lb.col.stage", lang), t("lb.kpi.conversion", lang), "percent",
                                                 lang),
                                width="stretch", key="lb_top_conv")
            else:
                c2.info(t("lb.no_stage_history", lang))
            per_rep = comparison.filter(pl.col("group") == "per_rep")
            st.dataframe(pl.DataFrame({
                t("lb.col.measure", lang): [t(f"lb.measure.{m}", lang) for m in per_rep["measure"].to_list()],
                groups[0]: [i18n.fmt(k, v, lang) for k, v in zip(per_rep["format"].to_list(), per_rep["top"].to_list(),
                                                                 strict=True)],
                groups[1]: [i18n.fmt(k, v, lang) for k, v in zip(per_rep["format"].to_list(), per_rep["rest"].to_list(),
                                                                 strict=True)],
                t("lb.col.difference", lang): [
                    "–" if a is None or b in (None, 0) else f"{(a - b) / abs(b):+.0%}"
                    for a, b in zip(per_rep["top"].to_list(), per_rep["rest"].to_list(), strict=True)
                ],
            }), hide_index=True, width="stretch")
            st.caption(t("lb.top_method", lang))
            widgets.downloads(comparison, f"top_quartile_{role}", lang, key="lb_top_dl")

# ---------------------------------------------------------------- ratings

if tab_rate.open:
    with tab_rate:
        st.caption(t("lb.ratings_intro", lang))
        quarters = review_quarters()
        rep_ids = ranked_reps(scored_now(chosen_definition()[1]))
        c1, c2 = st.columns(2)
        quarter = c1.selectbox(t("lb.quarter", lang), quarters, key="lb_rate_quarter")
        rate_rep = c2.selectbox(t("lb.pick_rep", lang), rep_ids, key="lb_rate_rep",
                                format_func=lambda r: names.get(r, r))
        current = ratings.load(ctx.data_dir, quarter, rate_rep)
        scale = [0, *range(scorecards.RATING_SCALE[0], scorecards.RATING_SCALE[1] + 1)]
        with st.form(f"lb_rate_form_{quarter}_{rate_rep}"):
            chosen = {}
            cols = st.columns(len(RATING_CRITERIA))
            for col, criterion in zip(cols, RATING_CRITERIA, strict=True):
                chosen[criterion] = col.select_slider(
                    t(f"lb.rating.{criterion}", lang), options=scale,
                    value=(current.scores.get(criterion, 0) if current else 0),
                    format_func=lambda v: t("lb.not_rated", lang) if v == 0 else t(f"lb.scale.{v}", lang),
                    key=f"lb_rate_{quarter}_{rate_rep}_{criterion}", help=t(f"lb.rating.{criterion}.help", lang))
            comment = st.text_area(t("lb.comment", lang), value=current.comment if current else "",
                                   max_chars=ratings.MAX_COMMENT, key=f"lb_comment_{quarter}_{rate_rep}")
            if st.form_submit_button(t("lb.save_rating", lang), icon=":material/save:"):
                try:
                    ratings.save(ctx.data_dir, ratings.Rating(
                        rate_rep, quarter, {c: v for c, v in chosen.items() if v}, comment))
                    st.session_state["_lb_rate_flash"] = t("lb.rating_saved", lang, name=names.get(rate_rep, rate_rep),
                                                           quarter=quarter)
                    st.rerun()
                except (ratings.RatingError, OSError) as exc:
                    st.error(t("lb.rating_error", lang, error=str(exc)))
        if flash := st.session_state.pop("_lb_rate_flash", None):
            st.success(flash)
        stored = ratings.load_quarter(ctx.data_dir, quarter)
        rows = [
            {t("lb.col.rep", lang): names.get(r.rep_id, r.rep_id),
             **{t(f"lb.rating.{c}", lang): r.scores.get(c) for c in RATING_CRITERIA},
             t("lb.col.comment", lang): r.comment, t("lb.col.updated", lang): r.updated_at}
            for r in stored.values() if r.rep_id in names
        ]
        st.markdown(f"**{t('lb.ratings_table', lang, quarter=quarter, role=t(f'lb.role_name.{role}', lang))}**")
        if rows:
            st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
        else:
            st.info(t("lb.no_ratings_yet", lang))

# ---------------------------------------------------------------- review pack

if tab_pack.open:
    with tab_pack:
        def_name, definition = chosen_definition()
        rep = profile_rep(ranked_reps(scored_now(definition)))
        quarters = review_quarters()
        st.caption(t("lb.pack_intro", lang))
        c1, c2, c3 = st.columns(3)
        kind = c1.radio(t("lb.pack_for", lang), ["rep", "team"], horizontal=True, key="lb_pack_kind",
                        format_func=lambda k: t(f"lb.pack_kind.{k}", lang))
        all_names = dict(zip(all_kpis["rep_id"].to_list(), all_kpis["name"].to_list(), strict=True))
        if kind == "rep":
            pack_reps = list(all_names)
            subject = c2.selectbox(t("lb.pick_rep", lang), pack_reps, key="lb_pack_rep",
                                   index=pack_reps.index(rep) if rep in pack_reps else 0,
                                   format_func=lambda r: f"{all_names[r]} ({r})")
        else:
            teams = sorted({x for x in all_kpis["team"].to_list() if x})
            subject = c2.selectbox(t("lb.col.team", lang), teams, key="lb_pack_team")
        pack_q = c3.selectbox(t("lb.quarter", lang), quarters, key="lb_pack_quarter")
        request = review.Request(pack_q, subject if kind == "rep" else None, subject if kind == "team" else None, lang,
                                 {role: definition})
        wanted = (kind, subject, pack_q, lang, def_name, tuple(sorted(definition.active_weights().items())),
                  ctx.snapshot.id)
        if st.button(t("lb.pack_make", lang), key="lb_pack_btn", icon=":material/description:", type="primary"):
            with st.status(t("lb.pack_working", lang), expanded=True) as status:
                bar = st.progress(0.0)
                try:
                    files = review.make(ctx, ctx.data_dir, ctx.snapshot.as_of, request,
                                        progress=lambda x, m: bar.progress(min(max(x, 0.0), 1.0), text=m))
                    st.session_state["lb_pack"] = (wanted, files)
                    status.update(label=t("lb.pack_ready", lang), state="complete")
                except review.ReviewError as exc:
                    status.update(label=t("lb.pack_failed", lang), state="error")
                    st.error(str(exc))
        made = st.session_state.get("lb_pack")
        if made and made[0] == wanted:
            files = made[1]
            c1, c2, c3 = st.columns(3)
            mime = {"html": "text/html", "pdf": "application/pdf",
                    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
            icons = {"html": ":material/language:", "xlsx": ":material/table:", "pdf": ":material/picture_as_pdf:"}
            for col, kind in zip((c1, c2, c3), ("html", "xlsx", "pdf"), strict=True):
                name = f"{files.slug}.{kind}"
                content = getattr(files, kind)
                col.download_button(t(f"lb.pack_{kind}", lang), widgets.audited(lambda c=content: c, name), name,
                                    mime[kind], key=f"lb_dl_{kind}", icon=icons[kind])
            if review.pdf_language(lang) != lang:
                st.caption(t("lb.pdf_english", lang))
        st.caption(t("lb.pack_cli", lang, quarter=pack_q))
