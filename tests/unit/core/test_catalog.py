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


# --- Shared SQL: fragments (expanded by the catalog) and macros (created by the runner), on literal rows ---------

def _duck() -> object:
    """A bare DuckDB connection with the shared macros, as the runner makes them."""
    import duckdb

    con = duckdb.connect()
    con.execute(catalog.macros_sql())
    return con


def _rows(sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    """The rows of a SELECT after fragment expansion, on a connection with the macros."""
    con = _duck()
    try:
        return con.execute(catalog.expand(sql), params or {}).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("win_rate(3, 1)", 0.75),
        ("win_rate(0, 4)", 0.0),
        ("win_rate(0, 0)", None),  # nothing closed: unknown, not 0
        ("cycle_days(date '2026-01-01', date '2026-01-31')", 30),
        ("cycle_days(date '2026-02-27', date '2026-03-01')", 2),
        ("cycle_days(null, date '2026-03-01')", None),
        ("attainment(50, 200)", 0.25),
        ("attainment(null, 100)", 0.0),  # nothing booked against a target: 0%
        ("attainment(50, 0)", None),
        ("attainment(50, null)", None),
        ("pipeline_coverage(300, 200, 50)", 2.0),  # 150 left to book, 300 in pipeline
        ("pipeline_coverage(null, 100, 50)", 0.0),
        ("pipeline_coverage(100, 100, null)", 1.0),
        ("pipeline_coverage(100, 100, 150)", None),  # target already met: nothing left to cover
        ("pipeline_coverage(100, null, 0)", None),
    ],
)
def test_macros_on_literal_values(expr: str, expected: object) -> None:
    assert _rows(f"select {expr}") == [(expected,)]


_DEALS = """
with d(opportunity_id, region, team, owner_id, product_id, segment, source) as (values
    ('O1', 'East', 'E1', 'R1', 'P1', 'SMB', 'Inbound'),
    ('O2', 'East', 'E2', 'R2', 'P2', 'Enterprise', 'Partner'),
    ('O3', 'West', 'W1', 'R3', 'P1', 'SMB', 'Partner'),
    ('O4', 'West', null, 'R4', null, null, null))
select opportunity_id from d where {{ deal_filters(d) }} order by 1
"""
_NO_FILTER = {k: [] for k in ("regions", "teams", "reps", "products", "segments", "sources")}


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ({}, ["O1", "O2", "O3", "O4"]),  # empty lists: every deal, even one with nulls
        ({"regions": ["East"]}, ["O1", "O2"]),
        ({"teams": ["E2", "W1"]}, ["O2", "O3"]),
        ({"reps": ["R4"]}, ["O4"]),
        ({"products": ["P1"]}, ["O1", "O3"]),
        ({"segments": ["SMB"], "sources": ["Partner"]}, ["O3"]),
        ({"regions": ["West"], "products": ["P2"]}, []),
    ],
)
def test_deal_filters_fragment(chosen: dict[str, list[str]], expected: list[str]) -> None:
    assert [r[0] for r in _rows(_DEALS, {**_NO_FILTER, **chosen})] == expected


def test_org_filters_fragment_on_other_columns() -> None:
    sql = """
    with r(rep_id, area, squad) as (values ('R1', 'East', 'E1'), ('R2', 'East', 'E2'), ('R3', 'West', 'W1'))
    select rep_id from r where {{ org_filters(r.area, r.squad, r.rep_id) }} order by 1
    """
    assert _rows(sql, {"regions": ["East"], "teams": [], "reps": []}) == [("R1",), ("R2",)]
    assert _rows(sql, {"regions": ["East"], "teams": [], "reps": ["R2", "R3"]}) == [("R2",)]


def test_opportunity_filters_fragment_looks_up_reps_and_accounts() -> None:
    sql = """
    with people(rep_id, region, team) as (values ('R1', 'East', 'E1'), ('R2', 'West', 'W1')),
    firms(account_id, segment) as (values ('A1', 'SMB'), ('A2', 'Enterprise')),
    o(opportunity_id, owner_id, account_id, product_id, source) as (values
        ('O1', 'R1', 'A1', 'P1', 'Inbound'), ('O2', 'R2', 'A1', 'P2', 'Partner'), ('O3', 'R1', 'A2', 'P1', 'Partner'))
    select opportunity_id from o where {{ opportunity_filters(o, people, firms) }} order by 1
    """
    assert _rows(sql, _NO_FILTER) == [("O1",), ("O2",), ("O3",)]
    assert _rows(sql, {**_NO_FILTER, "regions": ["East"]}) == [("O1",), ("O3",)]
    assert _rows(sql, {**_NO_FILTER, "teams": ["W1"], "segments": ["SMB"]}) == [("O2",)]
    assert _rows(sql, {**_NO_FILTER, "segments": ["SMB"], "sources": ["Inbound"]}) == [("O1",)]


def test_expected_in_period_fragment() -> None:
    sql = """
    with d(id, expected_close_date) as (values (1, date '2026-01-10'), (2, date '2026-03-01'), (3, null))
    select id from d where {{ expected_in_period(d) }} order by 1
    """
    assert _rows(sql, {"start": date(2026, 1, 1), "end": date(2026, 1, 31)}) == [(1,), (3,)]  # no date: in period
    assert _rows(sql, {"start": date(2026, 2, 1), "end": None}) == [(2,), (3,)]
    assert _rows(sql, {"start": None, "end": None}) == [(1,), (2,), (3,)]


@pytest.mark.parametrize(
    ("by", "expected"),
    [("org", ("org", "All")), ("team", ("E1", "E1")), ("manager", ("M1", "Mia")), ("rep", ("R1", "Rob")),
     ("product", ("P1", "Pro"))],
)
def test_kpi_group_fragment(by: str, expected: tuple[str, str]) -> None:
    sql = """
    with d as (select 'East' as region, 'E1' as team, 'M1' as manager_id, 'Mia' as manager_name, 'R1' as owner_id,
                      'Rob' as owner_name, 'P1' as product_id, 'Pro' as product_name, 'SMB' as segment, 'Web' as source)
    select {{ kpi_group(d) }} from d
    """
    assert _rows(sql, {"by": by}) == [expected]


def test_win_rate_groups_fragment_bands_by_quartiles() -> None:
    # Amounts 100, 200, 300, 400: quartiles 175, 250, 325, rounded to 2 significant digits 180, 250, 330 (DuckDB
    # rounds 175 half away from zero, 325 too). So 100 is band 1, 200 band 2, 300 band 3, 400 band 4.
    sql = """
    with inputs as (select 'size_band' as by_dim, cast([] as varchar[]) as raw_edges),
    closed(opportunity_id, amount, segment, industry, source, product_id, product_name, region, team) as (values
        ('O1', 100.0, 'SMB', 'x', 'y', 'P', 'P', 'E', 'T'), ('O2', 200.0, 'SMB', 'x', 'y', 'P', 'P', 'E', 'T'),
        ('O3', 300.0, 'SMB', 'x', 'y', 'P', 'P', 'E', 'T'), ('O4', 400.0, 'SMB', 'x', 'y', 'P', 'P', 'E', 'T')),
    {{ win_rate_groups() }}
    select (select e from edges), list(group_key order by opportunity_id) from grouped
    """
    assert _rows(sql) == [([180.0, 250.0, 330.0], ["band_1", "band_2", "band_3", "band_4"])]


def test_pipeline_fragments_classify_changes() -> None:
    sql = """
    with p(id, in_first, in_second, in_first_snapshot, in_second_snapshot, status_before, status_after,
           amount_before, amount_after, filters_before, filters_after) as (values
        (1, true, true, true, true, 'open', 'open', 100, 150, true, true),
        (2, true, false, true, true, 'open', 'won', 100, 100, true, true),
        (3, false, true, false, true, null, 'open', null, 80, null, true),
        (4, true, false, true, true, 'open', 'open', 60, 60, true, false),
        (5, true, true, true, true, 'open', 'open', 70, 70, true, true))
    select id, category, remainder_reason, change from (select p.*, {{ pipeline_change_columns(p) }} from p) order by id
    """
    assert _rows(sql) == [
        (1, "increased", None, 50), (2, "won", None, -100), (3, "new", None, 80),
        (4, "remainder", "left_filters", -60), (5, "remainder", "unchanged", 0),
    ]


def test_pipeline_deal_state_fragment() -> None:
    sql = """
    with d as (select 'O1' as opportunity_id, 'Acme' as account_name, 'Rob' as owner_name, 'Demo' as stage,
                      'open' as status, cast(null as double) as amount, date '2026-05-01' as expected_close_date,
                      'East' as region, 'E1' as team, 'R1' as owner_id, 'P1' as product_id, 'SMB' as segment,
                      'Web' as source)
    select amount, in_period, in_filters from (select {{ pipeline_deal_state(d) }} from d)
    """
    params = {**_NO_FILTER, "start": date(2026, 4, 1), "end": date(2026, 4, 30)}
    assert _rows(sql, params) == [(0.0, False, True)]  # a missing amount counts 0; May is after the period
    assert _rows(sql, {**params, "end": date(2026, 6, 30), "regions": ["West"]}) == [(0.0, True, False)]


def test_month_range_fragment() -> None:
    sql = "with {{ month_range() }} select list(month order by month) from months"
    assert _rows(sql, {"start": date(2026, 1, 15), "end": date(2026, 3, 2)}) == [
        ([date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],)
    ]


def test_funnel_steps_fragment() -> None:
    sql = """
    with stages(stage, position, is_won, is_lost) as (values
        ('Won', 9, true, false), ('Qualify', 1, false, false), ('Lost', 10, false, true), ('Propose', 2, false, false)),
    {{ funnel_steps() }}
    select (select list(stage || step order by step) from open_stages), (select n_open from last_open_step),
           (select list(kind order by stage) from outcome_stages)
    """
    assert _rows(sql) == [(["Qualify1", "Propose2"], 2, ["lost", "won"])]


def test_rep_kpi_counts_fragment_sums_the_four_sources() -> None:
    sql = """
    with closed as (select 'R1' as rep_id, 1 as day, 500.0 as bookings, 1 as deals_won, 2 as deals_lost,
                           30 as cycle_day_sum, 1 as cycle_deals),
    acts as (select 'R1' as rep_id, 1 as day, 4 as activities, 3 as calls, 1 as emails, 0 as meetings, 0 as demos,
                    0 as visits, 2 as deal_activities),
    moves as (select 'R1' as rep_id, 2 as day, 5 as stage_exits, 4 as forward_moves),
    lead_stats as (select 'R1' as rep_id, 1 as day, 6 as leads, 2 as leads_converted)
    select rep_id, day, {{ rep_kpi_counts() }} group by rep_id, day order by day
    """
    # day 1: the close, the activities and the leads; day 2: only the stage moves (no bookings: null, counts 0)
    assert _rows(sql) == [
        ("R1", 1, 500.0, 1, 2, 30, 1, 4, 3, 1, 0, 0, 0, 2, 0, 0, 6, 2),
        ("R1", 2, None, 0, 0, None, 0, 0, 0, 0, 0, 0, 0, 0, 5, 4, 0, 0),
    ]


def test_expand_nests_indents_and_reports_mistakes() -> None:
    text = "select 1\nwhere x\n    and {{ org_filters(a.r, a.t, a.id) }}\n    and y"
    lines = catalog.expand(text).splitlines()
    regions = "cast($regions as varchar[])"
    assert lines[2] == f"    and (len({regions}) = 0 or list_contains({regions}, a.r))"
    assert lines[3].startswith("    and (len(cast($teams as varchar[])) = 0") and lines[3].endswith(", a.t))")
    assert lines[4].endswith(", a.id))") and lines[5] == "    and y"
    assert "{{" not in catalog.expand("select {{ deal_filters(d) }}")  # a fragment including another
    with pytest.raises(QueryError, match=r"^q\.sql: unknown fragment 'nope' \(known: \w+, .*deal_filters, "):
        catalog.expand("select {{ nope(d) }}", "q.sql")
    with pytest.raises(QueryError, match=r"^fragment org_filters takes 3 arguments \(region, team, rep\), got 1$"):
        catalog.expand("select {{ org_filters(d) }}")


def test_every_fragment_is_used() -> None:
    """A fragment no query or other fragment includes is dead text (its own header's example does not count)."""
    frags = catalog.fragments()
    users = [p.read_text(encoding="utf-8") for p in catalog.QUERY_DIR.rglob("*.sql") if p.parent.name != "fragments"]
    for name in frags:
        others = users + [f.body for n, f in frags.items() if n != name]
        assert any(f"{{{{ {name}(" in t for t in others), f"fragment {name} is not used"


def test_no_query_keeps_a_copy_of_a_filter_block() -> None:
    """The filter predicates are written once, in the fragments; a query that repeats the three org lines fails."""
    block = re.compile(
        r"list_contains\(cast\(\$regions.*\n.*list_contains\(cast\(\$teams.*\n.*list_contains\(cast\(\$reps"
    )
    for path in [*QUERIES, *sorted((catalog.QUERY_DIR / "derived").glob("*.sql"))]:
        assert not block.search(path.read_text(encoding="utf-8")), f"{path.name}: write {{{{ org_filters(...) }}}}"


def test_activity_type_counts_fragment() -> None:
    sql = """
    with a(rep_id, type, opportunity_id) as (values
        ('R1', 'call', 'O1'), ('R1', 'call', null), ('R1', 'demo', 'O2'), ('R1', 'note', null), ('R2', 'visit', null))
    select a.rep_id, {{ activity_type_counts(a) }} from a group by a.rep_id order by 1
    """
    # R1: 4 in all, 2 calls, 1 demo, 2 on a deal (the note counts in all only); R2: one visit
    assert _rows(sql) == [("R1", 4, 2, 0, 0, 1, 0, 2), ("R2", 1, 0, 0, 0, 0, 1, 0)]


def test_stage_exits_fragment_keeps_moves_out_of_open_stages() -> None:
    sql = """
    with raw_stages(stage, position, is_won, is_lost) as (values
        ('Qualify', 1, false, false), ('Propose', 2, false, false), ('Won', 3, true, false), ('Lost', 4, false, true)),
    raw_opportunities(opportunity_id, owner_id) as (values ('O1', 'R1'), ('O2', 'R2')),
    raw_stage_changes(opportunity_id, from_stage, to_stage) as (values
        ('O1', 'Qualify', 'Propose'), ('O1', 'Propose', 'Won'), ('O2', 'Propose', 'Lost'), ('O2', 'Won', 'Propose'))
    select o.owner_id, count(*), count(*) filter (where t.position > f.position and not t.is_lost)
    from {{ stage_exits() }}
    group by all order by 1
    """
    # O2's move out of Won is not from an open stage; its move to Lost is an exit but not forward
    assert _rows(sql) == [("R1", 2, 2), ("R2", 1, 0)]


def test_rep_close_counts_fragment() -> None:
    sql = """
    with raw_opportunities(owner_id, status, amount, created_date, close_date) as (values
        ('R1', 'won', 100.0, date '2026-01-01', date '2026-01-11'),
        ('R1', 'won', 50.0, date '2026-01-05', date '2026-01-25'),
        ('R1', 'lost', 70.0, date '2026-01-01', date '2026-01-02'),
        ('R1', 'open', 90.0, date '2026-01-01', null),
        ('R2', 'won', null, null, date '2026-01-03'))
    select o.owner_id, {{ rep_close_counts() }} group by all order by 1
    """
    # R1: 150 booked, 2 won (10 + 20 cycle days), 1 lost, the open deal out; R2: a won deal with no amount or
    # creation date: no bookings, no cycle days
    assert _rows(sql) == [("R1", 150.0, 2, 1, 30, 2), ("R2", None, 1, 0, None, 0)]
