"""Publishing an import: history into the event store, then the snapshot with one rename.

Everything is written aside in data/.tmp first. Event files are merged there and moved into place
one whole file at a time; the snapshot folder appears in one rename (store.publish_snapshot). A
failed or killed import leaves its half-work in data/.tmp, which the next run removes.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from saleslens.core import store
from saleslens.ingest.build import Prepared, Progress
from saleslens.ingest.report import diff

# A testing hook, not a setting: "SECONDS" sleeps after each table is written, "SECONDS@TEXT" only after
# the step whose name contains TEXT, so a test can kill the import half-way through.
PAUSE_ENV = "SALESLENS_TEST_IMPORT_PAUSE"


def _pause(what: str) -> None:
    """Sleep for the test hook, telling the test what has just been written."""
    raw = os.environ.get(PAUSE_ENV, "")
    if not raw:
        return
    seconds, _, step = raw.partition("@")
    sys.stderr.write(f"[import] wrote {what}\n")
    sys.stderr.flush()
    if not step or step in what:
        time.sleep(float(seconds))


class _PausingTables(dict):
    """The snapshot tables; with the test hook on, iterating them pauses after each one is written."""

    def items(self) -> Iterator[tuple[str, pl.DataFrame]]:  # type: ignore[override]
        """Each table, pausing after the caller has handled it."""
        for name, frame in super().items():
            yield name, frame
            _pause(f"snapshot table {name}")


def latest(data_dir: Path) -> store.Snapshot | None:
    """The latest published snapshot, if any."""
    snaps = store.list_snapshots(data_dir) if data_dir.exists() else []
    return snaps[-1] if snaps else None


def with_diff(prepared: Prepared, data_dir: Path, event_counts: dict[str, int] | None = None) -> dict:
    """The report with its differences from the latest snapshot in the data directory."""
    report = dict(prepared.report)
    report["diff"] = diff(report, prepared.tables, latest(data_dir), event_counts)
    return report


def publish(prepared: Prepared, data_dir: Path, progress: Progress | None = None) -> store.Snapshot:
    """Write the import's history and publish its snapshot; nothing shows until each step is whole."""
    from queries.runner import build_derived  # DuckDB only when publishing

    tell = progress or (lambda f, m: None)
    data_dir.mkdir(parents=True, exist_ok=True)
    store.clean_leftovers(data_dir)
    tell(0.85, "writing history")
    staging = store.staging_dir(data_dir)
    try:
        moves = _stage_events(data_dir, staging, prepared.events)
        for staged, target in moves:  # each event file replaced whole; same content again on a re-run
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report = with_diff(prepared, data_dir, store.event_counts(data_dir, prepared.as_of))
    tell(0.92, "writing snapshot")
    snap = store.publish_snapshot(
        data_dir, prepared.as_of, _PausingTables(prepared.tables), source=f"import:{prepared.mapping.name}",
        report=report, derive=build_derived, extra=prepared.manifest,
    )
    tell(1.0, f"published snapshot {snap.id}")
    return snap


def _stage_events(data_dir: Path, staging: Path, events: dict[str, pl.DataFrame]) -> list[tuple[Path, Path]]:
    """Merge new history with the existing month files inside the staging folder; return the moves to make."""
    moves = []
    for table, frame in events.items():
        if frame.is_empty():
            continue
        spec_time = {"activities": "occurred_at", "stage_changes": "changed_at"}[table]
        months = frame[spec_time].dt.strftime("%Y-%m").unique().to_list()
        for month in months:
            existing = data_dir / store.EVENTS / table / f"month={month}" / "data.parquet"
            if existing.exists():
                copy = staging / store.EVENTS / table / f"month={month}" / "data.parquet"
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(existing, copy)
        store.write_events(staging, table, frame)
        for month in months:
            rel = Path(store.EVENTS) / table / f"month={month}" / "data.parquet"
            moves.append((staging / rel, data_dir / rel))
        _pause(f"history {table}")
    return moves
