"""The server-side work of each page, as plain functions: one table of (page, compute) the benchmark times.

Each function makes the same named-query and library calls as its page (pages/*.py) for the page's default
view, builds the same figures and the downloads the page renders on every run, and returns the figures.
No Streamlit: this is the work between a filter change and the page being ready to send. When a page
changes, change its function here; `bench.run --apptest` times the real page scripts as a cross-check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from saleslens.core import export, store
from saleslens.core.filters import Filters, from_query

if TYPE_CHECKING:  # the baseline process imports this module and must not load DuckDB
    from queries.runner import Runner

LANG = "en"
EAGER_DOWNLOADS = False


@dataclass
class BenchContext:
    """What a page reads (like ui.context.Context), with every query call timed."""

    data_dir: Path
    snapshot: store.Snapshot
    runner: Runner
    filters: Filters
    lang: str = LANG
    calls: list[tuple[str, float]] = field(default_factory=list)

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query, recording how long it took (cache hits included, as on the page)."""
        started = time.perf_counter()
        frame = self.runner.run(name, **params)
        self.calls.append((name, time.perf_counter() - started))
        return frame

    def run_many(self, calls: list[tuple[str, dict[str, object]]]) -> list[pl.DataFrame]:
        """Run independent named queries side by side, as Context.run_many does, each call timed."""
        from queries.runner import side_by_side

        return side_by_side(self.run, calls)


class TimedRunner:
    """A runner stand-in for library functions that take the runner itself: times run(), passes the rest on."""

    def __init__(self, ctx: BenchContext) -> None:
        self._ctx = ctx

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run and time a named query."""
        return self._ctx.run(name, **params)

    def __getattr__(self, name: str) -> object:
        return getattr(self._ctx.runner, name)


def downloads(frame: pl.DataFrame) -> None:
    """Where a page offers a table for download (ui.widgets.downloads).

    The files are built only when a download button is clicked, so a rerun does no work here. While they
    were built on every rerun this cost 60 ms for a 6-row table, 0.6 s for 5,000 rows and 12 s for 100,000
    (CPU time, Excel); set EAGER_DOWNLOADS to measure that again.
    """
    if EAGER_DOWNLOADS:
        export.to_csv(frame)
        export.to_excel({"data": frame})


# ---------------------------------------------------------------- pages


def overview(ctx: BenchContext) -> list:
    """pages/overview.py: the page's own saleslens.overview.load with the default choices (KPIs now and before,
    the monthly trend, KPIs by region)."""
    from saleslens.overview import load as overview_load

    view = overview_load.load(ctx, overview_load.Choices())
    downloads(view.group.by_group)
    return view.figures()


def funnel(ctx: BenchContext, tab: str = "stages") -> list:
    """pages/funnel.py with one tab open (Stages, open by default; the others compute only when opened): the
    page's own saleslens.funnel.load, with the default choices (the waterfall: this snapshot and the one before)."""
    from saleslens.funnel import load as funnel_load

    ids = funnel_load.snapshot_ids(ctx) if tab == "changes" else []  # the page reads them on that tab only
    pc_from, pc_to = funnel_load.default_pair(ids, ctx.snapshot.id) if len(ids) >= 2 else (None, None)
    view = funnel_load.load(ctx, funnel_load.Choices(tab=tab, snapshots=tuple(ids), pc_from=pc_from, pc_to=pc_to))
    for frame in view.downloads():
        downloads(frame)
    return view.figures()


def targets(ctx: BenchContext) -> list:
    """pages/targets.py, headline and the Pacing section (open by default; the others compute when opened)."""
    from saleslens.targets import load as tl

    view = tl.load(ctx, tl.TargetsChoices())
    if view is None:
        return []
    sec = tl.load_pacing(ctx, view)
    figs = [sec.pacing_chart, sec.forecast_chart]
    if sec.coverage_chart is not None:
        figs.append(sec.coverage_chart)
    if not sec.members.is_empty():
        if sec.members_chart is not None:
            figs.append(sec.members_chart)
        downloads(sec.members)
    # the open deals' drill-down (and its download) is built only when its expander is opened
    return figs


def leaderboard(ctx: BenchContext, tab: str = "board") -> list:
    """pages/leaderboard.py on a view: the header and one tab, the Leaderboard tab by default (the other tabs
    compute only when opened: st.tabs(on_change="rerun") and tab.open), for the default choices.

    tab: board, score, profile or top (Ratings and Review pack only order the reps by score, as score does).
    The same saleslens.rankings.load the page calls, so the two cannot drift apart.
    """
    from saleslens.rankings import load as rl

    head = rl.load_header(ctx)
    if not head.roles:
        return []
    view = rl.load(ctx, rl.Choices(tab=tab), head)
    figs = view.figures()
    if view.board:
        figs.append(view.board.table)
        downloads(view.board.table.drop("trend"))
    if view.card and view.card.scores.height:
        # The Scorecard tab opens the first rep's breakdown by default.
        figs.append(rl.load_focus(view, view.card.scores["rep_id"][0], ctx.lang).figure)
    if view.card:
        downloads(view.card.download)
    if view.profile:
        downloads(view.profile.open_deals)
    if view.top and view.top.comparison.height:
        downloads(view.top.comparison)
    return figs


def whatif(ctx: BenchContext) -> list:
    """pages/whatif.py on opening: its setup and load (the per-rep base, the scenario, two charts), the Reps tab."""
    from saleslens.whatif import load as whatif_load

    if whatif_load.load_setup(ctx) is None:
        return []
    return _whatif_view(ctx, 0.0, 0.0)


def whatif_recompute(ctx: BenchContext, base: pl.DataFrame, target_change_pct: float) -> list:
    """What a slider move redoes (the base query is a cache hit): the page's load and its open Reps tab."""
    return _whatif_view(ctx, target_change_pct, 5.0)


def _whatif_view(ctx: BenchContext, target_change_pct: float, win_rate_pct: float) -> list:
    """The What-if page's load for these slider values: its two charts and the Reps tab's table."""
    from saleslens.whatif import load as whatif_load

    choices = whatif_load.Choices(target_change_pct=target_change_pct, win_rate_pct=win_rate_pct)
    view = whatif_load.load(ctx, choices)
    if view.result is None:
        return []
    return [view.histogram, view.groups_chart, whatif_load.load_reps(view, ctx.lang)]


@dataclass(frozen=True)
class Page:
    """One page of the app: its name, the file it mirrors and the function doing its work."""

    name: str
    path: str
    compute: Callable[[BenchContext], list]


PAGES: tuple[Page, ...] = (
    Page("overview", "pages/overview.py", overview),
    Page("funnel", "pages/funnel.py", funnel),
    Page("targets", "pages/targets.py", targets),
    Page("leaderboard", "pages/leaderboard.py", leaderboard),
    Page("whatif", "pages/whatif.py", whatif),
)


# ---------------------------------------------------------------- the filter changes


@dataclass(frozen=True)
class Change:
    """A realistic filter change: a name for the report and the URL query it stands for."""

    name: str
    query: dict[str, str]


def filter_changes(snap: store.Snapshot) -> list[Change]:
    """Organisation, one region, one team, one rep and a different quarter, picked from the snapshot's reps.

    The region and team are the largest by people (the most work a single choice can ask for); the rep is
    the first account executive of that team. Read straight from Parquet so either side can pick them.
    """
    reps = pl.read_parquet(snap.table_path("reps"))
    region = _largest(reps, "region")
    team = _largest(reps.filter(pl.col("region") == region), "team")
    in_team = reps.filter(pl.col("team") == team)
    aes = in_team.filter(pl.col("role") == "AE")
    rep = sorted((aes if aes.height else in_team)["rep_id"].to_list())[0]
    return [
        Change("organisation", {}),
        Change("one region", {"region": region}),
        Change("one team", {"team": team}),
        Change("one rep", {"rep": rep}),
        Change("last quarter", {"period": "last_quarter"}),
    ]


def _largest(frame: pl.DataFrame, col: str) -> str:
    """The most frequent non-null value of a column (ties: the first by name)."""
    counts = frame.filter(pl.col(col).is_not_null()).group_by(col).len().sort(["len", col], descending=[True, False])
    return counts[col][0]


def filters_for(change: Change, as_of: date) -> Filters:
    """The Filters a change stands for, as the sidebar would build them from the link."""
    return from_query(change.query, as_of)
