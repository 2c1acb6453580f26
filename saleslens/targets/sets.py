"""Named target sets: plans saved by the user, usable instead of the snapshot's targets table.

A set is one row of the database of saved work: its metadata (description, dates, counts, totals) as JSON and
its rows (the targets table's columns) as Parquet bytes, written in one transaction, so a reader sees the old
set or the new one, never a mix. Every set has an owner, a visibility and a version: its owner, analysts and
admins may change or delete it (saleslens.core.access), a save over a newer version is refused, and every
change is audited.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from saleslens.core import access, db, schema
from saleslens.core.db import items
from saleslens.targets.logic import TARGET_COLUMNS

KIND = "target_sets"
NAME_MAX = 60
_NAME = re.compile(r"^[\w][\w .()&+\-]*$")  # letters (any script), digits, spaces and a little punctuation
Who = access.User | access.Grant | access.Actor


class TargetSetError(ValueError):
    """A target set that cannot be saved or read, told in one line."""


# Every refusal a save or delete can meet, each told in one line: pages show them as a message.
SAVE_ERRORS = (TargetSetError, access.PermissionDenied, items.StaleVersion, items.VisibilityError,
               db.DatabaseError, OSError)


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


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def _rows(item: items.Item) -> pl.DataFrame:
    """The rows of a stored set, conformed to the targets table."""
    try:
        return schema.conform("targets", pl.read_parquet(io.BytesIO(item.extra["rows"])))
    except Exception as exc:  # damaged bytes: polars raises several kinds
        raise TargetSetError(
            f"The rows of target set '{item.name}' cannot be read ({type(exc).__name__}); save it again."
        ) from None


def _meta(item: items.Item) -> dict:
    """A set's metadata with its name, owner, visibility and version, as pages and the CLI list it."""
    return {**item.body, "name": item.name, "owner": item.owner, "visibility": item.visibility,
            "version": item.version, "updated_at": item.updated_at, "updated_by": item.updated_by}


def _actor(data_dir: Path, who: Who | None) -> access.Actor | None:
    """The reader: None reads everything (library callers), else what `who` may see."""
    return access.viewer(who, data_dir)


def save(data_dir: Path, name: str, rows: pl.DataFrame, description: str = "", merge: bool = False,
         extra: dict | None = None, who: Who | None = None, expected_version: int | None = None,
         visibility: str | None = None) -> TargetSet:
    """Save (or replace) a named set as `who`; with merge=True the rows are merged into an existing set.

    Refused when `who` may not change the set of that name, or when it changed since `expected_version`.
    """
    name = check_name(name)
    frame = check_rows(rows)
    actor = access.actor(who, data_dir)
    database = db.get(data_dir)
    old = items.get(database, KIND, name, actor)
    if merge and old is not None:
        frame = merge_rows(_rows(old), frame)
    if frame.is_empty():
        raise TargetSetError("A target set needs at least one row.")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    old_meta = old.body if old else {}
    meta = {
        "description": description or old_meta.get("description", ""),
        "created_at": old.created_at if old else now,
        "updated_at": now,
        "rows": frame.height,
        "owners": frame.select("owner_type", "owner_id").unique().height,
        "metrics": sorted(frame["metric"].unique().to_list()),
        "first_period": frame["period_start"].min().isoformat(),
        "last_period": frame["period_end"].max().isoformat(),
        "total": {m: float(v) for m, v in frame.group_by("metric").agg(pl.col("value").sum()).iter_rows()},
        **(extra or {}),
    }
    # A merge read `old`: unless the caller named a version, the save must start from the one merged into.
    expected = expected_version if expected_version is not None or not merge else (old.version if old else 0)
    item = items.save(database, KIND, name, meta, actor, expected_version=expected, visibility=visibility,
                      extra={"rows": _parquet(frame)})
    return TargetSet(name, _meta(item), frame)


def list_meta(data_dir: Path, who: Who | None = None) -> list[dict]:
    """Metadata of every saved set (only those `who` may see, when given), newest first."""
    found = items.list_items(db.get(data_dir), KIND, _actor(data_dir, who), with_extra=False)
    return sorted((_meta(i) for i in found), key=lambda m: m.get("updated_at", ""), reverse=True)


def names(data_dir: Path, who: Who | None = None) -> list[str]:
    """Names of the saved sets (visible to `who`, when given), newest first."""
    return [m["name"] for m in list_meta(data_dir, who)]


def load(data_dir: Path, name: str, who: Who | None = None) -> TargetSet:
    """A saved set by name (one `who` may see, when given), or TargetSetError naming what is missing."""
    item = items.get(db.get(data_dir), KIND, name.strip(), _actor(data_dir, who))
    if item is None:
        known = ", ".join(names(data_dir, who)) or "none yet"
        raise TargetSetError(f"There is no target set '{name}' (saved sets: {known}).")
    return TargetSet(item.name, _meta(item), _rows(item))


def delete(data_dir: Path, name: str, who: Who | None = None) -> None:
    """Delete a saved set as `who`; refused unless they own it or are an analyst or admin."""
    if not items.delete(db.get(data_dir), KIND, name.strip(), access.actor(who, data_dir)):
        raise TargetSetError(f"There is no target set '{name}'.")
