"""The Overview three ways in one process, interleaved: ours (DuckDB), pandas and Polars, change by change.

On a shared machine, baselines timed in separate processes minutes apart compare two different machine loads.
Here each filter change is computed by the three in turn (the order rotating), so a busy spell slows all three;
the ratios are the medians of the per-view ratios. Memory is not compared here (bench.run measures each side's
peak in its own process). `python -m bench.baseline_same_run --data DIR [--rounds 3]` prints JSON.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench import baseline_pandas, baseline_polars
from bench.common import json_main

SIDES = ("ours", "pandas", "polars")


def measure(data_dir: Path, rounds: int) -> dict:
    """Load both in-memory baselines and open our runner, then time the Overview per change, interleaved."""
    from bench import pages
    from queries.runner import Runner
    from saleslens.core import store

    snap = store.open_snapshot(data_dir)
    runner = Runner(snap)
    overview = next(p for p in pages.PAGES if p.name == "overview")
    data = {"pandas": baseline_pandas.load(data_dir), "polars": baseline_polars.load(data_dir)}
    changes = pages.filter_changes(snap)
    seconds: dict[str, list[float]] = {side: [] for side in SIDES}
    for k in range(rounds):
        runner._cache.clear()  # as bench.run's worker: a round is a user walking through the changes
        for i, change in enumerate(changes):
            f = pages.filters_for(change, snap.as_of)
            order = SIDES[(k + i) % 3:] + SIDES[:(k + i) % 3]
            for side in order:
                t0 = time.perf_counter()
                if side == "ours":
                    overview.compute(pages.BenchContext(data_dir, snap, runner, f))
                else:
                    (baseline_pandas if side == "pandas" else baseline_polars).overview(data[side], f)
                seconds[side].append(time.perf_counter() - t0)
    runner.close()
    return {"rounds": rounds, "views": len(seconds["ours"]),
            "median_ms": {s: statistics.median(v) * 1000 for s, v in seconds.items()},
            "pandas_over_ours": ratio(seconds["pandas"], seconds["ours"]),
            "polars_over_ours": ratio(seconds["polars"], seconds["ours"]), "seconds": seconds}


def ratio(theirs: list[float], ours: list[float]) -> float:
    """The median of the per-view ratios (the same change, moments apart)."""
    return statistics.median(t / o for t, o in zip(theirs, ours, strict=True))


def main(argv: list[str] | None = None) -> int:
    """Measure and print (or write) the JSON."""
    return json_main(__doc__.splitlines()[0], measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
