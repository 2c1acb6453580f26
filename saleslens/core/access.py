"""Who may see what: users, roles, row scope from the manager hierarchy, page rights and the audit log.

Pure functions over Polars frames and files; the runner applies the resulting scope once, in the
base views, so no page query can reach rows outside it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from saleslens.core import store
from saleslens.core.i18n import t

ROLES = ("rep", "manager", "leader", "analyst", "admin")
# Pages each role may open; a page not listed for a role is hidden and refuses to run by link.
PAGE_RIGHTS: dict[str, frozenset[str]] = {
    "rep": frozenset({"overview", "funnel", "targets", "leaderboard", "health", "glossary"}),
    "manager": frozenset({"overview", "funnel", "targets", "leaderboard", "health", "glossary"}),
    "leader": frozenset({"overview", "funnel", "targets", "leaderboard", "health", "glossary"}),
    "analyst": frozenset({"overview", "funnel", "targets", "leaderboard", "whatif", "health", "glossary"}),
    "admin": frozenset({"overview", "funnel", "targets", "leaderboard", "whatif", "import", "health", "glossary"}),
}
USERS_FILE = "users.toml"


class AccessError(ValueError):
    """A users file or identity problem, told in one line."""


@dataclass(frozen=True)
class User:
    """A person who signs in: their login, display name, role and the rep_id they are (if any)."""

    login: str
    name: str
    role: str
    rep_id: str | None = None


@dataclass(frozen=True)
class Grant:
    """What a signed-in user may see: the reps whose rows are visible (None = all) and why."""

    user: User | None
    rep_ids: frozenset[str] | None
    reason: str  # in English, for the CLI and the logs; reason_in(lang) for a page
    reason_key: str = ""
    reason_values: tuple[tuple[str, str], ...] = ()

    def reason_in(self, lang: str) -> str:
        """Why the user sees what they see, in a language (keys access.reason.* in core/strings_access.toml)."""
        if not self.reason_key:
            return self.reason
        values = dict(self.reason_values)
        if "role" in values and lang != "en" and f"role.{values['role']}" in _role_keys():
            values["role"] = t(f"role.{values['role']}", lang)  # English keeps the role's code, as the CLI prints
        return t(self.reason_key, lang, **values)

    @property
    def scope_key(self) -> str:
        """A stable key for caches: the same visible rows, the same key."""
        if self.rep_ids is None:
            return "all"
        # JSON, not a comma-joined list: rep ids "A,B" and "A" + "B" must not share a key (nor a cached runner).
        return "reps:" + json.dumps(sorted(self.rep_ids), ensure_ascii=False) if self.rep_ids else "none"

    def may_open(self, page: str) -> bool:
        """Whether the user's role may open a page."""
        return self.user is not None and page in PAGE_RIGHTS.get(self.user.role, frozenset())


def users_path(data_dir: Path) -> Path:
    """Where the local users file lives."""
    return data_dir / USERS_FILE


# load_users' memory: the users file (path and version) -> its users. Every page run signs in and parsed the TOML
# again. A file changed less than USERS_SETTLE_SECONDS before it is read is not kept: its modification time has a
# coarse clock, so an edit in the same tick could leave the version as it was.
_USERS: dict[str, tuple[tuple, dict[str, User]]] = {}
_USERS_LOCK = threading.Lock()
USERS_SETTLE_SECONDS = 2.0


def load_users(path: Path) -> dict[str, User]:
    """Users from a TOML file of [[user]] tables; a bad entry raises AccessError naming it. Parsed again only when
    the file was written since (a fresh dict each call: callers may change theirs)."""
    try:
        st = os.stat(path)
    except OSError:
        return _parse_users(path)  # missing or unreadable: says so
    version = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _USERS_LOCK:
        kept = _USERS.get(str(path))
    if kept is not None and kept[0] == version:
        return dict(kept[1])
    users = _parse_users(path)
    settled = time.time_ns() - st.st_mtime_ns >= USERS_SETTLE_SECONDS * 1e9
    with _USERS_LOCK:
        if settled:
            _USERS[str(path)] = (version, users)
        else:
            _USERS.pop(str(path), None)
    return dict(users)


def _parse_users(path: Path) -> dict[str, User]:
    """load_users' reading and checking of the file."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise AccessError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise AccessError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    entries = data.get("user", [])
    # `[user]` instead of `[[user]]` (or `user = ...`) is an easy slip: say so rather than fail on it later.
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise AccessError(f"{path}: write each user as a [[user]] table (with login, name, role, rep_id)")
    users = {}
    for n, entry in enumerate(entries, start=1):
        login = str(entry.get("login", "")).strip()
        role = str(entry.get("role", "")).strip()
        if not login:
            raise AccessError(f"{path}: user #{n} has no login")
        if role not in ROLES:
            raise AccessError(f"{path}: user '{login}' has role '{role}'; roles are {', '.join(ROLES)}")
        if role in ("rep", "manager") and not entry.get("rep_id"):
            raise AccessError(f"{path}: user '{login}' is a {role} but names no rep_id")
        if login.lower() in users:  # a second entry must not silently change what the first one may see
            raise AccessError(f"{path}: user '{login}' is listed twice")
        rep_id = entry.get("rep_id")
        users[login.lower()] = User(login, str(entry.get("name", login)), role, str(rep_id) if rep_id else None)
    return users


def below(reps: pl.DataFrame, manager_id: str) -> set[str]:
    """The manager and everyone below them in the hierarchy (any depth, cycles tolerated)."""
    children: dict[str, list[str]] = {}
    for rep_id, boss in reps.select("rep_id", "manager_id").iter_rows():
        if boss is not None:
            children.setdefault(boss, []).append(rep_id)
    seen, todo = {manager_id}, [manager_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def grant(user: User | None, reps: pl.DataFrame, login: str = "") -> Grant:
    """The rows a user may see; default deny when the user, role or rep cannot be resolved.

    `login` is who the identity provider signed in when the users file does not list them.
    """
    if user is None and login:
        return _grant(None, frozenset(), "unlisted", login=login)
    if user is None:
        return _grant(None, frozenset(), "signed_out")
    if user.role not in ROLES:
        return _grant(user, frozenset(), "unknown_role", role=user.role)
    if user.role in ("leader", "analyst", "admin"):
        return _grant(user, None, "every_rep", role=user.role)
    known = set(reps["rep_id"].to_list())
    if user.rep_id not in known:
        return _grant(user, frozenset(), "unknown_rep", rep_id=str(user.rep_id))
    if user.role == "rep":
        return _grant(user, frozenset({user.rep_id}), "own_deals")
    return _grant(user, frozenset(below(reps, user.rep_id)), "team")


def _grant(user: User | None, rep_ids: frozenset[str] | None, reason: str, **values: str) -> Grant:
    """A grant whose reason is the text of access.reason.<reason>, kept translatable for the page."""
    key = f"access.reason.{reason}"
    return Grant(user, rep_ids, t(key, "en", **values), key, tuple(sorted(values.items())))


def _role_keys() -> set[str]:
    """The role.* keys the catalog has (a role outside ROLES keeps its own name)."""
    return {f"role.{r}" for r in ROLES}


def demo_users(reps: pl.DataFrame) -> list[dict[str, str]]:
    """Example users of each role for the demo, tied to real people in its reps table."""
    def first(role: str) -> dict | None:
        rows = reps.filter((pl.col("role") == role) & pl.col("active")).sort("rep_id").head(1).to_dicts()
        return rows[0] if rows else None

    users = [
        {"login": "admin", "name": "Admin (demo)", "role": "admin"},
        {"login": "analyst", "name": "Analyst (demo)", "role": "analyst"},
    ]
    if director := first("Director"):
        users.append({"login": "leader", "name": director["name"], "role": "leader", "rep_id": director["rep_id"]})
    if manager := first("Manager"):
        users.append({"login": "manager", "name": manager["name"], "role": "manager", "rep_id": manager["rep_id"]})
        team = reps.filter((pl.col("manager_id") == manager["rep_id"]) & (pl.col("role") == "AE") & pl.col("active"))
        if team.height:
            rep = team.sort("rep_id").row(0, named=True)
            users.append({"login": "rep", "name": rep["name"], "role": "rep", "rep_id": rep["rep_id"]})
    return users


def write_users(path: Path, users: list[dict[str, str]]) -> None:
    """Write a users file (atomically) in the documented TOML format."""
    lines = ["# Sales Lens local users: login, name, role (rep, manager, leader, analyst, admin), rep_id.", ""]
    for u in users:
        lines.append("[[user]]")
        lines += [f'{k} = {json.dumps(v, ensure_ascii=False)}' for k, v in u.items()]
        lines.append("")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def audit(data_dir: Path, who: str, action: str, what: str) -> None:
    """Append one entry to the audit log in the database (who, what, when); entries are never changed."""
    from saleslens.core import db  # here: the database package imports this module for its users

    with db.get(data_dir).begin() as conn:
        record(conn, who, action, what)


def record(conn: object, who: str, action: str, what: str) -> None:
    """Append an audit entry inside the caller's transaction, so a write and its entry land together."""
    from saleslens.core.db import tables

    conn.execute(tables.audit_log.insert().values(  # type: ignore[attr-defined]
        at=datetime.now(UTC).isoformat(timespec="seconds"), who=who or "(unknown)", action=action[:60], what=what))


def audit_entries(data_dir: Path, limit: int = 1000) -> list[dict[str, str]]:
    """The newest audit entries, oldest first (at, who, action, what)."""
    import sqlalchemy as sa

    from saleslens.core import db
    from saleslens.core.db import tables

    log = tables.audit_log
    with db.get(data_dir).begin() as conn:
        rows = conn.execute(sa.select(log.c.at, log.c.who, log.c.action, log.c.what)
                            .order_by(log.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in reversed(rows)]


def known_users(data_dir: Path) -> dict[str, User]:
    """Users of the database (imported from users.toml once), with users.toml winning while local mode uses it."""
    import sqlalchemy as sa

    from saleslens.core import db
    from saleslens.core.db import legacy, tables

    database = db.get(data_dir)
    path = users_path(data_dir)
    if path.exists():
        with database.begin() as conn:
            legacy.import_users(conn, path)  # a no-op unless the file changed since it was last imported
    with database.begin() as conn:
        rows = conn.execute(sa.select(tables.users)).mappings().all()
    users = {r["login"]: User(r["display_login"], r["name"], r["role"], r["rep_id"]) for r in rows}
    return users | load_users(path)


# ---------------------------------------------------------------- who may write what


class PermissionDenied(ValueError):
    """A write the acting user may not make, told in one line."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the user, the reps they may see (None = every rep) and their team ("" when none)."""

    user: User
    rep_ids: frozenset[str] | None
    team: str = ""

    @property
    def login(self) -> str:
        """The login written as owner and author."""
        return self.user.login

    @property
    def role(self) -> str:
        """The user's role."""
        return self.user.role


# Roles that may change any saved item of a kind besides its owner (issue 14 item 7).
EDIT_ROLES = {"target_sets": frozenset({"analyst", "admin"}), "scorecards": frozenset({"analyst", "admin"}),
              "scenarios": frozenset({"admin"})}
RATING_ROLES = frozenset({"leader", "admin"})  # managers may rate too, but only the reps below them


# _latest_reps' memory: the reps file (path and version) -> its table. Every saved-item list of a page run asks
# for the acting user's scope, and read the newest snapshot's reps Parquet file again each time.
_LATEST_REPS: OrderedDict[tuple, pl.DataFrame] = OrderedDict()
_LATEST_REPS_LOCK = threading.Lock()
LATEST_REPS_KEPT = 4  # data directories' newest snapshots


def _latest_reps(data_dir: Path | None) -> pl.DataFrame | None:
    """The hierarchy of the newest snapshot of a data directory (None when there is none), read again only when
    its reps file is another (a new publish) or was written since."""
    if data_dir is None:
        return None
    try:
        snaps = store.list_snapshots(Path(data_dir))
        if not snaps:
            return None
        path = snaps[-1].table_path("reps")
        if path is None:
            return reps_of(snaps[-1])  # says what is missing
        st = os.stat(path)
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with _LATEST_REPS_LOCK:
            reps = _LATEST_REPS.get(key)
        if reps is None:
            reps = reps_of(snaps[-1])
            with _LATEST_REPS_LOCK:
                _LATEST_REPS[key] = reps
                while len(_LATEST_REPS) > LATEST_REPS_KEPT:
                    _LATEST_REPS.popitem(last=False)
        return reps
    except (store.StoreError, OSError, pl.exceptions.PolarsError):
        return None


def _team(reps: pl.DataFrame | None, rep_id: str | None) -> str:
    if reps is None or not rep_id or "team" not in reps.columns:
        return ""
    rows = reps.filter(pl.col("rep_id") == rep_id)["team"].to_list()
    return str(rows[0] or "") if rows else ""


def actor(who: User | Grant | Actor | None, data_dir: Path | None = None, reps: pl.DataFrame | None = None) -> Actor:
    """The acting user with their scope; a bare User gets the scope of the newest snapshot's hierarchy."""
    if isinstance(who, Actor):
        return who
    user = who.user if isinstance(who, Grant) else who
    if user is None:
        raise PermissionDenied("sign in first: saved work records who changed it")
    reps = reps if reps is not None else _latest_reps(data_dir)
    if isinstance(who, Grant):
        rep_ids = who.rep_ids
    elif reps is None:
        rep_ids = None if user.role in ("leader", "analyst", "admin") else frozenset()
    else:
        rep_ids = grant(user, reps).rep_ids
    return Actor(user, rep_ids, _team(reps, user.rep_id))


NOBODY = Actor(User("(nobody)", "(nobody)", "rep"), frozenset())


def viewer(who: User | Grant | Actor | None, data_dir: Path | None = None) -> Actor | None:
    """Who reads: None for the whole library (no filter), else the actor; nobody when no one is signed in."""
    if who is None:
        return None
    try:
        return actor(who, data_dir)
    except PermissionDenied:
        return NOBODY


def may_see_rep(who: Actor, rep_id: str) -> bool:
    """Whether the rep's rows, ratings and rating history are in the user's scope."""
    return who.rep_ids is None or rep_id in who.rep_ids


def check_may_rate(who: Actor, rep_id: str) -> None:
    """Refuse unless the user may rate the rep: their managers up the hierarchy, leaders, admins; never oneself."""
    if who.user.rep_id and who.user.rep_id == rep_id:
        raise PermissionDenied(f"{who.login} may not rate themselves: a rating is the manager's assessment")
    if who.role in RATING_ROLES:
        return
    if who.role == "manager" and who.rep_ids is not None and rep_id in who.rep_ids:
        return
    raise PermissionDenied(f"{who.login} ({who.role}) may not rate {rep_id}: ratings are written by the rep's "
                           "managers, leaders and admins")


def may_see_item(who: Actor, owner: str, owner_team: str, visibility: str) -> bool:
    """Whether a saved item is visible: everyone; team (same team, or leaders, analysts); private (the owner)."""
    if who.role == "admin" or owner.lower() == who.login.lower() or visibility == "everyone":
        return True
    if visibility == "team":
        return who.role in ("leader", "analyst") or bool(owner_team and owner_team == who.team)
    return False


def check_may_edit(who: Actor, kind: str, name: str, owner: str) -> None:
    """Refuse unless the user may change or delete a saved item: its owner, or a role allowed for the kind."""
    if owner.lower() == who.login.lower() or who.role in EDIT_ROLES.get(kind, frozenset()):
        return
    names = ["its owner", *(f"{r}s" for r in ROLES if r in EDIT_ROLES.get(kind, ()))]
    roles = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    raise PermissionDenied(f"'{name}' belongs to {owner}; only {roles} may change or delete it")


def reps_of(snap: store.Snapshot) -> pl.DataFrame:
    """The snapshot's reps table (the hierarchy access is computed from)."""
    path = snap.table_path("reps")
    return pl.read_parquet(path, columns=["rep_id", "name", "role", "manager_id", "team", "active"], glob=False)
