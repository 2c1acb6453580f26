"""The query catalog: every .sql file's header and body follow the rules; names and values fail clearly."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from queries import catalog
from queries.catalog import QueryError
from queries.runner import Runner
from saleslens.core import schema

QUERIES = sorted(catalog.query_files())
_DOLLAR = re.compile(r"\$(\w+)")
# The unscoped views the runner creates (raw_<table>, raw_before_<table>); a CTE may well be called raw_something.
_RAW_VIEW = re.compile(r"\braw_(?:before_)?(?:" + "|".join(schema.TABLES) + r")\b")


def _body(query: catalog.Query) -> str:
    """The SQL without comments: what DuckDB runs."""
    return "\n".join(line.split("--", 1)[0] for line in query.sql.splitlines())


def test_there_are_queries() -> None:
    names = {p.stem for p in QUERIES}
    assert {"kpis_by_group", "bookings_by_month", "filter_options_by_dimension", "period_bounds_by_snapshot"} <= names


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_header_is_complete(path: Path) -> None:
    query = catalog.parse(path)
    assert query.purpose, f"{path.name}: empty purpose"
    assert query.grain, f"{path.name}: empty grain"
    assert re.search(r"^--\s*params:", query.sql, re.MULTILINE), f"{path.name}: no '-- params:' line"
    assert re.fullmatch(r"[a-z0-9_]+_by_[a-z0-9_]+", path.stem), f"{path.name}: name is not <subject>_by_<grain>"
    for p in query.params:
        assert p.help, f"{path.name}: ${p.name} has no help"


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_declared_params_and_used_params_match(path: Path) -> None:
    query = catalog.parse(path)
    declared = {p.name for p in query.params}
    used = set(_DOLLAR.findall(_body(query)))
    assert not declared - used, f"{path.name}: declared but never used: {sorted(declared - used)}"
    assert not used - declared, f"{path.name}: used but not declared in the header: {sorted(used - declared)}"


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_reads_only_scoped_views(path: Path) -> None:
    body = _body(catalog.parse(path)).lower()
    found = _RAW_VIEW.search(body)
    assert not found, f"{path.name}: reads {found and found.group()}, a raw view that bypasses the row scope"
    assert "read_parquet" not in body and "read_csv" not in body, f"{path.name}: reads files directly"


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_one_select_ending_with_final(path: Path) -> None:
    body = _body(catalog.parse(path)).strip().rstrip(";")
    assert ";" not in body, f"{path.name}: more than one statement"
    # `select * exclude (helper_column) from final` is fine too: the last select only reads `final`.
    last = body[body.rfind("\nselect") + 1:] if "\nselect" in body else ""
    assert re.match(r"select \*(?: exclude \([^)]*\))? from final\b", last), (
        f"{path.name}: does not end with `select * from final`"
    )


def _sample(p: catalog.Param) -> object:
    """A plausible value for a required parameter, to run every query on the tiny snapshot."""
    if p.type == "date":
        return date(2026, 6, 30) if "end" in p.name or p.name.endswith("to") else date(2026, 1, 1)
    return {"text": "org", "int": 1, "float": 0.5, "bool": False, "text[]": []}[p.type]


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_runs_on_the_tiny_snapshot(tiny: Runner, path: Path) -> None:
    """Every query runs with its defaults (leads, payments and stage changes are absent in the tiny set)."""
    query = catalog.parse(path)
    required = {p.name: _sample(p) for p in query.params if p.default is catalog._REQUIRED}
    frame = tiny.run(query.name, **required)
    assert frame.width > 0


def test_unknown_query_suggests_close_names() -> None:
    with pytest.raises(QueryError) as exc:
        catalog.get("kpis_by_grup")
    message = str(exc.value)
    assert message.startswith("unknown query 'kpis_by_grup' (did you mean ") and message.endswith("?)")
    assert "kpis_by_group" in message
    with pytest.raises(QueryError, match=r"unknown query 'zzz' \(see `query --list`\)"):
        catalog.get("zzz")


def test_unknown_parameter_lists_the_known_ones() -> None:
    query = catalog.get("bookings_by_month")
    with pytest.raises(QueryError) as exc:
        catalog.bind(query, {"start": "2026-01-01", "end": "2026-06-30", "region": "East"})
    message = str(exc.value)
    assert message.startswith("query bookings_by_month has no parameter 'region' (parameters: start, end, regions")
    assert "\n" not in message


def test_missing_required_parameter() -> None:
    with pytest.raises(QueryError, match=r"^query bookings_by_month needs parameter 'end' \(last day"):
        catalog.bind(catalog.get("bookings_by_month"), {"start": "2026-01-01"})


def test_bind_fills_defaults_and_coerces() -> None:
    bound = catalog.bind(catalog.get("kpis_by_group"), {"start": "2026-01-01", "regions": "East,West"})
    assert bound == {
        "by": "org", "start": date(2026, 1, 1), "end": None, "regions": ["East", "West"], "teams": [],
        "reps": [], "products": [], "segments": [], "sources": [],
    }


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("date", "2026-02-28", date(2026, 2, 28)),
        ("date", " 2026-02-28 ", date(2026, 2, 28)),
        ("date", date(2026, 3, 1), date(2026, 3, 1)),
        ("date", None, None),
        ("text[]", "East, West,,", ["East", "West"]),
        ("text[]", "", []),
        ("text[]", ["a", 1], ["a", "1"]),
        ("text[]", ("x",), ["x"]),
        ("int", "42", 42),
        ("int", " 7 ", 7),
        ("int", 3, 3),
        ("float", "0.25", 0.25),
        ("float", 2, 2.0),
        ("bool", "true", True),
        ("bool", "Yes", True),
        ("bool", "1", True),
        ("bool", "false", False),
        ("bool", "no", False),
        ("bool", "0", False),
        ("bool", False, False),
        ("text", " org ", "org"),
        ("text", 5, "5"),
    ],
)
def test_coerce(type_: str, value: object, expected: object) -> None:
    assert catalog.coerce(type_, value, "p") == expected


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("date", "2026-02-30"),
        ("date", "yesterday"),
        ("date", ""),
        ("int", "4.5"),
        ("int", "four"),
        ("float", "abc"),
        ("bool", "maybe"),
        ("text[]", 5),
    ],
)
def test_coerce_rejects_malformed_values(type_: str, value: object) -> None:
    with pytest.raises(QueryError) as exc:
        catalog.coerce(type_, value, "p")
    assert str(exc.value) == f"parameter 'p' must be {type_}, got {value!r}"


def _write(tmp_path: Path, header: str) -> Path:
    path = tmp_path / "x_by_y.sql"
    path.write_text(header + "select 1\n", encoding="utf-8")
    return path


def test_parse_reads_params_and_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, (
        "-- purpose: p\n-- grain: g\n-- params:\n"
        "--   $a  date    required  first day\n"
        "--   $b  text[]  []        some values\n"
        "--   $c  int     5         a number\n"
        "--   $d  bool    null      maybe\n"
    ))
    query = catalog.parse(path)
    assert (query.name, query.purpose, query.grain) == ("x_by_y", "p", "g")
    assert [(p.name, p.type, p.default, p.help) for p in query.params[1:]] == [
        ("b", "text[]", [], "some values"), ("c", "int", 5, "a number"), ("d", "bool", None, "maybe"),
    ]
    assert query.params[0].default is catalog._REQUIRED


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("-- purpose: p\n", "x_by_y.sql: header lacks grain"),
        ("-- params: none\n", "x_by_y.sql: header lacks grain, purpose"),
        ("-- purpose: p\n-- grain: g\n--   $a  datetime  null  when\n",
         "x_by_y.sql: parameter $a has unknown type datetime"),
    ],
)
def test_parse_rejects_a_bad_header(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(QueryError) as exc:
        catalog.parse(_write(tmp_path, header))
    assert str(exc.value) == message
