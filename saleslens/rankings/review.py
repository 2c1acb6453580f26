"""The quarterly review pack for a rep or a team: an offline HTML file, an Excel workbook and a PDF.

The pack is built once as sections (title, paragraphs, a table, a figure, bars for the PDF) plus the
raw tables; each format renders the same sections, so the three files tell the same story. The
HTML embeds plotly.js inline (works offline, charts stay interactive); the PDF draws its bars with
fpdf2 primitives (no browser needed).
"""

from __future__ import annotations

import html as html_lib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from saleslens.core import charts, export, i18n, pymap
from saleslens.core.filters import Filters, add_months
from saleslens.core.i18n import t
from saleslens.core.money import has_original
from saleslens.kpis import registry
from saleslens.rankings import charts as lbc
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import ratings, scorecards
from saleslens.rankings.data import Org
from saleslens.rankings.scorecards import KPIS, SCORED_ROLES, Definition
from saleslens.targets import forecast

Progress = Callable[[float, str], None]
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
TREND_QUARTERS = 4
MAX_OPEN_DEALS = 25


class ReviewError(ValueError):
    """A review pack that cannot be made (unknown rep or team, a quarter without data), in one line."""


@dataclass
class Section:
    """One part of the pack, rendered the same way in HTML and PDF."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: pl.DataFrame | None = None  # display table: every cell already formatted text
    figure: go.Figure | None = None
    bars: list[tuple[str, float, str]] = field(default_factory=list)  # PDF: label, length 0..1, text
    bars_title: str = ""
    marks: list[float | None] = field(default_factory=list)  # PDF: a target tick per bar, 0..1


@dataclass
class Pack:
    """A review pack: title lines, sections, and the raw tables behind them (for the workbook)."""

    title: str
    subtitle: list[str]
    lang: str
    sections: list[Section]
    tables: dict[str, pl.DataFrame]
    slug: str


# ---------------------------------------------------------------- formatting helpers


def _fmt(kind: str, value: object, lang: str) -> str:
    return i18n.fmt(kind, value, lang) if kind in i18n.FORMATTERS else ("–" if value is None else str(value))


def _display(frame: pl.DataFrame, spec: list[tuple[str, str, str]], lang: str) -> pl.DataFrame:
    """A table for reading: chosen columns, translated headers, values formatted as text.

    spec: (column, header key, kind) with kind a formatter name, "text", "date", "quarter", "score" or "change".
    """
    out = {}
    for col, header, kind in spec:
        values = frame[col].to_list() if col in frame.columns else [None] * frame.height
        if kind == "date":
            cells = [i18n.day(v, lang) for v in values]
        elif kind == "score":
            cells = ["–" if v is None else f"{v:.1f}" for v in values]
        elif kind == "text":
            cells = ["–" if v is None else str(v) for v in values]
        elif kind == "change":
            cells = ["–" if v is None else f"▲ {v}" if v > 0 else f"▼ {-v}" if v < 0 else "=" for v in values]
        elif kind == "quarter":
            cells = [scorecards.quarter_of(v) for v in values]
        else:
            cells = [_fmt(kind, v, lang) for v in values]
        out[t(header, lang)] = cells
    return pl.DataFrame(out, schema={k: pl.String for k in out})


def _with_original(spec: list[tuple[str, str, str]], frame: pl.DataFrame) -> list[tuple[str, str, str]]:
    """A deal table's columns with the original amount and currency after the amount when the deals carry a
    currency; as it was for single-currency data."""
    if not has_original(frame):
        return spec
    at = next((i + 1 for i, (col, _, _) in enumerate(spec) if col == "amount"), len(spec))
    return [*spec[:at], ("amount_original", "money.col.amount_original", "count"),
            ("currency", "money.col.currency", "text"), *spec[at:]]


def _sheet(frame: pl.DataFrame, spec: list[tuple[str, str, str]], lang: str) -> pl.DataFrame:
    """The same columns for the workbook: numbers stay numbers, headers translated."""
    cols = [pl.col(c).alias(t(h, lang)) if c in frame.columns else pl.lit(None).alias(t(h, lang))
            for c, h, _ in spec]
    return frame.select(cols)


def _method_text(method: str, lang: str) -> str:
    return t(f"lb.method.{method}", lang)


def _kpi_value(key: str, value: object, lang: str) -> str:
    if scorecards.is_rating(key):
        return "–" if value is None else f"{value:.0f} / {scorecards.RATING_SCALE[1]}"
    return _fmt(KPIS[key].format, value, lang)


def breakdown_display(parts: pl.DataFrame, lang: str) -> pl.DataFrame:
    """A rep's score breakdown for reading: KPI, value, target, method, normalised, weights, contribution."""
    rows = []
    for r in parts.iter_rows(named=True):
        key = r["kpi"]
        kind = "rating" if scorecards.is_rating(key) else KPIS[key].format
        target = "–" if r["target"] is None or kind == "rating" else _fmt(
            "money" if key in ("bookings", "attainment") else kind, r["target"], lang)
        rows.append({
            t("lb.col.kpi", lang): lbc.kpi_label(key, lang),
            t("lb.col.value", lang): _kpi_value(key, r["value"], lang) + (" ⚠" if r["flagged"] else ""),
            t("lb.col.target", lang): target,
            t("lb.col.method", lang): _method_text(r["method"], lang),
            t("lb.col.normalised", lang): "–" if r["normalised"] is None else f"{r['normalised']:.1f}",
            t("lb.col.weight", lang): f"{r['weight']:.0f}",
            t("lb.col.effective_weight", lang): i18n.percent(r["effective_weight"], lang),
            t("lb.col.contribution", lang): "–" if r["contribution"] is None else f"{r['contribution']:.1f}",
        })
    return pl.DataFrame(rows)


def position_display(position: pl.DataFrame, lang: str) -> pl.DataFrame:
    """A rep's KPIs against target and the peer median, for reading."""
    rows = []
    for r in position.iter_rows(named=True):
        kind = KPIS[r["kpi"]].format
        att = r["value"] / r["target"] if r["target"] and r["value"] is not None else None
        rows.append({
            t("lb.col.kpi", lang): lbc.kpi_label(r["kpi"], lang),
            t("lb.col.value", lang): _fmt(kind, r["value"], lang) + (" ⚠" if r["flagged"] else ""),
            t("lb.col.target", lang): _fmt(kind, r["target"], lang),
            t("lb.col.of_target", lang): i18n.percent(att, lang),
            t("lb.col.peer_median", lang): _fmt(kind, r["peer_median"], lang),
            t("lb.col.percentile", lang): "–" if r["percentile"] is None else f"{r['percentile']:.0f}",
        })
    return pl.DataFrame(rows)


def activity_mix(kpis: pl.DataFrame, ids: set[str]) -> dict[str, float | None]:
    """Each activity type's share of the activities of some reps (pooled)."""
    part = kpis.filter(pl.col("rep_id").is_in(list(ids)))
    total = part["activities"].sum() if part.height else 0
    return {typ: (float(part[col].sum()) / total if total else None)
            for typ, col in scorecards.ACTIVITY_TYPE_COLUMNS.items()}


def stage_conversion(by_stage: pl.DataFrame, ids: set[str]) -> pl.DataFrame:
    """Pooled conversion out of each stage for some reps: forward moves over all moves out."""
    part = by_stage.filter(pl.col("rep_id").is_in(list(ids)))
    return (part.group_by("stage", "position").agg(pl.col("exits").sum(), pl.col("forward").sum())
            .with_columns((pl.col("forward") / pl.col("exits")).alias("conversion")).sort("position"))


def method_section(definition_names: list[str], min_sample: int, cap: float, lang: str) -> Section:
    """How the score is made, in words, and the written definition of every KPI."""
    paragraphs = [t("lb.method_text.intro", lang, scorecards=", ".join(definition_names)),
                  t("lb.method_text.normalise", lang, cap=f"{cap * 100:.0f}%"),
                  t("lb.method_text.flags", lang, n=min_sample),
                  t("lb.method_text.weights", lang), t("lb.method_text.ramp", lang),
                  t("lb.method_text.ranks", lang)]
    table = pl.DataFrame({
        t("lb.col.kpi", lang): [t(k.label_key, lang) for k in KPIS.values()],
        t("lb.col.definition", lang): [t(k.definition_key, lang) for k in KPIS.values()],
    })
    return Section(t("lb.review.method", lang), paragraphs, table)


def _bars(labels: list[str], values: list[float | None], texts: list[str], top: float | None = None
          ) -> list[tuple[str, float, str]]:
    """Bars for the PDF: lengths scaled to the largest value (or `top`)."""
    known = [v for v in values if v is not None]
    scale = top or (max(known) if known else 0) or 1
    return [(lab, max(0.0, min((v or 0) / scale, 1.0)), txt) for lab, v, txt in zip(labels, values, texts,
                                                                                     strict=True)]


# ---------------------------------------------------------------- building


@dataclass(frozen=True)
class Request:
    """What to review: a rep or a team, a quarter, in a language, with the scorecards per role."""

    quarter: str
    rep: str | None = None
    team: str | None = None
    lang: str = "en"
    definitions: dict[str, Definition] = field(default_factory=dict, hash=False)

    def definition(self, role: str) -> Definition:
        """The scorecard for a role: the one chosen, else the role's default."""
        return self.definitions.get(role) or scorecards.default_definition(role)


def _quarter(req: Request, as_of: date) -> tuple[date, date]:
    try:
        start, end = scorecards.parse_quarter(req.quarter)
    except ValueError as exc:
        raise ReviewError(str(exc)) from None
    if start > as_of:
        raise ReviewError(f"{req.quarter} starts after the data ends ({as_of.isoformat()}); pick an earlier quarter")
    return start, end


def _window(start: date, end: date) -> scorecard_data.Window:
    """The quarter and the ones before it that the pack shows, read in one KPI query."""
    return scorecard_data.Window(start, end, TREND_QUARTERS)


def build(runner: scorecard_data.RunsQueries, data_dir: Path | None, as_of: date, req: Request,
          progress: Progress | None = None) -> Pack:
    """Build the pack for a rep or a team (exactly one of them)."""
    if bool(req.rep) == bool(req.team):
        raise ReviewError("give either a rep or a team to review")
    start, end = _quarter(req, as_of)
    step = progress or (lambda f, m: None)
    step(0.05, t("lb.review.progress_kpis", req.lang))
    everyone = scorecard_data.kpis(runner, start, end, Org(roles=SCORED_ROLES), within=_window(start, end))
    if req.rep:
        return _rep_pack(runner, data_dir, as_of, req, start, end, everyone, step)
    return _team_pack(runner, data_dir, as_of, req, start, end, everyone, step)


def _forecast_line(runner: object, as_of: date, start: date, end: date, lang: str, **group: tuple[str, ...]
                   ) -> list[str]:
    """The one forecast (saleslens.targets.forecast) of a quarter still running, as a line; none otherwise."""
    if not (start <= as_of <= end) or getattr(runner, "snapshot", None) is None:
        return []
    out = forecast.model_forecast(runner, Filters(**group))
    if out.low is None:
        return [t("targets.forecast.review_line_no_range", lang, forecast=i18n.money(out.expected, lang),
                  closed=i18n.money(out.closed, lang), method=out.method)]
    return [t("targets.forecast.review_line", lang, forecast=i18n.money(out.expected, lang),
              closed=i18n.money(out.closed, lang), low=i18n.money(out.low, lang), high=i18n.money(out.high, lang),
              coverage=i18n.percent(out.coverage, lang))]


def _header(req: Request, as_of: date, definition_names: list[str]) -> list[str]:
    lang = req.lang
    start, end = scorecards.parse_quarter(req.quarter)
    return [
        t("lb.review.period", lang, quarter=req.quarter, start=i18n.day(start, lang), end=i18n.day(end, lang)),
        t("lb.review.as_of", lang, date=i18n.day(as_of, lang),
          note=t("lb.review.partial", lang) if as_of < end else ""),
        t("lb.review.scorecards", lang, names=", ".join(definition_names)),
        t("lb.review.generated", lang, when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def _definition_name(d: Definition, lang: str) -> str:
    return t("lb.default_scorecard", lang, role=d.role) if d.name.startswith("default:") else d.name


def _kpi_spec(key: str) -> tuple[str, str, str]:
    """A registered KPI's column in a sheet: its key, with label and format from the registry."""
    kpi = registry.REGISTRY[key]
    return key, kpi.label_key, kpi.format


KPI_SPEC = [
    ("name", "lb.col.rep", "text"), ("role", "lb.col.role", "text"), ("team", "lb.col.team", "text"),
    _kpi_spec("bookings"), ("bookings_target", "lb.col.bookings_target", "money"),
    *map(_kpi_spec, ("attainment", "deals_won", "deals_lost", "win_rate", "avg_deal_size", "cycle_days",
                     "new_logos", "pipeline_created", "activities", "conversion", "lead_conversion")),
    # The rep's pipeline open now, whatever its expected close: not the registry's in-period open_pipeline.
    ("open_pipeline", "lb.col.open_pipeline", "money"),
]
OPEN_SPEC = [
    ("owner_name", "lb.col.rep", "text"), ("account_name", "lb.col.account", "text"),
    ("stage", "lb.col.stage", "text"), ("amount", "lb.col.amount", "money"),
    ("expected_close_date", "lb.col.expected_close", "date"), ("age_days", "lb.col.age", "days"),
]
CONV_SPEC = [
    ("stage", "lb.col.stage", "text"), ("exits", "lb.col.exits", "count"), ("forward", "lb.col.forward", "count"),
    ("conversion", "lb.col.rep_conv", "percent"), ("peer_conversion", "lb.col.peer_conv", "percent"),
]
DEALS_SPEC = [
    ("opportunity_id", "lb.col.deal", "text"), ("owner_name", "lb.col.rep", "text"),
    ("account_name", "lb.col.account", "text"), ("status", "lb.col.status", "text"),
    ("amount", "lb.col.amount", "money"), ("created_date", "lb.col.created", "date"),
    ("close_date", "lb.col.closed", "date"), ("cycle_days", "metric.cycle_days", "days"),
    ("first_win_with_account", "lb.col.new_logo", "text"),
]


def _trend_section(runner, req: Request, start: date, end: date, reps: tuple[str, ...], teams: tuple[str, ...],
                   ramp: tuple[float, ...]) -> tuple[Section, pl.DataFrame]:
    lang = req.lang
    trend = scorecard_data.monthly_trend(runner, add_months(start, -3 * (TREND_QUARTERS - 1)), end, reps, teams, ramp)
    fig = charts.bookings_vs_target(trend, lang)
    fig.update_layout(title={"text": t("lb.chart.monthly_title", lang)})
    labels = [i18n.month(m, lang) for m in trend["month"].to_list()]
    texts = [f"{i18n.money(b, lang)} / {i18n.money(tg, lang)}"
             for b, tg in zip(trend["bookings"].to_list(), trend["target"].to_list(), strict=True)]
    top = max([v for v in trend["bookings"].to_list() + trend["target"].to_list() if v is not None] or [1])
    section = Section(t("lb.review.trend", lang), [t("lb.review.trend_text", lang)], figure=fig,
                      bars=_bars(labels, trend["bookings"].to_list(), texts, top),
                      bars_title=t("lb.review.trend_bars", lang),
                      marks=[None if tg is None else tg / top for tg in trend["target"].to_list()])
    return section, trend


def _rep_pack(runner, data_dir, as_of, req: Request, start, end, everyone: pl.DataFrame, step: Progress) -> Pack:
    lang, rep = req.lang, req.rep
    row = everyone.filter(pl.col("rep_id") == rep)
    if row.height == 0:
        raise ReviewError(f"no AE, SDR or CSM with id '{rep}' worked in {req.quarter}")
    info = row.row(0, named=True)
    role, name = info["role"], info["name"]
    definition = req.definition(role)
    step(0.2, t("lb.review.progress_scores", lang))
    scored = scorecard_data.scored_with_change(runner, start, end, definition, Org(), data_dir, _window(start, end))
    srow = scored.scores.filter(pl.col("rep_id") == rep).row(0, named=True)
    parts = scored.breakdown.filter(pl.col("rep_id") == rep)
    peers = scored.kpis.height
    position = scorecards.peer_position(scored.kpis, rep, min_sample=definition.min_sample)
    strong, weak = scorecards.strengths_weaknesses(position)
    sections: list[Section] = []

    # Summary
    prev = srow.get("prev_rank")
    summary = [t("lb.review.summary_score", lang, score="–" if srow["score"] is None else f"{srow['score']:.1f}",
                 rank=srow["rank"] or "–", peers=peers, role=role,
                 previous=t("lb.review.prev_rank", lang, rank=prev) if prev else t("lb.review.no_prev", lang))]
    if info.get("bookings_target"):
        summary.append(t("lb.review.summary_target", lang, bookings=i18n.money(info["bookings"], lang),
                         target=i18n.money(info["bookings_target"], lang),
                         attainment=i18n.percent(info["attainment"], lang)))
        if (info.get("ramp_factor") or 1) < 1:
            summary.append(t("lb.review.ramped", lang, full=i18n.money(info["bookings_target_full"], lang),
                             factor=i18n.percent(info["ramp_factor"], lang)))
    if srow.get("flags"):
        summary.append(t("lb.review.flags", lang, n=srow["flags"], min=definition.min_sample))
    summary += _forecast_line(runner, as_of, start, end, lang, reps=(rep,))
    sections.append(Section(t("lb.review.summary", lang), summary))

    # Score breakdown
    name_fig = lbc.score_waterfall(parts, name, lang)
    sections.append(Section(
        t("lb.review.breakdown", lang), [t("lb.review.breakdown_text", lang)], breakdown_display(parts, lang),
        name_fig, _bars([lbc.kpi_label(k, lang) for k in parts["kpi"].to_list()], parts["contribution"].to_list(),
                        [f"{c or 0:.1f}" for c in parts["contribution"].to_list()]),
        t("lb.review.breakdown_bars", lang)))

    # Against target and peers, strengths and weaknesses
    known = position.filter(pl.col("percentile").is_not_null())
    sections.append(Section(
        t("lb.review.vs_peers", lang), [t("lb.review.vs_peers_text", lang, peers=peers, role=role)],
        position_display(position, lang), lbc.peer_percentiles(position, name, peers, lang),
        _bars([lbc.kpi_label(k, lang) for k in known["kpi"].to_list()], known["percentile"].to_list(),
              [f"{p:.0f}" for p in known["percentile"].to_list()], 100.0),
        t("lb.review.percentile_bars", lang)))
    sw = [t("lb.review.strengths", lang, items=", ".join(lbc.kpi_label(k, lang) for k in strong) or "–"),
          t("lb.review.weaknesses", lang, items=", ".join(lbc.kpi_label(k, lang) for k in weak) or "–")]
    sections.append(Section(t("lb.review.strengths_title", lang), sw))

    # Trends
    step(0.4, t("lb.review.progress_trends", lang))
    trend_section, trend = _trend_section(runner, req, start, end, (rep,), (), definition.ramp)
    hist = scorecard_data.score_history(runner, start, end, TREND_QUARTERS, definition, Org(), data_dir,
                                        _window(start, end))
    hist = hist.filter(pl.col("rep_id") == rep)
    sections.append(trend_section)
    quarters = [scorecards.quarter_of(d) for d in hist["period_start"].to_list()]
    sections.append(Section(
        t("lb.review.score_trend", lang), [t("lb.review.score_trend_text", lang, role=role)],
        _display(hist, [("period_start", "lb.col.quarter", "quarter"), ("score", "lb.col.score", "score"),
                        ("rank", "lb.col.rank", "text")], lang),
        lbc.score_history(hist, name, lang) if hist.height > 1 else None,
        _bars(quarters, hist["score"].to_list(),
              [("–" if s is None else f"{s:.1f}") + (f" (#{r})" if r else "")
               for s, r in zip(hist["score"].to_list(), hist["rank"].to_list(), strict=True)]),
        t("lb.review.score_bars", lang)))

    # Activity mix and conversion by stage, against peers
    step(0.6, t("lb.review.progress_activity", lang))
    peer_ids = set(scored.kpis["rep_id"].to_list())
    mine, theirs = activity_mix(scored.kpis, {rep}), activity_mix(scored.kpis, peer_ids - {rep})
    types = list(mine)
    type_labels = [t(f"lb.activity.{x}", lang) for x in types]
    mix = pl.DataFrame({"type": types, "rep_share": [mine[x] for x in types], "peer_share": [theirs[x] for x in types],
                        "count": [int(info[scorecards.ACTIVITY_TYPE_COLUMNS[x]]) for x in types]})
    mix_fig = lbc.compare_bars(type_labels, mix["rep_share"].to_list(), mix["peer_share"].to_list(),
                               (name, t("lb.chart.peers", lang)), t("lb.chart.mix_title", lang),
                               t("lb.chart.activity_type", lang), t("lb.chart.share", lang), "percent", lang)
    mix_table = pl.DataFrame({
        t("lb.chart.activity_type", lang): type_labels,
        t("lb.col.count", lang): [i18n.count(c, lang) for c in mix["count"].to_list()],
        name: [i18n.percent(v, lang) for v in mix["rep_share"].to_list()],
        t("lb.chart.peers", lang): [i18n.percent(v, lang) for v in mix["peer_share"].to_list()],
    })
    sections.append(Section(t("lb.review.activity", lang),
                            [t("lb.review.activity_text", lang, n=i18n.count(info["activities"], lang))],
                            mix_table, mix_fig,
                            _bars(type_labels, mix["rep_share"].to_list(),
                                  [i18n.percent(v, lang) for v in mix["rep_share"].to_list()], 1.0),
                            t("lb.review.activity_bars", lang)))
    by_stage = scorecard_data.conversion_by_stage(runner, start, end, Org(roles=(role,)))
    conv_rep, conv_peers = stage_conversion(by_stage, {rep}), stage_conversion(by_stage, peer_ids - {rep})
    conv = conv_peers.select("stage", "position", pl.col("conversion").alias("peer_conversion")).join(
        conv_rep.select("stage", "exits", "forward", "conversion"), on="stage", how="full", coalesce=True
    ).sort("position")
    if conv.height:
        conv_fig = lbc.compare_bars(conv["stage"].to_list(), conv["conversion"].to_list(),
                                    conv["peer_conversion"].to_list(), (name, t("lb.chart.peers", lang)),
                                    t("lb.chart.conversion_title", lang), t("lb.col.stage", lang),
                                    t("metric.conversion", lang), "percent", lang)
        conv_table = _display(conv, CONV_SPEC, lang)
        sections.append(Section(t("lb.review.conversion", lang), [t("lb.review.conversion_text", lang)],
                                conv_table, conv_fig,
                                _bars(conv["stage"].to_list(), conv["conversion"].to_list(),
                                      [i18n.percent(v, lang) for v in conv["conversion"].to_list()], 1.0),
                                t("lb.review.conversion_bars", lang)))

    # Open deals, the deals behind the numbers, the manager's assessment
    step(0.75, t("lb.review.progress_deals", lang))
    open_section, open_deals, deals = _deals(runner, lang, OPEN_SPEC[1:], start, end, as_of, reps=[rep])
    sections.append(open_section)
    rating = ratings.load(data_dir, req.quarter, rep) if data_dir else None
    sections.append(_ratings_section({rep: name}, {rep: rating} if rating else {}, lang))
    names = [_definition_name(definition, lang)]
    sections.append(method_section(names, definition.min_sample, definition.cap, lang))

    tables = {
        t("lb.sheet.summary", lang): _sheet(row, KPI_SPEC, lang),
        t("lb.sheet.breakdown", lang): _breakdown_sheet(parts, {rep: name}, lang),
        t("lb.sheet.vs_peers", lang): _position_sheet(position, lang),
        t("lb.sheet.monthly", lang): _sheet(trend, [("month", "lb.col.month", "date"),
                                                    ("bookings", "metric.bookings", "money"),
                                                    ("target", "lb.col.bookings_target", "money"),
                                                    ("attainment", "metric.attainment", "percent")], lang),
        t("lb.sheet.history", lang): _sheet(hist, [("period_start", "lb.col.period_start", "date"),
                                                   ("period_end", "lb.col.period_end", "date"),
                                                   ("score", "lb.col.score", "score"),
                                                   ("rank", "lb.col.rank", "count")], lang),
        t("lb.sheet.activity", lang): mix.with_columns(pl.col("type").replace_strict(dict(zip(types, type_labels,
                                                                                              strict=True))))
        .rename({"type": t("lb.chart.activity_type", lang), "count": t("lb.col.count", lang),
                 "rep_share": name, "peer_share": t("lb.chart.peers", lang)}),
        t("lb.sheet.conversion", lang): _sheet(conv, CONV_SPEC, lang),
        t("lb.sheet.deals", lang): _sheet(deals, _with_original(DEALS_SPEC, deals), lang),
        t("lb.sheet.open_deals", lang): _sheet(open_deals, _with_original(OPEN_SPEC, open_deals), lang),
        t("lb.sheet.ratings", lang): _ratings_sheet({rep: name}, {rep: rating} if rating else {}, lang),
        t("lb.sheet.definitions", lang): sections[-1].table,
    }
    step(0.9, t("lb.review.progress_render", lang))
    title = t("lb.review.title_rep", lang, name=name, role=role, team=info.get("team") or "–")
    return Pack(title, _header(req, as_of, names), lang, sections, tables, f"review-{rep}-{req.quarter}")


def _kpi_labels(frame: pl.DataFrame, lang: str) -> pl.Series:
    """A frame's kpi column as translated labels (on this thread: no Python function in Polars' pool, see pymap)."""
    return pymap.map_values(frame["kpi"], lambda k: lbc.kpi_label(k, lang), pl.String).alias(t("lb.col.kpi", lang))


def _breakdown_sheet(breakdown: pl.DataFrame, names: dict[str, str], lang: str) -> pl.DataFrame:
    return breakdown.select(
        pl.col("rep_id").replace_strict(names, default=None).alias(t("lb.col.rep", lang)),
        _kpi_labels(breakdown, lang),
        pl.col("value").alias(t("lb.col.value", lang)), pl.col("target").alias(t("lb.col.target", lang)),
        pymap.map_values(breakdown["method"], lambda m: _method_text(m, lang), pl.String)
        .alias(t("lb.col.method", lang)),
        pl.col("flagged").alias(t("lb.col.flagged", lang)),
        pl.col("normalised").alias(t("lb.col.normalised", lang)), pl.col("weight").alias(t("lb.col.weight", lang)),
        pl.col("effective_weight").alias(t("lb.col.effective_weight", lang)),
        pl.col("contribution").alias(t("lb.col.contribution", lang)),
    )


def _position_sheet(position: pl.DataFrame, lang: str) -> pl.DataFrame:
    return position.select(
        _kpi_labels(position, lang),
        pl.col("value").alias(t("lb.col.value", lang)), pl.col("target").alias(t("lb.col.target", lang)),
        pl.col("peer_median").alias(t("lb.col.peer_median", lang)),
        pl.col("percentile").alias(t("lb.col.percentile", lang)), pl.col("flagged").alias(t("lb.col.flagged", lang)),
    )


def _ratings_rows(names: dict[str, str], stored: dict[str, ratings.Rating], lang: str) -> list[dict]:
    rows = []
    for rep, name in names.items():
        r = stored.get(rep)
        row = {t("lb.col.rep", lang): name}
        for c in scorecards.RATING_CRITERIA:
            v = r.scores.get(c) if r else None
            row[t(f"lb.rating.{c}", lang)] = "–" if v is None else f"{v} / {scorecards.RATING_SCALE[1]}"
        row[t("lb.col.comment", lang)] = (r.comment if r and r.comment else "–")
        rows.append(row)
    return rows


def _deals(runner: scorecard_data.RunsQueries, lang: str, spec: list[tuple[str, str, str]], start: date, end: date,
           as_of: date, **who: list[str]) -> tuple[Section, pl.DataFrame, pl.DataFrame]:
    """A rep's or a team's (`who`: reps=[...] or teams=[...]) open-deals section, its open deals, and the deals
    behind the numbers."""
    open_deals = runner.run("rep_open_deals_by_deal", **who, as_of=as_of)
    deals = runner.run("rep_deals_by_deal", start=start, end=end, **who)
    section = Section(
        t("lb.review.open_deals", lang),
        [t("lb.review.open_text", lang, n=open_deals.height, amount=i18n.money(open_deals["amount"].sum(), lang))],
        _display(open_deals.head(MAX_OPEN_DEALS), _with_original(spec, open_deals), lang))
    return section, open_deals, deals


def _ratings_section(names: dict[str, str], stored: dict[str, ratings.Rating], lang: str) -> Section:
    rows = _ratings_rows(names, stored, lang)
    note = [t("lb.review.ratings_text", lang) if stored else t("lb.review.no_ratings", lang)]
    return Section(t("lb.review.ratings", lang), note, pl.DataFrame(rows) if rows else None)


def _ratings_sheet(names: dict[str, str], stored: dict[str, ratings.Rating], lang: str) -> pl.DataFrame:
    rows = _ratings_rows(names, stored, lang)
    return pl.DataFrame(rows) if rows else pl.DataFrame({t("lb.col.rep", lang): []})


def _team_pack(runner, data_dir, as_of, req: Request, start, end, everyone: pl.DataFrame, step: Progress) -> Pack:
    lang, team = req.lang, req.team
    members = everyone.filter(pl.col("team") == team)
    if members.height == 0:
        raise ReviewError(f"team '{team}' has no AE, SDR or CSM working in {req.quarter}")
    names = dict(zip(members["rep_id"].to_list(), members["name"].to_list(), strict=True))
    scores, parts, used = [], [], []
    roles = members["role"].unique(maintain_order=True).sort().to_list()
    for n, role in enumerate(roles):
        step(0.1 + 0.4 * n / len(roles), t("lb.review.progress_scores", lang))
        definition = req.definition(role)
        used.append(definition)
        scored = scorecard_data.scored_with_change(runner, start, end, definition, Org(), data_dir,
                                                   _window(start, end))
        peers = scored.kpis.height
        scores.append(scored.scores.filter(pl.col("team") == team).with_columns(pl.lit(peers).alias("peers")))
        parts.append(scored.breakdown.filter(pl.col("rep_id").is_in(list(names))))
    member_scores = pl.concat(scores, how="diagonal_relaxed").join(
        members.select("rep_id", "bookings", "bookings_target", "attainment", "win_rate", "pipeline_created",
                       "activities", "closed_deals"), on="rep_id", how="left").sort(["role", "rank"], nulls_last=True)
    breakdown = pl.concat(parts, how="diagonal_relaxed")
    sections: list[Section] = []

    bookings, target = members["bookings"].sum(), members["bookings_target"].sum()
    summary = [t("lb.review.team_summary", lang, n=members.height, bookings=i18n.money(bookings, lang),
                 target=i18n.money(target, lang) if target else "–",
                 attainment=i18n.percent(bookings / target, lang) if target else "–")]
    summary.append(t("lb.review.team_peers", lang))
    summary += _forecast_line(runner, as_of, start, end, lang, teams=(team,))
    sections.append(Section(t("lb.review.summary", lang), summary))

    spec = [("name", "lb.col.rep", "text"), ("role", "lb.col.role", "text"), ("score", "lb.col.score", "score"),
            ("rank", "lb.col.rank", "text"), ("peers", "lb.col.of_peers", "text"),
            ("rank_change", "lb.col.change", "change"), ("attainment", "metric.attainment", "percent"),
            ("bookings", "metric.bookings", "money"), ("win_rate", "metric.win_rate", "percent"),
            ("pipeline_created", "metric.pipeline_created", "money"), ("activities", "metric.activities", "count"),
            ("flags", "lb.col.flags", "text")]
    sections.append(Section(
        t("lb.review.members", lang), [t("lb.review.members_text", lang)], _display(member_scores, spec, lang),
        lbc.member_scores(member_scores, lang),
        _bars(member_scores["name"].to_list(), member_scores["score"].to_list(),
              ["–" if s is None else f"{s:.1f}" for s in member_scores["score"].to_list()]),
        t("lb.review.member_bars", lang)))

    step(0.6, t("lb.review.progress_trends", lang))
    ramp = used[0].ramp if used else scorecards.DEFAULT_RAMP
    trend_section, trend = _trend_section(runner, req, start, end, (), (team,), ramp)
    trend_section.paragraphs = [t("lb.review.team_trend_text", lang)]
    sections.append(trend_section)

    step(0.7, t("lb.review.progress_activity", lang))
    mix_rows = members.select("name", *scorecards.ACTIVITY_TYPE_COLUMNS.values(), "activities")
    type_labels = [t(f"lb.activity.{x}", lang) for x in scorecards.ACTIVITY_TYPE_COLUMNS]
    mix_display = mix_rows.rename({"name": t("lb.col.rep", lang), "activities": t("metric.activities", lang),
                                   **dict(zip(scorecards.ACTIVITY_TYPE_COLUMNS.values(), type_labels, strict=True))})
    sections.append(Section(t("lb.review.activity", lang), [t("lb.review.team_activity_text", lang)],
                            mix_display.with_columns(pl.all().cast(pl.String))))

    step(0.8, t("lb.review.progress_deals", lang))
    open_section, open_deals, deals = _deals(runner, lang, OPEN_SPEC, start, end, as_of, teams=[team])
    sections.append(open_section)
    stored = {r: v for r, v in (ratings.load_quarter(data_dir, req.quarter) if data_dir else {}).items()
              if r in names}
    sections.append(_ratings_section(names, stored, lang))
    def_names = [_definition_name(d, lang) for d in used]
    sections.append(method_section(def_names, used[0].min_sample, used[0].cap, lang))
    breakdown_sheet = _breakdown_sheet(breakdown, names, lang)
    tables = {
        t("lb.sheet.members", lang): _sheet(member_scores, spec, lang),
        t("lb.sheet.kpis", lang): _sheet(members, KPI_SPEC, lang),
        t("lb.sheet.breakdown", lang): breakdown_sheet,
        t("lb.sheet.monthly", lang): _sheet(trend, [("month", "lb.col.month", "date"),
                                                    ("bookings", "metric.bookings", "money"),
                                                    ("target", "lb.col.bookings_target", "money"),
                                                    ("attainment", "metric.attainment", "percent")], lang),
        t("lb.sheet.activity", lang): mix_display,
        t("lb.sheet.deals", lang): _sheet(deals, _with_original(DEALS_SPEC, deals), lang),
        t("lb.sheet.open_deals", lang): _sheet(open_deals, _with_original(OPEN_SPEC, open_deals), lang),
        t("lb.sheet.ratings", lang): _ratings_sheet(names, stored, lang),
        t("lb.sheet.definitions", lang): sections[-1].table,
    }
    step(0.9, t("lb.review.progress_render", lang))
    slug = "".join(c if c.isalnum() else "-" for c in team).strip("-") or "team"
    return Pack(t("lb.review.title_team", lang, team=team), _header(req, as_of, def_names), lang, sections, tables,
                f"review-team-{slug}-{req.quarter}")


# ---------------------------------------------------------------- rendering

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;
color:#0f172a;max-width:1100px;margin:24px auto;padding:0 20px;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #e2e8f0;
padding-bottom:.25rem} .sub{color:#475569;margin:.1rem 0} table{border-collapse:collapse;width:100%;
font-size:.88rem;margin:.6rem 0} th,td{border-bottom:1px solid #e2e8f0;padding:.3rem .5rem;text-align:left;
vertical-align:top} th{background:#f8fafc} td{white-space:pre-wrap} .chart{margin:.5rem 0}
@media print{.chart{page-break-inside:avoid}}
"""


def _table_html(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html_lib.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_lib.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(pack: Pack) -> str:
    """A self-contained HTML page: plotly.js embedded once, inline, so it works offline."""
    parts = [f"<!DOCTYPE html><html lang=\"{'zh-CN' if pack.lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">",
             f"<title>{html_lib.escape(pack.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html_lib.escape(pack.title)}</h1>"]
    parts += [f"<p class=\"sub\">{html_lib.escape(line)}</p>" for line in pack.subtitle]
    plotly_included = False
    config = {"displaylogo": False, "responsive": True}
    for section in pack.sections:
        parts.append(f"<h2>{html_lib.escape(section.title)}</h2>")
        parts += [f"<p>{html_lib.escape(p)}</p>" for p in section.paragraphs]
        if section.figure is not None:
            fig_html = section.figure.to_html(full_html=False, include_plotlyjs=not plotly_included, config=config)
            plotly_included = True
            parts.append(f"<div class=\"chart\">{fig_html}</div>")
        if section.table is not None and section.table.height:
            parts.append(_table_html(section.table))
    parts.append("</body></html>")
    return "\n".join(parts)


def to_excel(pack: Pack) -> bytes:
    """The tables behind the pack, one sheet each (formula injection neutralised by saleslens.core.export)."""
    frames = {}
    for name, frame in pack.tables.items():
        clean = name.translate({ord(c): " " for c in "[]:*?/\\"})[:31]
        frames[clean] = frame if frame.width else pl.DataFrame({"-": []})
    return export.to_excel(frames)


# Chinese PDFs use Noto Sans CJK from Debian's fonts-noto-cjk (installed by .ci/run, named in the README): .ttc
# collections under /usr/share/fonts/opentype/noto. Other installs (a single .otf/.ttf, WenQuanYi, Source Han) work too.
FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
CJK_PATTERNS = ("**/NotoSansCJK-Regular.ttc", "**/NotoSansCJK*-Regular.otf", "**/NotoSansSC*-Regular.*tf",
                "**/NotoSansCJK*.ttc", "**/NotoSansSC*.ttf", "**/NotoSansCJK*.ttf", "**/SourceHanSans*.ttc",
                "**/SourceHanSans*.otf", "**/wqy*.ttc", "**/wqy*.ttf", "**/DroidSansFallback*.ttf")
MISSING_CJK_FONT = ("no Chinese font found (looked for Noto Sans CJK under /usr/share/fonts): install Debian's "
                    "fonts-noto-cjk (apt-get install fonts-noto-cjk) for a Chinese PDF; it is written in English")


@dataclass(frozen=True)
class CjkFont:
    """A font file with Chinese glyphs: regular and bold files, and the Simplified Chinese face of a collection."""

    regular: Path
    bold: Path
    index: int = 0


def cjk_font() -> Path | None:
    """A font file with Chinese glyphs, if the system has one (the PDF needs it for Chinese)."""
    found = _cjk_font()
    return found.regular if found else None


@cache
def _cjk_font() -> CjkFont | None:
    """The first installed CJK font by CJK_PATTERNS, with its bold sibling when there is one."""
    for pattern in CJK_PATTERNS:
        for root in FONT_ROOTS:
            found = sorted(root.glob(pattern)) if root.is_dir() else []
            if found:
                regular = found[0]
                bold = regular.with_name(regular.name.replace("Regular", "Bold"))
                bold = bold if bold != regular and bold.exists() else regular
                return CjkFont(regular, bold, _sc_face(regular))
    return None


def _sc_face(path: Path) -> int:
    """The Simplified Chinese face of a font collection (.ttc holds JP, KR, SC, TC...); 0 for a single font."""
    if path.suffix.lower() != ".ttc":
        return 0
    try:
        from fontTools.ttLib import TTCollection  # fpdf2's own dependency

        names = [str(f["name"].getDebugName(4) or "") for f in TTCollection(str(path), lazy=True).fonts]
    except Exception:  # an unreadable collection: its first face still has the CJK ideographs
        return 0
    return next((i for i, n in enumerate(names) if n.endswith((" SC", " CN", "SC Regular"))), 0)


def _fonts() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


def pdf_language(lang: str) -> str:
    """The language the PDF can be written in: Chinese needs a Chinese font, else English."""
    if lang == "en" or _cjk_font() is not None:
        return lang
    logging.getLogger("saleslens.review").warning(MISSING_CJK_FONT)
    return "en"


def to_pdf(pack: Pack) -> bytes:
    """A printable PDF of the pack: text, tables and bar charts drawn with fpdf2."""
    from fpdf import FPDF  # imported here: only review packs need it

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(15, 15, 15)
    fonts = _fonts()
    cjk = _cjk_font() if pack.lang == "zh" else None
    if cjk is not None:
        pdf.add_font("Body", "", str(cjk.regular), collection_font_number=cjk.index)
        pdf.add_font("Body", "B", str(cjk.bold), collection_font_number=cjk.index)
        family, clean = "Body", str
    elif fonts:
        pdf.add_font("Body", "", str(fonts[0]))
        pdf.add_font("Body", "B", str(fonts[1]))
        family, clean = "Body", str
    else:
        family = "Helvetica"

        def clean(text: str) -> str:
            return text.replace("–", "-").replace("⚠", "!").encode("latin-1", "replace").decode("latin-1")

    pdf.set_title(clean(pack.title))
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 8, clean(pack.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    for line in pack.subtitle:
        pdf.multi_cell(0, 5, clean(line), new_x="LMARGIN", new_y="NEXT")
    for section in pack.sections:
        _pdf_section(pdf, section, family, clean)
    return bytes(pdf.output())


def _pdf_section(pdf, section: Section, family: str, clean) -> None:
    has_table = section.table is not None and section.table.height > 0
    if not (section.paragraphs or section.bars or has_table):
        return  # a chart-only section: the PDF has no interactive charts
    if pdf.get_y() > 250:
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font(family, "B", 12)
    pdf.multi_cell(0, 7, clean(section.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(226, 232, 240)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1)
    pdf.set_font(family, "", 9)
    for p in section.paragraphs:
        pdf.multi_cell(0, 5, clean(p), new_x="LMARGIN", new_y="NEXT")
    if section.bars:
        _pdf_bars(pdf, section, family, clean)
    if has_table:
        _pdf_table(pdf, section.table, family, clean)


def _pdf_bars(pdf, section: Section, family: str, clean) -> None:
    """A horizontal bar chart drawn with rectangles: label, bar, value."""
    pdf.ln(1)
    if section.bars_title:
        pdf.set_font(family, "B", 9)
        pdf.multi_cell(0, 5, clean(section.bars_title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 8)
    label_w, bar_w, row_h = 48.0, 85.0, 5.2
    marks = section.marks or [None] * len(section.bars)
    for (label, length, text), mark in zip(section.bars, marks, strict=True):
        if pdf.get_y() + row_h > pdf.h - 15:
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_x(pdf.l_margin)
        pdf.cell(label_w, row_h, clean(label)[:34])
        pdf.set_fill_color(226, 232, 240)
        pdf.rect(pdf.l_margin + label_w, y + 1, bar_w, row_h - 2, style="F")
        pdf.set_fill_color(37, 99, 235)
        if length > 0:
            pdf.rect(pdf.l_margin + label_w, y + 1, bar_w * length, row_h - 2, style="F")
        if mark is not None:  # the target, as an orange tick across the bar
            pdf.set_fill_color(245, 158, 11)
            pdf.rect(pdf.l_margin + label_w + bar_w * min(mark, 1.0) - 0.4, y + 0.3, 0.8, row_h - 0.6, style="F")
        pdf.set_xy(pdf.l_margin + label_w + bar_w + 2, y)
        pdf.cell(0, row_h, clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _pdf_table(pdf, frame: pl.DataFrame, family: str, clean) -> None:
    pdf.ln(1)
    size = 8 if frame.width <= 6 else 7 if frame.width <= 9 else 6
    pdf.set_font(family, "", size)
    widths = _col_widths(frame, pdf.w - pdf.l_margin - pdf.r_margin)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(203, 213, 225)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=size * 0.5, padding=0.8,
                   headings_style=_heading_style(family, size), cell_fill_color=(248, 250, 252),
                   cell_fill_mode="ROWS", borders_layout="HORIZONTAL_LINES") as table:
        header = table.row()
        for c in frame.columns:
            header.cell(clean(str(c)))
        for values in frame.iter_rows():
            row = table.row()
            for v in values:
                row.cell(clean("" if v is None else str(v)))


def _heading_style(family: str, size: int):
    from fpdf.fonts import FontFace

    return FontFace(family=family, emphasis="BOLD", size_pt=size, fill_color=(248, 250, 252))


def _col_widths(frame: pl.DataFrame, total: float) -> tuple[float, ...]:
    """Column widths in proportion to their longest text (bounded), filling the page width."""
    lengths = []
    for c in frame.columns:
        longest = max([len(str(c))] + [len(str(v)) for v in frame[c].to_list()[:50] if v is not None])
        header_word = max(len(w) for w in str(c).split() or [""])
        # Bold headings are wider than body text: give the longest heading word room not to break.
        lengths.append(min(max(longest, int(header_word * 1.3) + 1, 4), 60) + 2)
    scale = total / sum(lengths)
    return tuple(n * scale for n in lengths)


# ---------------------------------------------------------------- all three files


@dataclass(frozen=True)
class Files:
    """The three files of a pack as bytes, with the base file name."""

    slug: str
    html: bytes
    xlsx: bytes
    pdf: bytes


def make(runner: scorecard_data.RunsQueries, data_dir: Path | None, as_of: date, req: Request,
         progress: Progress | None = None) -> Files:
    """Build the pack and render HTML, Excel and PDF (the PDF in English when Chinese has no font)."""
    pack = build(runner, data_dir, as_of, req, progress)
    pdf_lang = pdf_language(req.lang)
    pdf_pack = pack if pdf_lang == req.lang else build(
        runner, data_dir, as_of, Request(req.quarter, req.rep, req.team, pdf_lang, req.definitions))
    if progress:
        progress(0.95, t("lb.review.progress_render", req.lang))
    return Files(pack.slug, to_html(pack).encode("utf-8"), to_excel(pack), to_pdf(pdf_pack))


def write(files: Files, out: Path) -> list[Path]:
    """Write FILE.html, FILE.xlsx and FILE.pdf next to each other; returns the paths."""
    base = out.with_suffix("") if out.suffix.lower() in (".html", ".xlsx", ".pdf") else out
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, data in (("html", files.html), ("xlsx", files.xlsx), ("pdf", files.pdf)):
        path = base.with_name(f"{base.name}.{ext}")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        paths.append(path)
    return paths


def default_quarter(as_of: date) -> str:
    """The quarter to review by default: the last full quarter before the data's date."""
    start, _ = scorecards.parse_quarter(scorecards.quarter_of(as_of))
    return scorecards.quarter_of(start - timedelta(days=1))

