"""The snapshot store: snapshots of CRM state, an event store for history, atomic publishing.

Layout of a data directory:
    snapshots/<id>/               one folder per published snapshot: a Parquet file per table, derived/, manifest.json
    events/<table>/batch=<id>/month=YYYY-MM/data.parquet
                                  the history rows an import brought (only rows whose key was not stored before),
                                  one immutable batch per snapshot that brought any; a snapshot's manifest lists the
                                  batches it reads (`event_batches`: the earlier ones and its own)
    events/<table>/month=YYYY-MM/data.parquet
                                  the unbatched store of older data directories: the batch named "legacy", read by
                                  every snapshot whose manifest has no batch list and by the ones published on top
    .tmp/                         staging folders of imports in progress (or killed ones, removed at the next start)
    .import.lock                  held (flock) by the one import that may publish at a time

A data directory may also be the local mirror of a store on object storage (SALESLENS_DATA=s3://bucket/prefix,
see objectstore.py): the functions here then ask that store (a RemoteStore) which snapshots are published, fetch
a snapshot's files into the mirror on first use, and publish by uploading and writing the store's pointer.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import stat
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import polars as pl
import pyarrow.parquet as pq

from saleslens.core import schema

if TYPE_CHECKING:  # DuckDB is imported only by the streamed publish
    import duckdb

SNAPSHOTS = "snapshots"
EVENTS = "events"
TMP = ".tmp"
MANIFEST = "manifest.json"
DERIVED = "derived"
LOCK_FILE = ".import.lock"
# The batch name of the unbatched event files of data directories written before batches existed.
LEGACY_BATCH = "legacy"
# How long a publisher waits for the import lock: a page load's clean-up holds it for milliseconds, an import
# for minutes (then the second one is refused rather than left waiting).
LOCK_WAIT_SECONDS = 5.0
# An atomic save holds its temporary file for milliseconds: one older than this was left by a killed process.
SAVE_TMP_GRACE_SECONDS = 60.0
_ID = re.compile(r"^\d{4}-\d{2}-\d{2}(-\d+)?$")


class StoreError(Exception):
    """A problem with the data directory, told in words a user can act on."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class RemoteStore(Protocol):
    """A store on object storage behind a local mirror folder (objectstore.Remote): what this module asks of it."""

    url: str

    def snapshot_entries(self) -> list[tuple[str, dict]]:
        """(id, manifest) of every published snapshot."""

    def taken_ids(self) -> set[str]:
        """The snapshot ids published."""

    def fetch_snapshot(self, snapshot_id: str) -> None:
        """Make the snapshot's files present in the mirror."""

    def fetch_batch(self, batch: str) -> None:
        """Make a history batch's files present in the mirror."""

    def lease(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's one-publisher lease."""

    def publish(self, stage: Path, snap_id: str, manifest: dict, own: list[str],
                batch_dir: Callable[[Path, str], Path], step: Callable[[str], None]) -> None:
        """Upload a staged snapshot, then write the pointer naming it."""

    def adopt(self, stage: Path, snap_id: str, own: list[str], batch_dir: Callable[[Path, str], Path]) -> Path:
        """Move the published staged folder into the mirror; its place there."""

    def check(self) -> None:
        """Reach the store now; StoreError when it cannot be used."""

    def describe(self, path: Path) -> str:
        """A mirrored file's place in the store, for messages."""


# Local mirror folder -> the store on object storage it mirrors (registered by objectstore.attach).
_REMOTES: dict[str, RemoteStore] = {}


def register_remote(mirror: Path, remote: RemoteStore | None) -> None:
    """Make a folder the mirror of a store on object storage (None: a plain data directory again)."""
    if remote is None:
        _REMOTES.pop(str(mirror), None)
    else:
        _REMOTES[str(mirror)] = remote


def remote_for(data_dir: Path) -> RemoteStore | None:
    """The store on object storage a data directory mirrors, or None for a local data directory."""
    return _REMOTES.get(str(data_dir)) if _REMOTES else None


def where(data_dir: Path) -> str:
    """How messages name a data directory: its store URL when it mirrors one."""
    remote = remote_for(data_dir)
    return remote.url if remote is not None else str(data_dir)


def check_store(data_dir: Path) -> None:
    """Reach a data directory's store on object storage now (nothing to do for a local folder); StoreError when
    it cannot be used. The app's start calls it, so an unreachable store gets one page naming it."""
    remote = remote_for(data_dir)
    if remote is not None:
        remote.check()


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: its folder and its manifest."""

    root: Path
    manifest: dict = field(hash=False, compare=False)
    # Set while a snapshot is still being written in the staging folder: the data directory it will join.
    home: Path | None = field(default=None, hash=False, compare=False)

    @property
    def id(self) -> str:
        """The snapshot id, its folder name."""
        return self.root.name

    @property
    def as_of(self) -> date:
        """The day the snapshot describes."""
        return date.fromisoformat(self.manifest["as_of"])

    @property
    def data_dir(self) -> Path:
        """The data directory the snapshot lives in."""
        return self.home or self.root.parent.parent

    @property
    def reporting_currency(self) -> str | None:
        """ISO code of the currency amounts are in; None (older or single-currency imports): the setting's."""
        return self.manifest.get("reporting_currency")

    def table_path(self, table: str) -> Path | None:
        """The Parquet file of a snapshot table, or None when the dataset lacks it."""
        self._fetch()
        path = self.root / f"{table}.parquet"
        return path if path.exists() else None

    def _fetch(self) -> None:
        """On a store on object storage, download the snapshot into the mirror on first use (published only)."""
        remote = remote_for(self.data_dir)
        if remote is not None and self.home is None:
            remote.fetch_snapshot(self.id)

    @property
    def event_batches(self) -> list[str]:
        """The history batches the snapshot reads: its manifest's list, or the legacy store for older manifests."""
        return list(self.manifest.get("event_batches", [LEGACY_BATCH]))

    def event_files(self, table: str) -> list[str]:
        """Exactly the event files of the snapshot's batches that exist (none: the table is empty).

        While the snapshot is staged, its own batch is still in the staging folder: looked for there first.
        Files, not glob patterns: a data directory named like /data/br[a]ck must be read as written.
        """
        roots = [self.root, self.data_dir] if self.home is not None else [self.data_dir]
        remote = remote_for(self.data_dir)
        out = []
        for batch in self.event_batches:
            if remote is not None:
                remote.fetch_batch(batch)
            for root in roots:
                files = sorted(str(f) for f in _batch_dir(root, table, batch).glob("month=*/data.parquet"))
                if files:
                    out.extend(files)
                    break
        return out

    def has(self, table: str) -> bool:
        """Whether the snapshot (or the event store up to it) has rows of a table."""
        if table in schema.EVENT_TABLES:
            return self.manifest.get("events", {}).get(table, 0) > 0
        return self.manifest.get("row_counts", {}).get(table, 0) > 0


def _write_json(path: Path, payload: dict) -> None:
    """Write JSON next to its final place, then rename it there in one step."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write a JSON document atomically: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, payload)


class ImportBusy(StoreError):
    """Another import (or demo build) is publishing into the same data directory."""


# Threads of this process that hold a data directory's import lock, and how deeply (publish calls nest).
_LOCK_GUARD = threading.Lock()
_LOCKS: dict[str, threading.RLock] = {}
_HELD: dict[str, tuple[int, int]] = {}  # data directory -> (lock file descriptor, depth)


def _flock(path: Path, deadline: float) -> int | None:
    """The descriptor of the lock file once flock'ed, or None when another process still holds it at the deadline."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)
            continue
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed the file as we locked it: lock the new one


def _busy_message(path: Path) -> str:
    """One line naming the import that holds the lock (its process id and start, as it wrote them)."""
    try:
        holder = path.read_text(encoding="utf-8").strip()
    except OSError:
        holder = ""
    return "Another import is running in this data directory" + (f" ({holder})" if holder else "") + "."


@contextlib.contextmanager
def import_lock(data_dir: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the data directory's import lock: one publisher at a time across threads and processes.

    A kernel lock (flock) on data/.import.lock, so it is free again the moment its holder dies, however it dies:
    no stale lock to clear. Re-entrant in the holding thread. Waits up to `timeout` seconds, then ImportBusy.

    On a store on object storage the flock keeps this machine's processes apart, and a caller that waits (a
    timeout, as publishers, demo builds and derive have) also holds the store's lease, which keeps the servers
    apart: a demo build's check and its snapshots are one piece. A try without waiting (the clean-up of every
    page load) touches only the local mirror, so it costs no request to the store.
    """
    remote = remote_for(data_dir)
    with _local_import_lock(data_dir, timeout):
        if remote is not None and timeout > 0:
            with remote.lease():
                yield
        else:
            yield


@contextlib.contextmanager
def _local_import_lock(data_dir: Path, timeout: float) -> Iterator[None]:
    """The flock part of import_lock (see there)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = str(data_dir.resolve())
    with _LOCK_GUARD:
        rlock = _LOCKS.setdefault(key, threading.RLock())
    deadline = time.monotonic() + timeout
    path = data_dir / LOCK_FILE
    entered = rlock.acquire(timeout=timeout) if timeout > 0 else rlock.acquire(blocking=False)
    if not entered:
        raise ImportBusy(_busy_message(path), "Wait until it has finished, then try again.")
    try:
        fd, depth = _HELD.get(key, (-1, 0))
        if depth == 0:
            got = _flock(path, deadline)
            if got is None:
                raise ImportBusy(_busy_message(path), "Wait until it has finished, then try again.")
            fd = got
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"process {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M} UTC".encode(), 0)
        _HELD[key] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _HELD.pop(key)
            if depth > 1:
                _HELD[key] = (fd, depth - 1)
            else:
                # Removed while still held (a waiter then retries on a new file), so a data directory an import
                # left is as it was; closing the descriptor releases the flock.
                path.unlink(missing_ok=True)
                os.close(fd)
    finally:
        rlock.release()


def clean_leftovers(data_dir: Path, min_age_seconds: float = 0) -> list[str]:
    """Remove what killed imports, demo builds and saves left behind; every start (and every import) calls this.

    The staging folders, event batches no snapshot names and stray `.*.tmp` files of snapshots and events go
    only while no import is running (the import lock is free, or held by this thread), and when older than
    min_age_seconds (page loads pass a long one: `saleslens derive` may be rebuilding a derived table). Stray
    `.*.tmp` files anywhere else in the data directory (atomic saves: users, saved JSON, review files) go once
    older than SAVE_TMP_GRACE_SECONDS, whatever min_age_seconds says: an atomic save holds one for milliseconds.
    """
    if not data_dir.is_dir():
        return []
    now = time.time()
    removed: list[str] = []
    try:
        # Holding the lock while removing: no import can start and have its fresh work taken meanwhile.
        with import_lock(data_dir):
            candidates = list((data_dir / TMP).iterdir()) if (data_dir / TMP).exists() else []
            candidates += _orphan_batches(data_dir)
            for folder in (SNAPSHOTS, EVENTS):
                candidates += list((data_dir / folder).rglob(".*.tmp"))
            removed += _remove_older(candidates, now - min_age_seconds)
    except (ImportBusy, OSError):
        pass  # an import is running (its work stays), or the directory cannot be written, so has nothing to clean
    saved = [p for p in data_dir.rglob(".*.tmp") if p.relative_to(data_dir).parts[0] not in (TMP, SNAPSHOTS, EVENTS)]
    removed += _remove_older(saved, now - SAVE_TMP_GRACE_SECONDS)
    return removed


def _remove_older(paths: list[Path], cutoff: float) -> list[str]:
    """Delete the files and folders last changed before cutoff; their names."""
    removed = []
    for child in paths:
        try:
            if child.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        removed.append(child.name)
    return removed


def _orphan_batches(data_dir: Path) -> list[Path]:
    """Event batch folders no published snapshot names: an import killed between moving its history in and
    renaming its snapshot (invisible to every reader, since only a manifest makes a batch visible)."""
    named = set(_published_batches(data_dir))
    return [folder for folder in (data_dir / EVENTS).glob("*/batch=*")
            if folder.is_dir() and folder.name.removeprefix("batch=") not in named]


def staging_dir(data_dir: Path) -> Path:
    """A fresh temporary folder inside the data directory, on the same filesystem as the target."""
    path = data_dir / TMP / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def _next_id(data_dir: Path, as_of: date) -> str:
    """The id for a new snapshot of a day: the date, with -2, -3, ... for later ones that day."""
    base = as_of.isoformat()
    root = data_dir / SNAPSHOTS
    remote = remote_for(data_dir)
    taken = remote.taken_ids() if remote is not None else None

    def used(name: str) -> bool:
        return name in taken if taken is not None else (root / name).exists()

    if not used(base):
        return base
    n = 2
    while used(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


def publish_snapshot(
    data_dir: Path,
    as_of: date,
    tables: dict[str, pl.DataFrame],
    source: str,
    report: dict | Callable[[dict[str, int]], dict] | None = None,
    derive: Callable[[Snapshot], dict[str, int]] | None = None,
    events: dict[str, pl.DataFrame] | None = None,
    on_step: Callable[[str], None] | None = None,
    extra: dict | None = None,
) -> Snapshot:
    """Write the snapshot tables and its history batch aside, then publish them; nothing half-written shows.

    `events` are the history rows the import brought: the rows whose key no earlier batch holds become the
    snapshot's own batch, so no published snapshot's history ever changes. `report` may be a function of the
    history counts the snapshot will see. `derive` writes the tables computed from the snapshot (rollups, see
    queries/derived/) into the staging folder before the rename, so a published snapshot never lacks them
    halfway. `extra` adds manifest keys (an import's reporting_currency and rates, backfilled). `on_step` is told
    each step as it is done (a test hook pauses there). Holds the import lock.
    """
    _check_tables(tables)
    return _publish(
        data_dir, as_of,
        lambda stage, step: _stage_snapshot(stage, as_of, tables, source, step),
        lambda stage, batch, earlier, step: _stage_batch(stage, data_dir, batch, earlier, events or {}, step),
        report, derive, on_step, extra,
    )


def _check_tables(tables: dict) -> None:
    """Refuse tables that are not snapshot tables, and a snapshot without its core tables."""
    unknown = set(tables) - set(schema.SNAPSHOT_TABLES)
    if unknown:
        raise StoreError(f"Not snapshot tables: {', '.join(sorted(unknown))}.")
    missing = [t for t in schema.CORE_TABLES if t not in tables]
    if missing:
        raise StoreError(f"A snapshot needs the tables {', '.join(missing)}.")


def _publish(
    data_dir: Path,
    as_of: date,
    stage_tables: Callable[[Path, Callable[[str], None]], dict],
    stage_events: Callable[[Path, str, list[str], Callable[[str], None]], list[str]],
    report: dict | Callable[[dict[str, int]], dict] | None,
    derive: Callable[[Snapshot], dict[str, int]] | None,
    on_step: Callable[[str], None] | None,
    extra: dict | None,
) -> Snapshot:
    """publish_snapshot's steps, with the tables and the history batch written by the given functions."""
    step = on_step or (lambda name: None)
    remote = remote_for(data_dir)
    with import_lock(data_dir, timeout=LOCK_WAIT_SECONDS):  # on object storage, with the store's lease
        step("import lock")
        clean_leftovers(data_dir)  # what a killed publisher left: no other one can be running now
        step("leftovers removed")
        stage = staging_dir(data_dir)
        step("staging folder")
        moved: list[Path] = []
        try:
            snap_id = _next_id(data_dir, as_of)
            manifest = stage_tables(stage, step)
            batches = _published_batches(data_dir)
            own = stage_events(stage, snap_id, batches, step)
            manifest["event_batches"] = batches + ([snap_id] if own else [])
            staged = Snapshot(stage, manifest, home=data_dir)
            manifest["events"] = _count_events(staged, as_of)
            step("history counted")
            manifest["import_report"] = (report(manifest["events"]) if callable(report) else report) or {}
            manifest.update(extra or {})
            step("import report")
            if derive is not None:
                manifest["derived"] = derive(staged)
                step("derived tables")
            _write_json(stage / MANIFEST, manifest)
            step("manifest")
            if remote is not None:
                remote.publish(stage, snap_id, manifest, own, functools.partial(_batch_dir, batch=snap_id), step)
                target = remote.adopt(stage, snap_id, own, functools.partial(_batch_dir, batch=snap_id))
                step("snapshot published")
                return Snapshot(target, manifest)
            for table in own:  # each batch folder in one rename; invisible until the manifest naming it is published
                target = _batch_dir(data_dir, table, snap_id)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(_batch_dir(stage, table, snap_id), target)
                moved.append(target)
                step(f"history moved {table}")
            shutil.rmtree(stage / EVENTS, ignore_errors=True)  # the emptied batch folders: not part of the snapshot
            (data_dir / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
            target = data_dir / SNAPSHOTS / snap_id
            os.rename(stage, target)  # the one step that makes the snapshot (and its batch) visible
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            for folder in moved:  # never named by a manifest: nobody reads them
                shutil.rmtree(folder, ignore_errors=True)
            raise
        step("snapshot published")
    return Snapshot(target, manifest)


def move_in(built: Path, data_dir: Path) -> list[Snapshot]:
    """Move a whole data directory built aside (the first-start demo) into one with no snapshot; its snapshots.

    The history batches go first (invisible until a manifest names them), then every snapshot folder in one
    rename, so a page opened meanwhile sees no snapshot or all of them, never the first dozen of a hundred.
    """
    with import_lock(data_dir, timeout=LOCK_WAIT_SECONDS):
        if list_snapshots(data_dir):
            raise StoreError(f"{data_dir} already has snapshots: the built data was not moved in.")
        for batch in sorted((built / EVENTS).glob("*/batch=*")):
            target = data_dir / EVENTS / batch.parent.name / batch.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(batch, target)
        root = data_dir / SNAPSHOTS
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        if not root.exists():
            os.rename(built / SNAPSHOTS, root)
        else:  # folders that are not snapshots sit there (kept: they are not ours); oldest first, latest last
            for folder in sorted((built / SNAPSHOTS).iterdir(), key=lambda f: f.name):
                os.rename(folder, root / folder.name)
        shutil.rmtree(built, ignore_errors=True)
    return list_snapshots(data_dir)


# The sort of large tables, so Parquet row-group statistics let date filters skip data (in memory or by DuckDB).
_PRUNING_ORDER = {"opportunities": ["close_date", "created_date"], "leads": ["created_date"]}


def _stage_snapshot(stage: Path, as_of: date, tables: dict[str, pl.DataFrame], source: str,
                    step: Callable[[str], None]) -> dict:
    """Write the snapshot tables into the staging folder; the manifest so far."""
    counts = {}
    for name, df in tables.items():
        frame = schema.conform(name, df)
        frame = _sorted_for_pruning(name, frame)
        frame.write_parquet(stage / f"{name}.parquet", row_group_size=100_000, statistics=True)
        counts[name] = frame.height
        step(f"snapshot table {name}")
    return _manifest(as_of, source, counts, tables["stages"])


def _manifest(as_of: date, source: str, counts: dict[str, int], stages: pl.DataFrame) -> dict:
    """A snapshot's manifest so far: schema version, day, creation time, source, row counts and stage order."""
    return {
        "schema_version": schema.SCHEMA_VERSION,
        "as_of": as_of.isoformat(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "row_counts": counts,
        "stages": stages.sort("position")["stage"].to_list(),
    }


def _sorted_for_pruning(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """Sort large tables so Parquet row-group statistics let date filters skip data."""
    order = _PRUNING_ORDER.get(table)
    return df.sort(order, nulls_last=True) if order else df


# Sort order of large snapshot tables, so Parquet row-group statistics let date filters skip data.
def publish_snapshot_parts(
    data_dir: Path,
    as_of: date,
    tables: dict[str, list[Path]],
    source: str,
    derive: Callable[[Snapshot], dict[str, int]] | None = None,
    events: dict[str, list[Path]] | None = None,
    memory_limit: str = "2GB",
    on_step: Callable[[str], None] | None = None,
) -> Snapshot:
    """publish_snapshot for data given as Parquet parts, streamed: no table is ever held in memory.

    Each table is the union of its parts (conforming to the schema already), each history table too. DuckDB
    copies them into the snapshot's files and its history batch, sorting out of core within memory_limit
    (spilling to a folder beside the staging one), so a table of 100M rows is published in bounded memory.
    The parts' history rows must have unique keys; rows whose key an earlier batch holds are left out, as in
    publish_snapshot. The parts are read, never changed.
    """
    _check_tables(tables)
    opened: dict[str, duckdb.DuckDBPyConnection] = {}

    def con(stage: Path) -> duckdb.DuckDBPyConnection:
        # Opened once the staging folder exists: the spill folder beside it goes with the clean-up of .tmp
        # (a killed publish leaves nothing elsewhere), and is made after the clean-up ran.
        if not opened:
            spill = stage.with_name(f"{stage.name}-spill")
            opened[str(spill)] = _duckdb(spill, memory_limit)
        return next(iter(opened.values()))

    try:
        return _publish(
            data_dir, as_of,
            lambda stage, step: _stage_snapshot_parts(con(stage), stage, as_of, tables, source, step),
            lambda stage, batch, earlier, step: _stage_batch_parts(con(stage), stage, data_dir, batch, earlier,
                                                                   events or {}, step),
            None, derive, on_step, None,
        )
    finally:
        for spill, connection in opened.items():
            connection.close()
            shutil.rmtree(spill, ignore_errors=True)


def _duckdb(spill: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that spills to `spill` beyond memory_limit."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(spill),
                                 "preserve_insertion_order": True})
    return con


def _paths(files: list[Path] | list[str]) -> list[str]:
    """File paths as a bound list for read_parquet (exactly these files: a list is never read as a glob pattern)."""
    return [str(f) for f in files]


def _copy_sql(source: str, table: str, where: str = "", order: list[str] | None = None) -> str:
    """A SELECT of the schema's columns from a source, optionally filtered and sorted (nulls last). Only names from
    the schema and SQL written here go into the text; every value (files, dates, the target) is bound by the caller."""
    cols = ", ".join(f'p."{c.name}"' for c in schema.TABLES[table].columns)
    sql = f"SELECT {cols} FROM {source}" + (f" WHERE {where}" if where else "")
    return sql + (" ORDER BY " + ", ".join(f'"{c}" NULLS LAST' for c in order) if order else "")


def _copy_to(con: duckdb.DuckDBPyConnection, select: str, params: dict[str, object], target: Path,
             row_group_size: int) -> int:
    """Write a SELECT (its values bound from params) to one Parquet file (zstd, statistics); the rows written."""
    return con.execute(f"COPY ({select}) TO $target (FORMAT PARQUET, COMPRESSION ZSTD, "
                       f"ROW_GROUP_SIZE {int(row_group_size)})", {**params, "target": str(target)}).fetchone()[0]


def _stage_snapshot_parts(con: duckdb.DuckDBPyConnection, stage: Path, as_of: date,
                          tables: dict[str, list[Path]], source: str, step: Callable[[str], None]) -> dict:
    """_stage_snapshot for tables given as Parquet parts: each copied (and sorted) by DuckDB."""
    counts = {}
    for name, files in tables.items():
        target = stage / f"{name}.parquet"
        if files:
            select = _copy_sql("read_parquet($files) p", name, order=_PRUNING_ORDER.get(name))
            counts[name] = _copy_to(con, select, {"files": _paths(files)}, target, 100_000)
        else:
            schema.empty_frame(name).write_parquet(target, statistics=True)
            counts[name] = 0
        step(f"snapshot table {name}")
    return _manifest(as_of, source, counts, pl.read_parquet(stage / "stages.parquet", glob=False))


def _stage_batch_parts(con: duckdb.DuckDBPyConnection, stage: Path, data_dir: Path, batch: str,
                       earlier: list[str], events: dict[str, list[Path]], step: Callable[[str], None]) -> list[str]:
    """_stage_batch for history given as Parquet parts: one DuckDB copy per month, each sorted by time."""
    own = []
    reader = Snapshot(stage, {"event_batches": earlier}, home=data_dir)
    for table, files in events.items():
        spec = schema.TABLES[table]
        if spec.event_time is None:
            raise StoreError(f"{table} is not an event table.")
        if files and _copy_months(con, _batch_dir(stage, table, batch), table, files, reader.event_files(table)):
            own.append(table)
        step(f"history {table}")
    return own


def _copy_months(con: duckdb.DuckDBPyConnection, folder: Path, table: str, files: list[Path],
                 stored: list[str]) -> int:
    """Copy history parts into month=YYYY-MM/data.parquet files under folder, sorted by time, leaving out the
    keys already stored; the rows written."""
    spec = schema.TABLES[table]
    col = f'p."{spec.event_time}"'
    source = "read_parquet($files) p"
    params: dict[str, object] = {"files": _paths(files)}
    if stored:  # an anti join, nulls equal (as publish_snapshot's): keys an earlier batch holds stay there
        keys = ", ".join(f'"{k}"' for k in spec.key)
        match = " AND ".join(f'p."{k}" IS NOT DISTINCT FROM s."{k}"' for k in spec.key)
        source += f" ANTI JOIN (SELECT DISTINCT {keys} FROM read_parquet($stored, union_by_name = true)) s ON {match}"
        params["stored"] = _paths(stored)
    months = [m for (m,) in con.execute(  # months present: a scan of the time column only
        f"SELECT DISTINCT strftime({col}, '%Y-%m') AS m FROM read_parquet($files) p ORDER BY m",
        {"files": params["files"]}).fetchall()]
    # A range on the column itself, so row-group statistics skip the other months' data.
    select = _copy_sql(source, table, f"{col} >= $first AND {col} < $after", [spec.event_time])
    wrote = 0
    for month in months:
        first = date.fromisoformat(f"{month}-01")
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        target = folder / f"month={month}" / "data.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        bounds = {"first": datetime.combine(first, clock()), "after": datetime.combine(after, clock())}
        rows = _copy_to(con, select, {**params, **bounds}, target, 200_000)
        if rows == 0:  # every row of the month was stored before
            shutil.rmtree(target.parent)
        wrote += rows
    return wrote


def _event_dir(data_dir: Path, table: str) -> Path:
    return data_dir / EVENTS / table


def _batch_dir(data_dir: Path, table: str, batch: str) -> Path:
    """The folder of one history batch of a table (the legacy batch is the table's folder itself)."""
    folder = _event_dir(data_dir, table)
    return folder if batch == LEGACY_BATCH else folder / f"batch={batch}"


def _published_batches(data_dir: Path) -> list[str]:
    """Every history batch a published snapshot reads (the legacy store first, when there is one): what a new
    snapshot is published on top of."""
    out: list[str] = []
    if any(any(_event_dir(data_dir, t).glob("month=*/data.parquet")) for t in schema.EVENT_TABLES):
        out.append(LEGACY_BATCH)
    for snap in list_snapshots(data_dir):
        out += [b for b in snap.manifest.get("event_batches", []) if b not in out]
    return out


def _stage_batch(stage: Path, data_dir: Path, batch: str, earlier: list[str], events: dict[str, pl.DataFrame],
                 step: Callable[[str], None]) -> list[str]:
    """Write the import's new history rows (keys no earlier batch holds) as its batch in the staging folder, one
    file per month; the tables that got rows."""
    own = []
    reader = Snapshot(stage, {"event_batches": earlier}, home=data_dir)
    for table, df in events.items():
        spec = schema.TABLES[table]
        if spec.event_time is None:
            raise StoreError(f"{table} is not an event table.")
        key = list(spec.key)
        rows = schema.conform(table, df).unique(key, keep="last", maintain_order=True)
        files = reader.event_files(table)
        if files and rows.height:
            # extra_columns: earlier batches may predate an optional column (stage_changes.inferred) later ones have
            stored = pl.scan_parquet(files, glob=False, extra_columns="ignore").select(key).unique().collect()
            rows = rows.join(stored, on=key, how="anti", nulls_equal=True)
        if rows.height:
            _write_months(_batch_dir(stage, table, batch), spec.event_time, rows)
            own.append(table)
        step(f"history {table}")
    return own


def _write_months(folder: Path, time_col: str, rows: pl.DataFrame) -> None:
    """Write rows as month=YYYY-MM/data.parquet files under folder, each sorted by time (row groups prune)."""
    frame = rows.with_columns(pl.col(time_col).dt.strftime("%Y-%m").alias("_month"))
    for (month,), part in frame.partition_by("_month", as_dict=True).items():
        target = folder / f"month={month}" / "data.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        part.drop("_month").sort(time_col).write_parquet(target, row_group_size=200_000, statistics=True)


def _count_events(snap: Snapshot, as_of: date) -> dict[str, int]:
    """Rows per event table the snapshot sees up to and including its day (Parquet metadata only)."""
    limit = datetime.combine(as_of, datetime.max.time())
    out = {}
    for table in schema.EVENT_TABLES:
        files = snap.event_files(table)
        col = schema.TABLES[table].event_time
        out[table] = pl.scan_parquet(files, glob=False, extra_columns="ignore").filter(pl.col(col) <= limit).select(
            pl.len()).collect().item() if files else 0
    return out


def write_events(data_dir: Path, table: str, df: pl.DataFrame) -> int:
    """Merge history rows into the unbatched (legacy) store, one file per month, deduplicated by key.

    The layout of data directories written before history batches existed, and of test stores built that way:
    every snapshot reading the legacy batch sees the change. Imports pass their history to publish_snapshot.
    """
    spec = schema.TABLES[table]
    if spec.event_time is None:
        raise StoreError(f"{table} is not an event table.")
    if remote_for(data_dir) is not None:
        raise StoreError(f"{where(data_dir)} is on object storage, where history is only added by publishing.")
    frame = schema.conform(table, df).with_columns(
        pl.col(spec.event_time).dt.strftime("%Y-%m").alias("_month")
    )
    written = 0
    for (month,), part in frame.partition_by("_month", as_dict=True).items():
        folder = _event_dir(data_dir, table) / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "data.parquet"
        rows = part.drop("_month")
        if target.exists():
            stored = schema.conform(table, pl.read_parquet(target, glob=False))  # may predate an optional column
            rows = pl.concat([stored, rows]).unique(list(spec.key), keep="last")
        rows = rows.sort(spec.event_time)
        tmp = folder / f".data.{uuid.uuid4().hex}.tmp"
        rows.write_parquet(tmp, row_group_size=200_000, statistics=True)
        os.replace(tmp, target)
        written += part.height
    return written


def events_glob(data_dir: Path, table: str) -> str | None:
    """A glob over every stored row of a table (all batches and the legacy store), or None when there is none.

    For tools and tests; a snapshot reads only its own batches (Snapshot.event_files).
    """
    folder = _event_dir(data_dir, table)
    if not any(folder.glob("**/data.parquet")):
        return None
    return str(folder / "**" / "data.parquet")


def event_counts(data_dir: Path, as_of: date) -> dict[str, int]:
    """Rows per event table up to and including a day, over every stored row (Parquet metadata only)."""
    out = {}
    for table in schema.EVENT_TABLES:
        col = schema.TABLES[table].event_time
        files = sorted(str(f) for f in _event_dir(data_dir, table).glob("**/data.parquet"))
        if not files:
            out[table] = 0
            continue
        limit = datetime.combine(as_of, datetime.max.time())
        out[table] = pl.scan_parquet(files, glob=False, extra_columns="ignore").filter(pl.col(col) <= limit).select(
            pl.len()).collect().item()
    return out


def list_snapshots(data_dir: Path) -> list[Snapshot]:
    """Published snapshots, oldest first; folders that are not snapshots are skipped.

    Kept per process until the store changes (every page run asks, several times, and reading a hundred
    manifests took tens of milliseconds): a local folder's list until the snapshots folder changes, a store on
    object storage's until its pointer's ETag does. A new list is a fresh Python list of shared Snapshots.
    """
    root = data_dir / SNAPSHOTS
    remote = remote_for(data_dir)
    if remote is not None:  # the store's pointer lists them (and their manifests); files come on first use
        return _listed(root, _pointer_version(remote), lambda: _remote_snapshots(root, remote))
    try:
        version = _folder_version(root)
    except OSError:  # no snapshots folder (or not a folder): nothing published
        return []
    return _listed(root, version, lambda: _scan_snapshots(root))


# list_snapshots' memory: the snapshots folder -> (the version it was listed at, the list). A published
# snapshot never changes, and publishing or removing one renames a folder in or out, which changes the
# snapshots folder; so the list stays right until the folder's version does.
_LISTED: dict[str, tuple[tuple, list[Snapshot]]] = {}
_LISTED_LOCK = threading.Lock()
# A folder changed less than this before it was listed is listed again next time: its modification time has a
# coarse clock (milliseconds), so a second change within the same tick would leave the version as it was.
SETTLE_SECONDS = 2.0


def _listed(root: Path, version: tuple | None, scan: Callable[[], list[Snapshot]]) -> list[Snapshot]:
    """The list kept for `root` when it was made at this version; else scan (and keep it when it has one)."""
    key = str(root)
    with _LISTED_LOCK:
        kept = _LISTED.get(key)
    if version is not None and kept is not None and kept[0] == version:
        return list(kept[1])
    snaps = scan()
    with _LISTED_LOCK:
        if version is None:
            _LISTED.pop(key, None)
        else:
            _LISTED[key] = (version, snaps)
    return list(snaps)


def _folder_version(root: Path) -> tuple | None:
    """What changes whenever a snapshot folder is renamed in or out of `root`; None while it changed too
    recently to tell a later change in the same clock tick apart (OSError when it is not a folder)."""
    st = os.stat(root)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(str(root))
    if time.time_ns() - st.st_mtime_ns < SETTLE_SECONDS * 1e9:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink)


def _pointer_version(remote: RemoteStore) -> tuple | None:
    """The store's pointer ETag (read at most every store_poll_seconds); None when the store has no pointer yet
    or does not say (the list is then made again each time)."""
    pointer = getattr(remote, "pointer", None)
    etag = getattr(pointer(), "etag", None) if callable(pointer) else None
    return None if etag is None else ("etag", remote.url, etag)


def _remote_snapshots(root: Path, remote: RemoteStore) -> list[Snapshot]:
    """The snapshots a store on object storage's pointer lists, oldest first."""
    snaps = [Snapshot(root / snap_id, manifest) for snap_id, manifest in remote.snapshot_entries()]
    return sorted(snaps, key=lambda s: (s.manifest.get("as_of", ""), _seq(s.id)))


def _scan_snapshots(root: Path) -> list[Snapshot]:
    """The snapshot folders of a local snapshots folder with a readable manifest, oldest first."""
    out = []
    for folder in root.iterdir():
        if not (folder.is_dir() and _ID.match(folder.name) and (folder / MANIFEST).exists()):
            continue
        try:
            out.append(Snapshot(folder, _read_manifest(folder)))
        except (OSError, ValueError):
            continue  # a corrupt manifest is reported by open_snapshot, not listed
    return sorted(out, key=lambda s: (s.manifest.get("as_of", ""), _seq(s.id)))


def _read_manifest(folder: Path) -> dict:
    """A snapshot's manifest; ValueError when it is not a JSON object with an as_of date."""
    return check_manifest(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))


def check_manifest(manifest: object) -> dict:
    """The manifest if it is a JSON object with an as_of date; ValueError saying what is wrong otherwise."""
    if not isinstance(manifest, dict):
        raise ValueError("it is not a JSON object")
    try:
        date.fromisoformat(manifest["as_of"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("it has no valid as_of date") from None
    return manifest


def _seq(snapshot_id: str) -> int:
    parts = snapshot_id.split("-")
    return int(parts[3]) if len(parts) == 4 else 1


def open_snapshot(data_dir: Path, snapshot_id: str | None = None) -> Snapshot:
    """The snapshot asked for (default: the latest), checked so a broken one fails with a clear message."""
    if remote_for(data_dir) is not None:
        return _open_remote(data_dir, snapshot_id)
    if not data_dir.exists():
        raise StoreError(
            f"The data directory {data_dir} does not exist.",
            "Run `python -m saleslens demo` to build the demo data, or import your CRM export.",
        )
    if snapshot_id is None:
        snaps = list_snapshots(data_dir)
        if not snaps:
            # Snapshot folders whose manifest cannot be read are not listed; say so instead of "no snapshot".
            broken = sorted(f.name for f in (data_dir / SNAPSHOTS).glob("*") if _ID.match(f.name) and f.is_dir())
            if broken:
                raise StoreError(
                    f"The snapshot {broken[-1]} in {data_dir} has a missing or corrupt manifest.",
                    "Restore that folder from a backup or import the data again; Sales Lens never changes it.",
                )
            raise _no_snapshot(f"The data directory {data_dir}")
        snap = snaps[-1]
    else:
        _check_id(snapshot_id)
        folder = data_dir / SNAPSHOTS / snapshot_id
        try:
            snap = Snapshot(folder, _kept_manifest(folder))
        except FileNotFoundError:
            raise StoreError(
                f"There is no snapshot {snapshot_id} in {data_dir}.",
                "Run `python -m saleslens snapshots` to list the ones there are.",
            ) from None
        except ValueError as exc:
            raise StoreError(f"The manifest of snapshot {snapshot_id} is corrupt: {exc}.") from None
    _checked(snap)
    return snap


def _no_snapshot(place: str) -> StoreError:
    """The error for a store with nothing published yet, saying how to get data."""
    return StoreError(f"{place} has no snapshot yet.",
                      "Run `python -m saleslens demo` to build the demo data, or import your CRM export.")


def _check_id(snapshot_id: str) -> None:
    """Refuse a string that cannot be a snapshot id (the same rule for local and remote stores)."""
    if not _ID.match(snapshot_id):
        raise StoreError(f"'{snapshot_id}' is not a snapshot id (they look like 2026-11-20).")


def _open_remote(data_dir: Path, snapshot_id: str | None) -> Snapshot:
    """open_snapshot on a store on object storage: the pointer says what is published."""
    snaps = list_snapshots(data_dir)
    if snapshot_id is None:
        if not snaps:
            raise _no_snapshot(f"The snapshot store {where(data_dir)}")
        snap = snaps[-1]
    else:
        _check_id(snapshot_id)
        snap = next((s for s in snaps if s.id == snapshot_id), None)
        if snap is None:
            raise StoreError(
                f"There is no snapshot {snapshot_id} in {where(data_dir)}.",
                "Run `python -m saleslens snapshots` to list the ones there are.",
            )
    check_snapshot(snap)
    return snap


# open_snapshot's memory, so a page run does not read a manifest and eight Parquet footers again (5-10 ms a run):
# a manifest by its file's version, and the versions of a snapshot's files that passed check_snapshot. A published
# snapshot never changes; a folder published again under the same id, or a file restored or damaged, has other
# versions (inode, size, times), so it is read and checked again.
_MANIFESTS: OrderedDict[tuple, dict] = OrderedDict()
_CHECKED: OrderedDict[tuple, None] = OrderedDict()
_OPEN_LOCK = threading.Lock()
OPENED_KEPT = 256  # manifests and checked snapshots kept: far more than sessions have open


def _file_version(path: Path) -> tuple:
    """What changes when a file is written, replaced or restored (OSError when it is missing)."""
    st = os.stat(path)
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remember(kept: OrderedDict, key: tuple, value: object) -> None:
    """Keep a value under the lock, dropping the oldest beyond OPENED_KEPT."""
    with _OPEN_LOCK:
        kept[key] = value
        while len(kept) > OPENED_KEPT:
            kept.popitem(last=False)


def _kept_manifest(folder: Path) -> dict:
    """_read_manifest, read again only when the manifest file's version changed (FileNotFoundError when missing)."""
    version = _file_version(folder / MANIFEST)  # a missing manifest raises as reading it did
    with _OPEN_LOCK:
        manifest = _MANIFESTS.get(version)
    if manifest is None:
        manifest = _read_manifest(folder)
        _remember(_MANIFESTS, version, manifest)
    return manifest


def _snapshot_version(snap: Snapshot) -> tuple | None:
    """The schema version and every snapshot table file's version (None for a missing one); None on a store on
    object storage (its files come on first use) or when a file cannot be looked at."""
    if remote_for(snap.data_dir) is not None:
        return None
    files = []
    for table in schema.SNAPSHOT_TABLES:
        try:
            files.append(_file_version(snap.root / f"{table}.parquet"))
        except FileNotFoundError:
            files.append((table, None))
        except OSError:
            return None
    return (snap.manifest.get("schema_version"), *files)


def _checked(snap: Snapshot) -> None:
    """check_snapshot, skipped when the snapshot's files are the ones that passed it before."""
    version = _snapshot_version(snap)
    if version is not None:
        with _OPEN_LOCK:
            if version in _CHECKED:
                return
    check_snapshot(snap)
    if version is not None:
        _remember(_CHECKED, version, None)


def _shown(snap: Snapshot, path: Path) -> str:
    """A snapshot file as messages name it: its object's URL when the store is on object storage."""
    remote = remote_for(snap.data_dir)
    return remote.describe(path) if remote is not None else str(path)


def parquet_columns(path: Path) -> list[str]:
    """The column names of one Parquet file, read from its footer; the path is taken as written, never as a glob.

    Polars reads a path as a glob pattern, so a data directory such as /data/br[a]ck was reported as damaged."""
    return pq.read_schema(path).names


def check_snapshot(snap: Snapshot) -> None:
    """Raise StoreError when a snapshot's manifest or core files are missing or unreadable."""
    version = snap.manifest.get("schema_version")
    if version != schema.SCHEMA_VERSION:
        raise StoreError(
            f"Snapshot {snap.id} has schema version {version}; this app reads version {schema.SCHEMA_VERSION}.",
            "Import the data again with this version.",
        )
    for table in schema.SNAPSHOT_TABLES:
        path = snap.table_path(table)
        if path is None:
            if table in schema.CORE_TABLES:
                raise StoreError(f"Snapshot {snap.id} has no {table} table "
                                 f"({_shown(snap, snap.root / f'{table}.parquet')}).")
            continue  # optional tables may be missing; the queries see them empty
        try:  # every file present, not only the core ones: the runner reads them all
            parquet_columns(path)
        except Exception as exc:  # polars raises several kinds for a damaged file
            raise StoreError(
                f"The file {_shown(snap, path)} is damaged and cannot be read ({type(exc).__name__}).",
                "Restore that file from a backup or import the data again; a published snapshot is never changed.",
            ) from None
