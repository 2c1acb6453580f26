"""saleslens.whatif.load on the tiny dataset: what the What-if page draws, worked out by hand.

The tiny data (tests/fixtures.py) is as of 30 Jun 2026; Q2 2026 is still open. R1 (East 1) target 3,000,
nothing won; R2 (East 1) target 6,000, won 6,000, plus 100 of weighted open pipeline (O6, 10% of 1,000);
R3 (West 1) target 6,000, won 2,000. The commission plans are the literal test plans (8% base, 4% under
50%, 12% from 100%), written into the data directory as the page would find them.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import access
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import Filters
from saleslens.whatif import commission
from saleslens.whatif import load as whatif_load
from saleslens.whatif import store as scenario_store
from saleslens.whatif.load import Choices
from tests import whatif_fixtures as wf

ROOT = Path(__file__).resolve().parents[3]
Q2 = Filters(period="custom", start=date(2026, 4, 1), end=date(2026, 6, 30))



@pytest.fixture
def ctx(tiny_dir: Path, tiny: Runner) -> Ctx:
    """Q2 2026 on the tiny data with the test commission plans in <data>/config/."""
    plans = tiny_dir / "config" / commission.PLANS_FILE
    plans.parent.mkdir()
    plans.write_text(wf.PLANS_TOML, encoding="utf-8")
    return Ctx(tiny_dir, tiny.snapshot, tiny, Q2)


def column(frame: pl.DataFrame, name: str) -> list:
    """One column of a frame as a list."""
    return frame[name].to_list()


def test_setup_offers_the_quota_teams(ctx: Ctx) -> None:
    """Three quota carriers in two teams; no period or an empty scope gives nothing to draw."""
    setup = whatif_load.load_setup(ctx)
    assert sorted(setup.base["rep_id"].to_list()) == ["R1", "R2", "R3"]
    assert setup.quota_teams == ["East 1", "West 1"]
    assert setup.target_sets == [] and setup.no_targets is False
    assert whatif_load.load_setup(replace(ctx, filters=Filters(period="all"))) is None
    assert whatif_load.load_setup(replace(ctx, filters=replace(Q2, teams=("Nowhere",)))) is None


def test_option_labels_list_regions_teams_then_reps() -> None:
    """Regions, then teams, then the quota carriers by name; the CSM without a target is not offered."""
    labels = whatif_load.option_labels(wf.base(), "en")
    # Three regions and three teams in the literal rows; six of the seven reps carry a target (A6 does not).
    assert list(labels)[:6] == ["Region: North", "Region: South", "Region: West", "Team: North 1", "Team: South 1",
                                "Team: West 1"]
    assert list(labels)[6:] == [f"Rep: Rep {r} ({r})" for r in ("A1", "A2", "A3", "A4", "A5", "A7")]
    assert labels["Team: South 1"] == ("team", "South 1") and labels["Rep: Rep A7 (A7)"] == ("rep", "A7")


def test_default_view(ctx: Ctx) -> None:
    """Nothing moved: the baseline numbers, the note, both charts and the Reps tab."""
    view = whatif_load.load(ctx, Choices())
    assert view.error is None and view.upload_error is None
    s = view.result.summary
    # Bookings 0 + 6,100 + 2,000 = 8,100 of a 15,000 target: 54%. Only R2 (6,100 / 6,000) is at quota.
    assert s["bookings"] == pytest.approx(8_100) and s["attainment"] == pytest.approx(0.54)
    assert (s["at_quota"], s["quota_reps"]) == (1, 3)
    # R2 6,000 x 8% + 100 x 12% = 492; R3 at 33% < 50%: 2,000 x 4% = 80; R1 nothing.
    assert s["commission"] == pytest.approx(572)
    assert view.query == {}  # nothing differs from the defaults
    plans_file = ctx.data_dir / "config" / commission.PLANS_FILE
    assert view.plans_note == f"Commission: plans from {plans_file}."
    assert view.baseline_note.startswith("Baseline = $8.0K won so far + $100 more expected to close won")
    assert view.baseline_note.endswith(view.plans_note)
    assert isinstance(view.histogram, go.Figure)
    # By team, the largest target last (drawn at the top): West 1 6,000 then East 1 3,000 + 6,000 = 9,000.
    bars = view.groups_chart.data
    assert list(bars[0].y) == ["West 1", "East 1"]
    assert list(bars[1].x) == pytest.approx([2_000, 6_100])  # projected
    reps = whatif_load.load_reps(view, "en")
    # Best attainment first: R2 101.7%, R3 33.3%, R1 0%.
    assert column(reps, "Rep") == ["Bob Best", "Cy Cole", "Ann Able"]
    assert column(reps, "Attainment, scenario") == pytest.approx([6_100 / 6_000, 2_000 / 6_000, 0])


def test_moved_sliders_and_regions(ctx: Ctx) -> None:
    """Targets +10% and the chart by region: R2 falls under quota, the link carries p_tgt=10."""
    view = whatif_load.load(ctx, Choices(target_change_pct=10, group_by="region"))
    s = view.result.summary
    # Targets 3,300 + 6,600 + 6,600 = 16,500; R2 6,100 / 6,600 = 92%: 6,100 x 8% = 488; R3 80. 488 + 80 = 568.
    assert s["target_total"] == pytest.approx(16_500) and s["commission"] == pytest.approx(568)
    assert s["at_quota"] == 0
    assert view.query == {"p_tgt": "10"}
    assert list(view.groups_chart.data[0].y) == ["West", "East"]
    groups = {level: table for level, _, table in whatif_load.load_groups(view, "en")}
    assert sorted(column(groups["team"], "Team")) == ["East 1", "West 1"]
    assert sorted(column(groups["region"], "Region")) == ["East", "West"]


def test_bad_plans_and_bad_input(ctx: Ctx) -> None:
    """A bad upload is said and the file's plans used; a bad file stops the page; a bad input is named."""
    view = whatif_load.load(ctx, Choices(plans_upload=("mine.toml", "version = 1\n[plans")))
    assert view.upload_error.startswith("The uploaded plans file mine.toml cannot be used")
    assert view.result.summary["commission"] == pytest.approx(572)  # the file's plans, as without the upload
    refused = whatif_load.load(ctx, Choices(ramp_pct=()))
    assert refused.error.startswith("This input cannot be used — ramp_pct")
    assert refused.scenario is not None and refused.result is None
    (ctx.data_dir / "config" / commission.PLANS_FILE).write_text("nonsense", encoding="utf-8")
    broken = whatif_load.load(ctx, Choices())
    assert broken.error.startswith("The commission plans cannot be used") and broken.scenario is None


def test_commission_tab_explains_a_rep(ctx: Ctx) -> None:
    """Carriers by payout (R2 492, R3 80, R1 0); R2's payout explained for baseline and scenario."""
    view = whatif_load.load(ctx, Choices())
    tab = whatif_load.load_commission(view, "en")
    assert column(tab.carriers, "rep_id") == ["R2", "R3", "R1"]
    assert tab.plans_table.height >= 1
    explained = whatif_load.explain_rep(view, tab.carriers, "R2", "en")
    assert (explained.role, explained.description, explained.new_hire) == ("AE", "Test AE plan", False)
    assert [title for title, _ in explained.steps] == ["Baseline", "Scenario"]
    assert all(table is not None and table.height for _, table in explained.steps)


def test_compare_tab(ctx: Ctx) -> None:
    """The scenario on screen against a saved +10%: commission 572 against 568, 4 less; a missing name is said."""
    view = whatif_load.load(ctx, Choices())
    scenario_store.save(ctx.data_dir, replace(view.scenario, name="Plus 10", target_change_pct=10.0),
                        who=access.User("ana", "Ana", "analyst"))
    compared = whatif_load.load_compare(ctx, view, ["Plus 10", "Missing"], with_current=True)
    assert len(compared.errors) == 1 and "Missing" in compared.errors[0]
    row = compared.outputs.filter(pl.col("Measure") == "Commission cost, scenario").row(0, named=True)
    assert (row["On screen"], row["Plus 10"], row["Plus 10 − On screen"]) == ("$572", "$568", "-$4")
    alone = whatif_load.load_compare(ctx, view, ["Plus 10"], with_current=False)
    assert alone.outputs is None and alone.errors == []


def test_page_and_bench_call_the_same_load() -> None:
    """pages/whatif.py and bench/pages.py both go through saleslens.whatif.load; the page is a thin script."""
    page = (ROOT / "pages" / "whatif.py").read_text(encoding="utf-8")
    bench = (ROOT / "bench" / "pages.py").read_text(encoding="utf-8")
    for source in (page, bench):
        assert "from saleslens.whatif import load as whatif_load" in source
        assert "whatif_load.load(ctx, " in source and "whatif_load.load_setup(ctx)" in source
    tree = ast.parse(page)
    skipped = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    top = [n for n in tree.body[1:] if not isinstance(n, skipped)]  # body[0] is the docstring
    assert sum(n.end_lineno - n.lineno + 1 for n in top) <= 150
