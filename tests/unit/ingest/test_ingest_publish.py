"""Atomic publishing: a killed import publishes nothing, the previous snapshot is still served, leftovers go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens import ingest
from saleslens.core import store
from saleslens.ingest.publish import PAUSE_ENV
from tests.ingest_cases import ROOT, SF_TASKS, salesforce_files, tree_state, write

FIRST = date(2026, 6, 30)
SECOND = date(2026, 7, 31)


def _served(data: Path) -> tuple[str, dict, int]:
    """What a reader gets now: the latest snapshot id, its org KPIs and how many activities it sees."""
    snap = store.open_snapshot(data)
    runner = Runner(snap)
    try:
        kpis = runner.run("kpis_by_group", by="org").row(0, named=True)
    finally:
        runner.close()
    return snap.id, kpis, snap.manifest["events"]["activities"]


def _next_week_export(folder: Path) -> Path:
    """The same CRM a month later: one more call, dated after the first snapshot."""
    files = salesforce_files()
    files["tasks_events.csv"] = (SF_TASKS + "00T9,Tom Berg,Call,7/10/2026,006B3,001C3\n").encode()
    return write(folder, files)


def _start(source: Path, data: Path, at: str) -> subprocess.Popen:
    """`python -m saleslens import` in a child process that stops for a minute after writing one table."""
    cmd = [sys.executable, "-m", "saleslens", "import", str(source), "--mapping", "salesforce-report",
           "--as-of", SECOND.isoformat(), "--data", str(data)]
    env = {**os.environ, PAUSE_ENV: f"60@{at}"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 120) -> None:
    """Read the child's progress lines until one contains the marker."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"import ended before '{marker}': {''.join(seen)}")
        seen.append(line)
        if marker in line:
            return
    raise AssertionError(f"no '{marker}' in {timeout} s")


@pytest.fixture
def first(tmp_path: Path) -> Path:
    """A data directory serving the Salesforce sample as of 30 June."""
    data = tmp_path / "data"
    ingest.run_import(write(tmp_path / "june", salesforce_files()), "salesforce-report", data, FIRST)
    return data


@pytest.mark.parametrize(
    "marker",
    ["wrote history stage_changes", "wrote snapshot table reps"],
    ids=["while_merging_history", "while_writing_snapshot_tables"],
)
def test_killed_import_publishes_nothing(marker: str, first: Path, tmp_path: Path) -> None:
    """SIGKILL half-way: the June snapshot is still served unchanged, the half-work is only in data/.tmp,
    and the next import cleans it up and publishes."""
    before_id, before_kpis, before_activities = _served(first)
    snapshots_before = tree_state(first / store.SNAPSHOTS)
    source = _next_week_export(tmp_path / "july")
    proc = _start(source, first, at=marker.removeprefix("wrote "))
    try:
        _wait_for(proc, marker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # Nothing half-written is visible: the snapshot folders are byte for byte as before ...
    assert tree_state(first / store.SNAPSHOTS) == snapshots_before
    # ... the June snapshot is still the one served, with the same numbers and history ...
    assert _served(first) == (before_id, before_kpis, before_activities)
    # ... and the interrupted work sits in the temporary folder, where no reader looks.
    leftovers = list((first / store.TMP).iterdir())
    assert leftovers
    # The next run removes the leftovers and publishes the July snapshot.
    snap = ingest.run_import(source, "salesforce-report", first, SECOND)
    assert not list((first / store.TMP).iterdir())
    assert [s.id for s in store.list_snapshots(first)] == [before_id, snap.id]
    assert snap.manifest["events"]["activities"] == 5
    assert _served(first)[0] == snap.id


def test_killed_while_merging_history_leaves_history_untouched(first: Path, tmp_path: Path) -> None:
    """History is merged in data/.tmp and moved in whole files only after every table is merged."""
    events_before = tree_state(first / store.EVENTS)
    proc = _start(_next_week_export(tmp_path / "july"), first, at="history stage_changes")
    try:
        _wait_for(proc, "wrote history stage_changes")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert tree_state(first / store.EVENTS) == events_before


def test_reimport_merges_history_without_duplicates(first: Path, tmp_path: Path) -> None:
    """Importing the next export again adds only the new activity; the June snapshot still sees 4."""
    snap = ingest.run_import(_next_week_export(tmp_path / "july"), "salesforce-report", first, SECOND)
    assert snap.manifest["events"] == {"stage_changes": 5, "activities": 5}
    acts = pl.read_parquet(store.events_glob(first, "activities"))
    assert acts.height == 5 and acts["activity_id"].n_unique() == 5
    june = store.list_snapshots(first)[0]
    assert _served(first)[2] == 5
    runner = Runner(june)
    try:
        assert runner.run("kpis_by_group", by="org")["activities"][0] == 4
    finally:
        runner.close()


def test_failed_publish_leaves_no_snapshot(first: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while the snapshot is written (disk full, say) publishes nothing and cleans its folder."""
    prepared = ingest.build.prepare(ingest.readers.files_from_path(_next_week_export(tmp_path / "july")),
                                    ingest.mapping.load("salesforce-report"), as_of=SECOND)
    before = tree_state(first / store.SNAPSHOTS)

    def broken(self, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken)
    with pytest.raises(OSError):
        ingest.publish.publish(prepared, first)
    assert tree_state(first / store.SNAPSHOTS) == before
    assert not list((first / store.TMP).iterdir())
