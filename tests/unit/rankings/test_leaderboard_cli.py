"""`python -m saleslens leaderboard`, the command under the Leaderboard's ranking (issue 16 item 5).

On tests/scorecard_fixtures.py, Q3 2026 by bookings: A1 Ava and A4 Dan tie at 1 (100,000; from 3rd and 2nd in Q2),
A2 Ben is 3rd (60,000; from 1st), A3 Cleo 4th and new (tests/unit/rankings/test_load.py::test_board_by_bookings).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from saleslens import cli
from saleslens.core import access, commands
from tests import scorecard_fixtures as F

Q3 = ("--from", "2026-07-01", "--to", "2026-09-30")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The scorecard fixture store, with a rep who may see only A2's rows."""
    F.build_store(tmp_path)
    access.write_users(tmp_path / "users.toml", [{"login": "ben", "name": "Ben Birch", "role": "rep",
                                                   "rep_id": "A2"}])
    return tmp_path


def board(capsys: pytest.CaptureFixture, root: Path, *argv: str) -> pl.DataFrame:
    """The command's CSV as a frame."""
    assert cli.main(["leaderboard", *argv, "--data", str(root), "--format", "csv"]) == 0
    return pl.read_csv(io.StringIO(capsys.readouterr().out))


def test_the_ranking_as_the_tab_shows_it(root: Path, capsys: pytest.CaptureFixture) -> None:
    printed = board(capsys, root, *Q3, "--role", "AE", "--lang", "en")
    assert printed["name"].to_list() == ["Ava Ames", "Dan Dorn", "Ben Birch", "Cleo Cruz"]
    assert printed["rank"].to_list() == [1, 1, 3, 4]
    assert printed["change"].to_list() == ["▲ 2", "▲ 1", "▼ 2", "new"]
    # Ben won O201-O203, 3 x 20,000 = 60,000; Cleo O301 and O302, 2 x 5,000 = 10,000.
    assert printed["value"].to_list() == [100000.0, 100000.0, 60000.0, 10000.0]
    assert "trend" not in printed.columns  # a list per rep: the download leaves it out too


def test_a_rep_is_ranked_among_peers(root: Path, capsys: pytest.CaptureFixture) -> None:
    """--as ben prints Ben's row alone, with his rank among the 4 AEs (3rd), as his Leaderboard tab does."""
    printed = board(capsys, root, *Q3, "--role", "AE", "--as", "ben")
    assert printed["rep_id"].to_list() == ["A2"] and printed["rank"].to_list() == [3]


def test_half_a_period_is_refused(root: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["leaderboard", "--from", "2026-07-01", "--data", str(root)]) == 2
    assert "give both --from and --to" in capsys.readouterr().err


def test_the_command_text() -> None:
    """Options in ISO dates and comma-separated lists, empty ones left out, quoted for the shell."""
    line = commands.cli_command("leaderboard", {"kpi": "win_rate", "role": "AE", "from": date(2026, 7, 1),
                                                "to": date(2026, 9, 30), "region": ["East", "New York"],
                                                "team": [], "lang": "zh"}, "2026-09-30", "ben")
    assert line == ("python -m saleslens leaderboard --kpi win_rate --role AE --from 2026-07-01 --to 2026-09-30 "
                    "--region 'East,New York' --lang zh --snapshot 2026-09-30 --as ben")
