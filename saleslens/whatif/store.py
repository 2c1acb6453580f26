"""Named what-if scenarios, kept as versioned JSON documents in the database of saved work.

The document format is versioned (FORMAT_VERSION). A document or file from another version is refused with
a message naming the `version` field; a save that fails (bad input, no right, a newer version saved by
someone else) changes nothing, because everything is checked before the one transaction that writes it.
A scenario has an owner, a visibility and a version; only its owner and admins may change or delete it
(saleslens.core.access), and every change is audited.
"""

from __future__ import annotations

import importlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from saleslens.core import access, db
from saleslens.core.db import items
from saleslens.whatif import scenarios
from saleslens.whatif.errors import FieldError
from saleslens.whatif.scenarios import Scenario, ScenarioError

FORMAT = "saleslens-scenario"
FORMAT_VERSION = 1
KIND = "scenarios"
MAX_NAME = 80
Who = access.User | access.Grant | access.Actor


class ScenarioStoreError(FieldError):
    """A scenario that cannot be saved or opened, told in one line naming the field or file."""


# Every refusal a save or delete can meet, each told in one line: pages show them as a message.
SAVE_ERRORS = (ScenarioStoreError, ScenarioError, access.PermissionDenied, items.StaleVersion,
               items.VisibilityError, db.DatabaseError, OSError)


@dataclass(frozen=True)
class Saved:
    """One entry of the saved-scenarios list."""

    name: str
    saved_at: str
    error: str | None = None  # set when the stored document cannot be opened
    owner: str = ""
    visibility: str = ""
    version: int = 0
    saved_by: str = ""


def check_name(name: str) -> str:
    """A usable scenario name (trimmed), or a ScenarioStoreError naming the `name` field."""
    clean = (name or "").strip()
    if not clean:
        raise ScenarioStoreError("name", "give the scenario a name before saving it")
    if len(clean) > MAX_NAME:
        raise ScenarioStoreError("name", f"is {len(clean)} characters long; keep it to {MAX_NAME}")
    if any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise ScenarioStoreError("name", "must not contain control characters")
    return clean


# ---------------------------------------------------------------- (de)serialisation


def to_dict(sc: Scenario, saved_at: str | None = None) -> dict:
    """The versioned JSON document of a scenario."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "name": sc.name,
        "saved_at": saved_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": {
            "period": {"start": sc.start.isoformat() if sc.start else None,
                       "end": sc.end.isoformat() if sc.end else None},
            "snapshot": sc.snapshot,
            "scope": {"regions": list(sc.regions), "teams": list(sc.teams), "reps": list(sc.reps)},
            "target_set": sc.target_set,
            "target_change_pct": {
                "global": sc.target_change_pct, "region": dict(sc.region_change_pct),
                "team": dict(sc.team_change_pct), "rep": dict(sc.rep_change_pct),
            },
            "drivers_pct": {"win_rate": sc.win_rate_pct, "deal_size": sc.deal_size_pct,
                            "cycle_time": sc.cycle_time_pct},
            "headcount": {"new_reps": dict(sc.new_reps), "ramp_pct": list(sc.ramp_pct)},
            "include_pipeline": sc.include_pipeline,
            "commission_plans": dict(sc.plans) if sc.plans is not None else None,
        },
    }


def _get(table: Mapping, key: str, where: str, kind: type | tuple[type, ...], default: object = ...) -> object:
    """A field of the document with the right type, or an error naming it."""
    here = f"{where}.{key}" if where else key
    if key not in table:
        if default is ...:
            raise ScenarioStoreError(here, "is missing")
        return default
    value = table[key]
    if value is None and default is None:
        return None
    if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ScenarioStoreError(here, f"must be {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise ScenarioStoreError(here, f"must be {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "a table", list: "a list", str: "text", bool: "true or false", int: "a number", float: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _date(value: object, here: str) -> date:
    if not isinstance(value, str):
        raise ScenarioStoreError(here, f"must be a date like 2026-10-01, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ScenarioStoreError(here, f"must be a date like 2026-10-01, got {value!r}") from None


def _pct_map(table: Mapping, here: str) -> dict[str, float]:
    out = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioStoreError(f"{here}[{key}]", f"must be a number (percent), got {value!r}")
        out[str(key)] = float(value)
    return out


def _texts(value: object, here: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioStoreError(here, "must be a list of names")
    return tuple(value)


def check_version(doc: object, source: str) -> Mapping:
    """The document if it is a scenario of this format version; otherwise an error naming the field."""
    if not isinstance(doc, dict):
        raise ScenarioStoreError(source, "is not a scenario file (expected a JSON object)")
    if doc.get("format") != FORMAT:
        raise ScenarioStoreError("format", f"{source} is not a Sales Lens scenario file (format "
                                           f"{doc.get('format')!r}, expected {FORMAT!r})")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ScenarioStoreError("version", f"{source} has no usable format version ({version!r}); "
                                            f"this app reads version {FORMAT_VERSION}")
    if version < FORMAT_VERSION:
        raise ScenarioStoreError("version", f"{source} was saved in scenario format version {version} by an "
                                            f"older Sales Lens; this app reads version {FORMAT_VERSION}. Re-enter "
                                            "its inputs and save it again.")
    if version > FORMAT_VERSION:
        raise ScenarioStoreError("version", f"{source} is scenario format version {version}, newer than this "
                                            f"app (reads {FORMAT_VERSION}); update Sales Lens to open it")
    return doc


def from_dict(doc: object, source: str = "the scenario file") -> Scenario:
    """A checked Scenario from a document; an older or unknown version or a bad field raises an error."""
    doc = check_version(doc, source)
    name = _get(doc, "name", "", str)
    inputs = _get(doc, "inputs", "", dict)
    period = _get(inputs, "period", "inputs", dict)
    scope = _get(inputs, "scope", "inputs", dict, {})
    change = _get(inputs, "target_change_pct", "inputs", dict, {})
    drivers = _get(inputs, "drivers_pct", "inputs", dict, {})
    head = _get(inputs, "headcount", "inputs", dict, {})
    w = "inputs.target_change_pct"
    new_reps = _get(head, "new_reps", "inputs.headcount", dict, {})
    for team, n in new_reps.items():
        if isinstance(n, bool) or not isinstance(n, int):
            raise ScenarioStoreError(f"inputs.headcount.new_reps[{team}]", f"must be a whole number, got {n!r}")
    ramp = _get(head, "ramp_pct", "inputs.headcount", list, list(scenarios.DEFAULT_RAMP))
    for n, v in enumerate(ramp, start=1):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ScenarioStoreError(f"inputs.headcount.ramp_pct[{n}]", f"must be a number, got {v!r}")
    plans = _get(inputs, "commission_plans", "inputs", dict, None)
    num = (int, float)
    sc = Scenario(
        name=name,
        start=_date(period.get("start"), "inputs.period.start"),
        end=_date(period.get("end"), "inputs.period.end"),
        snapshot=_get(inputs, "snapshot", "inputs", str, None),
        regions=_texts(scope.get("regions", []), "inputs.scope.regions"),
        teams=_texts(scope.get("teams", []), "inputs.scope.teams"),
        reps=_texts(scope.get("reps", []), "inputs.scope.reps"),
        target_set=_get(inputs, "target_set", "inputs", str, None),
        target_change_pct=float(_get(change, "global", w, num, 0.0)),
        region_change_pct=_pct_map(_get(change, "region", w, dict, {}), f"{w}.region"),
        team_change_pct=_pct_map(_get(change, "team", w, dict, {}), f"{w}.team"),
        rep_change_pct=_pct_map(_get(change, "rep", w, dict, {}), f"{w}.rep"),
        win_rate_pct=float(_get(drivers, "win_rate", "inputs.drivers_pct", num, 0.0)),
        deal_size_pct=float(_get(drivers, "deal_size", "inputs.drivers_pct", num, 0.0)),
        cycle_time_pct=float(_get(drivers, "cycle_time", "inputs.drivers_pct", num, 0.0)),
        new_reps={str(k): v for k, v in new_reps.items()},
        ramp_pct=tuple(float(v) for v in ramp),
        include_pipeline=_get(inputs, "include_pipeline", "inputs", bool, True),
        plans=plans,
    )
    try:
        return scenarios.validate(sc)
    except ScenarioError as exc:
        raise ScenarioStoreError(f"inputs.{exc.field}", exc.message) from None


# ---------------------------------------------------------------- stored scenarios


def _entry(item: items.Item) -> Saved:
    """One stored scenario's list entry; a document that no longer opens is listed with its error."""
    try:
        from_dict(item.body, f"scenario '{item.name}'")
        error = None
    except ValueError as exc:
        error = str(exc)
    return Saved(item.name, item.updated_at, error, item.owner, item.visibility, item.version, item.updated_by)


def _actor(data_dir: Path, who: Who | None) -> access.Actor | None:
    """The reader: None reads everything (library callers), else what `who` may see."""
    return access.viewer(who, data_dir)


def save(data_dir: Path, sc: Scenario, overwrite: bool = False, who: Who | None = None,
         expected_version: int | None = None, visibility: str | None = None) -> Saved:
    """Save a named scenario as `who`; an existing one is replaced only with overwrite=True.

    Everything is checked before the one transaction that writes, so a refused save changes nothing:
    a bad input, a scenario `who` may not change, or one changed since `expected_version`.
    """
    name = check_name(sc.name)
    sc = replace(sc, name=name)
    try:
        scenarios.validate(sc)
    except ScenarioError as exc:
        raise ScenarioStoreError(exc.field, exc.message) from None
    actor = access.actor(who, data_dir)
    database = db.get(data_dir)
    existing = None if overwrite else items.get(database, KIND, name, actor)
    if existing is not None:  # said before the write, on the name field; someone's private one is refused below
        raise ScenarioStoreError("name", items.taken_message(KIND, name, existing))
    doc = to_dict(sc)
    from_dict(json.loads(json.dumps(doc)), "the scenario to save")  # it must reopen before it may be written
    expected = expected_version if overwrite else 0  # without overwrite the name must still be free when we write
    return _entry(items.save(database, KIND, name, doc, actor, expected_version=expected, visibility=visibility))


def read(path: Path) -> Scenario:
    """Open a scenario file (anywhere on disk)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioStoreError("file", f"there is no scenario file {path}") from None
    except OSError as exc:
        raise ScenarioStoreError("file", f"cannot read {path} ({exc.strerror or exc})") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ScenarioStoreError("file", f"{path.name} is not valid JSON ({exc})") from None
    return from_dict(doc, path.name)


def saved_item(data_dir: Path, name: str, who: Who | None = None) -> Saved | None:
    """A stored scenario's list entry (owner, visibility, version), or None when `who` cannot see one."""
    item = items.get(db.get(data_dir), KIND, name.strip(), _actor(data_dir, who))
    return None if item is None else _entry(item)


def load(data_dir: Path, name: str, who: Who | None = None) -> Scenario:
    """Open a saved scenario by name (one `who` may see, when given)."""
    item = items.get(db.get(data_dir), KIND, name.strip(), _actor(data_dir, who))
    if item is None:
        known = ", ".join(s.name for s in list_saved(data_dir, who) if s.error is None) or "none"
        raise ScenarioStoreError("name", f"no saved scenario is named '{name}' (saved: {known})")
    return from_dict(item.body, f"scenario '{item.name}'")


def resolve(data_dir: Path, name_or_path: str, who: Who | None = None) -> Scenario:
    """A scenario from a file path, or else from the saved scenario of that name."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".json" or path.exists():
        return read(path)
    return load(data_dir, name_or_path, who)


def list_saved(data_dir: Path, who: Who | None = None) -> list[Saved]:
    """Saved scenarios (those `who` may see, when given) by name; one that cannot be opened carries its error."""
    found = items.list_items(db.get(data_dir), KIND, _actor(data_dir, who))
    return sorted((_entry(i) for i in found), key=lambda s: s.name.lower())


def delete(data_dir: Path, name: str, who: Who | None = None) -> None:
    """Remove a saved scenario as `who`; refused unless they own it or are an admin."""
    if not items.delete(db.get(data_dir), KIND, name.strip(), access.actor(who, data_dir)):
        raise ScenarioStoreError("name", f"no saved scenario is named '{name}'")


# ---------------------------------------------------------------- saved target sets


def _target_sets_module():
    """saleslens.targets.logic.sets when another feature provides it, else None."""
    try:
        return importlib.import_module("saleslens.targets.logic.sets")
    except ImportError:
        return None


def target_set_names(data_dir: Path) -> list[str]:
    """Names of saved target sets offered as a base (empty when the feature is not installed)."""
    mod = _target_sets_module()
    if mod is None:
        return []
    for fn in ("list_sets", "list_saved", "names"):
        if hasattr(mod, fn):
            items = getattr(mod, fn)(data_dir)
            return [i if isinstance(i, str) else getattr(i, "name", str(i)) for i in items]
    return []


def target_set_targets(data_dir: Path, name: str, start: date, end: date) -> pl.DataFrame:
    """Rep-level bookings targets (rep_id, target) of a saved target set summed over the period."""
    mod = _target_sets_module()
    if mod is None:
        raise ScenarioError("target_set", f"'{name}' cannot be used: saved target sets are not available")
    loader = next((getattr(mod, fn) for fn in ("load_set", "load", "read") if hasattr(mod, fn)), None)
    if loader is None:
        raise ScenarioError("target_set", "saved target sets cannot be read by this version")
    frame = loader(data_dir, name)
    frame = getattr(frame, "targets", frame)
    if not isinstance(frame, pl.DataFrame):
        raise ScenarioError("target_set", f"'{name}' did not give a table of targets")
    return rep_targets(frame, start, end, name)


def rep_targets(frame: pl.DataFrame, start: date, end: date, name: str = "target set") -> pl.DataFrame:
    """Rep bookings targets in the period from a targets-shaped frame, summed per rep."""
    needed = {"owner_id", "value", "period_start"}
    if not needed <= set(frame.columns):
        raise ScenarioError("target_set", f"'{name}' lacks column(s) {', '.join(sorted(needed - set(frame.columns)))}")
    rows = frame
    if "owner_type" in rows.columns:
        rows = rows.filter(pl.col("owner_type") == "rep")
    if "metric" in rows.columns:
        rows = rows.filter(pl.col("metric") == "bookings")
    return (rows.filter(pl.col("period_start").is_between(start, end))
            .group_by(pl.col("owner_id").alias("rep_id")).agg(pl.col("value").sum().alias("target")))


def with_targets(base: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """The base with its target column replaced by another set's (reps the set lacks get none)."""
    return base.drop("target").join(targets, on="rep_id", how="left", maintain_order="left").select(base.columns)
