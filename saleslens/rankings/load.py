"""What the Rankings & reviews page (pages/leaderboard.py) draws, computed without Streamlit.

The page reads its widgets, calls load(ctx, choices) and renders the View; the benchmark calls the same load.
Only the open tab computes (the page's tabs rerun on change), so the View holds the header and one tab.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import polars as pl

from saleslens.core import charts, i18n, windows
from saleslens.core.context import DataContext
from saleslens.core.filters import add_months
from saleslens.core.i18n import t
from saleslens.core.money import with_original
from saleslens.rankings import charts as lbc
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import ratings, review, scorecards
from saleslens.rankings.data import Org, Scored, Window
from saleslens.rankings.scorecards import KPIS, RATING_CRITERIA, SCORED_ROLES, Definition

TABS = ("board", "score", "profile", "top", "rate", "pack")
PROFILE_TILES = ("bookings", "attainment", "win_rate", "pipeline_created", "activities", "cycle_days")


@dataclass(frozen=True)
class Choices:
    """The page's own widget choices (the sidebar filters come with the context)."""

    role: str | None = None  # None: the first role with reps
    tab: str = "board"  # one of TABS: only this tab computes
    kpi: str = "bookings"  # the Leaderboard tab's ranking KPI
    definition: Definition | None = None  # the chosen scorecard; None: the role's default
    rep: str | None = None  # the Rep profile's rep; None: the first by score


@dataclass(frozen=True)
class Header:
    """The period, the one before, the org filter and every scored role's KPIs: what every tab reads."""

    start: date
    end: date
    prev_start: date
    prev_end: date
    all_time: bool  # no period chosen: the snapshot's quarter stands in
    window: Window
    org: Org
    all_kpis: pl.DataFrame
    roles: list[str]

    def names(self, role: str) -> dict[str, str]:
        """A role's reps, id to name, in the KPI frame's order."""
        kpis = self.all_kpis.filter(pl.col("role") == role)
        return dict(zip(kpis["rep_id"].to_list(), kpis["name"].to_list(), strict=True))


@dataclass(frozen=True)
class Board:
    """The Leaderboard tab: reps ranked by one KPI, with change, basis and trend."""

    kpi: str
    min_sample: int
    board: pl.DataFrame
    table: pl.DataFrame
    shown: list[str]
    ties: bool
    flagged: bool
    figure: Any
    peers: int | None = None  # a rep who sees only themselves: how many of the role's reps were ranked with them


@dataclass(frozen=True)
class Card:
    """The Scorecard tab: scores, ranks and what each KPI contributed."""

    scores: pl.DataFrame
    table: pl.DataFrame
    score_max: float
    figure: Any
    download: pl.DataFrame


@dataclass(frozen=True)
class Focus:
    """One rep's score opened on the Scorecard tab: its parts, as a table and a waterfall."""

    name: str
    score_text: str
    parts_text: str
    display: pl.DataFrame
    figure: Any


@dataclass(frozen=True)
class Tile:
    """One metric tile of the Rep profile: the value against the peer median."""

    label: str
    value: str
    delta: str | None
    delta_color: str
    help: str


@dataclass(frozen=True)
class Profile:
    """The Rep profile tab for one rep."""

    rep: str
    info: dict
    tenure_months: int | None  # None without a hire date
    ramp_note: str
    tiles: list[Tile]
    strengths: str
    weaknesses: str
    percentiles: Any
    position: pl.DataFrame
    monthly: Any
    history: Any
    mix: Any
    conversion: Any | None  # None without stage history
    open_deals: pl.DataFrame


@dataclass(frozen=True)
class Top:
    """The Top performers tab: the top quartile against the rest (empty when too few reps are scored)."""

    top: set[str]
    scored_reps: int
    names: str
    comparison: pl.DataFrame
    mix: Any | None = None
    stage: Any | None = None  # None without stage history
    per_rep: pl.DataFrame | None = None


@dataclass(frozen=True)
class View:
    """Everything the page draws for one role and the open tab."""

    head: Header
    role: str
    kpis: pl.DataFrame
    prev_kpis: pl.DataFrame
    names: dict[str, str]
    definition: Definition
    ranked: list[str] = field(default_factory=list)  # reps by score: the rep pickers' order
    scored: Scored | None = None
    board: Board | None = None
    card: Card | None = None
    profile: Profile | None = None
    top: Top | None = None

    def figures(self) -> list:
        """The open tab's figures, in the order the page draws them."""
        figs: list = []
        if self.board:
            figs.append(self.board.figure)
        if self.card:
            figs.append(self.card.figure)
        if self.profile:
            p = self.profile
            figs += [p.percentiles, p.monthly, p.history, p.mix] + ([p.conversion] if p.conversion else [])
        if self.top and self.top.mix is not None:
            figs += [self.top.mix] + ([self.top.stage] if self.top.stage is not None else [])
        return figs


# ---------------------------------------------------------------- header


def load_header(ctx: DataContext) -> Header:
    """The period (the snapshot's quarter when none is chosen), the one before and every scored role's KPIs."""
    f = ctx.filters
    start, end = f.start, f.end
    all_time = start is None or end is None
    if all_time:
        start, end = scorecards.parse_quarter(scorecards.quarter_of(ctx.snapshot.as_of))
    (prev_start, prev_end), = scorecard_data.previous_periods(start, end, 1)
    # The period, the one before and the trend's periods come from one query; every tab reads from it.
    window = Window(start, end, scorecard_data.TREND_PERIODS)
    org = Org(f.regions, f.teams, f.reps, SCORED_ROLES)
    all_kpis = scorecard_data.kpis(ctx, start, end, org, within=window)
    roles = [r for r in SCORED_ROLES if r in set(all_kpis["role"].to_list())]
    return Header(start, end, prev_start, prev_end, all_time, window, org, all_kpis, roles)


def header_caption(ctx: DataContext, head: Header, role: str) -> str:
    """The window the rankings cover and the one the rank change compares with, in the Overview's words."""
    lang, as_of = ctx.lang, ctx.snapshot.as_of
    window = windows.label(head.start, head.end, as_of, lang)
    role_name = t(f"lb.role_name.{role}", lang)
    if own_rep(ctx) is not None:  # a rep sees only their own row: "peers: the 1 people" would mislead
        return t("lb.caption_own", lang, window=window, role=role_name)
    prev = windows.span(head.prev_start, head.prev_end, lang)
    prev_name = windows.name(head.prev_start, head.prev_end, lang) or prev
    # The rank change compares with the whole previous period, where the Overview compares a running period with
    # the same days of the previous one: different windows, so different words, and the running case says so.
    key = "lb.caption_running" if windows.running(head.start, head.end, as_of) else "lb.caption"
    return t(key, lang, window=window, prev=prev, prev_name=prev_name, n=len(head.names(role)), role=role_name)


def load(ctx: DataContext, choices: Choices, head: Header | None = None) -> View:
    """The view of one role and the open tab (pass the header when the page already read it for the role picker)."""
    head = head or load_header(ctx)
    role = choices.role if choices.role in head.roles else head.roles[0]
    kpis = head.all_kpis.filter(pl.col("role") == role)
    prev_kpis = scorecard_data.kpis(ctx, head.prev_start, head.prev_end, head.org, within=head.window).filter(
        pl.col("role") == role)
    names = head.names(role)
    definition = choices.definition or scorecard_defs.get(ctx.data_dir, f"default:{role}", role)
    view = View(head, role, kpis, prev_kpis, names, definition)
    if choices.tab == "board":
        return replace(view, board=load_board(ctx, view, choices.kpi))
    scored = scored_now(ctx, head, definition)
    ranked = ranked_reps(scored, kpis)
    view = replace(view, scored=scored, ranked=ranked)
    if choices.tab == "score":
        return replace(view, card=load_card(ctx, view))
    if choices.tab == "profile":
        rep = choices.rep if choices.rep in ranked else ranked[0]
        return replace(view, profile=load_profile(ctx, view, rep))
    if choices.tab == "top":
        return replace(view, top=load_top(ctx, view))
    return view  # Ratings and Review pack only need the reps in score order


def scored_now(ctx: DataContext, head: Header, definition: Definition) -> Scored:
    """The definition's role scored for the period, with the previous period's rank."""
    f = ctx.filters
    return scorecard_data.scored_with_change(ctx, head.start, head.end, definition, Org(f.regions, f.teams, f.reps),
                                             ctx.data_dir, head.window)


def ranked_reps(scored: Scored, kpis: pl.DataFrame) -> list[str]:
    """The role's reps by score rank (then name), the order of the rep pickers."""
    return scored.scores.sort(["rank", "name"], nulls_last=True)["rep_id"].to_list() or kpis["rep_id"].to_list()


def reps_by_score(ctx: DataContext, head: Header, definition: Definition) -> list[str]:
    """The definition's role's reps by score, for a rep picker drawn before the tab computes."""
    kpis = head.all_kpis.filter(pl.col("role") == definition.role)
    return ranked_reps(scored_now(ctx, head, definition), kpis)


def definition_of(name: str, role: str, weights: dict[str, float], ramp_on: bool,
                  min_sample: int) -> tuple[Definition, bool]:
    """The scorecard the widgets describe, or the role's default (and True) when no weight is set."""
    chosen = Definition(name, role, weights, scorecards.DEFAULT_RAMP if ramp_on else (), min_sample)
    if chosen.active_weights():
        return chosen, False
    return scorecards.default_definition(role), True


# ---------------------------------------------------------------- texts of table rows


def change_text(change: int | None, prev_rank: int | None, lang: str) -> str:
    """A rank change for reading: ▲ 2, ▼ 1, = or new."""
    if prev_rank is None:
        return t("lb.change.new", lang)
    if change is None:
        return "–"
    return f"▲ {change}" if change > 0 else f"▼ {-change}" if change < 0 else "="


def fmt(key: str, value: object, lang: str) -> str:
    """A KPI value formatted by its kind."""
    return i18n.fmt(KPIS[key].format, value, lang)


def basis_text(key: str, row: dict, min_sample: int, lang: str) -> str:
    """What a rate rests on (e.g. 6 closed deals), with a warning when too few to rank."""
    kpi = KPIS[key]
    if kpi.sample is None:
        return ""
    n = int(row.get(kpi.sample) or 0)
    text = t(f"lb.sample.{kpi.sample}", lang, n=n)
    return f"⚠ {text} · {t('lb.too_few', lang, min=min_sample)}" if n < min_sample else text


# ---------------------------------------------------------------- leaderboard


def load_board(ctx: DataContext, view: View, kpi: str) -> Board:
    """Reps ranked by one KPI, with the rank change, what a rate rests on and the trend of the last periods."""
    head, lang = view.head, ctx.lang
    min_sample = scorecards.DEFAULT_MIN_SAMPLE
    peers = None
    if own_rep(ctx) is not None:
        board, peers = peer_board(ctx, view, kpi, min_sample)
    else:
        board = scorecards.leaderboard(view.kpis, kpi, view.prev_kpis, min_sample)
    hist = scorecard_data.history(ctx, head.start, head.end, scorecard_data.TREND_PERIODS, head.org,
                                  within=head.window).filter(pl.col("role") == view.role)
    # Each rep's values oldest first, in one group-by and a join (a frame or a Python list per rep cost
    # 0.5 s for the 4,700 reps of a large organisation).
    trend = hist.sort("period_start").group_by("rep_id", maintain_order=True).agg(
        (pl.col(kpi) if kpi in hist.columns else pl.lit(None)).cast(pl.Float64).alias("trend"))
    sample = KPIS[kpi].sample
    counts = dict(zip(view.kpis["rep_id"].to_list(), view.kpis[sample].to_list(), strict=True)) if sample else {}
    table = board.select(
        "rank", "rep_id", "name", "team", "value", "flagged", "prev_rank", "rank_change"
    ).with_columns(
        pl.Series("change", [change_text(c, p, lang) for c, p in zip(board["rank_change"].to_list(),
                                                                      board["prev_rank"].to_list(), strict=True)]),
        pl.Series("basis", [basis_text(kpi, {sample: counts.get(r)}, min_sample, lang)
                            for r in board["rep_id"].to_list()], dtype=pl.String),
    ).join(trend, on="rep_id", how="left").with_columns(
        pl.col("trend").fill_null(pl.lit([], dtype=pl.List(pl.Float64))))
    ties = bool(board.filter(pl.col("rank").is_not_null())["rank"].is_duplicated().any())
    shown = ["rank", "change", "name", "team", "value", "basis", "trend"]
    if sample is None:
        shown.remove("basis")  # a count or an amount rests on no sample to warn about
    return Board(kpi, min_sample, board, table, shown, ties, bool(board["flagged"].any()),
                 lbc.kpi_ranking(board, kpi, lang), peers)


def own_rep(ctx: DataContext) -> str | None:
    """The rep id of a viewer who may see only their own rows (a rep's grant), else None."""
    grant = getattr(ctx, "grant", None)  # the app's context has one; the CLI and the benchmark see everyone
    if grant is None or grant.user is None or grant.user.role != "rep" or not grant.rep_ids:
        return None
    return next(iter(grant.rep_ids)) if len(grant.rep_ids) == 1 else None


def peer_board(ctx: DataContext, view: View, kpi: str, min_sample: int) -> tuple[pl.DataFrame, int]:
    """A rep's rank among every rep of their role in the filters (issue 16: never a rank among themselves).

    Ranked over all of the role's reps, then cut to the viewer's own row before anything is returned: the rank,
    the change and how many were ranked leave this function, never another rep's name or value.
    """
    from queries.runner import Scope, shared_runner  # DuckDB only when a rep's board is drawn

    everyone = shared_runner(ctx.snapshot, Scope.everyone())
    head, f = view.head, ctx.filters
    org = Org(f.regions, f.teams, (), (view.role,))  # the rep filter is the rep: peers are the role's other reps
    now = scorecard_data.kpis(everyone, head.start, head.end, org, within=head.window)
    before = scorecard_data.kpis(everyone, head.prev_start, head.prev_end, org, within=head.window)
    board = scorecards.leaderboard(now, kpi, before, min_sample)
    ranked = board.filter(pl.col("rank").is_not_null()).height
    return board.filter(pl.col("rep_id").is_in(view.kpis["rep_id"].to_list())), ranked


def rep_deals_call(view: View, rep: str) -> tuple[str, dict]:
    """The named query of the deals behind a rep's bar (the drill-down and its CLI line)."""
    return "rep_deals_by_deal", {"start": view.head.start, "end": view.head.end, "reps": [rep]}


def open_deals_call(ctx: DataContext, rep: str) -> tuple[str, dict]:
    """The named query of a rep's open deals on the snapshot's day (the profile's table and its CLI line)."""
    return "rep_open_deals_by_deal", {"reps": [rep], "as_of": ctx.snapshot.as_of}


def board_options(ctx: DataContext, head: Header, role: str, kpi: str) -> dict[str, object]:
    """The options of `python -m saleslens leaderboard` that print the Leaderboard tab's ranking (no one named query
    ranks: the ranks, changes and sample flags are worked out in saleslens.rankings.scorecards): the page's period,
    the snapshot's quarter when none is chosen, its role, KPI and org filters, and its language (the words of the
    change and basis columns)."""
    f = ctx.filters
    return {"kpi": kpi, "role": role, "from": head.start, "to": head.end, "region": list(f.regions),
            "team": list(f.teams), "rep": list(f.reps), "lang": ctx.lang}


def load_rep_deals(ctx: DataContext, view: View, rep: str) -> pl.DataFrame:
    """The deals behind a rep's bar (a drill-down, run only when a rep is picked)."""
    name, params = rep_deals_call(view, rep)
    return with_original(ctx.run(name, **params))


# ---------------------------------------------------------------- scorecard


def load_card(ctx: DataContext, view: View) -> Card:
    """The scores with rank change and uncertain KPIs, the stacked contributions and the download."""
    lang, scored = ctx.lang, view.scored
    scores = scored.scores.sort(["rank", "name"], nulls_last=True)
    table = scores.with_columns(
        pl.Series("change", [change_text(c, p, lang) for c, p in zip(scores["rank_change"].to_list(),
                                                                      scores["prev_rank"].to_list(), strict=True)]),
        pl.Series("uncertain", [t("lb.flags_text", lang, n=n) if n else "" for n in scores["flags"].to_list()]),
    )
    # A rep who sees only themselves gets no rank among themselves on the chart (issue 16).
    shown = scores.with_columns(pl.lit(None, dtype=pl.Int64).alias("rank")) if own_rep(ctx) else scores
    return Card(scores, table, max(100.0, scores["score"].max() or 0), lbc.score_stack(shown, scored.breakdown, lang),
                scored.breakdown.join(scores.select("rep_id", "name", "score", "rank"), on="rep_id"))


def load_focus(view: View, rep: str, lang: str) -> Focus:
    """One rep's score taken apart (opened on demand on the Scorecard tab)."""
    parts = view.scored.breakdown.filter(pl.col("rep_id") == rep)
    row = view.card.scores.filter(pl.col("rep_id") == rep).row(0, named=True)
    name = view.names.get(rep, rep)
    return Focus(name, "–" if row["score"] is None else f"{row['score']:.1f}",
                 " + ".join(f"{c or 0:.1f}" for c in parts["contribution"].to_list()),
                 review.breakdown_display(parts, lang), lbc.score_waterfall(parts, name, lang))


# ---------------------------------------------------------------- rep profile


def load_profile(ctx: DataContext, view: View, rep: str) -> Profile:
    """One rep against the role's peers: tiles, strengths, percentiles, trends, mix, conversion, open deals."""
    head, lang, definition, kpis = view.head, ctx.lang, view.definition, view.kpis
    f = ctx.filters
    info = kpis.filter(pl.col("rep_id") == rep).row(0, named=True)
    months = (scorecards.tenure_months(info["hire_date"], head.end) or 0) if info.get("hire_date") else None
    ramp_note = t("lb.ramping", lang, factor=i18n.percent(info["ramp_factor"], lang)) if (
        info.get("ramp_factor") or 1) < 1 else ""
    position = scorecards.peer_position(view.scored.kpis, rep, min_sample=definition.min_sample)
    pos = {r["kpi"]: r for r in position.iter_rows(named=True)}
    strong, weak = scorecards.strengths_weaknesses(position)
    trend = scorecard_data.monthly_trend(ctx, add_months(head.start, -9), head.end, (rep,), (), definition.ramp)
    monthly = charts.bookings_vs_target(trend, lang)
    monthly.update_layout(title={"text": t("lb.chart.monthly_title", lang)})
    score_hist = scorecard_data.score_history(ctx, head.start, head.end, scorecard_data.TREND_PERIODS, definition,
                                              Org(f.regions, f.teams, f.reps), ctx.data_dir,
                                              head.window).filter(pl.col("rep_id") == rep)
    if own_rep(ctx):  # ranked among themselves alone: no rank to write on the points
        score_hist = score_hist.with_columns(pl.lit(None, dtype=pl.Int64).alias("rank"))
    peer_ids = set(kpis["rep_id"].to_list())
    mine, theirs = review.activity_mix(kpis, {rep}), review.activity_mix(kpis, peer_ids - {rep})
    pair = (info["name"], t("lb.chart.peers", lang))
    mix = lbc.compare_bars([t(f"lb.activity.{x}", lang) for x in mine], list(mine.values()), list(theirs.values()),
                           pair, t("lb.chart.mix_title", lang), t("lb.chart.activity_type", lang),
                           t("lb.chart.share", lang), "percent", lang)
    by_stage = scorecard_data.conversion_by_stage(ctx, head.start, head.end,
                                                  Org(f.regions, f.teams, f.reps, (view.role,)))
    conv_rep = review.stage_conversion(by_stage, {rep})
    conv_peers = review.stage_conversion(by_stage, peer_ids - {rep})
    conv = conv_peers.select("stage", "position", pl.col("conversion").alias("peers")).join(
        conv_rep.select("stage", "conversion"), on="stage", how="full", coalesce=True).sort("position")
    conversion = lbc.compare_bars(conv["stage"].to_list(), conv["conversion"].to_list(), conv["peers"].to_list(),
                                  pair, t("lb.chart.conversion_title", lang), t("lb.col.stage", lang),
                                  t("metric.conversion", lang), "percent", lang) if conv.height else None
    name, params = open_deals_call(ctx, rep)
    open_deals = with_original(ctx.run(name, **params))
    return Profile(rep, info, months, ramp_note, profile_tiles(pos, lang), strength_lines(strong, pos, lang),
                   strength_lines(weak, pos, lang), lbc.peer_percentiles(position, info["name"], kpis.height, lang),
                   review.position_display(position, lang), monthly, lbc.score_history(score_hist, info["name"], lang),
                   mix, conversion, open_deals)


def profile_tiles(pos: dict[str, dict], lang: str) -> list[Tile]:
    """The profile's metric tiles: each KPI's value, its difference from the peer median, and the detail."""
    tiles = []
    for key in PROFILE_TILES:
        p = pos.get(key, {})
        value, median = p.get("value"), p.get("peer_median")
        delta = None
        if value is not None and median is not None:
            diff = value - median
            # A rate's difference is in percentage points, not a percentage of the median.
            size = t("lb.points", lang, value=f"{abs(diff) * 100:.1f}") if KPIS[key].format == "percent" \
                else fmt(key, abs(diff), lang)
            delta = ("-" if diff < 0 else "+") + size
        tiles.append(Tile(
            t(KPIS[key].label_key, lang), fmt(key, value, lang) + (" ⚠" if p.get("flagged") else ""), delta,
            "normal" if KPIS[key].higher_is_better else "inverse",
            t("lb.tile_help", lang, target=fmt("bookings", p.get("target"), lang) if key == "bookings" else
              fmt(key, p.get("target"), lang), median=fmt(key, median, lang),
              pct="–" if p.get("percentile") is None else f"{p['percentile']:.0f}")))
    return tiles


def strength_lines(keys: list[str], pos: dict[str, dict], lang: str) -> str:
    """Strengths or weaknesses as Markdown bullets with the value, the peer median and the percentile."""
    return "\n".join(
        f"- **{t(KPIS[k].label_key, lang)}**: " + t("lb.strength_line", lang, value=fmt(k, pos[k]["value"], lang),
                                                    median=fmt(k, pos[k]["peer_median"], lang),
                                                    pct=f"{pos[k]['percentile']:.0f}")
        for k in keys
    ) or t("lb.none_found", lang)


# ---------------------------------------------------------------- top performers


def load_top(ctx: DataContext, view: View) -> Top:
    """The top quartile by score against the rest: activity mix, stage conversion, per-rep measures."""
    head, lang, f = view.head, ctx.lang, ctx.filters
    by_stage = scorecard_data.conversion_by_stage(ctx, head.start, head.end,
                                                  Org(f.regions, f.teams, f.reps, (view.role,)))
    top, comparison = scorecard_data.top_performers(view.scored, by_stage, view.definition.min_sample)
    scored_reps = view.scored.scores.filter(pl.col("score").is_not_null()).height
    names = ", ".join(sorted(view.names.get(r, r) for r in top))
    if not top:
        return Top(top, scored_reps, names, comparison)
    mix = comparison.filter(pl.col("group") == "activity_mix")
    stage = comparison.filter(pl.col("group") == "stage")
    groups = (t("lb.top_group", lang), t("lb.rest_group", lang))
    mix_fig = lbc.compare_bars([t(f"lb.activity.{m}", lang) for m in mix["measure"].to_list()], mix["top"].to_list(),
                               mix["rest"].to_list(), groups, t("lb.chart.top_mix_title", lang),
                               t("lb.chart.activity_type", lang), t("lb.chart.share", lang), "percent", lang)
    stage_fig = lbc.compare_bars(stage["measure"].to_list(), stage["top"].to_list(), stage["rest"].to_list(), groups,
                                 t("lb.chart.top_conv_title", lang), t("lb.col.stage", lang),
                                 t("metric.conversion", lang), "percent", lang) if stage.height else None
    rest = set(view.scored.kpis["rep_id"].to_list()) - top
    reasons = {m: (missing_reason(view.scored.kpis, m, top, view.definition.min_sample, lang),
                   missing_reason(view.scored.kpis, m, rest, view.definition.min_sample, lang))
               for m in comparison.filter(pl.col("group") == "per_rep")["measure"].to_list()}
    return Top(top, scored_reps, names, comparison, mix_fig, stage_fig,
               per_rep_table(comparison, groups, lang, reasons))


def missing_reason(kpis: pl.DataFrame, key: str, ids: set[str], min_sample: int, lang: str) -> str:
    """Why a group's median of a per-rep measure is missing: no rep has a value, or each rests on too few deals."""
    part = kpis.filter(pl.col("rep_id").is_in(list(ids)))
    sample = KPIS[key].sample if key in KPIS else None
    values = part[key].cast(pl.Float64).fill_nan(None).drop_nulls() if key in part.columns else pl.Series([])
    has_value = values.len() > 0
    if has_value and sample and sample in part.columns:
        # Rates and averages from fewer than min_sample deals are left out of the median (lb.top_method).
        return t("lb.top_missing.few", lang, sample=t(f"lb.sample.{sample}", lang, n=min_sample))
    if sample and sample in part.columns:
        return t("lb.top_missing.none", lang, sample=t(f"lb.sample.{sample}", lang, n=0))
    return t("lb.top_missing.no_value", lang)


def per_rep_table(comparison: pl.DataFrame, groups: tuple[str, str], lang: str,
                  reasons: dict[str, tuple[str, str]] | None = None) -> pl.DataFrame:
    """The per-rep measures of the top quartile and the rest, formatted, with the relative difference; a missing
    value says why (reasons: per measure, the top's and the rest's) instead of a bare dash."""
    per_rep = comparison.filter(pl.col("group") == "per_rep")
    kinds, tops, rests = per_rep["format"].to_list(), per_rep["top"].to_list(), per_rep["rest"].to_list()
    measures = per_rep["measure"].to_list()
    why = reasons or {}

    def cell(kind: str, value: float | None, measure: str, side: int) -> str:
        """A formatted value, or the reason it is missing."""
        if value is None and measure in why:
            return why[measure][side]
        return i18n.fmt(kind, value, lang)

    return pl.DataFrame({
        t("lb.col.measure", lang): [t(f"lb.measure.{m}", lang) for m in measures],
        groups[0]: [cell(k, v, m, 0) for k, v, m in zip(kinds, tops, measures, strict=True)],
        groups[1]: [cell(k, v, m, 1) for k, v, m in zip(kinds, rests, measures, strict=True)],
        t("lb.col.difference", lang): [
            "–" if a is None or b in (None, 0) else f"{(a - b) / abs(b):+.0%}" for a, b in zip(tops, rests, strict=True)
        ],
    })


# ---------------------------------------------------------------- ratings and review pack


def review_quarters(ctx: DataContext, end: date) -> list[str]:
    """The quarters to rate or review: the period's quarter, the three before it, then any other rated quarter."""
    quarters = [scorecards.quarter_of(end)]
    for _ in range(3):
        quarters.append(scorecards.previous_quarter(quarters[-1]))
    return quarters + [q for q in ratings.quarters(ctx.data_dir) if q not in quarters]


def ratings_rows(ctx: DataContext, quarter: str, names: dict[str, str]) -> list[dict]:
    """The stored ratings of a quarter for the role's reps, one row per rep with its criteria and comment."""
    lang = ctx.lang
    return [
        {t("lb.col.rep", lang): names.get(r.rep_id, r.rep_id),
         **{t(f"lb.rating.{c}", lang): r.scores.get(c) for c in RATING_CRITERIA},
         t("lb.col.comment", lang): r.comment, t("lb.col.updated", lang): r.updated_at}
        for r in ratings.load_quarter(ctx.data_dir, quarter).values() if r.rep_id in names
    ]


def pack_subjects(head: Header) -> tuple[dict[str, str], list[str]]:
    """Who a review pack can be for: every scored rep (id to name) and every team."""
    names = dict(zip(head.all_kpis["rep_id"].to_list(), head.all_kpis["name"].to_list(), strict=True))
    return names, sorted({x for x in head.all_kpis["team"].to_list() if x})
