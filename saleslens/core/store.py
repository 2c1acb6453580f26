"""The snapshot store: snapshots of CRM state, an event store for history, atomic publishing."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from saleslens.core import schema

SNAPSHOTS = "snapshots"
EVENTS = "events"
TMP = ".tmp"
MANIFEST = "manifest.json"
DERIVED = "derived"
_ID = re.compile(r"^\d{4}-\d{2}-\d{2}(-\d+)?$")


class StoreError(Exception):
    """A problem with the data directory, told in words a user can act on."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


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
        path = self.root / f"{table}.parquet"
        return path if path.exists() else None


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


def clean_leftovers(data_dir: Path, min_age_seconds: float = 0) -> list[str]:
    """Remove what an interrupted import or demo left in the temporary folder.

    Page loads pass a minimum age so they never delete the staging folder of an import still running.
    """
    cutoff = time.time() - min_age_seconds
    removed = []
    candidates = list((data_dir / TMP).iterdir()) if (data_dir / TMP).exists() else []
    candidates += list((data_dir / EVENTS).glob("**/.*.tmp"))
    for child in candidates:
        try:
            if child.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        removed.append(child.name)
    return removed


def staging_dir(data_dir: Path) -> Path:
    """A fresh temporary folder inside the data directory, on the same filesystem as the target."""
    path = data_dir / TMP / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def _next_id(data_dir: Path, as_of: date) -> str:
    """The id for a new snapshot of a day: the date, with -2, -3, ... for later ones that day."""
    base = as_of.isoformat()
    root = data_dir / SNAPSHOTS
    if not (root / base).exists():
        return base
    n = 2
    while (root / f"{base}-{n}").exists():
        n += 1
    return f"{base}-{n}"


def publish_snapshot(
    data_dir: Path,
    as_of: date,
    tables: dict[str, pl.DataFrame],
    source: str,
    report: dict | None = None,
    derive: Callable[[Snapshot], dict[str, int]] | None = None,
    extra: dict | None = None,
) -> Snapshot:
    """Write the snapshot tables aside, then publish them with one rename; nothing half-written shows.

    `derive` writes the tables computed from the snapshot (rollups, see queries/derived/) into the staging
    folder before the rename, so a published snapshot never lacks them halfway. `extra` adds manifest keys
    (an import's reporting_currency and rates, backfilled).
    """
    unknown = set(tables) - set(schema.SNAPSHOT_TABLES)
    if unknown:
        raise StoreError(f"Not snapshot tables: {', '.join(sorted(unknown))}.")
    missing = [t for t in schema.CORE_TABLES if t not in tables]
    if missing:
        raise StoreError(f"A snapshot needs the tables {', '.join(missing)}.")
    stage = staging_dir(data_dir)
    try:
        counts = {}
        for name, df in tables.items():
            frame = schema.conform(name, df)
            frame = _sorted_for_pruning(name, frame)
            frame.write_parquet(stage / f"{name}.parquet", row_group_size=100_000, statistics=True)
            counts[name] = frame.height
        manifest = {
            "schema_version": schema.SCHEMA_VERSION,
            "as_of": as_of.isoformat(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "row_counts": counts,
            "events": event_counts(data_dir, as_of),
            "stages": tables["stages"].sort("position")["stage"].to_list(),
            "import_report": report or {},
            **(extra or {}),
        }
        if derive is not None:
            manifest["derived"] = derive(Snapshot(stage, manifest, home=data_dir))
        _write_json(stage / MANIFEST, manifest)
        (data_dir / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
        target = data_dir / SNAPSHOTS / _next_id(data_dir, as_of)
        os.rename(stage, target)  # the one step that makes the snapshot visible
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Snapshot(target, manifest)


def _sorted_for_pruning(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """Sort large tables so Parquet row-group statistics let date filters skip data."""
    order = {"opportunities": ["close_date", "created_date"], "leads": ["created_date"]}.get(table)
    return df.sort(order, nulls_last=True) if order else df


def _event_dir(data_dir: Path, table: str) -> Path:
    return data_dir / EVENTS / table


def write_events(data_dir: Path, table: str, df: pl.DataFrame) -> int:
    """Merge history rows into the event store, one file per month, deduplicated by key."""
    spec = schema.TABLES[table]
    if spec.event_time is None:
        raise StoreError(f"{table} is not an event table.")
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
            rows = pl.concat([pl.read_parquet(target), rows]).unique(list(spec.key), keep="last")
        rows = rows.sort(spec.event_time)
        tmp = folder / f".data.{uuid.uuid4().hex}.tmp"
        rows.write_parquet(tmp, row_group_size=200_000, statistics=True)
        os.replace(tmp, target)
        written += part.height
    return written


def events_glob(data_dir: Path, table: str) -> str | None:
    """A glob over a table's event files, or None when the store has none."""
    folder = _event_dir(data_dir, table)
    if not any(folder.glob("month=*/data.parquet")):
        return None
    return str(folder / "month=*" / "data.parquet")


def event_counts(data_dir: Path, as_of: date) -> dict[str, int]:
    """Rows per event table up to and including a day (Parquet metadata only, no full scan)."""
    out = {}
    for table in schema.EVENT_TABLES:
        col = schema.TABLES[table].event_time
        glob = events_glob(data_dir, table)
        if glob is None:
            out[table] = 0
            continue
        limit = datetime.combine(as_of, datetime.max.time())
        out[table] = pl.scan_parquet(glob).filter(pl.col(col) <= limit).select(pl.len()).collect().item()
    return out


def list_snapshots(data_dir: Path) -> list[Snapshot]:
    """Published snapshots, oldest first; folders that are not snapshots are skipped."""
    root = data_dir / SNAPSHOTS
    if not root.is_dir():
        return []
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
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
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
                    "Delete that snapshot folder or import the data again.",
                )
            raise StoreError(
                f"The data directory {data_dir} has no snapshot yet.",
                "Run `python -m saleslens demo` to build the demo data, or import your CRM export.",
            )
        snap = snaps[-1]
    else:
        if not _ID.match(snapshot_id):
            raise StoreError(f"'{snapshot_id}' is not a snapshot id (they look like 2026-11-20).")
        folder = data_dir / SNAPSHOTS / snapshot_id
        try:
            snap = Snapshot(folder, _read_manifest(folder))
        except FileNotFoundError:
            raise StoreError(
                f"There is no snapshot {snapshot_id} in {data_dir}.",
                "Run `python -m saleslens snapshots` to list the ones there are.",
            ) from None
        except ValueError as exc:
            raise StoreError(f"The manifest of snapshot {snapshot_id} is corrupt: {exc}.") from None
    check_snapshot(snap)
    return snap


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
                raise StoreError(f"Snapshot {snap.id} has no {table} table ({snap.root}/{table}.parquet).")
            continue  # optional tables may be missing; the queries see them empty
        try:  # every file present, not only the core ones: the runner reads them all
            pl.read_parquet_schema(path)
        except Exception as exc:  # polars raises several kinds for a damaged file
            raise StoreError(
                f"The file {path} is damaged and cannot be read ({type(exc).__name__}).",
                "Delete that snapshot folder or import the data again.",
            ) from None
