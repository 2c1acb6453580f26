"""Named scorecard definitions, kept in the database of saved work with an owner, a visibility and a version.

A definition fixes the weights a manager chose for a role, so every rep of that role is scored by
the same written rules, and the same scorecard can be used again next quarter. Its owner, analysts and
admins may change or delete it (saleslens.core.access); every change is audited.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from saleslens.core import access, db
from saleslens.core.db import items
from saleslens.rankings.scorecards import (
    DEFAULT_CAP,
    DEFAULT_MIN_SAMPLE,
    DEFAULT_RAMP,
    SCORE_KEYS,
    Definition,
    default_definition,
)

KIND = "scorecards"
MAX_NAME = 60
MAX_RAMP_MONTHS = 24
Who = access.User | access.Grant | access.Actor


class DefinitionError(ValueError):
    """A scorecard definition that cannot be saved, told in one line."""


# Every refusal a save or delete can meet, each told in one line: pages show them as a message.
SAVE_ERRORS = (DefinitionError, access.PermissionDenied, items.StaleVersion, items.VisibilityError,
               db.DatabaseError, OSError)


def slug(name: str) -> str:
    """A file-safe, stable form of a name: lower-case ASCII words, plus a short hash when non-ASCII."""
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if words and words.isascii() and re.sub(r"[^A-Za-z0-9 _-]", "", name) == name:
        return words
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return f"{words}-{digest}" if words else digest


def validate(definition: Definition) -> Definition:
    """The definition checked: a name, known keys, weights from 0 to 100 with at least one above zero."""
    name = (definition.name or "").strip()
    if not name:
        raise DefinitionError("give the scorecard a name")
    if len(name) > MAX_NAME:
        raise DefinitionError(f"the name is {len(name)} characters; the limit is {MAX_NAME}")
    if name.startswith("default:"):
        raise DefinitionError("names starting with 'default:' are kept for the built-in scorecards")
    unknown = [k for k in definition.weights if k not in SCORE_KEYS]
    if unknown:
        raise DefinitionError(f"unknown KPI(s): {', '.join(unknown)}")
    weights = {}
    for key, value in definition.weights.items():
        w = float(value)
        if not 0 <= w <= 100:
            raise DefinitionError(f"the weight of {key} must be from 0 to 100, not {value}")
        if w > 0:
            weights[key] = w
    if not weights:
        raise DefinitionError("give at least one KPI a weight above zero")
    ramp = tuple(float(r) for r in definition.ramp)
    if len(ramp) > MAX_RAMP_MONTHS or any(not 0 <= r <= 1 for r in ramp):
        raise DefinitionError(f"ramp factors must be from 0 to 1, at most {MAX_RAMP_MONTHS} months")
    if not 1 <= int(definition.min_sample) <= 100:
        raise DefinitionError("the minimum number of deals must be from 1 to 100")
    if not 1 <= float(definition.cap) <= 5:
        raise DefinitionError("the attainment cap must be from 100% to 500%")
    return Definition(name, definition.role, weights, ramp, int(definition.min_sample), float(definition.cap))


def to_json(definition: Definition) -> dict:
    """The JSON document stored for a definition."""
    return {
        "name": definition.name, "role": definition.role, "weights": definition.weights,
        "ramp": list(definition.ramp), "min_sample": definition.min_sample, "cap": definition.cap,
    }


def from_json(doc: dict) -> Definition:
    """A definition from its stored JSON; raises DefinitionError when it is not one."""
    try:
        return validate(Definition(
            name=str(doc["name"]), role=str(doc["role"]),
            weights={str(k): float(v) for k, v in dict(doc["weights"]).items()},
            ramp=tuple(float(r) for r in doc.get("ramp", DEFAULT_RAMP)),
            min_sample=int(doc.get("min_sample", DEFAULT_MIN_SAMPLE)),
            cap=float(doc.get("cap", DEFAULT_CAP)),
        ))
    except (KeyError, TypeError, ValueError) as exc:
        raise DefinitionError(f"not a scorecard definition ({exc})") from None


def save(data_dir: Path, definition: Definition, who: Who | None = None, expected_version: int | None = None,
         visibility: str | None = None) -> Definition:
    """Validate and store a definition under its name as `who` (replacing one of that name they may change)."""
    clean = validate(definition)
    actor = access.actor(who, data_dir)
    items.save(db.get(data_dir), KIND, clean.name, to_json(clean), actor, expected_version=expected_version,
               visibility=visibility, extra={"role": clean.role})
    return clean


def delete(data_dir: Path, name: str, who: Who | None = None) -> bool:
    """Remove a saved definition as `who`; False when there was none they can see."""
    return items.delete(db.get(data_dir), KIND, name, access.actor(who, data_dir))


def saved_items(data_dir: Path, who: Who | None = None) -> list[items.Item]:
    """The stored definitions with owner, visibility and version (only those `who` may see, when given)."""
    return items.list_items(db.get(data_dir), KIND, access.viewer(who, data_dir))


def load_all(data_dir: Path, role: str | None = None, who: Who | None = None) -> list[Definition]:
    """Saved definitions (of one role, if given; visible to `who`, if given), by name; unreadable ones skipped."""
    out = []
    for item in saved_items(data_dir, who):
        try:
            definition = from_json(item.body)
        except DefinitionError:
            continue
        if role is None or definition.role == role:
            out.append(definition)
    return sorted(out, key=lambda d: d.name.lower())


def get(data_dir: Path, name: str, role: str, who: Who | None = None) -> Definition:
    """A definition by name: a saved one, or the role's built-in default for 'default:<role>'."""
    if name.startswith("default:"):
        return default_definition(name.split(":", 1)[1] or role)
    for definition in load_all(data_dir, who=who):
        if definition.name == name:
            return definition
    raise DefinitionError(f"there is no saved scorecard '{name}'")
