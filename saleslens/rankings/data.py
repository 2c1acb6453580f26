"""Fetch what the scorecards need through the named queries, then score with saleslens.rankings.scorecards.

Shared by the Leaderboard page, the review pack and the CLI, so all three show the same numbers.
The runner is passed in (queries/runner.py is the only module touching DuckDB).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import polars as pl

from saleslens.core.filters import Filters
from saleslens.rankings import ratings, scorecards
from saleslens.rankings.scorecards import Definition

TREND_PERIODS = 4  # periods in the Leaderboard's trend and score history (the page and the benchmark)


class RunsQueries(Protocol):
    """Anything with run(name, **params) -> DataFrame: the Runner, or a page context."""

    def run(self, name: str, **params: object) -> pl.DataFrame: ...


@dataclass(frozen=True)
class Org:
    """Which reps to look at: org filters and roles (empty = all)."""

    regions: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def params(self) -> dict[str, list[str]]:
        """The bound list parameters of the scorecard queries."""
        return {"regions": list(self.regions), "teams": list(self.teams), "reps": list(self.reps),
                "roles": list(self.roles)}


@dataclass(frozen=True)
class Window:
    """Periods read in one query: (start, end) and the `periods - 1` of equal length before it.

    The Leaderboard needs a period, the one before and a trend; asking for all of them at once costs
    little more than one period, and every later call for one of them is served from the same result.
    """

    start: date
    end: date
    periods: int

    def spans(self) -> list[tuple[date, date]]:
        """The periods, oldest first."""
        return [*previous_periods(self.start, self.end, self.periods - 1), (self.start, self.end)]


def _window_for(start: date, end: date, within: Window | None) -> Window:
    """The window to query for a period: the given one when the period is in it, else the period alone."""
    if within is not None and (start, end) in within.spans():
        return within
    return Window(start, end, 1)


# The scored window frames of recent query results: every kpis() call of a view reads the same two query
# results, so the targets are ramp-adjusted and joined once per window, not once per period and role.
_WINDOWS: OrderedDict[tuple, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = OrderedDict()
_WINDOWS_KEPT = 4  # each holds the scored frame of one window (about 10 MB for 4,700 reps x 4 periods)
_WINDOWS_LOCK = threading.Lock()
_SCORED: OrderedDict[tuple, tuple[pl.DataFrame, Scored]] = OrderedDict()


def window_kpis(runner: RunsQueries, window: Window, org: Org = Org(),
                ramp: tuple[float, ...] = scorecards.DEFAULT_RAMP) -> pl.DataFrame:
    """Per-rep KPIs with ramp-adjusted targets for every period of a window (period_start, period_end), all roles."""
    # Queried for every role and narrowed by the callers, so the leaderboard, each role's scorecard and the
    # history share one cached query result per window instead of one per role and period.
    everyone = Org(org.regions, org.teams, org.reps, ()).params()
    frame = runner.run("scorecard_kpis_by_rep", start=window.start, end=window.end, periods=window.periods,
                       **everyone)
    # Targets count by the period they start in; the periods of a window follow one another without gaps,
    # so one query over the window's span holds each period's rows.
    spans = window.spans()
    targets = runner.run("scorecard_targets_by_rep", start=spans[0][0], end=window.end, **everyone)
    key = (id(frame), id(targets), ramp)
    with _WINDOWS_LOCK:
        hit = _WINDOWS.get(key)
        if hit is not None and hit[0] is frame and hit[1] is targets:
            _WINDOWS.move_to_end(key)
            return hit[2]
    starts = pl.DataFrame({"window_start": [s for s, _ in spans]}, schema={"window_start": pl.Date})
    placed = targets.sort("period_start").join_asof(starts, left_on="period_start", right_on="window_start",
                                                    strategy="backward")
    adjusted = scorecards.ramp_adjust(placed, ramp, by=("window_start",)).rename({"window_start": "period_start"})
    out = scorecards.with_targets(frame, adjusted, by=("period_start",))
    with _WINDOWS_LOCK:
        _WINDOWS[key] = (frame, targets, out)
        while len(_WINDOWS) > _WINDOWS_KEPT:
            _WINDOWS.popitem(last=False)
    return out


def kpis(runner: RunsQueries, start: date, end: date, org: Org = Org(),
         ramp: tuple[float, ...] = scorecards.DEFAULT_RAMP, within: Window | None = None) -> pl.DataFrame:
    """Per-rep KPIs for a period with ramp-adjusted targets and attainment (read with `within` when in it)."""
    frame = window_kpis(runner, _window_for(start, end, within), org, ramp)
    frame = frame.filter(pl.col("period_start") == start).drop("period_start", "period_end")
    if org.roles:
        frame = frame.filter(pl.col("role").is_in(list(org.roles)))
    return frame


def ratings_for(data_dir: Path | None, end: date) -> dict[str, dict[str, int]]:
    """The stored ratings of the quarter a period ends in (none without a data directory)."""
    if data_dir is None:
        return {}
    return ratings.scores_by_rep(data_dir, scorecards.quarter_of(end))


@dataclass(frozen=True)
class Scored:
    """A scored period: the KPIs, the scores with ranks and rank change, and the per-KPI breakdown."""

    kpis: pl.DataFrame
    scores: pl.DataFrame
    breakdown: pl.DataFrame


def score_period(runner: RunsQueries, start: date, end: date, definition: Definition, org: Org = Org(),
                 data_dir: Path | None = None, within: Window | None = None) -> Scored:
    """Score the reps of the definition's role for one period (peers = those reps)."""
    role_org = Org(org.regions, org.teams, org.reps, (definition.role,))
    ratings_now = ratings_for(data_dir, end)
    # A view scores the same period more than once (the scorecard with its change, the score history):
    # the scores of one window result, period, role and definition are kept with that result.
    source = window_kpis(runner, _window_for(start, end, within), role_org, definition.ramp)
    key = (id(source), start, end, role_org, repr(definition),
           tuple(sorted((rep, tuple(sorted(v.items()))) for rep, v in ratings_now.items())))
    with _WINDOWS_LOCK:
        hit = _SCORED.get(key)
        if hit is not None and hit[0] is source:
            return hit[1]
    frame = kpis(runner, start, end, role_org, definition.ramp, within)
    scores, breakdown = scorecards.score(frame, definition, ratings_now)
    scores = scores.join(frame.select("rep_id", "name", "team"), on="rep_id", how="left")
    scored = Scored(frame, scores, breakdown)
    with _WINDOWS_LOCK:
        _SCORED[key] = (source, scored)
        while len(_SCORED) > 2 * _WINDOWS_KEPT:
            _SCORED.popitem(last=False)
    return scored


def previous_periods(start: date, end: date, count: int) -> list[tuple[date, date]]:
    """`count` periods of equal length before (start, end), oldest first."""
    out = []
    f = Filters(period="custom", start=start, end=end)
    for _ in range(count):
        f = f.previous()
        out.append((f.start, f.end))
    return list(reversed(out))


def scored_with_change(runner: RunsQueries, start: date, end: date, definition: Definition, org: Org = Org(),
                       data_dir: Path | None = None, within: Window | None = None) -> Scored:
    """Score a period and add the previous period's rank and the change."""
    within = within or Window(start, end, 2)  # both periods in one query
    now = score_period(runner, start, end, definition, org, data_dir, within)
    (p_start, p_end), = previous_periods(start, end, 1)
    before = score_period(runner, p_start, p_end, definition, org, data_dir, within)
    scores = scorecards.rank_change(now.scores, before.scores.select("rep_id", "rank"))
    return Scored(now.kpis, scores, now.breakdown)


def history(runner: RunsQueries, start: date, end: date, periods: int, org: Org = Org(),
            ramp: tuple[float, ...] = scorecards.DEFAULT_RAMP, within: Window | None = None) -> pl.DataFrame:
    """Per-rep KPIs for the period and the `periods - 1` before it, stacked, with period_start/end."""
    window = Window(start, end, periods)
    within = within if within is not None and set(window.spans()) <= set(within.spans()) else window
    frames = [
        kpis(runner, s, e, org, ramp, within).with_columns(pl.lit(s).alias("period_start"),
                                                           pl.lit(e).alias("period_end"))
        for s, e in window.spans()
    ]
    return pl.concat(frames, how="diagonal_relaxed")


def score_history(runner: RunsQueries, start: date, end: date, periods: int, definition: Definition,
                  org: Org = Org(), data_dir: Path | None = None, within: Window | None = None) -> pl.DataFrame:
    """Score and rank per rep for each of `periods` periods ending with (start, end), oldest first."""
    window = Window(start, end, periods)
    within = within if within is not None and set(window.spans()) <= set(within.spans()) else window
    frames = []
    for s, e in window.spans():
        scored = score_period(runner, s, e, definition, org, data_dir, within)
        frames.append(scored.scores.select("rep_id", "score", "rank").with_columns(
            pl.lit(s).alias("period_start"), pl.lit(e).alias("period_end")))
    return pl.concat(frames)


def monthly_trend(runner: RunsQueries, start: date, end: date, reps: tuple[str, ...] = (),
                  teams: tuple[str, ...] = (), ramp: tuple[float, ...] = scorecards.DEFAULT_RAMP) -> pl.DataFrame:
    """Bookings, deals won and the ramp-adjusted bookings target per month for some reps or a team."""
    won = runner.run("rep_bookings_by_month", start=start, end=end, reps=list(reps), teams=list(teams))
    targets = runner.run("scorecard_targets_by_rep", start=won["month"].min() if won.height else start, end=end,
                         reps=list(reps), teams=list(teams))
    targets = targets.filter(pl.col("metric") == "bookings")
    if targets.height:
        rows = scorecards.ramp_rows(targets, ramp).with_columns(pl.col("period_start").dt.truncate("1mo")
                                                                .alias("month"))
        by_month = rows.group_by("month").agg(pl.col("adjusted").sum().alias("target"))
    else:
        by_month = pl.DataFrame(schema={"month": pl.Date, "target": pl.Float64})
    return won.join(by_month, on="month", how="left").with_columns(
        (pl.col("bookings") / pl.when(pl.col("target") > 0).then(pl.col("target"))).alias("attainment"),
        pl.col("bookings").cum_sum().alias("cumulative_bookings"),
        pl.col("target").fill_null(0).cum_sum().alias("cumulative_target"),
    ).sort("month")


def conversion_by_stage(runner: RunsQueries, start: date, end: date, org: Org = Org()) -> pl.DataFrame:
    """Moves out of each open stage per rep, forward or not."""
    return runner.run("rep_conversion_by_stage", start=start, end=end, **org.params())


def top_performers(scored: Scored, by_stage: pl.DataFrame, min_sample: int) -> tuple[set[str], pl.DataFrame]:
    """The top quartile by score and what it does differently from the rest."""
    top = scorecards.top_quartile(scored.scores)
    if not top:
        return top, pl.DataFrame()
    ids = scored.kpis["rep_id"].to_list()
    return top, scorecards.compare_top(scored.kpis, top, by_stage.filter(pl.col("rep_id").is_in(ids)), min_sample)
