"""Benchmark the What-if page: time from a changed input to recomputed outputs, over many slider values.

    python bench/bench_whatif.py [--size S|M|L] [--data DIR] [--moves 200] [--apptest 30] [--json]

Builds the demo of the given size into --data (or a temporary folder) unless a snapshot is already
there, aggregates the per-rep base ONCE (queries/whatif_base_by_rep.sql, as the page does per snapshot
and period), then moves the inputs through many values and times, per move:

- compute: scenarios.compute (targets, drivers, new hires, commission for every rep, roll-ups);
- compute+figures: the same plus the two Plotly figures the page draws;
- page rerun (with --apptest N): a whole Streamlit rerun of the page after a slider move in AppTest,
  i.e. all server-side work of a real slider move (page script, widgets, tables, figures serialised),
  plus the shared shell (sidebar, filters) and AppTest's own parsing of the result; the same rerun of
  the Glossary page is reported as the reference for that fixed share.

Reports median, p95 and max in milliseconds. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queries.runner import Runner  # noqa: E402
from saleslens.core import store  # noqa: E402
from saleslens.core.filters import period_bounds  # noqa: E402
from saleslens.whatif import charts as charts_whatif  # noqa: E402
from saleslens.whatif import commission, scenarios  # noqa: E402

AS_OF = date(2026, 11, 20)


def ensure_demo(data_dir: Path, size: str) -> store.Snapshot:
    """The latest snapshot in data_dir, building the demo there first when it has none."""
    if not store.list_snapshots(data_dir):
        from saleslens import demo

        started = time.perf_counter()
        demo.build(data_dir, size, seed=7, as_of=AS_OF)
        print(f"built the {size} demo in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return store.open_snapshot(data_dir)


def moves(n: int, start: date, end: date, teams: list[str], seed: int = 1) -> list[scenarios.Scenario]:
    """N scenarios as a user dragging sliders would make them: one input changes per move."""
    rng = random.Random(seed)
    sc = scenarios.Scenario(start=start, end=end)
    out = []
    for _ in range(n):
        which = rng.choice(["target", "win", "size", "cycle", "hire", "override"])
        if which == "target":
            sc = replace(sc, target_change_pct=float(rng.randint(-50, 100)))
        elif which == "win":
            sc = replace(sc, win_rate_pct=float(rng.randint(-50, 50)))
        elif which == "size":
            sc = replace(sc, deal_size_pct=float(rng.randint(-50, 50)))
        elif which == "cycle":
            sc = replace(sc, cycle_time_pct=float(rng.randint(-50, 50)))
        elif which == "hire" and teams:
            sc = replace(sc, new_reps={**sc.new_reps, rng.choice(teams): rng.randint(0, 3)})
        elif teams:
            sc = replace(sc, team_change_pct={**sc.team_change_pct, rng.choice(teams): float(rng.randint(-20, 40))})
        out.append(sc)
    return out


def stats(samples: list[float]) -> dict[str, float]:
    """Median, p95 and max of timings in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"n": len(ms), "median_ms": statistics.median(ms), "p95_ms": p95, "max_ms": ms[-1]}


def bench_library(snap: store.Snapshot, n: int) -> tuple[dict[str, dict], dict[str, object]]:
    """Time the base query once, then compute (and figures) for n moves."""
    runner = Runner(snap)
    start, end = period_bounds("last_quarter", snap.as_of)
    t0 = time.perf_counter()
    base = runner.run("whatif_base_by_rep", start=start, end=end)
    query_s = time.perf_counter() - t0
    plans = commission.load()
    teams = sorted(base.filter(base["target"].is_not_null())["team"].drop_nulls().unique().to_list())
    scenarios.compute(base, scenarios.Scenario(start=start, end=end), plans, snap.as_of)  # warm-up
    compute_s, figures_s, cpu_s = [], [], []
    for sc in moves(n, start, end, teams):
        c0, t0 = time.process_time(), time.perf_counter()
        result = scenarios.compute(base, sc, plans, snap.as_of)
        t1, c1 = time.perf_counter(), time.process_time()
        charts_whatif.attainment_histogram(result.reps, "en")
        charts_whatif.bookings_by_group(result.teams, "team", "Team", "en")
        t2 = time.perf_counter()
        compute_s.append(t1 - t0)
        figures_s.append(t2 - t0)
        cpu_s.append(c1 - c0)
    runner.close()
    info = {"reps_in_base": base.height, "teams": len(teams), "period": f"{start} – {end}",
            "base_query_ms": query_s * 1000}
    # CPU time of the process (all threads): a fairer number than wall time on a busy machine.
    return {"compute": stats(compute_s), "compute (CPU time)": stats(cpu_s),
            "compute+figures": stats(figures_s)}, info


def bench_page(data_dir: Path, n: int) -> dict[str, float]:
    """Time whole page reruns after slider moves in AppTest (server-side work of a real move)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:  # as tests/app/conftest.py: route every rerun through dashboard.py
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    os.environ["SALESLENS_DATA"] = str(data_dir)
    os.environ["SALESLENS_AUTO_DEMO"] = "0"
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300)
    at.query_params["period"] = "last_quarter"
    at.run()
    at.switch_page("pages/whatif.py").run()
    at.slider(key="wi_tgt").set_value(1).run()  # warm-up: first run pays imports and the base query
    rng = random.Random(2)
    samples, cpu = [], []
    for _ in range(n):
        key = rng.choice(["wi_tgt", "wi_win", "wi_size", "wi_cycle"])
        lo, hi = (-50, 100) if key == "wi_tgt" else (-50, 50)
        c0, t0 = time.process_time(), time.perf_counter()
        at.slider(key=key).set_value(rng.randint(lo, hi)).run()
        samples.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    # The same AppTest rerun of a page with next to no work, to tell the shell's and AppTest's share.
    ref = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300)
    ref.query_params["period"] = "last_quarter"
    ref.run()
    ref.switch_page("pages/glossary.py").run()
    ref_cpu = []
    for _ in range(max(5, n // 2)):
        c0 = time.process_time()
        ref.run()
        ref_cpu.append(time.process_time() - c0)
    return {"page rerun (AppTest)": stats(samples), "page rerun (CPU time)": stats(cpu),
            "shell rerun, Glossary (CPU)": stats(ref_cpu)}


def main() -> int:
    """Run the benchmark and print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["S", "M", "L"], default="S")
    ap.add_argument("--data", type=Path, help="data directory (default: a temporary one, built here)")
    ap.add_argument("--moves", type=int, default=200, help="input changes to time in the library")
    ap.add_argument("--apptest", type=int, default=0, help="also time N whole page reruns in AppTest")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data or Path(tmp)
        snap = ensure_demo(data_dir, args.size)
        results, info = bench_library(snap, args.moves)
        if args.apptest:
            results.update(bench_page(data_dir, args.apptest))
    out = {"size": args.size, "snapshot": snap.id, **info, "timings": results}
    if args.json:
        print(json.dumps(out, indent=1, default=str))
        return 0
    print(f"What-if benchmark: demo {args.size}, snapshot {snap.id}, period {info['period']}, "
          f"{info['reps_in_base']} reps in the base, {info['teams']} teams")
    print(f"per-rep base query (once per snapshot and period, then cached): {info['base_query_ms']:.0f} ms")
    print(f"{'measure':<30}{'n':>6}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}")
    for name, s in results.items():
        print(f"{name:<30}{s['n']:>6}{s['median_ms']:>12.1f}{s['p95_ms']:>10.1f}{s['max_ms']:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
