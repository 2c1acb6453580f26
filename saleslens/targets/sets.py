"""Named target sets: plans saved by the user, usable instead of the snapshot's targets table.

A set lives in <data dir>/saved/target_sets/ as two files: `<slug>.json` (name, description, dates,
counts and the name of its rows file) and `<slug>.<version>.parquet` (the rows, with the targets
table's columns). Saving writes a new rows file, then replaces the JSON in one atomic step: the JSON
is the commit point, so a reader sees the old set or the new one, never a mix, and a crash leaves
at most an orphan rows file that the next save of that set removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from saleslens.core import schema, store
from saleslens.targets.logic import TARGET_COLUMNS

SETS_DIR = Path("saved") / "target_sets"
NAME_MAX = 60
_NAME = re.compile(r"^[\w][\w .()&+\-]*$")  # letters (any script), digits, spaces and a little punctuation


class TargetSetError(ValueError):
    """A target set that cannot be saved or read, told in one line."""


@dataclass(frozen=True)
class TargetSet:
    """A saved set: its name, metadata and rows (the targets table's columns)."""

    name: str
    meta: dict
    rows: pl.DataFrame

    @property
    def targets(self) -> pl.DataFrame:
        """The rows, under the name the what-if page looks for."""
        return self.rows


def sets_dir(data_dir: Path) -> Path:
    """The folder holding the saved target sets of a data directory."""
    return Path(data_dir) / SETS_DIR


def check_name(name: str) -> str:
    """The name, trimmed, or TargetSetError saying what is wrong with it."""
    clean = (name or "").strip()
    if not clean:
        raise TargetSetError("A target set needs a name.")
    if len(clean) > NAME_MAX:
        raise TargetSetError(f"The name is {len(clean)} characters long; keep it to {NAME_MAX}.")
    if not _NAME.match(clean):
        raise TargetSetError(
            f"'{clean}' has characters a set name cannot use; use letters, digits, spaces and . - _ ( ) & +."
        )
    return clean


def slug(name: str) -> str:
    """A file-safe, collision-free stem for a name: readable ASCII part plus a short hash of the exact name."""
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "set"
    return f"{readable}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def check_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows conformed to the targets table, or TargetSetError naming the first bad row."""
    try:
        frame = schema.conform("targets", rows)
    except (ValueError, pl.exceptions.PolarsError) as exc:
        raise TargetSetError(f"The rows do not fit the targets table: {exc}") from None
    for i, r in enumerate(frame.iter_rows(named=True), start=1):
        who = f"row {i} ({r['owner_type']} {r['owner_id']}, {r['period_start']})"
        if any(r[c] is None for c in TARGET_COLUMNS):
            raise TargetSetError(f"{who} has an empty field.")
        if r["owner_type"] not in ("rep", "team"):
            raise TargetSetError(f"{who}: owner type must be rep or team, not '{r['owner_type']}'.")
        if r["metric"] not in schema.TARGET_METRICS:
            raise TargetSetError(f"{who}: metric must be one of {', '.join(schema.TARGET_METRICS)}.")
        if r["value"] < 0:
            raise TargetSetError(f"{who} has a negative value ({r['value']:,.2f}).")
        if r["period_end"] < r["period_start"]:
            raise TargetSetError(f"{who} ends before it starts.")
    return frame


def _key_overlap(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Old rows that a new row replaces: same owner and metric, overlapping period."""
    joined = old.with_row_index("_i").join(
        new.select("owner_type", "owner_id", "metric", pl.col("period_start").alias("_ns"),
                   pl.col("period_end").alias("_ne")),
        on=["owner_type", "owner_id", "metric"],
    )
    hit = joined.filter((pl.col("period_start") <= pl.col("_ne")) & (pl.col("period_end") >= pl.col("_ns")))
    return old.with_row_index("_i").filter(pl.col("_i").is_in(hit["_i"].unique().to_list())).drop("_i")


def merge_rows(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The old rows with every row the new ones overlap (same owner and metric) replaced by the new rows."""
    replaced = _key_overlap(old, new)
    kept = old.join(replaced, on=list(TARGET_COLUMNS), how="anti")
    return pl.concat([kept, new]).sort(["owner_type", "owner_id", "metric", "period_start"])


def save(data_dir: Path, name: str, rows: pl.DataFrame, description: str = "", merge: bool = False,
         extra: dict | None = None) -> TargetSet:
    """Save (or replace) a named set atomically; with merge=True the rows are merged into an existing set."""
    name = check_name(name)
    frame = check_rows(rows)
    folder = sets_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = slug(name)
    old_meta = _read_meta(folder / f"{stem}.json") if (folder / f"{stem}.json").exists() else None
    if merge and old_meta is not None:
        frame = merge_rows(_read_rows(folder, old_meta), frame)
    if frame.is_empty():
        raise TargetSetError("A target set needs at least one row.")
    rows_file = f"{stem}.{uuid.uuid4().hex[:12]}.parquet"
    tmp = folder / f".{rows_file}.tmp"
    frame.write_parquet(tmp)
    os.replace(tmp, folder / rows_file)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta = {
        "name": name,
        "description": description or (old_meta or {}).get("description", ""),
        "created_at": (old_meta or {}).get("created_at", now),
        "updated_at": now,
        "rows_file": rows_file,
        "rows": frame.height,
        "owners": frame.select("owner_type", "owner_id").unique().height,
        "metrics": sorted(frame["metric"].unique().to_list()),
        "first_period": frame["period_start"].min().isoformat(),
        "last_period": frame["period_end"].max().isoformat(),
        "total": {m: float(v) for m, v in frame.group_by("metric").agg(pl.col("value").sum()).iter_rows()},
        **(extra or {}),
    }
    store.write_json_atomic(folder / f"{stem}.json", meta)  # the commit point
    _remove_stale(folder, stem, keep=rows_file)
    return TargetSet(name, meta, frame)


def _remove_stale(folder: Path, stem: str, keep: str) -> None:
    """Delete rows files of a set other than the one its JSON points to."""
    for path in folder.glob(f"{stem}.*.parquet"):
        if path.name != keep:
            path.unlink(missing_ok=True)


def _read_meta(path: Path) -> dict:
    """A set's JSON, or TargetSetError when it is unreadable."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetSetError(f"The target set file {path.name} cannot be read ({exc}).") from None
    if not isinstance(meta, dict) or "name" not in meta or "rows_file" not in meta:
        raise TargetSetError(f"The target set file {path.name} is not a target set.")
    return meta


def _read_rows(folder: Path, meta: dict) -> pl.DataFrame:
    """The rows a set's JSON points to, conformed to the targets table."""
    path = folder / meta["rows_file"]
    try:
        return schema.conform("targets", pl.read_parquet(path))
    except Exception as exc:  # a missing or damaged file: polars raises several kinds
        raise TargetSetError(
            f"The rows of target set '{meta['name']}' cannot be read ({type(exc).__name__}); save it again."
        ) from None


def list_meta(data_dir: Path) -> list[dict]:
    """Metadata of every readable saved set, newest first; unreadable ones are skipped."""
    folder = sets_dir(data_dir)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.json"):
        try:
            out.append(_read_meta(path))
        except TargetSetError:
            continue
    return sorted(out, key=lambda m: m.get("updated_at", ""), reverse=True)


def names(data_dir: Path) -> list[str]:
    """Names of the saved sets, newest first."""
    return [m["name"] for m in list_meta(data_dir)]


def load(data_dir: Path, name: str) -> TargetSet:
    """A saved set by name, or TargetSetError naming what is missing."""
    folder = sets_dir(data_dir)
    path = folder / f"{slug(name.strip())}.json"
    if not path.exists():
        known = ", ".join(names(data_dir)) or "none yet"
        raise TargetSetError(f"There is no target set '{name}' (saved sets: {known}).")
    meta = _read_meta(path)
    try:
        rows = _read_rows(folder, meta)
    except TargetSetError:
        meta = _read_meta(path)  # saved again while we read: the JSON now points to the new rows
        rows = _read_rows(folder, meta)
    return TargetSet(meta["name"], meta, rows)


def delete(data_dir: Path, name: str) -> None:
    """Delete a saved set (its JSON first, so it disappears in one step)."""
    folder = sets_dir(data_dir)
    stem = slug(name.strip())
    path = folder / f"{stem}.json"
    if not path.exists():
        raise TargetSetError(f"There is no target set '{name}'.")
    path.unlink()
    _remove_stale(folder, stem, keep="")
