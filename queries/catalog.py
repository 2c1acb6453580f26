"""The query catalog: reads the .sql files and their header comments; no duckdb here."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

QUERY_DIR = Path(__file__).parent
TYPES = ("text", "date", "int", "float", "bool", "text[]")
_PARAM = re.compile(r"^--\s+\$(\w+)\s+(\S+)\s+(\S+)\s+(.*)$")
# A type may carry what values it allows: `text(org|region|team)` an allow-list, `int(1..)` or `float(0..1)` a range.
_CONSTRAINED = re.compile(r"^(?P<base>[a-z]+(?:\[\])?)(?:\((?P<rule>[^()]*)\))?$")
_FIELD = re.compile(r"^--\s*(purpose|grain):\s*(.*)$")
# Shared SQL written once: fragments (`{{ name(arg, ...) }}` in a query, expanded here when the file is read) and
# DuckDB macros (created by the runner on every connection). See queries/README.md.
FRAGMENT_DIR = QUERY_DIR / "fragments"
MACROS_FILE = FRAGMENT_DIR / "macros.sql"
_FRAGMENT_HEAD = re.compile(r"^--\s*fragment:\s*(\w+)\(([^)]*)\)", re.MULTILINE)
_INCLUDE = re.compile(r"^(?P<lead>.*?)\{\{\s*(?P<name>\w+)\((?P<args>[^)]*)\)\s*\}\}", re.MULTILINE)
_NOT_QUERIES = ("derived", "fragments")  # stored tables and shared pieces, not named queries


class QueryError(ValueError):
    """A bad query name or parameter, told in one line."""


@dataclass(frozen=True)
class Fragment:
    """A piece of SQL shared by several queries: its name, its argument names and its body."""

    name: str
    args: tuple[str, ...]
    body: str

    def render(self, values: list[str], indent: str) -> str:
        """The body with each `{arg}` replaced by its value; later lines indented like the including line."""
        if len(values) != len(self.args):
            raise QueryError(f"fragment {self.name} takes {len(self.args)} arguments ({', '.join(self.args)}), "
                             f"got {len(values)}")
        text = self.body
        for arg, value in zip(self.args, values, strict=True):
            text = text.replace("{" + arg + "}", value)
        return ("\n" + indent).join(text.splitlines())


def _split_args(raw: str) -> list[str]:
    """The comma-separated arguments of an include, trimmed (an argument is a column or a name, never a call)."""
    return [a.strip() for a in raw.split(",")] if raw.strip() else []


def parse_fragment(path: Path) -> Fragment:
    """Read one fragment file: a header with `-- fragment: name(arg, ...)`, then the SQL (comments dropped)."""
    text = path.read_text(encoding="utf-8")
    head = _FRAGMENT_HEAD.search(text)
    if head is None or head.group(1) != path.stem:
        raise QueryError(f"{path.name}: the header needs a line '-- fragment: {path.stem}(arg, ...)'")
    body = "\n".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("--"))
    return Fragment(path.stem, tuple(_split_args(head.group(2))), body)


@cache
def fragments() -> dict[str, Fragment]:
    """Every fragment in queries/fragments/, by name (macros.sql holds the macros, not a fragment)."""
    return {p.stem: parse_fragment(p) for p in sorted(FRAGMENT_DIR.glob("*.sql")) if p != MACROS_FILE}


def expand(sql: str, where: str = "query") -> str:
    """The SQL with every `{{ name(args) }}` replaced by its fragment (fragments may include others).

    Expansion is static: it depends only on the files, never on parameter values.
    """
    known = fragments()
    for _ in range(10):  # fragments nest a level or two; a cycle ends with an error, not a hang
        def one(m: re.Match[str]) -> str:
            name = m.group("name")
            if name not in known:
                raise QueryError(f"{where}: unknown fragment '{name}' (known: {', '.join(sorted(known))})")
            lead = m.group("lead")
            indent = lead[: len(lead) - len(lead.lstrip())]
            return lead + known[name].render(_split_args(m.group("args")), indent)
        expanded = _INCLUDE.sub(one, sql)
        if expanded == sql:
            return sql
        sql = expanded
    raise QueryError(f"{where}: fragments include each other in a cycle")


def macros_sql() -> str:
    """The `create macro` statements every connection runs before its views (queries/fragments/macros.sql)."""
    return MACROS_FILE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Param:
    """One bound parameter of a query, from its header."""

    name: str
    type: str
    default: object
    help: str
    choices: tuple[str, ...] = ()  # the allow-list of a text parameter; empty = any text
    low: float | None = None  # inclusive bounds of a number parameter
    high: float | None = None

    def check(self, value: object) -> object:
        """The value if the parameter allows it, else a QueryError naming what it allows."""
        if value is None:
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise QueryError(f"parameter '{self.name}' must be a finite number, not {value!r}")
        if self.choices and value not in self.choices:
            raise QueryError(f"parameter '{self.name}' must be one of {', '.join(self.choices)}; got {value!r}")
        too_low = self.low is not None and value < self.low
        if too_low or (self.high is not None and value > self.high):
            bounds = f"{_num(self.low)}..{_num(self.high)}" if self.high is not None else f"{_num(self.low)} or more"
            raise QueryError(f"parameter '{self.name}' must be {bounds}; got {value!r}")
        return value


def _num(value: float | None) -> str:
    """A bound as written in a header: 1 rather than 1.0."""
    return "" if value is None else f"{value:g}"


def _constraint(type_: str, rule: str | None, where: str) -> dict[str, object]:
    """The allow-list or range a header's type carries, as Param fields."""
    if rule is None:
        return {}
    if type_ == "text":
        return {"choices": tuple(v.strip() for v in rule.split("|") if v.strip())}
    if type_ in ("int", "float") and ".." in rule:
        low, high = (part.strip() for part in rule.split("..", 1))
        return {"low": float(low) if low else None, "high": float(high) if high else None}
    raise QueryError(f"{where}: '{type_}({rule})' is not an allow-list (text(a|b)) or a range (int(1..), float(0..1))")


@dataclass(frozen=True)
class Query:
    """A named query: its SQL, purpose, grain and parameters."""

    name: str
    sql: str
    purpose: str
    grain: str
    params: tuple[Param, ...]

    def param(self, name: str) -> Param:
        """The parameter of that name, or a QueryError listing the known ones."""
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise QueryError(f"query {self.name} has no parameter '{name}' (parameters: {known})")


def _default(type_: str, raw: str) -> object:
    """The default value written in a header: 'null', '[]' or a literal."""
    if raw == "null":
        return None
    if raw == "[]":
        return []
    if raw == "required":
        return _REQUIRED
    return coerce(type_, raw, "default")


_REQUIRED = object()


def parse(path: Path) -> Query:
    """Read one .sql file and its header: purpose, grain and a line per parameter."""
    text = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    params = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        if m := _FIELD.match(line):
            fields[m.group(1)] = m.group(2).strip()
        elif m := _PARAM.match(line):
            name, written, raw, help_ = m.groups()
            typed = _CONSTRAINED.match(written)
            type_ = typed.group("base") if typed else written
            if type_ not in TYPES:
                raise QueryError(f"{path.name}: parameter ${name} has unknown type {written}")
            rule = _constraint(type_, typed.group("rule"), f"{path.name}: parameter ${name}")
            params.append(Param(name, type_, _default(type_, raw), help_.strip(), **rule))
    missing = {"purpose", "grain"} - set(fields)
    if missing:
        raise QueryError(f"{path.name}: header lacks {', '.join(sorted(missing))}")
    return Query(path.stem, expand(text, path.name), fields["purpose"], fields["grain"], tuple(params))


def query_files(folder: Path | None = None) -> list[Path]:
    """Every named query's file: queries/<feature>/*.sql (not derived/ nor fragments/)."""
    root = folder or QUERY_DIR
    return sorted((p for p in root.rglob("*.sql") if not set(_NOT_QUERIES) & set(p.relative_to(root).parts[:-1])),
                  key=lambda p: p.stem)


@cache
def catalog() -> dict[str, Query]:
    """Every named query, by name; names are unique across the feature folders."""
    queries: dict[str, Query] = {}
    for path in query_files():
        if path.stem in queries:
            raise QueryError(f"{path}: a query named {path.stem} exists in another folder; names must be unique")
        queries[path.stem] = parse(path)
    return queries


def get(name: str) -> Query:
    """The named query, or a QueryError that lists close names."""
    queries = catalog()
    if name not in queries:
        close = [q for q in queries if name.split("_")[0] in q][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see `query --list`)"
        raise QueryError(f"unknown query '{name}'{hint}")
    return queries[name]


def coerce(type_: str, value: object, name: str) -> object:
    """Turn a user value (often a string from the CLI or a URL) into the parameter's type."""
    if value is None:
        return None
    try:
        if type_ == "text[]":
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return [str(v) for v in value]
        if isinstance(value, str):
            value = value.strip()
        if type_ == "text":
            return str(value)
        if type_ == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if type_ == "int":
            return int(value)
        if type_ == "float":
            return float(value)
        if type_ == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes"):
                return True
            if str(value).lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
    except (TypeError, ValueError):
        raise QueryError(f"parameter '{name}' must be {type_}, got {value!r}") from None
    raise QueryError(f"parameter '{name}' has unknown type {type_}")


def bind(query: Query, values: dict[str, object]) -> dict[str, object]:
    """Every parameter of the query with a typed value: given, or the header's default."""
    for key in values:
        query.param(key)  # raises on unknown names
    bound = {}
    for p in query.params:
        if p.name in values:
            bound[p.name] = p.check(coerce(p.type, values[p.name], p.name))
        elif p.default is _REQUIRED:
            raise QueryError(f"query {query.name} needs parameter '{p.name}' ({p.help})")
        else:
            bound[p.name] = p.default
    return bound
