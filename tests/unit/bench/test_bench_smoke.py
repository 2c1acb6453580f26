"""A fast smoke run of the benchmark on the S demo, so it cannot rot; no timed assertions."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import polars as pl
import pytest

from bench import baseline_pandas, pages, run
from queries.runner import Runner
from saleslens.core import store
from saleslens.core.filters import add_months
from tests import support


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S demo, built once for this module."""
    return support.demo_copy(tmp_path_factory, "bench_s")


@pytest.fixture(scope="module")
def runner(demo: Path) -> Runner:
    """A runner over the latest S snapshot."""
    r = Runner(store.open_snapshot(demo))
    yield r
    r.close()


def test_filter_changes_pick_real_values(demo: Path) -> None:
    """Organisation, a region, a team, a rep and another quarter; the picked values exist in the reps table."""
    snap = store.open_snapshot(demo)
    changes = pages.filter_changes(snap)
    assert [c.name for c in changes] == ["organisation", "one region", "one team", "one rep", "last quarter"]
    reps = pl.read_parquet(snap.table_path("reps"))
    assert changes[1].query["region"] in reps["region"].to_list()
    assert changes[2].query["team"] in reps["team"].to_list()
    assert changes[3].query["rep"] in reps["rep_id"].to_list()


@pytest.mark.parametrize("page", pages.PAGES, ids=lambda p: p.name)
def test_every_page_function_runs(page: pages.Page, demo: Path, runner: Runner) -> None:
    """Each benchmarked page computes its data and figures for the organisation and for one rep."""
    snap = runner.snapshot
    changes = pages.filter_changes(snap)
    for change in (changes[0], changes[3]):
        ctx = pages.BenchContext(demo, snap, runner, pages.filters_for(change, snap.as_of))
        figures = page.compute(ctx)
        assert figures, f"{page.name} drew nothing for {change.name}"
        assert ctx.calls, f"{page.name} ran no query for {change.name}"


@pytest.mark.parametrize("by", ["org", "region", "team", "rep", "segment"])
def test_baseline_matches_the_sql(by: str, demo: Path, runner: Runner) -> None:
    """The pandas baseline computes the same KPIs as queries/kpis_by_group.sql, so the comparison is fair."""
    data = baseline_pandas.load(demo)
    for change in pages.filter_changes(runner.snapshot):
        f = pages.filters_for(change, runner.snapshot.as_of)
        sql = runner.run("kpis_by_group", by=by, **f.params())
        ours = pl.from_pandas(baseline_pandas.kpis_by_group(data, f, by))
        assert ours["group_key"].to_list() == sql["group_key"].to_list(), change.name
        for col in ("bookings", "target", "deals_won", "deals_lost", "open_deals", "open_pipeline", "activities",
                    "win_rate", "cycle_days", "pipeline_coverage"):
            assert ours[col].cast(pl.Float64).round(6).to_list() == sql[col].cast(pl.Float64).round(6).to_list(), \
                f"{change.name}: {col}"


def test_baseline_trend_matches_the_sql(demo: Path, runner: Runner) -> None:
    """The pandas monthly trend equals queries/bookings_by_month.sql for each filter change."""
    data = baseline_pandas.load(demo)
    for change in pages.filter_changes(runner.snapshot):
        f = pages.filters_for(change, runner.snapshot.as_of)
        start = add_months(f.end, -11)
        sql = runner.run("bookings_by_month", start=start, end=f.end,
                         **{k: v for k, v in f.params().items() if k not in ("start", "end")})
        ours = pl.from_pandas(baseline_pandas.bookings_by_month(data, f, start, f.end))
        assert ours.select(sql.columns).equals(sql), change.name


def test_one_command_writes_results(demo: Path, tmp_path: Path) -> None:
    """bench.run end to end on S (two pages, one round, no browser): RESULTS.md with every section."""
    out = tmp_path / "RESULTS.md"
    code = run.main(["--size", "S", "--data", str(demo), "--out", str(out), "--rounds", "1", "--cold-runs", "0",
                     "--pages", "overview,whatif", "--whatif-moves", "1"])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Import time", "## Page times", "## Against the usual way", "## Cold start",
                    "## What-if recompute"):
        assert heading in text
    assert "| overview |" in text and "ratio (pandas / ours)" in text and "ratio (Polars / ours)" in text
    assert "| Overview, same moments | ours | pandas | Polars | pandas / ours | Polars / ours |" in text


def test_load_report_states_the_server_cpu_share() -> None:
    """The load section says how much of the machine the server used (the browsers share the same cores)."""
    import os

    from bench import load

    spent = load.cpu_seconds(os.getpid())
    assert spent is not None and spent > 0
    result = {"sessions": 20, "minutes": 2.0, "load_avg_at_start": 0.5, "think_seconds": 5, "visits": 3,
              "error_count": 0, "errors": [], "page_median_s": 1.5, "page_p95_s": 2.0, "rss_before_mb": 300.0,
              "rss_during_median_mb": 310.0, "rss_during_max_mb": 320.0, "rss_after_mb": 305.0,
              "settle_seconds": 30, "by_page": {"/": {"n": 3, "median_s": 1.5, "p95_s": 2.0}},
              "server_cpu_seconds": 48.0, "server_cpu_share": 0.2}
    text = load.markdown(result, Path("/data"))
    assert "| server CPU while the sessions ran (share of all cores; the browsers used the rest) | 48 s (20%) |" in text
    del result["server_cpu_seconds"]
    assert "server CPU" not in load.markdown(result, Path("/data"))  # older results have no such row


def _load_aliases(tree: ast.AST, module: str) -> set[str]:
    """The names a source binds to a feature's load module (from saleslens.funnel import load as funnel_load)."""
    package, _, name = module.rpartition(".")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == package:
            out |= {a.asname or a.name for a in node.names if a.name == name}
        elif isinstance(node, ast.Import):
            out |= {a.asname for a in node.names if a.name == module and a.asname}
    return out


def _calls_load(source: str, module: str) -> bool:
    """Whether a source calls load() of the given module."""
    tree = ast.parse(textwrap.dedent(source))
    aliases = _load_aliases(tree, module)
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "load"
               and isinstance(n.func.value, ast.Name) and n.func.value.id in aliases for n in ast.walk(tree))


@pytest.mark.parametrize(("page", "module"), [("funnel", "saleslens.funnel.load"),
                                              ("overview", "saleslens.overview.load")])
def test_page_and_bench_call_the_same_load(page: str, module: str, demo: Path, runner: Runner,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The page file and its benchmark function both call the feature's load: the benchmark times the page's work."""
    import importlib
    import inspect

    source = (Path(__file__).parents[3] / "pages" / f"{page}.py").read_text(encoding="utf-8")
    assert _calls_load(source, module), f"pages/{page}.py does not call {module}.load"
    bench_fn = getattr(pages, page)
    assert _calls_load(inspect.getsource(bench_fn), module)
    # And at run time: the benchmark function goes through that load, once per view.
    feature = importlib.import_module(module)
    seen = []
    real = feature.load
    monkeypatch.setattr(feature, "load", lambda ctx, choices: seen.append(choices) or real(ctx, choices))
    snap = runner.snapshot
    bench_fn(pages.BenchContext(demo, snap, runner, pages.filters_for(pages.filter_changes(snap)[0], snap.as_of)))
    assert len(seen) == 1
