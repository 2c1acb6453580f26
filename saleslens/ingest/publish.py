"""Publishing an import: its snapshot and its history batch, under the data directory's import lock.

Everything is written aside in data/.tmp first (store.publish_snapshot): the snapshot tables, the history rows
no earlier batch holds (the import's own batch), the derived tables and the manifest; then the batch folders
and the snapshot folder are renamed into place, the snapshot last. A batch is invisible until the manifest
naming it is published, so no earlier snapshot ever changes. A failed or killed import leaves its half-work in
data/.tmp (or an unnamed batch), which the next run removes. One import at a time: a second one is refused.
An import without stage history gets the moves inferred against the latest snapshot of the same mapping as its
history batch (saleslens.ingest.inferred), and its report says how many.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

from saleslens.core import store
from saleslens.ingest import inferred
from saleslens.ingest.build import Prepared, Progress
from saleslens.ingest.report import diff

# A testing hook, not a setting: "SECONDS" sleeps after each step of a publish (the lock taken, leftovers removed,
# the staging folder, each snapshot table, each history table, the history counted, the report, each derived
# table, the manifest, each history batch moved in, the snapshot published), "SECONDS@TEXT" only after the step
# whose name contains TEXT, so a test can kill the import there.
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


def latest(data_dir: Path) -> store.Snapshot | None:
    """The latest published snapshot, if any."""
    snaps = store.list_snapshots(data_dir) if data_dir.exists() else []
    return snaps[-1] if snaps else None


def inference(prepared: Prepared, data_dir: Path) -> inferred.Inference | None:
    """The stage moves to infer for an import without stage history (see saleslens.ingest.inferred), if any."""
    return inferred.for_import(prepared.tables, prepared.events, prepared.mapping.name, prepared.as_of, data_dir)


def with_diff(prepared: Prepared, data_dir: Path, event_counts: dict[str, int] | None = None,
              found: inferred.Inference | None = None) -> dict:
    """The report with its differences from the latest snapshot in the data directory, and the stage moves
    inferred against it (`found`, else worked out here: the check before publishing reports them too)."""
    report = dict(prepared.report)
    found = found if found is not None else inference(prepared, data_dir)
    if found is not None:
        report["inferred"] = found.summary()
    report["diff"] = diff(report, prepared.tables, latest(data_dir), event_counts)
    return report


def publish(prepared: Prepared, data_dir: Path, progress: Progress | None = None) -> store.Snapshot:
    """Publish the import's snapshot with its history batch; nothing shows until the snapshot is whole.

    Raises store.ImportBusy when another import holds the data directory's lock.
    """
    from queries.runner import build_derived  # DuckDB only when publishing

    tell = progress or (lambda f, m: None)
    data_dir.mkdir(parents=True, exist_ok=True)
    with store.import_lock(data_dir, timeout=store.LOCK_WAIT_SECONDS):
        tell(0.85, "writing snapshot and history")
        found = inference(prepared, data_dir)  # under the lock: the snapshot compared with is the latest one
        events = prepared.events if found is None else {**prepared.events, "stage_changes": found.rows}

        def report(event_counts: dict[str, int]) -> dict:
            return with_diff(prepared, data_dir, event_counts, found)

        snap = store.publish_snapshot(
            data_dir, prepared.as_of, prepared.tables, source=f"import:{prepared.mapping.name}",
            report=report, derive=functools.partial(build_derived, on_step=_pause), events=events,
            on_step=_pause, extra=prepared.manifest,
        )
    tell(1.0, f"published snapshot {snap.id}")
    return snap
