"""saleslens.rankings.load on tests/scorecard_fixtures.py: what the Rankings page draws, per tab, checked by hand.

The expected values are worked out in tests/unit/rankings/test_scorecards.py's comments (Q3 2026, Q2 before it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import from_query
from saleslens.rankings import load as rl
from saleslens.rankings import scorecards
from tests import scorecard_fixtures as F

ROOT = Path(__file__).resolve().parents[3]
Q3 = {"period": "custom", "start": "2026-07-01", "end": "2026-09-30"}



@pytest.fixture
def ctx(tmp_path: Path) -> Ctx:
    """The scorecard fixture store, Q3 2026 chosen, in English."""
    F.build_store(tmp_path)
    snap = store.open_snapshot(tmp_path)
    runner = Runner(snap)
    yield Ctx(tmp_path, snap, runner, from_query(Q3, F.AS_OF), "en")
    runner.close()


def test_header_period_roles_and_names(ctx: Ctx) -> None:
    """Q3 with Q2 before it; AE, SDR and CSM have reps (the manager is not scored); four AEs in view, X1 left."""
    head = rl.load_header(ctx)
    assert (head.start, head.end, head.prev_start, head.prev_end) == (*F.Q3, *F.Q2)
    assert not head.all_time
    assert head.roles == ["AE", "SDR", "CSM"]
    assert sorted(head.names("AE")) == ["A1", "A2", "A3", "A4"]
    assert rl.pack_subjects(head)[1] == ["North", "South"]


def test_all_time_falls_back_to_the_snapshot_quarter(ctx: Ctx) -> None:
    """No period chosen: the quarter of the snapshot's date (30 Sep 2026) is Q3."""
    ctx.filters = from_query({"period": "all_time"}, F.AS_OF)
    head = rl.load_header(ctx)
    assert head.all_time and (head.start, head.end) == F.Q3


def test_board_by_bookings(ctx: Ctx) -> None:
    """A1 and A4 100,000 tie at 1 (▲ 2, ▲ 1), A2 60,000 3rd (▼ 2), A3 10,000 4th and new; trends oldest first."""
    view = rl.load(ctx, rl.Choices(role="AE", tab="board", kpi="bookings"))
    board = view.board
    assert board.table["name"].to_list() == ["Ava Ames", "Dan Dorn", "Ben Birch", "Cleo Cruz"]
    assert board.table["rank"].to_list() == [1, 1, 3, 4]
    assert board.table["change"].to_list() == ["▲ 2", "▲ 1", "▼ 2", "new"]
    trends = dict(zip(board.table["rep_id"], board.table["trend"].to_list(), strict=True))
    # A1: nothing in 2025Q4 and Q1, 20,000 in Q2, 100,000 in Q3; A3 was hired on 1 Jul.
    assert trends["A1"] == [0.0, 0.0, 20000.0, 100000.0] and trends["A3"] == [10000.0]
    assert board.ties and not board.flagged
    assert "basis" not in board.shown  # an amount rests on no sample
    # The chart's bars bottom-up: the best at the top, so the last bar is A1 (ahead of A4 in the tie by name).
    assert list(board.figure.data[0].customdata) == ["A3", "A2", "A4", "A1"]
    assert view.card is None and view.profile is None and view.top is None, "only the open tab computes"
    assert "rep_conversion_by_stage" not in ctx.calls


def test_board_by_win_rate_flags_small_samples(ctx: Ctx) -> None:
    """A1 4/6 1st, A4 3/5 2nd, A2 3/6 3rd; A3's 2 closed deals are too few to rank (minimum 5)."""
    board = rl.load(ctx, rl.Choices(role="AE", tab="board", kpi="win_rate")).board
    rows = {r["rep_id"]: r for r in board.table.iter_rows(named=True)}
    assert [rows[r]["rank"] for r in ("A1", "A4", "A2", "A3")] == [1, 2, 3, None]
    assert rows["A3"]["basis"].startswith("⚠ 2 closed deals") and rows["A1"]["basis"] == "6 closed deals"
    assert board.flagged and "basis" in board.shown


def test_scorecard_and_one_reps_breakdown(ctx: Ctx) -> None:
    """Default AE scorecard: A1 101.89, A4 60.83, A2 41.67, A3 26.67; A1's parts sum to its score."""
    view = rl.load(ctx, rl.Choices(role="AE", tab="score"))
    card = view.card
    assert view.ranked == ["A1", "A4", "A2", "A3"]
    assert card.table["score"].round(2).to_list() == [101.89, 60.83, 41.67, 26.67]
    # A3 has no Q2 rank (hired in Q3) and two uncertain KPIs (win rate, conversion).
    assert card.table["change"][3] == "new" and card.table["uncertain"][3] != ""
    assert card.score_max == pytest.approx(0.35 * 1000 / 9 + 63)  # above 100, so the bar scale grows
    focus = rl.load_focus(view, "A1", "en")
    assert focus.name == "Ava Ames" and focus.score_text == "101.9"
    assert sum(float(x) for x in focus.parts_text.split(" + ")) == pytest.approx(101.9, abs=0.05)


def test_weights_of_attainment_alone(ctx: Ctx) -> None:
    """Attainment alone scores 100 x bookings / ramp-adjusted target: A1 100/90, A4 100/120, A2 60/90, A3 10/30."""
    definition, fell_back = rl.definition_of("mine", "AE", {"attainment": 100.0}, True, 5)
    assert not fell_back
    card = rl.load(ctx, rl.Choices(role="AE", tab="score", definition=definition)).card
    assert dict(zip(card.scores["rep_id"], card.scores["score"].round(2), strict=True)) == {
        "A1": 111.11, "A4": 83.33, "A2": 66.67, "A3": 33.33}
    # No weight at all: the role's default scorecard stands in.
    assert rl.definition_of("none", "AE", {}, True, 5) == (scorecards.default_definition("AE"), True)


def test_profile_of_the_first_ranked_rep(ctx: Ctx) -> None:
    """A1 by default: bookings 100,000, 20,000 above the peer median 80,000; attainment 100,000 / 90,000."""
    p = rl.load(ctx, rl.Choices(role="AE", tab="profile")).profile
    assert p.rep == "A1" and p.info["name"] == "Ava Ames"
    tiles = {x.label: x for x in p.tiles}
    assert tiles["Bookings"].value == "$100.0K" and tiles["Bookings"].delta == "+$20.0K"
    assert tiles["Attainment"].value == "111.1%"
    assert p.conversion is not None, "the fixture has stage history"
    assert p.ramp_note == ""  # hired in 2022: fully ramped


def test_profile_of_a_ramping_rep(ctx: Ctx) -> None:
    """A3, hired 1 Jul 2026: 2 whole months by 30 Sep, ramping; 2 closed deals make the win rate uncertain."""
    p = rl.load(ctx, rl.Choices(role="AE", tab="profile", rep="A3")).profile
    assert p.rep == "A3" and p.tenure_months == 2 and p.ramp_note != ""
    tiles = {x.label: x for x in p.tiles}
    assert tiles["Win rate"].value.endswith(" ⚠")
    # A shorter sales cycle is better, so the tile's colours are inverted.
    assert tiles["Sales cycle"].delta_color == "inverse" and tiles["Bookings"].delta_color == "normal"


def test_top_performers(ctx: Ctx) -> None:
    """The top quartile of 4 scored AEs is A1 alone; activities per deal 4.0 against the rest's median 2.0."""
    top = rl.load(ctx, rl.Choices(role="AE", tab="top")).top
    assert top.top == {"A1"} and top.names == "Ava Ames" and top.scored_reps == 4
    rows = {r[0]: r for r in top.per_rep.rows()}
    # (4.0 - 2.0) / 2.0 = +100%.
    assert rows["Activities per deal worked"][3] == "+100%"
    per_rep = top.comparison.filter(pl.col("measure") == "activities_per_deal")
    assert (per_rep["top"][0], per_rep["rest"][0]) == (4.0, 2.0)
    assert top.mix is not None and top.stage is not None


def test_too_few_for_a_top_quartile(ctx: Ctx) -> None:
    """Two SDRs are fewer than 4: no top quartile, no charts."""
    top = rl.load(ctx, rl.Choices(role="SDR", tab="top")).top
    assert top.top == set() and top.mix is None and top.per_rep is None


def test_review_quarters_without_ratings(ctx: Ctx) -> None:
    """The period's quarter and the three before it."""
    assert rl.review_quarters(ctx, F.Q3[1]) == ["2026Q3", "2026Q2", "2026Q1", "2025Q4"]
    assert rl.ratings_rows(ctx, "2026Q3", {"A1": "Ava Ames"}) == []


def _calls_load(path: Path) -> bool:
    """Whether a module's source calls a function of saleslens.rankings.load (imported as rl)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "rl"
               and n.attr == "load" for n in ast.walk(tree)) and "from saleslens.rankings import load as rl" in \
        path.read_text(encoding="utf-8")


def test_the_page_and_the_benchmark_call_the_same_load() -> None:
    """pages/leaderboard.py and bench/pages.py both call saleslens.rankings.load.load, so they cannot drift."""
    assert _calls_load(ROOT / "pages" / "leaderboard.py")
    assert _calls_load(ROOT / "bench" / "pages.py")
