"""Who may see what: users, roles, row scope from the manager hierarchy, page rights and the audit log.

Pure functions over Polars frames and files; the runner applies the resulting scope once, in the
base views, so no page query can reach rows outside it.
"""

from __future__ import annotations

import json
import os
import tomllib
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


def load_users(path: Path) -> dict[str, User]:
    """Users from a TOML file of [[user]] tables; a bad entry raises AccessError naming it."""
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
    """Append one line to the audit log (who, what, when); never rewrites earlier lines."""
    folder = data_dir / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {"at": datetime.now(UTC).isoformat(timespec="seconds"), "who": who, "action": action, "what": what},
        ensure_ascii=False,
    )
    with open(folder / "audit.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def reps_of(snap: store.Snapshot) -> pl.DataFrame:
    """The snapshot's reps table (the hierarchy access is computed from)."""
    path = snap.table_path("reps")
    return pl.read_parquet(path, columns=["rep_id", "name", "role", "manager_id", "team", "active"])
