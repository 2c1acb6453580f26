"""A rep who sees only their own rows is ranked among their peers, counts only (issue 16 item 4).

On tests/scorecard_fixtures.py, Q3 2026: by bookings A1 and A4 tie at 1 (100,000), A2 is 3rd, A3 4th
(tests/unit/rankings/test_load.py::test_board_by_bookings); four AEs are ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from queries.runner import Runner, Scope
from saleslens.core import access, store
from saleslens.core.context import RunnerContext
from saleslens.core.filters import from_query
from saleslens.rankings import load as rl
from tests import scorecard_fixtures as F

Q3 = {"period": "custom", "start": "2026-07-01", "end": "2026-09-30"}


@dataclass
class GrantContext(RunnerContext):
    """A RunnerContext that carries the viewer's grant, as the app's context does."""

    grant: access.Grant | None = None


def rep_context(root: Path, rep_id: str, role: str = "rep") -> GrantContext:
    """The context of a signed-in user who may see only rep_id's rows."""
    snap = store.open_snapshot(root)
    ids = frozenset({rep_id})
    grant = access.Grant(access.User("u", "U", role, rep_id), ids, "own deals")
    return GrantContext(root, snap, Runner(snap, Scope(f"reps:{rep_id}", ids)), from_query(Q3, F.AS_OF), "en",
                        grant=grant)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The scorecard fixture store."""
    F.build_store(tmp_path)
    return tmp_path


def test_a_rep_is_ranked_among_peers_and_sees_only_their_row(root: Path) -> None:
    """A2 sees one row: rank 3 (as the manager sees it), ▼ 2, out of 4 ranked AEs; no other rep's name."""
    ctx = rep_context(root, "A2")
    board = rl.load(ctx, rl.Choices(role="AE", tab="board", kpi="bookings")).board
    assert board.table["rep_id"].to_list() == ["A2"]
    assert board.table["rank"].to_list() == [3]
    assert board.table["change"].to_list() == ["▼ 2"]
    assert board.peers == 4
    assert list(board.figure.data[0].customdata) == ["A2"]
    ctx.runner.close()


def test_a_tie_at_the_top_is_kept(root: Path) -> None:
    """A4 shares rank 1 with A1, whom they do not see."""
    ctx = rep_context(root, "A4")
    board = rl.load(ctx, rl.Choices(role="AE", tab="board", kpi="bookings")).board
    assert board.table["rank"].to_list() == [1] and board.peers == 4
    ctx.runner.close()


def test_a_manager_is_ranked_as_before() -> None:
    """Only a rep's grant is ranked among hidden peers: a manager (or no grant: CLI, benchmark) is not."""
    grant = access.Grant(access.User("m", "M", "manager", "M1"), frozenset({"A1", "A2"}), "team")
    assert rl.own_rep(GrantContext(Path("."), None, None, None, grant=grant)) is None
    assert rl.own_rep(GrantContext(Path("."), None, None, None)) is None
    solo = access.Grant(access.User("r", "R", "rep", "A1"), frozenset({"A1"}), "own deals")
    assert rl.own_rep(GrantContext(Path("."), None, None, None, grant=solo)) == "A1"
