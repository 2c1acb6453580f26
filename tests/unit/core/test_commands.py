"""The CLI line under a table prints that table (issue 16 item 5): the command is run and its CSV compared
with the rows the page shows, on the tiny literal store (tests/fixtures.py)."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import access, commands, store
from saleslens.core.context import RunnerContext
from saleslens.core.filters import from_query
from saleslens.overview import load as overview_load
from tests import fixtures

ROOT = Path(__file__).resolve().parents[3]
# Q2 2026 (the fixtures' snapshot is 30 Jun 2026), the East region only.
QUERY = {"period": "custom", "start": "2026-04-01", "end": "2026-06-30", "region": "East"}


def run_command(command: str, data_dir: Path) -> pl.DataFrame:
    """Run a command line as a user pastes it (with --format csv), in the project, on a data directory."""
    args = shlex.split(command)
    assert args[:3] == ["python", "-m", "saleslens"]
    env = {**os.environ, "SALESLENS_DATA": str(data_dir)}
    done = subprocess.run([sys.executable, *args[1:], "--format", "csv"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    return pl.read_csv(io.StringIO(done.stdout), try_parse_dates=True)


def test_the_command_text() -> None:
    """Dates in ISO form, lists comma-separated, defaults left out, values quoted for the shell."""
    command = commands.query_command("kpis_by_group", {"by": "team", "start": date(2026, 4, 1), "end": None,
                                                       "regions": ["East", "New York"], "teams": []},
                                     "2026-06-30", "ann")
    assert command == ("python -m saleslens query kpis_by_group --param by=team --param start=2026-04-01 "
                       "--param 'regions=East,New York' --snapshot 2026-06-30 --as ann")


def test_login_only_for_a_narrowed_view() -> None:
    """A viewer who sees every row needs no --as; a rep does."""
    rep = access.User("ann", "Ann", "rep", "R1")
    assert commands.login_for(access.Grant(rep, frozenset({"R1"}), "own deals")) == "ann"
    assert commands.login_for(access.Grant(access.User("al", "Al", "admin"), None, "every rep")) is None
    assert commands.login_for(None) is None


@pytest.mark.parametrize("group", ["team", "rep"])
def test_overview_group_table_is_what_the_command_prints(tmp_path: Path, group: str) -> None:
    """The Overview's KPIs-by-group table for Q2 in the East: the printed command gives the same rows."""
    snap = fixtures.build_store(tmp_path)
    runner = Runner(store.open_snapshot(tmp_path))
    ctx = RunnerContext(tmp_path, store.open_snapshot(tmp_path), runner, from_query(QUERY, fixtures.AS_OF))
    shown = overview_load.load_group(ctx, group, "bookings")
    runner.close()
    assert shown.by_group.height > 0  # the comparison below is about rows, not two empty tables
    printed = run_command(commands.query_command(*shown.call, snap.id), tmp_path)
    expected = shown.by_group
    assert printed.columns == expected.columns
    assert printed["group_key"].to_list() == expected["group_key"].to_list()
    for col in ("bookings", "deals_won", "deals_lost", "target"):
        assert printed[col].cast(pl.Float64).to_list() == expected[col].cast(pl.Float64).to_list(), col
