"""saleslens.targets.load on the literal store of tests/targets_fixtures.py: what the Targets page draws.

Every expected value is worked out by hand from the fixture's rows (written out in the comments).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import Filters
from saleslens.targets import data as td
from saleslens.targets import load as tl
from tests import support
from tests import targets_fixtures as fx

D = date


# The fixture store, built once for the module, and a runner on its latest snapshot.
data_dir, runner = support.store_fixtures("targets_load", fx.build_store)



def context(data_dir: Path, runner: Runner, **group: tuple[str, ...]) -> Ctx:
    """A context for a group (no period filter: the page's pacing is about the snapshot's quarter)."""
    return Ctx(data_dir, runner.snapshot, runner, Filters(period="custom", **group))


def view(data_dir: Path, runner: Runner, choices: tl.TargetsChoices | None = None,
         **group: tuple[str, ...]) -> tuple[Ctx, tl.TargetsView]:
    """The context and the headline for a group and some widget choices."""
    ctx = context(data_dir, runner, **group)
    loaded = tl.load(ctx, choices or tl.TargetsChoices())
    assert loaded is not None
    return ctx, loaded


def test_headline_for_the_organisation(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner)
    p = v.pacing.pace
    # Q2 target: R1 4,500 + R2 6,000 + R3 3,000 + R4 3,000 = 16,500; closed W6 1,500 + W7 1,500 = 3,000;
    # past quarters had 30% closed by the end of week 6 -> 4,950 expected.
    assert (p.target, p.closed) == (16500.0, 3000.0) and p.expected == pytest.approx(4950.0)
    # 20 closed deals needed to learn a stage: all defaults. 3,000 + 2,000 x .5 + 1,000 x .8 + 4,500 x .1 = 5,250.
    assert v.fc.forecast.expected == pytest.approx(5250.0)
    # Coverage: 13,500 still to go / win rate 0.625 = 21,600 needed, 7,500 open -> 14,100 more.
    assert v.cov.coverage.gap == pytest.approx(14100.0)
    # 12 May is day 42 of the 91 days of Q2 (Apr 1 - Jun 30).
    assert (v.q_label, v.day, v.days) == ("Q2 2026", 42, 91)
    assert v.group == "Whole organisation" and v.source == "" and v.bad_set is None
    assert set(v.people["rep_id"]) >= {"R1", "R2", "R3", "R4"}
    assert "forecast_points_by_deal" in ctx.calls  # the queries went through the context


def test_a_rep_is_named_and_nobody_gives_none(data_dir: Path, runner: Runner) -> None:
    _, v = view(data_dir, runner, reps=("R1", "R2"))
    assert v.group == "Rep: Ann Able, Bob Best"
    assert v.pacing.pace.target == 10500.0  # Ann 4,500 + Bob 6,000
    assert tl.load(context(data_dir, runner, reps=("NOBODY",)), tl.TargetsChoices()) is None


def test_an_unreadable_target_set_falls_back_to_the_snapshot(data_dir: Path, runner: Runner) -> None:
    _, v = view(data_dir, runner, tl.TargetsChoices(source="no such set"))
    assert v.bad_set and v.source == td.SNAPSHOT_SOURCE
    assert v.pacing.pace.target == 16500.0  # the snapshot's targets, as above


def test_pacing_section_by_team(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner, tl.TargetsChoices(members_by="team", min_deals=4))
    sec = tl.load_pacing(ctx, v)
    rows = {r["group_key"]: r for r in sec.members.iter_rows(named=True)}
    # North: 13,500 x 0.3 = 4,050 expected, 3,000 closed -> 1,050 behind; Solo: 3,000 x 0.3 = 900 behind.
    assert rows["North"]["gap"] == pytest.approx(-1050.0) and rows["Solo"]["gap"] == pytest.approx(-900.0)
    assert sec.members_title == "Team" and sec.without_target == []
    assert isinstance(sec.members_chart, go.Figure) and isinstance(sec.coverage_chart, go.Figure)
    # One past quarter of snapshots: the forecast's fallback, every stage at its default (test_forecast.py).
    assert sec.learned == 0
    # Categories shown with their names: commit O1, best case O2, pipeline O3 (O5 has none: omitted).
    assert set(sec.categories["category"]) == {"Commit", "Best case", "Pipeline", "Omitted"}
    deals = tl.open_deals(v)
    assert sorted(deals["opportunity_id"]) == ["O1", "O2", "O3", "O5"]  # O4 is due in Q3
    assert deals.columns[:2] == ["opportunity_id", "owner_name"]
    # Single-currency data: no original amount or currency column beside the amount (tests/unit/ingest/
    # test_deal_originals.py has the multi-currency rows).
    assert tl.open_deals(v, ctx).equals(deals)


def test_trend_by_quarter(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner, tl.TargetsChoices(view="trend", grain="quarter", cumulative=True))
    sec = tl.load_trend(ctx, v)
    q = {r["period_start"]: r for r in sec.trend.iter_rows(named=True)}
    # 2025 - 2026 in quarters. Q1 2026: R1 3,000 + R2 6,000 + R4 3,000 = 12,000; won W3 + W4 + W5 = 4,000.
    assert sec.trend.height == 8 and not sec.empty
    assert (q[D(2026, 1, 1)]["target"], q[D(2026, 1, 1)]["bookings"]) == (12000.0, 4000.0)
    # Nobody had a target in 2025.
    assert sec.missing == "Q1 2025, Q2 2025, Q3 2025, Q4 2025"
    assert sec.table["period_start"].to_list()[4] == "Q1 2026" and isinstance(sec.chart, go.Figure)


def test_heatmap_by_team(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner, tl.TargetsChoices(view="heatmap", heat_by="team"))
    sec = tl.load_heatmap(ctx, v)
    cell = sec.heat.filter((pl.col("group_key") == "North") & (pl.col("period_start") == D(2026, 4, 1)))
    # North in April: R1 1,500 + R2 2,000 + R3 500 = 4,000 target; W6 1,500 won -> 37.5%.
    assert cell["target"].item() == 4000.0 and cell["attainment"].item() == pytest.approx(0.375)
    assert sec.heat["period_start"].max() == D(2026, 5, 1)  # no month after the snapshot's
    assert sec.title == "Team" and isinstance(sec.chart, go.Figure)


def test_leading_indicators(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner, tl.TargetsChoices(view="leading"))
    sec = tl.load_leading(ctx, v)
    # No period filter: this quarter up to the snapshot.
    assert (sec.status, sec.start, sec.end) == ("ok", D(2026, 4, 1), fx.AS_OF)
    per = {r["name"]: r for r in sec.per_rep.iter_rows(named=True)}
    # Ann: 6 activities in 6 weeks, against 40 a month = 40 x 12 / 52 a week.
    assert per["Ann Able"]["per_week"] == pytest.approx(1.0)
    assert per["Ann Able"]["weekly_target"] == pytest.approx(40 * 12 / 52)
    assert isinstance(sec.activities_chart, go.Figure) and isinstance(sec.conversion_chart, go.Figure)
    later = Ctx(data_dir, runner.snapshot, runner, Filters(period="custom", start=D(2026, 7, 1), end=D(2026, 9, 30)))
    v_later = tl.load(later, tl.TargetsChoices(view="leading"))
    assert v_later is not None and tl.load_leading(later, v_later).status == "future"


def test_accuracy(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner, tl.TargetsChoices(view="accuracy"))
    sec = tl.load_accuracy(ctx, v)
    # Snapshots in Q1 and Q2 only: no past quarter has two earlier ones to learn from, so nothing to backtest;
    # this quarter's forecast is the fallback's 5,250 with no range (see test_forecast.py).
    assert sec.backtest.is_empty() and sec.mid is None
    assert sec.outcome.method == "stage_default" and sec.outcome.low is None
    assert sec.outcome.expected == pytest.approx(5250.0)


def test_plan_team(data_dir: Path, runner: Runner) -> None:
    ctx, v = view(data_dir, runner, tl.TargetsChoices(view="plan"))
    assert tl.plan_teams(v) == ["North", "Solo"]
    # North 2026: reps Jan-Jun 22,500 + the team's Jul-Dec 30,000.
    north = tl.load_plan_team(ctx, v, "North", 2026)
    assert north.current == pytest.approx(52500.0) and north.shares is not None
    # Solo has no 2027 target: its last 12 months' bookings (W5 2,000) + 10% = 2,200, rounded to 2,000.
    assert tl.load_plan_team(ctx, v, "Solo", 2027).current == 2000.0


def test_the_page_and_the_benchmark_call_the_same_load() -> None:
    """pages/targets.py and bench.pages.targets both go through saleslens.targets.load, neither has its own copy."""
    import ast
    import inspect

    from bench import pages as bench_pages

    def called(source: str) -> set[str]:
        """The `module.function` calls in some source."""
        return {f"{n.func.value.id}.{n.func.attr}" for n in ast.walk(ast.parse(source))
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)}

    page = called((Path(__file__).resolve().parents[3] / "pages" / "targets.py").read_text(encoding="utf-8"))
    bench = called(inspect.getsource(bench_pages.targets))
    assert {"tl.load", "tl.load_pacing"} <= page & bench
    assert not {c for c in page | bench if c.startswith(("td.", "ctx.run"))} - {"td.history_window"}
