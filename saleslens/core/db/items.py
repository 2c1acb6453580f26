"""Named saved items (target sets, scorecards, scenarios) with owner, visibility and version, in one place.

Each feature keeps its own validation and format; this module stores the result, checks who may see and
change it (saleslens.core.access), refuses a save over a newer version, and writes an audit entry in the same
transaction as the change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from saleslens.core import access
from saleslens.core.db import Database, tables

TABLES = {"target_sets": tables.target_sets, "scorecards": tables.scorecards, "scenarios": tables.scenarios}
LABELS = {"target_sets": "target set", "scorecards": "scorecard", "scenarios": "scenario"}


class StaleVersion(ValueError):
    """A save over a version newer than the one the user started from; names who changed it and when."""


class VisibilityError(ValueError):
    """A visibility that is not one of private, team, everyone."""


@dataclass(frozen=True)
class Item:
    """One saved item as stored: its body and the columns every saved item has."""

    kind: str
    name: str
    owner: str
    owner_team: str
    visibility: str
    version: int
    body: dict = field(hash=False)
    created_at: str = ""
    updated_at: str = ""
    updated_by: str = ""
    extra: dict = field(hash=False, default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _item(kind: str, row: sa.RowMapping) -> Item:
    table = TABLES[kind]
    base = {"id", "name", "owner", "owner_team", "visibility", "version", "body", "created_at", "updated_at",
            "updated_by"}
    extra = {c.name: row[c.name] for c in table.columns if c.name not in base}
    return Item(kind, row["name"], row["owner"], row["owner_team"], row["visibility"], int(row["version"]),
                json.loads(row["body"]), row["created_at"], row["updated_at"], row["updated_by"], extra)


def check_visibility(visibility: str) -> str:
    """The visibility, or VisibilityError naming the allowed ones."""
    if visibility not in tables.VISIBILITIES:
        raise VisibilityError(f"visibility must be one of {', '.join(tables.VISIBILITIES)}, not '{visibility}'")
    return visibility


def taken_message(kind: str, name: str, item: Item | None) -> str:
    """What a user creating an item is told when its name is already saved: by whom and when, if they may know."""
    by = f"by {item.updated_by} at {item.updated_at}" if item is not None else "by another user just now"
    return f"a {LABELS[kind]} named '{name}' is already saved ({by}); choose another name or replace it"


def stale_message(kind: str, name: str, item: Item) -> str:
    """What a user is told when someone saved the item after they opened it."""
    return (f"the {LABELS[kind]} '{name}' was changed by {item.updated_by} at {item.updated_at} "
            f"(version {item.version}); reload to see their change")


def get(database: Database, kind: str, name: str, who: access.Actor | None = None) -> Item | None:
    """One item by exact name (None when absent, or not visible to `who` when given)."""
    with database.begin() as conn:
        return _find(conn, kind, name, who)


def _find(conn: sa.Connection, kind: str, name: str, who: access.Actor | None) -> Item | None:
    """The item of that name read on `conn`; None when absent, or not visible to `who` when given."""
    table = TABLES[kind]
    row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
    if row is None:
        return None
    item = _item(kind, row)
    if who is not None and not access.may_see_item(who, item.owner, item.owner_team, item.visibility):
        return None
    return item


def list_items(database: Database, kind: str, who: access.Actor | None = None, with_extra: bool = True) -> list[Item]:
    """Every item of a kind (only those visible to `who` when given), by name."""
    table = TABLES[kind]
    cols = list(table.columns) if with_extra else [c for c in table.columns if c.name != "rows"]
    with database.begin() as conn:
        rows = conn.execute(sa.select(*cols).order_by(table.c.name)).mappings().all()
    items = []
    for row in rows:
        data = dict(row)
        for c in table.columns:
            data.setdefault(c.name, None)
        item = _item(kind, data)  # type: ignore[arg-type]
        if who is None or access.may_see_item(who, item.owner, item.owner_team, item.visibility):
            items.append(item)
    return items


def _refuse_if_stale(kind: str, name: str, current: Item | None, expected_version: int | None) -> None:
    """Refuse when the stored version is not the one the user started from (0 means: expected no item)."""
    if expected_version is None:
        return
    if current is None and expected_version > 0:
        raise StaleVersion(f"the {LABELS[kind]} '{name}' was deleted after you opened it; save it under a name again")
    if current is not None and expected_version == 0:  # creating, and someone else created it first
        raise StaleVersion(taken_message(kind, name, current))
    if current is not None and current.version != expected_version:
        raise StaleVersion(stale_message(kind, name, current))


def save(database: Database, kind: str, name: str, body: dict, who: access.Actor, *,
         expected_version: int | None = None, visibility: str | None = None, extra: dict | None = None) -> Item:
    """Create or replace an item as `who`; refuses without the right, or over a newer version; audited."""
    table = TABLES[kind]
    now = _now()
    with database.begin() as conn:
        row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
        current = _item(kind, row) if row is not None else None
        if current is not None and not access.may_see_item(who, current.owner, current.owner_team,
                                                           current.visibility):
            raise access.PermissionDenied(f"the name '{name}' is taken by another user's private "
                                          f"{LABELS[kind]}; choose another name")
        if current is not None:
            access.check_may_edit(who, kind, name, current.owner)
        _refuse_if_stale(kind, name, current, expected_version)
        vis = check_visibility(visibility or (current.visibility if current else "everyone"))
        values = {"body": json.dumps(body, ensure_ascii=False, default=str), "visibility": vis,
                  "updated_at": now, "updated_by": who.login, **(extra or {})}
        if current is None:
            values |= {"name": name, "owner": who.login, "owner_team": who.team, "version": 1, "created_at": now}
            try:
                with conn.begin_nested():
                    conn.execute(table.insert().values(**values))
            except sa.exc.IntegrityError:
                # PostgreSQL (read committed) shows the row that won to a new statement: name its author, unless
                # it is private to someone else (then, as on SQLite where no such race reaches here, no one).
                raise StaleVersion(taken_message(kind, name, _find(conn, kind, name, who))) from None
        else:
            values["version"] = current.version + 1
            done = conn.execute(table.update().where(table.c.name == name, table.c.version == current.version)
                                .values(**values))
            if done.rowcount != 1:  # changed between our read and our write
                latest = _item(kind, conn.execute(sa.select(table).where(table.c.name == name)).mappings().one())
                raise StaleVersion(stale_message(kind, name, latest))
        access.record(conn, who.login, f"save-{LABELS[kind].replace(' ', '-')}",
                      f"{name} (version {values['version']}, {vis})")
        saved = conn.execute(sa.select(table).where(table.c.name == name)).mappings().one()
    return _item(kind, saved)


def delete(database: Database, kind: str, name: str, who: access.Actor, expected_version: int | None = None) -> bool:
    """Delete an item as `who` (False when there is none they can see); refused without the right; audited."""
    table = TABLES[kind]
    with database.begin() as conn:
        current = _find(conn, kind, name, who)
        if current is None:
            return False
        access.check_may_edit(who, kind, name, current.owner)
        _refuse_if_stale(kind, name, current, expected_version)
        conn.execute(table.delete().where(table.c.name == name, table.c.version == current.version))
        access.record(conn, who.login, f"delete-{LABELS[kind].replace(' ', '-')}",
                      f"{name} (version {current.version}, owner {current.owner})")
    return True
