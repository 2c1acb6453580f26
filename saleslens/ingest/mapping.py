"""Mapping files: which file feeds which canonical table, which column feeds which field, how values map.

A mapping is a TOML file (see docs/MAPPING.md). Built-in profiles live in saleslens/ingest/mappings/.
Loading checks the whole mapping and raises MappingError with a line a user can act on.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from saleslens.core import schema
from saleslens.ingest.errors import MappingError
from saleslens.ingest.parsers import DELIMITERS, ENCODINGS, key_of

BUILTIN_DIR = Path(__file__).resolve().parent / "mappings"

# Canonical references: (table, field) -> the table whose key it points to.
RELATIONS: dict[tuple[str, str], str] = {
    ("reps", "manager_id"): "reps",
    ("opportunities", "owner_id"): "reps",
    ("opportunities", "account_id"): "accounts",
    ("opportunities", "product_id"): "products",
    ("leads", "owner_id"): "reps",
    ("leads", "account_id"): "accounts",
    ("leads", "converted_opportunity_id"): "opportunities",
    ("stage_changes", "opportunity_id"): "opportunities",
    ("activities", "rep_id"): "reps",
    ("activities", "opportunity_id"): "opportunities",
    ("activities", "account_id"): "accounts",
    ("payments", "opportunity_id"): "opportunities",
    ("targets", "owner_id"): "reps",  # only rows with owner_type 'rep'; team targets name a team
}
# Fields holding a stage name, checked against the mapping's stage list.
STAGE_FIELDS = {("opportunities", "stage"), ("stage_changes", "from_stage"), ("stage_changes", "to_stage")}
# Fields with a fixed set of values; other spellings of them ('Call', 'Best Case') are normalised.
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("reps", "role"): schema.ROLES,
    ("activities", "type"): schema.ACTIVITY_TYPES,
    ("leads", "status"): ("new", "working", "qualified", "disqualified", "converted"),
    ("targets", "metric"): schema.TARGET_METRICS,
    ("targets", "owner_type"): ("rep", "team"),
    ("opportunities", "forecast_category"): ("commit", "best_case", "pipeline", "omitted"),
}
# Required fields filled in when a mapping does not give them: (table, field) -> how.
DERIVED: dict[tuple[str, str], str] = {
    ("reps", "name"): "copy:rep_id",
    ("reps", "role"): "value:AE",
    ("reps", "active"): "value:true",
    ("accounts", "name"): "copy:account_id",
    ("products", "name"): "copy:product_id",
    ("opportunities", "status"): "stage",
}
# Derived only: a mapping may not set these.
ALWAYS_DERIVED = {("opportunities", "status")}
AS_OF_TOKEN = "as_of"

_TOP = {"name", "description", "as_of", "options", "stages", "links", "tables", "adapter", "currency"}
_OPTIONS = {"encoding", "delimiter", "date_formats", "day_first", "decimal"}
_SOURCE = {"file", "sheet", "fields", "distinct", "stop_at_blank", "encoding", "delimiter"}
_FIELD = {"column", "columns", "join", "value", "map", "default", "formats", "day_first", "decimal", "optional"}
_STAGE = {"name", "aliases", "probability", "won", "lost"}
_CURRENCY = {"reporting", "rates", "dated", "file"}
_DATED = {"currency", "rate", "start"}
# Adapters: Python modules that turn an export the TOML format cannot describe into plain tables.
ADAPTERS = ("salesforce",)


@dataclass(frozen=True)
class FieldSpec:
    """Where one canonical field comes from and how its values are turned into the canonical form."""

    column: str | None = None
    columns: tuple[str, ...] = ()
    join: str = " "
    value: str | None = None
    map: dict[str, str] = field(default_factory=dict, hash=False)
    default: str | None = None
    formats: tuple[str, ...] = ()
    day_first: bool | None = None
    decimal: str | None = None
    # A column some exports have and others lack: when the file lacks it the field stays empty.
    optional: bool = False

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The file columns this field reads."""
        return ((self.column,) if self.column else ()) + self.columns


@dataclass(frozen=True)
class SourceSpec:
    """One file (or sheet) feeding one canonical table."""

    table: str
    files: tuple[str, ...]
    fields: dict[str, FieldSpec] = field(hash=False)
    sheet: str | None = None
    # Rows that repeat a key are merged instead of rejected (people listed once per deal, say).
    distinct: bool = False
    # Stop reading at the first empty row (report exports put totals and a footer after one).
    stop_at_blank: bool = False
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def label(self) -> str:
        """How the report names this source."""
        return self.files[0] + (f" › {self.sheet}" if self.sheet else "")


@dataclass(frozen=True)
class StageSpec:
    """One stage of the ordered stage list."""

    name: str
    position: int
    probability: float
    won: bool = False
    lost: bool = False
    aliases: tuple[str, ...] = ()
    derived_probability: bool = False


@dataclass(frozen=True)
class DatedRate:
    """A conversion rate in force from a day on (until the next one of the same currency)."""

    currency: str
    rate: float
    start: date


@dataclass(frozen=True)
class CurrencySpec:
    """The [currency] section: the reporting currency and the rates that convert deals into it."""

    reporting: str | None = None
    rates: dict[str, float] = field(default_factory=dict, hash=False)  # units of the currency per reporting unit
    dated: tuple[DatedRate, ...] = ()
    file: str | None = None  # a file among the export's with columns currency, rate and (optional) start


@dataclass(frozen=True)
class Mapping:
    """A whole mapping: sources per table, the stage list, link rules and reading options."""

    name: str
    description: str
    sources: tuple[SourceSpec, ...]
    stages: tuple[StageSpec, ...]
    as_of: str = "today"
    encoding: str = "auto"
    delimiter: str = "auto"
    date_formats: tuple[str, ...] = ()
    day_first: bool | None = None
    decimal: str = "auto"
    links: dict[tuple[str, str], str] = field(default_factory=dict, hash=False)
    text: str = field(default="", repr=False, compare=False)
    adapter: str | None = None
    currency: CurrencySpec | None = None

    def sources_for(self, table: str) -> list[SourceSpec]:
        """The sources feeding a table, in mapping order."""
        return [s for s in self.sources if s.table == table]

    @property
    def tables(self) -> list[str]:
        """Canonical tables this mapping fills (stages always)."""
        return ["stages"] + [t for t in schema.TABLES if t != "stages" and self.sources_for(t)]

    def link_policy(self, table: str, field_name: str) -> str:
        """'keep' (default) or 'reject' for rows whose reference points nowhere."""
        return self.links.get((table, field_name), "keep")

    def stage_lookup(self) -> dict[str, str]:
        """Matching key of every stage name and alias -> the stage name."""
        out = {}
        for st in self.stages:
            for name in (st.name, *st.aliases):
                out[key_of(name)] = st.name
        return out


# ----------------------------------------------------------------------------- loading


def builtin_names() -> list[str]:
    """Names of the built-in mapping profiles."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def builtin_text(name: str) -> str:
    """The TOML text of a built-in profile."""
    return (BUILTIN_DIR / f"{name}.toml").read_text(encoding="utf-8")


def load(name_or_path: str) -> Mapping:
    """A built-in profile by name, or a mapping file by path."""
    if name_or_path in builtin_names():
        return parse(builtin_text(name_or_path), f"{name_or_path} (built-in)")
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise MappingError(
            f"'{name_or_path}' is neither a built-in mapping ({', '.join(builtin_names())}) nor a mapping file."
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise MappingError(f"{path.name}: a mapping file must be UTF-8 text.") from None
    return parse(text, path.name)


def parse(text: str, label: str = "mapping") -> Mapping:
    """Read and check a mapping from its TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{label}: not valid TOML: {exc}.") from None
    _only(data, _TOP, label)
    options = data.get("options", {})
    _only(options, _OPTIONS, f"{label} [options]")
    encoding = _choice(options.get("encoding", "auto"), ENCODINGS, f"{label} [options] encoding")
    delimiter = _delimiter(options.get("delimiter", "auto"), f"{label} [options] delimiter")
    decimal = _choice(options.get("decimal", "auto"), ("auto", ".", ","), f"{label} [options] decimal")
    day_first = options.get("day_first")
    if day_first is not None and not isinstance(day_first, bool):
        raise MappingError(f"{label} [options] day_first must be true or false.")
    as_of = _choice(data.get("as_of", "today"), ("today", "latest"), f"{label} as_of")
    adapter = data.get("adapter")
    if adapter is not None:
        adapter = _choice(adapter, ADAPTERS, f"{label} adapter")
    # An adapter reads the stage list from the export itself; a mapping may still give one.
    stages = () if adapter and "stages" not in data else _stages(data.get("stages"), label)
    sources = _sources(data.get("tables"), label)
    links = _links(data.get("links", {}), label)
    name = str(data.get("name") or label)
    return Mapping(
        name=name, description=str(data.get("description", "")), sources=sources, stages=stages,
        as_of=as_of, encoding=encoding, delimiter=delimiter,
        date_formats=_str_list(options.get("date_formats", []), f"{label} [options] date_formats"),
        day_first=day_first, decimal=decimal, links=links, text=text, adapter=adapter,
        currency=_currency(data.get("currency"), label),
    )


def _only(table: object, allowed: set[str], where: str) -> None:
    """Reject keys a mapping section does not know, suggesting the closest known one."""
    if not isinstance(table, dict):
        raise MappingError(f"{where} must be a table of keys and values.")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(allowed))})"
            raise MappingError(f"{where}: unknown key '{key}'{hint}.")


def _choice(value: object, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise MappingError(f"{where} must be one of {', '.join(allowed)}, not '{value}'.")
    return str(value)


def _delimiter(value: object, where: str) -> str:
    value = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(str(value), value)
    if value != "auto" and value not in DELIMITERS:
        raise MappingError(f"{where} must be auto, comma, semicolon, tab or pipe, not '{value}'.")
    return str(value)


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise MappingError(f"{where} must be a list of texts.")
    return tuple(value)


def _stages(raw: object, label: str) -> tuple[StageSpec, ...]:
    """The ordered stage list, with won/lost flags and probabilities (defaults spread evenly)."""
    if not isinstance(raw, list) or not raw:
        raise MappingError(f"{label}: give the ordered stage list as [[stages]] entries (name, won, lost, ...).")
    seen: dict[str, str] = {}
    names: set[str] = set()
    items = []
    for i, entry in enumerate(raw, start=1):
        where = f"{label} [[stages]] entry {i}"
        _only(entry, _STAGE, where)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MappingError(f"{where} needs a name.")
        if key_of(name) in names:
            raise MappingError(f"{where}: the stage '{name}' is listed twice.")
        names.add(key_of(name))
        won, lost = bool(entry.get("won", False)), bool(entry.get("lost", False))
        if won and lost:
            raise MappingError(f"{where} ('{name}') cannot be both won and lost.")
        aliases = _str_list(entry.get("aliases", []), f"{where} aliases")
        for alias in (name, *aliases):
            key = key_of(alias)
            if key in seen and seen[key] != name:
                raise MappingError(f"{where}: '{alias}' is already used by stage '{seen[key]}'.")
            seen[key] = name
        prob = entry.get("probability")
        if prob is not None and (not isinstance(prob, int | float) or not 0 <= prob <= 1):
            raise MappingError(f"{where} ('{name}'): probability must be a number from 0 to 1, not {prob!r}.")
        items.append((name.strip(), won, lost, aliases, prob))
    if not any(w for _, w, _, _, _ in items):
        raise MappingError(f"{label}: no stage is marked won = true; one stage must mean the deal was won.")
    if not any(lo for _, _, lo, _, _ in items):
        raise MappingError(f"{label}: no stage is marked lost = true; one stage must mean the deal was lost.")
    open_count = sum(1 for _, w, lo, _, _ in items if not (w or lo))
    out, open_seen = [], 0
    for pos, (name, won, lost, aliases, prob) in enumerate(items, start=1):
        derived = prob is None
        if derived:
            if won or lost:
                prob = 1.0 if won else 0.0
            else:
                open_seen += 1
                prob = round(open_seen / (open_count + 1), 2)
        out.append(StageSpec(name, pos, float(prob), won, lost, aliases, derived))
    return tuple(out)


def _currency_code(value: object, where: str) -> str:
    """An ISO 4217 code, upper case."""
    if not isinstance(value, str) or not value.strip().isalpha() or len(value.strip()) != 3:
        raise MappingError(f"{where} must be a three-letter currency code like USD or EUR, not {value!r}.")
    return value.strip().upper()


def _rate(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"{where} must be a number (units of the currency per one reporting unit).")
    return float(value)  # 0 or negative is allowed here: the import reports the deals it cannot convert


def _currency(raw: object, label: str) -> CurrencySpec | None:
    """The [currency] section: reporting currency, inline rates, dated rates, or a rates file."""
    if raw is None:
        return None
    where = f"{label} [currency]"
    _only(raw, _CURRENCY, where)
    reporting = _currency_code(raw["reporting"], f"{where} reporting") if "reporting" in raw else None
    rates_raw = raw.get("rates", {})
    if not isinstance(rates_raw, dict):
        raise MappingError(f"{where} rates must be a table like {{ EUR = 0.92, GBP = 0.79 }}.")
    rates = {_currency_code(k, f"{where} rates"): _rate(v, f"{where} rates.{k}") for k, v in rates_raw.items()}
    dated = []
    entries = raw.get("dated", [])
    if not isinstance(entries, list):
        raise MappingError(f"{where} dated must be [[currency.dated]] entries (currency, rate, start).")
    for i, entry in enumerate(entries, start=1):
        at = f"{where} dated entry {i}"
        _only(entry, _DATED, at)
        start = entry.get("start")
        if isinstance(start, str):
            try:
                start = date.fromisoformat(start)
            except ValueError:
                start = None
        if not isinstance(start, date):
            raise MappingError(f"{at} needs start = 2026-01-01 (the first day the rate is in force).")
        dated.append(DatedRate(_currency_code(entry.get("currency"), f"{at} currency"),
                               _rate(entry.get("rate"), f"{at} rate"), start))
    file = raw.get("file")
    if file is not None and (not isinstance(file, str) or not file.strip()):
        raise MappingError(f"{where} file must be the name of the rates file, like \"rates.csv\".")
    return CurrencySpec(reporting, rates, tuple(dated), file)


def _links(raw: object, label: str) -> dict[tuple[str, str], str]:
    if not isinstance(raw, dict):
        raise MappingError(f"{label} [links] must be a table of \"table.field\" = \"keep\" or \"reject\".")
    out = {}
    known = {f"{t}.{f}" for t, f in RELATIONS}
    for key, value in raw.items():
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise MappingError(f"{label} [links]: '{key}' is not a reference{hint}.")
        out[tuple(key.split("."))] = _choice(value, ("keep", "reject"), f"{label} [links] {key}")
    return out


def _sources(raw: object, label: str) -> tuple[SourceSpec, ...]:
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{label}: no [[tables.<name>]] sections; say which file feeds which table.")
    out = []
    for table, entries in raw.items():
        if table == "stages":
            raise MappingError(f"{label}: stages come from the [[stages]] list, not from a file.")
        if table not in schema.TABLES:
            close = difflib.get_close_matches(table, list(schema.TABLES), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (tables: {', '.join(schema.TABLES)})"
            raise MappingError(f"{label}: unknown table '{table}'{hint}.")
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise MappingError(f"{label}: tables.{table} must be a [[tables.{table}]] section.")
        for i, entry in enumerate(entries, start=1):
            out.append(_source(table, entry, f"{label} [[tables.{table}]] entry {i}"))
    return tuple(out)


def _source(table: str, entry: object, where: str) -> SourceSpec:
    _only(entry, _SOURCE, where)
    if "file" not in entry:
        raise MappingError(f"{where} needs file = \"name.csv\" (the file that feeds {table}).")
    files = _str_list(entry["file"], f"{where} file")
    fields_raw = entry.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        raise MappingError(f"{where} needs a [tables.{table}.fields] section: field = \"column\".")
    spec = schema.TABLES[table]
    known = [c.name for c in spec.columns]
    fields = {}
    for name, value in fields_raw.items():
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (fields: {', '.join(known)})"
            raise MappingError(f"{where}: {table} has no field '{name}'{hint}.")
        if (table, name) in ALWAYS_DERIVED:
            raise MappingError(f"{where}: {table}.{name} is derived from the stage's won/lost flags; map stage.")
        fields[name] = _field(value, f"{where} field {name}")
    for col in spec.required:
        if col not in fields and (table, col) not in DERIVED:
            raise MappingError(f"{where}: the required field {table}.{col} is not mapped to a column or value.")
    encoding = entry.get("encoding")
    if encoding is not None:
        _choice(encoding, ENCODINGS, f"{where} encoding")
    delimiter = entry.get("delimiter")
    if delimiter is not None:
        delimiter = _delimiter(delimiter, f"{where} delimiter")
    sheet = entry.get("sheet")
    if sheet is not None and not isinstance(sheet, str):
        raise MappingError(f"{where} sheet must be a sheet name.")
    return SourceSpec(
        table=table, files=files, fields=fields, sheet=sheet, distinct=bool(entry.get("distinct", False)),
        stop_at_blank=bool(entry.get("stop_at_blank", False)), encoding=encoding, delimiter=delimiter,
    )


def _field(value: object, where: str) -> FieldSpec:
    if isinstance(value, str):
        if not value.strip():
            raise MappingError(f"{where}: the column name is empty.")
        return FieldSpec(column=value)
    if not isinstance(value, dict):
        raise MappingError(f"{where} must be a column name or a table like {{ column = \"...\" }}.")
    _only(value, _FIELD, where)
    column = value.get("column")
    columns = _str_list(value.get("columns", []), f"{where} columns") if "columns" in value else ()
    const = value.get("value")
    if sum(x is not None and x != () for x in (column, columns or None, const)) != 1:
        raise MappingError(f"{where} needs exactly one of column, columns or value.")
    mapping = value.get("map", {})
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise MappingError(f"{where} map must be a table of \"value in file\" = \"value to use\".")
    decimal = value.get("decimal")
    if decimal is not None:
        _choice(decimal, ("auto", ".", ","), f"{where} decimal")
    day_first = value.get("day_first")
    if day_first is not None and not isinstance(day_first, bool):
        raise MappingError(f"{where} day_first must be true or false.")
    return FieldSpec(
        column=str(column) if column is not None else None,
        columns=columns,
        join=str(value.get("join", " ")),
        value=None if const is None else str(const).lower() if isinstance(const, bool) else str(const),
        map={str(k): v for k, v in mapping.items()},
        default=None if value.get("default") is None else str(value["default"]),
        formats=_str_list(value.get("formats", []), f"{where} formats"),
        day_first=day_first,
        decimal=decimal,
        optional=bool(value.get("optional", False)),
    )


# A starting point for a mapping of one's own (the Import page offers it; docs/MAPPING.md explains it).
STARTER = '''# My CRM export. Change the file names, column names and stages to match your files.
name = "my-crm"
description = "Deals and owners exported from my CRM"
as_of = "today"            # or "latest": the last date found in the data

[options]
# day_first = true         # uncomment if dates like 03/04/2026 mean 3 April

[[stages]]
name = "New"
probability = 0.1
[[stages]]
name = "Proposal"
probability = 0.5
[[stages]]
name = "Won"
won = true
[[stages]]
name = "Lost"
lost = true

# The deal owners, one per name, taken from the deals file.
[[tables.reps]]
file = "deals.csv"
distinct = true
[tables.reps.fields]
rep_id = "Owner"
name = "Owner"
role = { value = "AE" }

[[tables.opportunities]]
file = "deals.csv"
[tables.opportunities.fields]
opportunity_id = "Deal ID"
owner_id = "Owner"
stage = "Stage"
amount = "Amount"
created_date = "Created"
close_date = "Close Date"
'''
