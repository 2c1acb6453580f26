"""The one KPI registry (saleslens/kpis/kpis.toml) is complete and true: every KPI has its texts in both languages,
a query column that exists, a literal-row test that exists, and no page computes a registered KPI itself."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries import catalog
from queries.runner import Runner
from saleslens.core import i18n, store
from saleslens.kpis import glossary, registry
from saleslens.kpis.registry import FORMATS, KINDS, METRICS, REGISTRY, SCORECARD
from saleslens.rankings import review, scorecards
from tests import fixtures, support
from tests import scorecard_fixtures as F

ROOT = Path(__file__).resolve().parents[3]
KEYS = list(REGISTRY)
COMPUTED = [(k.key, c) for k in REGISTRY.values() for c in k.computed]
COMPUTED_IDS = [f"{key}@{c.grain}" for key, c in COMPUTED]
H1 = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}


def test_the_issue_kpis_are_all_registered() -> None:
    """The Overview's 13, the scorecards' 10 (six shared) and the Funnel's median cycle under its own name."""
    assert set(REGISTRY) == {
        "bookings", "target", "attainment", "deals_won", "deals_lost", "win_rate", "avg_deal_size", "cycle_days",
        "open_deals", "open_pipeline", "weighted_pipeline", "pipeline_coverage", "activities", "new_logos",
        "pipeline_created", "conversion", "lead_conversion", "median_cycle_days",
    }


def test_metrics_view_keeps_the_overview_keys_in_order() -> None:
    """METRICS is still kpis_by_group's columns in order: ?metric= values, selectboxes and tables depend on it."""
    assert list(METRICS) == [
        "bookings", "target", "attainment", "deals_won", "deals_lost", "win_rate", "avg_deal_size", "cycle_days",
        "open_deals", "open_pipeline", "weighted_pipeline", "pipeline_coverage", "activities",
    ]


def test_scorecard_kpis_come_from_the_registry_unchanged() -> None:
    """The scorecards' table as it was written before the registry: (format, kind, higher, target, sample)."""
    before = {
        "bookings": ("money", "lagging", True, "bookings", None),
        "attainment": ("percent", "lagging", True, "bookings", None),
        "win_rate": ("percent", "lagging", True, None, "closed_deals"),
        "avg_deal_size": ("money", "lagging", True, None, "deals_won"),
        "cycle_days": ("days", "lagging", False, None, "deals_won"),
        "new_logos": ("count", "lagging", True, "new_logos", None),
        "pipeline_created": ("money", "leading", True, None, None),
        "activities": ("count", "leading", True, "activities", None),
        "conversion": ("percent", "leading", True, None, "stage_exits"),
        "lead_conversion": ("percent", "leading", True, None, "leads"),
    }
    got = {k: (v.format, v.kind, v.higher_is_better, v.target_metric, v.sample) for k, v in scorecards.KPIS.items()}
    assert list(got) == list(before) and got == before
    assert tuple(before) == SCORECARD


@pytest.mark.parametrize("key", KEYS)
def test_every_kpi_has_label_and_definition_in_both_languages(key: str) -> None:
    kpi = REGISTRY[key]
    cat = i18n.catalog()
    for text_key in (kpi.label_key, kpi.definition_key, kpi.scorecard_definition_key):
        assert text_key in cat, f"{key}: no {text_key} in saleslens/kpis/strings.toml"
        for lang in i18n.LANGUAGES:
            assert cat[text_key].get(lang, "").strip(), f"{text_key}: no {lang}"


@pytest.mark.parametrize("key", KEYS)
def test_every_kpi_is_well_formed(key: str) -> None:
    """Known format and kind; a rate has a sample and a minimum; a ratio names two columns."""
    kpi = REGISTRY[key]
    assert kpi.format in FORMATS
    assert kpi.kind in (*KINDS, None)
    assert (kpi.sample is None) == (kpi.min_sample is None), f"{key}: sample and min_sample go together"
    if kpi.min_sample is not None:
        # The scorecards' default minimum is the registry's: one number for the flags.
        assert kpi.min_sample == scorecards.DEFAULT_MIN_SAMPLE
    if kpi.ratio:
        assert len(kpi.ratio) == 2 and all(isinstance(c, str) for c in kpi.ratio)
    if key in SCORECARD:
        assert kpi.kind in KINDS and kpi.at("rep"), f"{key}: a scorecard KPI needs a kind and a rep grain"


@pytest.mark.parametrize("key", KEYS)
def test_every_kpi_says_where_it_is_computed(key: str) -> None:
    computed = REGISTRY[key].computed
    assert computed, f"{key}: no query/column"
    assert len({c.grain for c in computed}) == len(computed), f"{key}: a grain is listed twice"
    for c in computed:
        assert c.query and c.column and c.test, f"{key}: incomplete {c}"
        assert f"kpi.grain.{c.grain}" in i18n.catalog()


def test_mean_and_median_cycle_have_two_names() -> None:
    """The Overview's mean and the Funnel's median are two KPIs with different labels in every language."""
    assert REGISTRY["cycle_days"].at("group").query == "kpis_by_group"
    assert REGISTRY["median_cycle_days"].at("org").column == "median_days"
    for lang in i18n.LANGUAGES:
        assert i18n.t("metric.cycle_days", lang) != i18n.t("metric.median_cycle_days", lang)


def _test_functions(path: Path) -> set[str]:
    """The names of the test functions a test file defines at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")}


@pytest.mark.parametrize(("key", "computed"), COMPUTED, ids=COMPUTED_IDS)
def test_literal_row_test_exists_and_names_the_column(key: str, computed: registry.Computed) -> None:
    """The recorded test id is path::function of a real test, in a file that checks that column by name."""
    path_text, _, function = computed.test.partition("::")
    path = ROOT / path_text
    assert path.is_file(), f"{key}: no test file {path_text}"
    assert function in _test_functions(path), f"{key}: {path_text} has no {function}"
    assert computed.column in path.read_text(encoding="utf-8"), f"{key}: {path_text} never names {computed.column}"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """The tiny literal snapshot of tests/unit/kpis/test_kpis.py, to run each registered query once."""
    yield from support.open_runner(support.built_store(tmp_path_factory, "tiny", fixtures.build_store))


@pytest.mark.parametrize(("key", "computed"), COMPUTED, ids=COMPUTED_IDS)
def test_named_query_exists_and_outputs_the_column(tiny: Runner, key: str, computed: registry.Computed) -> None:
    """The query is in the catalog and, run on the tiny store, has the column (or its library function adds it)."""
    query = catalog.get(computed.query)
    params = {p.name: H1[p.name] for p in query.params if p.name in H1}
    columns = tiny.run(computed.query, **params).columns
    if computed.via:
        module, _, name = computed.via.rpartition(".")
        function = getattr(importlib.import_module(module), name)
        assert f'"{computed.column}"' in inspect.getsource(function), f"{computed.via} does not add {computed.column}"
    else:
        assert computed.column in columns, f"{computed.query} has no column {computed.column}: {columns}"


@pytest.fixture
def sc_runner(tmp_path: Path) -> Runner:
    """A runner over the scorecard literal dataset."""
    F.build_store(tmp_path)
    runner = Runner(store.open_snapshot(tmp_path))
    yield runner
    runner.close()


def test_avg_deal_size_by_rep(sc_runner: Runner) -> None:
    """Rep grain, 2026Q3 of tests/scorecard_fixtures.py: A1 won O101-O104, 10,000 + 20,000 + 30,000 + 40,000
    = 100,000 from 4 deals, so 25,000 a deal."""
    frame = sc_runner.run("scorecard_kpis_by_rep", start=F.Q3[0], end=F.Q3[1])
    a1 = frame.filter(pl.col("rep_id") == "A1").row(0, named=True)
    assert (a1["bookings"], a1["deals_won"], a1["avg_deal_size"]) == (100000.0, 4, 25000.0)


def test_ratio_expr_is_the_sql_formula() -> None:
    """attainment = bookings / target, empty (as SQL's nullif) for a zero or missing target, never infinite."""
    frame = pl.DataFrame({"bookings": [50.0, 100.0, 10.0], "target": [200.0, 0.0, None]})
    assert frame.select(registry.ratio_expr("attainment"))["attainment"].to_list() == [0.25, None, None]


def test_review_kpi_columns_take_label_and_format_from_the_registry() -> None:
    spec = {key: (label, fmt) for key, label, fmt in review.KPI_SPEC}
    for key in ("bookings", "attainment", "deals_won", "win_rate", "cycle_days", "lead_conversion"):
        assert spec[key] == (REGISTRY[key].label_key, REGISTRY[key].format)
    assert spec["attainment"] == ("metric.attainment", "percent")


def test_glossary_lists_every_registered_kpi() -> None:
    rows = glossary.rows("en")
    assert [r["KPI"] for r in rows] == [i18n.t(k.label_key, "en") for k in REGISTRY.values()]
    by_kpi = {r["KPI"]: r for r in rows}
    assert by_kpi["Lead conversion"]["Computed in (query.column, grain)"] == \
        "scorecard_kpis_by_rep.lead_conversion (per rep, scorecards)"
    assert by_kpi["Median sales cycle"]["Better when"] == "lower"
    assert by_kpi["Win rate"]["Shown as"] == "percent"
    assert by_kpi["Win rate"]["In the rep scorecards"].endswith("flagged with fewer than 5 closed deals.")
    assert by_kpi["Target"]["In the rep scorecards"] == ""  # not a scorecard KPI
    assert all(r["Definition"] and r["Computed in (query.column, grain)"] for r in rows)


# ------------------------------------------------------------------ pages compute no registered KPI

# Columns a registered KPI is made of: the KPIs themselves and the parts of their ratios.
KPI_COLUMNS = set(REGISTRY) | {c for k in REGISTRY.values() if k.ratio for c in k.ratio}


def _column_name(node: ast.AST) -> str | None:
    """The column a expression reads: pl.col("x"), frame["x"], frame.x or a bare "x"."""
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "col" and node.args:
        node = node.args[0]
    elif isinstance(node, ast.Subscript):
        node = node.slice
    elif isinstance(node, ast.Attribute):
        return node.attr
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _method(node: ast.AST, name: str) -> bool:
    """Whether a node calls a method (or function) of that name."""
    return isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == name


def _finding(node: ast.AST) -> str | None:
    """What a node does to a registered KPI, if anything: divides its columns, or sets or names a KPI column."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        sides = {_column_name(node.left), _column_name(node.right)}
        return f"divides {sorted(sides)}" if sides <= KPI_COLUMNS else None
    if _method(node, "with_columns"):
        kpis = [kw.arg for kw in node.keywords if kw.arg in REGISTRY]
        return f"sets {kpis}" if kpis else None
    if _method(node, "alias") and node.args and not _method(node.func.value, "ratio_expr"):
        name = _column_name(node.args[0])
        return f"names a column {name}" if name in REGISTRY else None
    return None


def kpi_computations(source: str) -> list[str]:
    """Where a module computes a registered KPI itself, as 'line N: what'."""
    return [f"line {n.lineno}: {f}" for n in ast.walk(ast.parse(source)) if (f := _finding(n))]


@pytest.mark.parametrize("source", [
    'now = now.with_columns(attainment=now["bookings"] / now["target"])',
    'x = df.with_columns((pl.col("bookings") / pl.col("deals_won")).alias("avg_deal_size"))',
    'rate = row["deals_won"] / row["closed_deals"]',
    'x = df.select(pl.col("bookings") / pl.col("target"))',
])
def test_the_page_check_catches_a_kpi_computed_in_a_page(source: str) -> None:
    assert kpi_computations(source)


def test_the_page_check_lets_registry_formulas_and_other_sums_pass() -> None:
    assert not kpi_computations('now = now.with_columns(ratio_expr("attainment"))')
    assert not kpi_computations('share = row["amount"] / total')


@pytest.mark.parametrize("page", sorted((ROOT / "pages").glob("*.py")), ids=lambda p: p.name)
def test_no_page_computes_a_registered_kpi(page: Path) -> None:
    """Pages read KPIs from query results or the registry's formulas (registry.ratio_expr), never their own."""
    found = kpi_computations(page.read_text(encoding="utf-8"))
    assert not found, f"pages/{page.name} computes a registered KPI: " + "; ".join(found)
