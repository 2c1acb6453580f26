"""Leaderboard: reps ranked by any KPI, fair scorecards, rep profiles, top performers, ratings, review packs.

The page reads its widgets, calls saleslens.rankings.load and draws what it returns; only the open tab computes.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from saleslens.core import commands, i18n, windows
from saleslens.core.i18n import t
from saleslens.core.money import ORIGINAL
from saleslens.rankings import charts as lbc
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import load as rl
from saleslens.rankings import ratings, review, scorecards
from saleslens.rankings.data import TREND_PERIODS
from saleslens.rankings.scorecards import KPIS, LEADERBOARD_KPIS, RATING_CRITERIA, SCORE_KEYS, Definition
from ui import context, widgets
from ui import money as ui_money
from ui.saved import visibility_choice

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


def chosen_definition(role: str) -> tuple[str, Definition]:
    """The scorecard chosen on the Scorecard tab, read from its widgets' state while that tab is closed."""
    saved = [d.name for d in scorecard_defs.load_all(ctx.data_dir, role, who=ctx.grant)]
    name = st.session_state.get(f"lb_def_{role}", f"default:{role}")
    name = name if name in [f"default:{role}", *saved] else f"default:{role}"
    base = scorecard_defs.get(ctx.data_dir, name, role, who=ctx.grant)
    weights = {k: float(st.session_state.get(f"lb_w_{name}_{k}", base.weights.get(k, 0))) for k in SCORE_KEYS}
    ramp_on = bool(st.session_state.get(f"lb_ramp_{name}", bool(base.ramp)))
    min_sample = int(st.session_state.get(f"lb_min_{name}", base.min_sample))
    return name, rl.definition_of(name, role, weights, ramp_on, min_sample)[0]


def profile_rep(rep_ids: list[str]) -> str:
    """The rep open on the Rep profile tab (from the link until chosen there)."""
    return st.session_state[url_seed("rep", rep_ids, rep_ids[0])]


# ---------------------------------------------------------------- period, peers


def header() -> tuple[rl.Header, str]:
    """The title, the period's notes and the role picker; stops when no rep of a scored role is in view."""
    st.title(t("lb.title", lang))
    head = rl.load_header(ctx)
    start, end = head.start, head.end
    if head.all_time:
        st.info(t("lb.all_time_note", lang, start=i18n.day(start, lang), end=i18n.day(end, lang)))
    if not head.roles:
        st.info(t("lb.no_reps", lang))
        st.stop()
    role_key = url_seed("role", head.roles, head.roles[0])
    role = st.radio(t("lb.role", lang), head.roles, key=role_key, horizontal=True,
                    format_func=lambda r: t(f"lb.role_name.{r}", lang), help=t("lb.role_help", lang))
    url_keep("role", role)
    st.caption(rl.header_caption(ctx, head, role))
    if end > ctx.snapshot.as_of:
        st.caption(t("lb.partial_period", lang, date=i18n.day(ctx.snapshot.as_of, lang)))
    if f.products or f.segments or f.sources:
        st.caption(t("lb.deal_filters_ignored", lang))
    return head, role


# ---------------------------------------------------------------- leaderboard


def render_board(head: rl.Header, role: str) -> None:
    """The Leaderboard tab: the ranking table with its trend, the ranking chart and the deals behind a bar."""
    kpi_key = url_seed("kpi", list(LEADERBOARD_KPIS), "bookings")
    kpi = st.selectbox(t("lb.rank_by", lang), LEADERBOARD_KPIS, key=kpi_key,
                       format_func=lambda k: t(KPIS[k].label_key, lang), help=t("lb.rank_by_help", lang))
    url_keep("kpi", kpi)
    st.caption(t(KPIS[kpi].definition_key, lang))
    view = rl.load(ctx, rl.Choices(role=role, tab="board", kpi=kpi), head)
    lb, names = view.board, view.names
    if lb.ties:
        st.caption(t("lb.ties_note", lang))
    if lb.flagged:
        st.caption(t("lb.flag_note", lang, min=lb.min_sample))
    widgets.dataframe(
        lb.table.select(lb.shown), lang,
        column_config={
            "rank": st.column_config.NumberColumn(t("lb.col.rank", lang), help=t("lb.col.rank_help", lang)),
            "change": st.column_config.TextColumn(t("lb.col.change", lang), help=t("lb.col.change_help", lang)),
            "name": st.column_config.TextColumn(t("lb.col.rep", lang)),
            "team": st.column_config.TextColumn(t("lb.col.team", lang)),
            "value": widgets.money_column(t(KPIS[kpi].label_key, lang)) if KPIS[kpi].format == "money" else
            st.column_config.NumberColumn(t(KPIS[kpi].label_key, lang), format=NUMBER_FORMATS[KPIS[kpi].format]),
            "basis": st.column_config.TextColumn(t("lb.col.basis", lang)),
            "trend": st.column_config.LineChartColumn(t("lb.col.trend", lang, n=TREND_PERIODS),
                                                      help=t("lb.col.trend_help", lang, n=TREND_PERIODS)),
        },
    )
    command_line(commands.cli_command("leaderboard", rl.board_options(ctx, head, role, kpi), ctx.snapshot.id,
                                      commands.login_for(ctx.grant)))
    if lb.peers is not None:
        own = lb.table["rank"].to_list()
        role_name = t(f"lb.role_name.{role}", lang)
        st.caption(t("lb.own_rank", lang, rank=own[0], n=lb.peers, role=role_name) if own and own[0] is not None
                   else t("lb.own_unranked", lang, n=lb.peers, role=role_name))
    event = st.plotly_chart(lb.figure, width="stretch", key="lb_rank_chart", on_select="rerun",
                            selection_mode="points")
    picked = [p.get("customdata") for p in (event.selection.points if event and event.selection else [])]
    reps_sorted = lb.board["rep_id"].to_list()
    drill = st.selectbox(t("lb.drill", lang), reps_sorted, index=reps_sorted.index(picked[0])
                         if picked and picked[0] in reps_sorted else None,
                         format_func=lambda r: names.get(r, r), placeholder=t("lb.drill_placeholder", lang),
                         key=f"lb_drill_{picked[0] if picked else ''}")
    if drill:
        deals = rl.load_rep_deals(ctx, view, drill)
        st.caption(t("lb.drill_caption", lang, name=names.get(drill, drill), n=deals.height))
        widgets.dataframe(deals.drop("owner_id"), lang, column_config=ui_money.deal_columns({}, deals, lang))
        widgets.cli_line(rl.rep_deals_call(view, drill), lang)
    widgets.downloads(lb.table.drop("trend"), f"leaderboard_{role}_{kpi}", lang, key="lb_board_dl")


def command_line(command: str) -> None:
    """Under the ranking: the `python -m saleslens leaderboard` command that prints it (no single named query does,
    so widgets.cli_line's `query` line cannot), in a code block with a copy button."""
    st.caption(t("cli.line", lang))
    st.code(command, language="bash", wrap_lines=True)


# ---------------------------------------------------------------- scorecard


def scorecard_widgets(role: str) -> tuple[str, dict[str, float], bool, int]:
    """The scorecard picker and its weights, ramp and minimum sample, with saving and deleting a scorecard."""
    pending = st.session_state.pop("_lb_pending_def", None)
    saved = scorecard_defs.load_all(ctx.data_dir, role, who=ctx.grant)
    options = [f"default:{role}"] + [d.name for d in saved]
    def_key = f"lb_def_{role}"
    if pending in options:
        st.session_state[def_key] = pending
    def_name = st.selectbox(
        t("lb.scorecard", lang), options, key=def_key,
        format_func=lambda n: t("lb.default_scorecard", lang, role=role) if n.startswith("default:") else n,
    )
    base = scorecard_defs.get(ctx.data_dir, def_name, role, who=ctx.grant)
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
        save_buttons(role, def_name, weights, ramp_on, min_sample)
    return def_name, weights, ramp_on, min_sample


def save_buttons(role: str, def_name: str, weights: dict[str, float], ramp_on: bool, min_sample: int) -> None:
    """Save the weights under a name, or delete the open saved scorecard."""
    c1, c4, c2, c3 = st.columns([3, 1.4, 1, 1], vertical_alignment="bottom")
    new_name = c1.text_input(t("lb.save_as", lang), key="lb_save_name", max_chars=scorecard_defs.MAX_NAME,
                             placeholder=t("lb.save_placeholder", lang))
    with c4:
        visibility = visibility_choice("lb_save_visibility", lang)
    if c2.button(t("lb.save", lang), key="lb_save_btn", icon=":material/save:"):
        try:
            stored = scorecard_defs.save(ctx.data_dir, Definition(
                new_name, role, weights, scorecards.DEFAULT_RAMP if ramp_on else (), min_sample), who=ctx.grant,
                visibility=visibility)
            st.session_state["_lb_pending_def"] = stored.name
            st.session_state["_lb_flash"] = t("lb.saved_def", lang, name=stored.name)
            st.rerun()
        except scorecard_defs.SAVE_ERRORS as exc:  # refusals (no right, a newer version) are told, not raised
            st.error(t("lb.save_error", lang, error=str(exc)))
    if not def_name.startswith("default:") and c3.button(t("lb.delete", lang), key="lb_del_btn",
                                                          icon=":material/delete:"):
        try:
            scorecard_defs.delete(ctx.data_dir, def_name, who=ctx.grant)
        except scorecard_defs.SAVE_ERRORS as exc:
            st.error(t("lb.save_error", lang, error=str(exc)))
            return
        st.session_state["_lb_pending_def"] = f"default:{role}"
        st.rerun()


def render_scorecard(head: rl.Header, role: str) -> None:
    """The Scorecard tab: the scorecard's widgets, the scores, their stacked parts and one rep's breakdown."""
    def_name, weights, ramp_on, min_sample = scorecard_widgets(role)
    if flash := st.session_state.pop("_lb_flash", None):
        st.success(flash)
    definition, fell_back = rl.definition_of(def_name, role, weights, ramp_on, min_sample)
    if fell_back:
        st.warning(t("lb.no_weights", lang))
    view = rl.load(ctx, rl.Choices(role=role, tab="score", definition=definition), head)
    card, names = view.card, view.names
    st.caption(t("lb.score_caption", lang, quarter=scorecards.quarter_of(head.end)))
    alone = rl.own_rep(ctx) is not None
    if alone:
        st.caption(t("lb.own_no_score_rank", lang))
    widgets.dataframe(
        card.table.select(*([] if alone else ["rank", "change"]), "name", "team", "score", "kpis_scored",
                          "uncertain"), lang,
        column_config={
            "rank": st.column_config.NumberColumn(t("lb.col.rank", lang), help=t("lb.col.rank_help", lang)),
            "change": st.column_config.TextColumn(t("lb.col.change", lang), help=t("lb.col.change_help", lang)),
            "name": st.column_config.TextColumn(t("lb.col.rep", lang)),
            "team": st.column_config.TextColumn(t("lb.col.team", lang)),
            "score": st.column_config.ProgressColumn(t("lb.col.score", lang), help=t("lb.col.score_help", lang),
                                                     format="%.1f", min_value=0, max_value=card.score_max),
            "kpis_scored": st.column_config.NumberColumn(t("lb.col.kpis_scored", lang)),
            "uncertain": st.column_config.TextColumn(t("lb.col.flags", lang)),
        },
    )
    st.plotly_chart(card.figure, width="stretch", key="lb_stack")
    focus = st.selectbox(t("lb.open_score", lang), card.scores["rep_id"].to_list(),
                         format_func=lambda r: names.get(r, r), key="lb_score_rep")
    if focus:
        opened = rl.load_focus(view, focus, lang)
        st.markdown(t("lb.score_sum", lang, name=opened.name, score=opened.score_text, parts=opened.parts_text))
        widgets.dataframe(opened.display, lang)
        st.plotly_chart(opened.figure, width="stretch", key="lb_waterfall")
        st.caption(t("lb.method_legend", lang, cap=f"{view.definition.cap * 100:.0f}%",
                     min=view.definition.min_sample))
    widgets.downloads(card.download, f"scorecard_{role}", lang, key="lb_score_dl")


# ---------------------------------------------------------------- rep profile


def render_profile(head: rl.Header, role: str) -> None:
    """The Rep profile tab: one rep against the role's peers."""
    definition = chosen_definition(role)[1]
    rep_ids = rl.reps_by_score(ctx, head, definition)
    names = head.names(role)
    rep = st.selectbox(t("lb.pick_rep", lang), rep_ids, key=url_seed("rep", rep_ids, rep_ids[0]),
                       format_func=lambda r: names.get(r, r))
    url_keep("rep", rep)
    p = rl.load(ctx, rl.Choices(role=role, tab="profile", definition=definition, rep=rep), head).profile
    info = p.info
    st.subheader(t("lb.profile_title", lang, name=info["name"], role=role, team=info["team"] or "–"))
    if p.tenure_months is not None:
        st.caption(t("lb.tenure", lang, date=i18n.day(info["hire_date"], lang), months=max(p.tenure_months, 0),
                     note=p.ramp_note))
    st.caption(t("lb.tiles_caption", lang))
    for col, key, tile in zip([*st.columns(3), *st.columns(3)], rl.PROFILE_TILES, p.tiles, strict=True):
        col.metric(tile.label, tile.value, delta=tile.delta, delta_color=tile.delta_color, border=True,
                   help=tile.help)
        col.caption(windows.tile(key, head.start, head.end, ctx.snapshot.as_of, lang))  # the days it counts
    c1, c2 = st.columns(2)
    c1.success(t("lb.strengths_head", lang) + "\n\n" + p.strengths)
    c2.warning(t("lb.weaknesses_head", lang) + "\n\n" + p.weaknesses)
    st.plotly_chart(p.percentiles, width="stretch", key="lb_percentiles")
    widgets.dataframe(p.position, lang)
    c1, c2 = st.columns(2)
    c1.plotly_chart(p.monthly, width="stretch", key="lb_rep_trend")
    c2.plotly_chart(p.history, width="stretch", key="lb_rep_hist")
    mix_and_conversion(p.mix, p.conversion, ("lb_mix", "lb_conv"))
    open_deals = p.open_deals
    st.markdown(f"**{t('lb.review.open_deals', lang)}** · " + t(
        "lb.review.open_text", lang, n=open_deals.height, amount=i18n.money(open_deals["amount"].sum(), lang)))
    widgets.dataframe(
        open_deals.select("opportunity_id", "account_name", "stage", "amount",
                          *[c for c in ORIGINAL if c in open_deals.columns], "expected_close_date", "age_days",
                          "overdue"), lang,
        column_config={
            "opportunity_id": t("lb.col.deal", lang), "account_name": t("lb.col.account", lang),
            "stage": t("lb.col.stage", lang),
            "amount": widgets.money_column(t("lb.col.amount", lang)),
            "expected_close_date": st.column_config.DateColumn(t("lb.col.expected_close", lang)),
            "age_days": st.column_config.NumberColumn(t("lb.col.age", lang)),
            "overdue": st.column_config.CheckboxColumn(t("lb.col.overdue", lang)),
        } | ui_money.deal_columns({}, open_deals, lang),
    )
    widgets.downloads(open_deals, f"open_deals_{p.rep}", lang, key="lb_open_dl")
    widgets.cli_line(rl.open_deals_call(ctx, p.rep), lang)


def mix_and_conversion(mix: object, conversion: object | None, keys: tuple[str, str]) -> None:
    """The activity-mix chart beside the stage-conversion one; without stage history, a note in its place."""
    c1, c2 = st.columns(2)
    c1.plotly_chart(mix, width="stretch", key=keys[0])
    if conversion is not None:
        c2.plotly_chart(conversion, width="stretch", key=keys[1])
    else:
        c2.info(t("lb.no_stage_history", lang))


# ---------------------------------------------------------------- top performers


def render_top(head: rl.Header, role: str) -> None:
    """The Top performers tab: what the top quartile does differently from the rest."""
    definition = chosen_definition(role)[1]
    top = rl.load(ctx, rl.Choices(role=role, tab="top", definition=definition), head).top
    if not top.top:
        st.info(t("lb.top_too_few", lang, n=scorecards.MIN_FOR_QUARTILES))
        return
    st.caption(t("lb.top_caption", lang, k=len(top.top), n=top.scored_reps, names=top.names))
    mix_and_conversion(top.mix, top.stage, ("lb_top_mix", "lb_top_conv"))
    widgets.dataframe(top.per_rep, lang)
    st.caption(t("lb.top_method", lang))
    widgets.downloads(top.comparison, f"top_quartile_{role}", lang, key="lb_top_dl")


# ---------------------------------------------------------------- ratings


def render_ratings(head: rl.Header, role: str) -> None:
    """The Ratings tab: a manager's ratings of a rep for a quarter, saved, and the quarter's stored ratings."""
    st.caption(t("lb.ratings_intro", lang))
    quarters = rl.review_quarters(ctx, head.end)
    view = rl.load(ctx, rl.Choices(role=role, tab="rate", definition=chosen_definition(role)[1]), head)
    names = view.names
    c1, c2 = st.columns(2)
    quarter = c1.selectbox(t("lb.quarter", lang), quarters, key="lb_rate_quarter")
    rate_rep = c2.selectbox(t("lb.pick_rep", lang), view.ranked, key="lb_rate_rep",
                            format_func=lambda r: names.get(r, r))
    rating_form(quarter, rate_rep, names)
    if flash := st.session_state.pop("_lb_rate_flash", None):
        st.success(flash)
    rows = rl.ratings_rows(ctx, quarter, names)
    st.markdown(f"**{t('lb.ratings_table', lang, quarter=quarter, role=t(f'lb.role_name.{role}', lang))}**")
    if rows:
        widgets.dataframe(pl.DataFrame(rows), lang)
    else:
        st.info(t("lb.no_ratings_yet", lang))
    rating_history(quarter, rate_rep)


def rating_form(quarter: str, rate_rep: str, names: dict[str, str]) -> None:
    """The rating form of one rep and quarter, opened with the stored rating."""
    current = ratings.load(ctx.data_dir, quarter, rate_rep, who=ctx.grant)
    # The version the form was opened with: a save over a newer one (another manager's) is refused.
    version_key = f"_lb_rate_ver_{quarter}_{rate_rep}"
    opened = st.session_state.setdefault(version_key, current.version if current else 0)
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
                    rate_rep, quarter, {c: v for c, v in chosen.items() if v}, comment),
                    who=ctx.grant, expected_version=opened)
                st.session_state.pop(version_key, None)
                st.session_state["_lb_rate_flash"] = t("lb.rating_saved", lang, name=names.get(rate_rep, rate_rep),
                                                       quarter=quarter)
                st.rerun()
            except ratings.SAVE_ERRORS as exc:  # refusals (no right, a newer version) are told, not raised
                if isinstance(exc, ratings.StaleRating):
                    st.session_state.pop(version_key, None)  # the next run opens the newer version
                st.error(t("lb.rating_error", lang, error=str(exc)))


def rating_history(quarter: str, rate_rep: str) -> None:
    """Every version of the rating, with its author and time, for those who may see the rep."""
    try:
        versions = ratings.history(ctx.data_dir, quarter, rate_rep, who=ctx.grant)
    except ratings.SAVE_ERRORS:  # not theirs to see: no history shown
        return
    if not versions:
        return
    with st.expander(t("lb.rating_history", lang, n=len(versions))):
        widgets.dataframe(pl.DataFrame([
            {t("lb.col.version", lang): r.version, t("lb.col.updated", lang): r.updated_at,
             t("lb.col.author", lang): r.updated_by,
             **{t(f"lb.rating.{c}", lang): r.scores.get(c) for c in RATING_CRITERIA},
             t("lb.col.comment", lang): r.comment} for r in reversed(versions)]), lang)


# ---------------------------------------------------------------- review pack


def render_pack(head: rl.Header, role: str) -> None:
    """The Review pack tab: a rep's or a team's pack for a quarter, made on request, offered for download."""
    def_name, definition = chosen_definition(role)
    rep = profile_rep(rl.reps_by_score(ctx, head, definition))
    quarters = rl.review_quarters(ctx, head.end)
    st.caption(t("lb.pack_intro", lang))
    c1, c2, c3 = st.columns(3)
    kind = c1.radio(t("lb.pack_for", lang), ["rep", "team"], horizontal=True, key="lb_pack_kind",
                    format_func=lambda k: t(f"lb.pack_kind.{k}", lang))
    all_names, teams = rl.pack_subjects(head)
    if kind == "rep":
        pack_reps = list(all_names)
        subject = c2.selectbox(t("lb.pick_rep", lang), pack_reps, key="lb_pack_rep",
                               index=pack_reps.index(rep) if rep in pack_reps else 0,
                               format_func=lambda r: f"{all_names[r]} ({r})")
    else:
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
        pack_downloads(made[1])
    st.caption(t("lb.pack_cli", lang, quarter=pack_q))


def pack_downloads(files: review.Files) -> None:
    """The made pack's HTML, Excel and PDF download buttons, each download audited."""
    c1, c2, c3 = st.columns(3)
    mime = {"html": "text/html", "pdf": "application/pdf",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    icons = {"html": ":material/language:", "xlsx": ":material/table:", "pdf": ":material/picture_as_pdf:"}
    for col, kind in zip((c1, c2, c3), ("html", "xlsx", "pdf"), strict=True):
        name = f"{files.slug}.{kind}"
        content = getattr(files, kind)
        col.download_button(t(f"lb.pack_{kind}", lang), widgets.audited(lambda c=content: c, name), name,
                            mime[kind], key=f"lb_dl_{kind}", icon=icons[kind], on_click=widgets.NO_RERUN)
    if review.pdf_language(lang) != lang:
        st.caption(t("lb.pdf_english", lang))


# ---------------------------------------------------------------- the page

head, role = header()
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
widgets.keep_choices(tuple(p for tab, keys in TAB_CHOICES.items() if not tab.open for p in keys))
for tab, render in ((tab_board, render_board), (tab_score, render_scorecard), (tab_profile, render_profile),
                    (tab_top, render_top), (tab_rate, render_ratings), (tab_pack, render_pack)):
    if tab.open:
        with tab:
            render(head, role)
