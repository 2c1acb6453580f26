"""The files earlier versions saved (data/saved, data/audit, users.toml), imported into the database once.

Each source is recorded in the legacy_imports table in the same transaction as its rows, so it is imported
exactly once per database, even when two servers start together (the caller holds the migration lock).
The files stay where they are, as a backup, and a marker file beside them says they were imported.
Items from files have no known owner: they are owned by LEGACY_OWNER and visible to everyone, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from saleslens.core.db import tables

LEGACY_OWNER = "(earlier version)"
MARKER = "IMPORTED-INTO-DATABASE.txt"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(path: Path) -> dict | None:
    """A JSON object from a file, or None when it is not one (skipped, not fatal)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _done(conn: sa.Connection, source: str) -> bool:
    """Whether a source was already imported into this database."""
    row = conn.execute(sa.select(tables.legacy_imports.c.source).where(tables.legacy_imports.c.source == source))
    return row.first() is not None


def _record(conn: sa.Connection, source: str, items: int) -> None:
    conn.execute(tables.legacy_imports.insert().values(source=source, imported_at=_now(), items=items))


def _saved_row(name: str, body: dict, stamp: str, **extra: object) -> dict:
    """The columns of one imported saved item."""
    stamp = stamp or _now()
    return {"name": name, "owner": LEGACY_OWNER, "owner_team": "", "visibility": "everyone", "version": 1,
            "body": json.dumps(body, ensure_ascii=False), "created_at": stamp, "updated_at": stamp,
            "updated_by": LEGACY_OWNER, **extra}


def _insert_new(conn: sa.Connection, table: sa.Table, row: dict) -> int:
    """Insert an imported item unless one of that name is already in the database."""
    exists = conn.execute(sa.select(table.c.id).where(table.c.name == row["name"])).first()
    if exists:
        return 0
    conn.execute(table.insert().values(**row))
    return 1


def _docs(folder: Path, pattern: str, *keys: str) -> Iterator[tuple[Path, dict]]:
    """The JSON files of a folder that parse and have every one of `keys`, with their paths, in name order."""
    for path in sorted(folder.glob(pattern)):
        doc = _json(path)
        if doc and all(k in doc for k in keys):
            yield path, doc


def _ratings(conn: sa.Connection, folder: Path) -> int:
    n = 0
    for _, doc in _docs(folder, "*/*.json", "rep_id", "quarter"):
        scores = {str(k): int(v) for k, v in (doc.get("scores") or {}).items() if v is not None}
        conn.execute(tables.ratings.insert().values(
            rep_id=str(doc["rep_id"]), quarter=str(doc["quarter"]), version=1,
            scores=json.dumps(scores), comment=str(doc.get("comment") or ""),
            author=str(doc.get("updated_by") or LEGACY_OWNER), created_at=str(doc.get("updated_at") or _now())))
        n += 1
    return n


def _scorecards(conn: sa.Connection, folder: Path) -> int:
    n = 0
    for _, doc in _docs(folder, "*.json", "name", "role"):
        body = {k: v for k, v in doc.items() if k != "saved_at"}
        n += _insert_new(conn, tables.scorecards,
                         _saved_row(str(doc["name"]), body, str(doc.get("saved_at") or ""), role=str(doc["role"])))
    return n


def _target_sets(conn: sa.Connection, folder: Path) -> int:
    n = 0
    for _, meta in _docs(folder, "*.json", "name", "rows_file"):
        try:
            rows = (folder / str(meta["rows_file"])).read_bytes()
        except OSError:
            continue
        body = {k: v for k, v in meta.items() if k != "rows_file"}
        row = _saved_row(str(meta["name"]), body, str(meta.get("updated_at") or ""), rows=rows)
        row["created_at"] = str(meta.get("created_at") or row["created_at"])
        n += _insert_new(conn, tables.target_sets, row)
    return n


def _scenarios(conn: sa.Connection, folder: Path) -> int:
    return sum(
        _insert_new(conn, tables.scenarios, _saved_row(doc["name"], doc, str(doc.get("saved_at") or "")))
        for path, doc in _docs(folder, "*.json")
        if isinstance(doc.get("name"), str) and not path.name.startswith(".")
    )


def _audit(conn: sa.Connection, path: Path) -> int:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            rows.append({"at": str(doc.get("at", "")), "who": str(doc.get("who", "")),
                         "action": str(doc.get("action", ""))[:60], "what": str(doc.get("what", ""))})
    if rows:
        conn.execute(tables.audit_log.insert(), rows)
    return len(rows)


def import_users(conn: sa.Connection, path: Path) -> int:
    """Users of a users.toml into the users table, each time the file's content changes (local mode keeps it)."""
    from saleslens.core import access  # here: access imports this package

    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return 0
    source = f"{path.resolve()}#{digest}"
    if _done(conn, source):
        return 0
    users = access.load_users(path)
    for key, user in users.items():
        conn.execute(tables.users.delete().where(tables.users.c.login == key))
        conn.execute(tables.users.insert().values(login=key, display_login=user.login, name=user.name,
                                                  role=user.role, rep_id=user.rep_id, source="users.toml"))
    _record(conn, source, len(users))
    return len(users)


IMPORTERS = (
    (("saved", "ratings"), _ratings),
    (("saved", "scorecards"), _scorecards),
    (("saved", "target_sets"), _target_sets),
    (("saved", "scenarios"), _scenarios),
)


def import_files(conn: sa.Connection, data_dir: Path) -> dict[str, int]:
    """Import each earlier-version source of a data directory not yet imported; returns items per source."""
    data_dir = Path(data_dir).resolve()
    counts: dict[str, int] = {}
    for parts, importer in IMPORTERS:
        folder = data_dir.joinpath(*parts)
        source = str(folder)
        if folder.is_dir() and not _done(conn, source):
            counts[source] = importer(conn, folder)
            _record(conn, source, counts[source])
    audit_file = data_dir / "audit" / "audit.jsonl"
    if audit_file.is_file() and not _done(conn, str(audit_file)):
        counts[str(audit_file)] = _audit(conn, audit_file)
        _record(conn, str(audit_file), counts[str(audit_file)])
    users_file = data_dir / "users.toml"
    if users_file.is_file():
        with contextlib.suppress(ValueError):  # a broken users file: sign-in reports it; saved work still opens
            import_users(conn, users_file)
    if counts:
        conn.execute(tables.audit_log.insert().values(
            at=_now(), who="(upgrade)", action="import-files",
            what="; ".join(f"{Path(s).relative_to(data_dir)}: {n}" for s, n in counts.items())))
    return counts


def write_markers(data_dir: Path, counts: dict[str, int]) -> None:
    """Leave a note beside each imported folder: the files are a backup, the database is what counts now."""
    for source in counts:
        folder = Path(source) if Path(source).is_dir() else Path(source).parent
        note = (f"The files in this folder were imported into the Sales Lens database on {_now()}.\n"
                "They are kept as a backup only: changes to them are not read any more.\n")
        try:
            (folder / MARKER).write_text(note, encoding="utf-8")
        except OSError:
            continue
