"""A fast smoke run of bench/bench_whatif.py on the tiny data, so the benchmark cannot rot; no timed assertions."""

from __future__ import annotations

from pathlib import Path

from bench import bench_whatif
from saleslens.core import store
from tests import fixtures


def test_bench_runs_and_reports(tmp_path: Path) -> None:
    """A few moves: every measure reports n, median, p95 and max; the base covers the tiny reps."""
    fixtures.build_store(tmp_path)
    results, info = bench_whatif.bench_library(store.open_snapshot(tmp_path), 5)
    assert set(results) == {"compute", "compute (CPU time)", "compute+figures"}
    assert all(r["n"] == 5 and r["median_ms"] <= r["max_ms"] for r in results.values())
    # Last quarter of 30 Jun 2026 is Q1 2026: R1, R2 and R3 have targets or deals in it.
    assert info["reps_in_base"] == 3 and info["period"] == "2026-01-01 – 2026-03-31"
    assert len(bench_whatif.moves(10, *bench_whatif.period_bounds("last_quarter", fixtures.AS_OF), ["East 1"])) == 10
