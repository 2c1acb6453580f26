"""The benchmark: page times at scale against the usual pandas way, cold start, memory, import and what-if.

    python -m bench.run --size L [--data DIR] [--out bench/RESULTS.md]

Builds the demo of that size into DIR when DIR has no snapshot (timing it), then measures, each in its own
process: our pages (bench.pages) for a fixed set of filter changes with the query cache emptied before
every measurement; the same Overview computed the usual way (bench.baseline_pandas); cold start of a real
`streamlit run` until the Overview is drawn in headless Chromium. Writes the numbers to RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

from bench.common import git_commit

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"median_ms": 150, "p95_ms": 400, "speedup": 10, "memory_ratio": 5, "cold_s": 3, "whatif_ms": 100}
VERSIONS = ("duckdb", "polars", "pandas", "pyarrow", "streamlit", "plotly", "numpy")


# ---------------------------------------------------------------- small helpers


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (p95 of 25 samples is the 24th smallest)."""
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(q * len(ordered)))) - 1]


def stats(seconds: list[float]) -> dict:
    """Median, p95, min and max in milliseconds, and the sample count."""
    return {"n": len(seconds), "median_ms": statistics.median(seconds) * 1000, "p95_ms": quantile(seconds, 0.95) * 1000,
            "min_ms": min(seconds) * 1000, "max_ms": max(seconds) * 1000}


def load_avg() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def wait_for_quiet(limit: float, max_wait: float) -> float:
    """Wait (up to max_wait seconds) until the 1-minute load average is below limit; the load at the end."""
    deadline = time.monotonic() + max_wait
    while load_avg() >= limit and time.monotonic() < deadline:
        print(f"waiting for load average {load_avg():.1f} to drop below {limit}", file=sys.stderr, flush=True)
        time.sleep(30)
    return load_avg()


def python_module(*args: str, timeout: float = 3600) -> None:
    """Run `python -m ...` in a fresh process from the repository root, failing loudly."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, check=True, timeout=timeout)


def in_subprocess(*args: str) -> dict:
    """Run a bench worker in its own process (so its memory peak is its own) and read its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        python_module(*args, "--json", str(out))
        return json.loads(out.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- data and import time


def ensure_data(data_dir: Path, size: str, seed: int, as_of: date | None) -> dict:
    """The demo in data_dir, built (and timed) when there is none; how long building took, by phase."""
    from saleslens import demo
    from saleslens.core import store

    if store.list_snapshots(data_dir):
        return {"built": False}
    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    snaps = demo.build(data_dir, size, seed, as_of, progress=lambda f, m: marks.append((time.perf_counter(), m)))
    total = time.perf_counter() - started
    generated = next((t for t, m in marks if m.startswith("Writing")), started) - started
    return {"built": True, "seconds": total, "generate_seconds": generated, "write_seconds": total - generated,
            "snapshots": len(snaps)}


def import_time(data_dir: Path) -> dict:
    """Time writing the latest snapshot and the whole event history into a fresh store, as an import does.

    This is the store's part of an import (conform, sort for pruning, Parquet with statistics, month
    partitions, atomic publish), from frames already in memory; parsing a CRM export comes on top.
    """
    import polars as pl

    from queries.runner import build_derived
    from saleslens.core import schema, store

    snap = store.open_snapshot(data_dir)
    tables = {t: pl.read_parquet(snap.table_path(t)) for t in schema.TABLES if snap.table_path(t)}
    # every batch the latest snapshot reads (and the legacy store), file by file: batches written before a column
    # was added (stage_changes.inferred) lack it, and a diagonal concat fills it with nulls
    events = {t: pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
              for t in ("activities", "stage_changes") if (files := snap.event_files(t))}
    rows = {t: f.height for t, f in {**tables, **events}.items()}
    with tempfile.TemporaryDirectory(dir=data_dir.parent) as tmp:
        target = Path(tmp)
        started = time.perf_counter()
        for table, frame in events.items():
            store.write_events(target, table, frame)
        events_s = time.perf_counter() - started
        derive_s = 0.0

        def derive(staged: store.Snapshot) -> dict[str, int]:
            nonlocal derive_s
            began = time.perf_counter()
            counts = build_derived(staged)
            derive_s = time.perf_counter() - began
            return counts

        store.publish_snapshot(target, snap.as_of, tables, source="bench import", derive=derive)
        total = time.perf_counter() - started
    return {"seconds": total, "events_seconds": events_s, "derive_seconds": derive_s,
            "snapshot_seconds": total - events_s - derive_s, "rows": rows}


# ---------------------------------------------------------------- workers (each in its own process)


def worker(data_dir: Path, rounds: int, page_names: list[str], whatif_moves: int) -> dict:
    """Time our pages for each filter change and on a first visit, then the what-if recompute."""
    from bench import pages
    from queries.runner import Runner
    from saleslens.core import charts, store  # noqa: F401  (imported before the first reading: libraries, no data)

    rss_start = peak_rss_mb()

    snap = store.open_snapshot(data_dir)
    started = time.perf_counter()
    runner = Runner(snap)
    open_s = time.perf_counter() - started
    chosen = [p for p in pages.PAGES if p.name in page_names]
    changes = pages.filter_changes(snap)
    # The first page in a fresh process: the DuckDB database is new, Parquet footers not yet read.
    first = pages.BenchContext(data_dir, snap, runner, pages.filters_for(changes[0], snap.as_of))
    started = time.perf_counter()
    chosen[0].compute(first)
    first_s = time.perf_counter() - started
    samples: dict[str, list[dict]] = {p.name: [] for p in chosen}
    queries: dict[str, list[float]] = {}  # page:query -> seconds spent in it per view (all its calls)
    calls: dict[str, list[int]] = {}
    for page in chosen:
        for k in range(rounds):
            # A round is a user walking through the filter changes: the cache is emptied at its start, so its
            # first view is a first visit (nothing cached), and every later one is a filter change, where only
            # results with the same parameters as a view before could come from the cache (as in the app).
            # Each round starts at another change, so each change is measured in both situations.
            runner._cache.clear()
            for i, change in enumerate(changes[k % len(changes):] + changes[:k % len(changes)]):
                ctx = pages.BenchContext(data_dir, snap, runner, pages.filters_for(change, snap.as_of))
                t0 = time.perf_counter()
                page.compute(ctx)
                seconds = time.perf_counter() - t0
                samples[page.name].append({"change": change.name, "seconds": seconds, "first": i == 0,
                                           "query_seconds": sum(s for _, s in ctx.calls), "queries": len(ctx.calls)})
                per_view: dict[str, float] = {}
                for name, s in ctx.calls:
                    per_view[name] = per_view.get(name, 0.0) + s
                for name, s in per_view.items():
                    queries.setdefault(f"{page.name}:{name}", []).append(s)
                    calls.setdefault(f"{page.name}:{name}", []).append(sum(1 for n, _ in ctx.calls if n == name))
    whatif = whatif_times(data_dir, snap, runner, changes, whatif_moves) if whatif_moves else None
    return {"open_seconds": open_s, "first_page_seconds": first_s, "first_page": chosen[0].name,
            "rss_start_mb": rss_start, "peak_rss_mb": peak_rss_mb(), "samples": samples, "whatif": whatif,
            "queries": {k: {**stats(v), "calls_per_view": statistics.median(calls[k])} for k, v in queries.items()}}


def whatif_times(data_dir: Path, snap, runner, changes, moves: int) -> dict | None:
    """A slider move on the What-if page: the base is cached, the scenario and its outputs are recomputed."""
    from bench import pages

    try:
        from saleslens.whatif import scenarios  # noqa: F401  (the page's model; without it there is nothing to time)
    except ImportError:
        return None
    seconds = []
    for change in changes:
        f = pages.filters_for(change, snap.as_of)
        ctx = pages.BenchContext(data_dir, snap, runner, f)
        if f.start is None:
            continue
        base = ctx.run("whatif_base_by_rep", start=f.start, end=f.end, **f.org_params())
        if base.height == 0:
            continue
        for k in range(moves):
            t0 = time.perf_counter()
            pages.whatif_recompute(ctx, base, float(5 * (k + 1)))
            seconds.append(time.perf_counter() - t0)
    return stats(seconds) if seconds else None


def apptest_worker(data_dir: Path, rounds: int) -> dict:
    """Cross-check: the real page scripts under streamlit.testing (dashboard.py + page), cache emptied first."""
    os.environ["SALESLENS_DATA"] = str(data_dir)
    os.environ["SALESLENS_AUTO_DEMO"] = "0"
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    from bench import pages
    from queries import runner as runner_module
    from saleslens.core import store

    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:  # as tests/app/conftest.py: route every run through dashboard.py
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    snap = store.open_snapshot(data_dir)
    samples: dict[str, list[dict]] = {}
    errors: list[str] = []
    for _ in range(rounds):
        for change in pages.filter_changes(snap):
            for page in pages.PAGES:
                if not (ROOT / page.path).exists():
                    continue
                at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
                at.query_params.update(change.query)
                at.run()
                if page.name != "overview":
                    at.switch_page(page.path)
                for r in list(runner_module._RUNNERS.values()):
                    r._cache.clear()
                t0 = time.perf_counter()
                at.run()
                seconds = time.perf_counter() - t0
                if at.exception:
                    errors.append(f"{page.name} {change.name}: {str(at.exception[0].value)[:200]}")
                samples.setdefault(page.name, []).append({"change": change.name, "seconds": seconds})
    return {"samples": samples, "errors": errors, "peak_rss_mb": peak_rss_mb()}


# ---------------------------------------------------------------- cold start


def cold_start(data_dir: Path, runs: int) -> dict:
    """Process start to the Overview drawn (tiles and both charts) in headless Chromium, on a fresh server."""
    from playwright.sync_api import sync_playwright

    from bench.load import CHROMIUM, CHROMIUM_ARGS, Server

    out = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for k in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            server = Server(data_dir, Path(tmp) / f"cold-{k}.log")
            try:
                healthy = server.wait_healthy()
                page.goto(server.url, timeout=300_000)
                page.wait_for_function(
                    "() => document.querySelectorAll(\"[data-testid='stMetric']\").length >= 6 && "
                    "document.querySelectorAll(\"[data-testid='stPlotlyChart'] .main-svg\").length >= 2",
                    timeout=300_000, polling=50)
                ready = time.perf_counter() - server.started
                out.append({"healthy_s": healthy, "ready_s": ready, "rss_mb": server.rss(), "peak_mb": server.peak()})
            finally:
                server.stop()
                page.close()
        browser.close()
    return {"runs": out, "median_ready_s": statistics.median(r["ready_s"] for r in out),
            "median_healthy_s": statistics.median(r["healthy_s"] for r in out)}


# ---------------------------------------------------------------- report


def machine() -> dict:
    """CPU model, cores, memory, OS, Python and library versions."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    versions = {}
    for name in VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "–"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": mem_kb / 1024 / 1024, "os": platform.platform(),
            "python": platform.python_version(), "versions": versions, "commit": git_commit(ROOT) or ""}


def verdict(value: float | None, target: float, lower_is_better: bool = True) -> str:
    """'met' or 'missed by x' against a target."""
    if value is None:
        return "not measured"
    ok = value < target if lower_is_better else value >= target
    if ok:
        return "met"
    if lower_is_better:
        return f"**missed** ({value / target:.1f}× the target)"
    return f"**missed** ({value:.1f}× of {target}×)"


def changed(rows: list[dict]) -> list[dict]:
    """The filter-change samples (not the first visit of a round with nothing cached)."""
    return [r for r in rows if not r.get("first")]


def page_table(samples: dict[str, list[dict]]) -> list[str]:
    """Per page: median and p95 over the filter changes, the first visit, and the time spent in queries."""
    lines = ["| page | median | p95 | min | max | first visit (median) | in queries (median) | queries per view |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, rows in samples.items():
        s = stats([r["seconds"] for r in changed(rows)])
        first = [r["seconds"] for r in rows if r.get("first")]
        first_text = f"{statistics.median(first) * 1000:,.0f} ms" if first else "–"
        q = statistics.median(r["query_seconds"] for r in rows) * 1000 if "query_seconds" in rows[0] else None
        n = statistics.median(r["queries"] for r in rows) if "queries" in rows[0] else "–"
        lines.append(f"| {name} | {s['median_ms']:,.0f} ms | {s['p95_ms']:,.0f} ms | {s['min_ms']:,.0f} ms | "
                     f"{s['max_ms']:,.0f} ms | {first_text} | {'–' if q is None else f'{q:,.0f} ms'} | {n:g} |"
                     if n != "–" else
                     f"| {name} | {s['median_ms']:,.0f} ms | {s['p95_ms']:,.0f} ms | {s['min_ms']:,.0f} ms | "
                     f"{s['max_ms']:,.0f} ms | {first_text} | – | – |")
    return lines


def change_table(samples: dict[str, list[dict]]) -> list[str]:
    """Median per page and filter change."""
    changes = list(dict.fromkeys(r["change"] for rows in samples.values() for r in rows))
    lines = ["| page | " + " | ".join(changes) + " |", "| --- |" + " --- |" * len(changes)]
    for name, rows in samples.items():
        cells = []
        for c in changes:
            vals = [r["seconds"] for r in changed(rows) if r["change"] == c]
            cells.append(f"{statistics.median(vals) * 1000:,.0f} ms" if vals else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def all_samples(samples: dict[str, list[dict]]) -> list[float]:
    """Every filter-change measurement, all pages together."""
    return [r["seconds"] for rows in samples.values() for r in changed(rows)]


def cold_split(proto: dict | None, cold: dict) -> list[str]:
    """Where a cold start's time goes: the server's share (a protocol client, no browser) and the browser's."""
    if not proto:
        return []
    server = proto["median_ready_s"]
    return ["", "Where it goes (`bench.load.protocol_cold_start`: the same fresh server, a websocket client in place "
            "of the browser, connecting the moment the health check answers):", "",
            "| part | median |", "| --- | --- |",
            f"| process start to health check answered (Python, Streamlit, the app's server) | "
            f"{proto['median_healthy_s']:.1f} s |",
            f"| first script run: request to the Overview's script_finished (waits for the warm-up's imports) | "
            f"{proto['median_first_run_s']:.1f} s |",
            f"| process start to the Overview sent, no browser | {server:.1f} s |",
            f"| the browser: loading the frontend, connecting, drawing (browser figure − the line above) | "
            f"{max(cold['median_ready_s'] - server, 0):.1f} s |"]


def xl_section() -> list[str]:
    """The XL build and pages (bench/XL.md): measured apart, since an XL build takes an hour and its own data."""
    path = ROOT / "bench" / "XL.md"
    return ["", *path.read_text(encoding="utf-8").rstrip().splitlines()] if path.exists() else []


def capacity_section() -> list[str]:
    """The capacity runs (bench/capacity-*.json, written by `python -m bench.capacity`), one table each."""
    from bench import capacity

    lines = ["", "## Capacity (simulated users, no browsers)", ""]
    runs = sorted((ROOT / "bench").glob("capacity-*.json"))
    if not runs:
        return [*lines, "Not run yet: `python -m bench.capacity --data DIR` writes bench/capacity-NAME.json."]
    for path in runs:
        c = json.loads(path.read_text(encoding="utf-8"))
        lines += [f"`python -m bench.capacity --data {c['data']} --minutes {c['minutes']:g} --think "
                  f"{c['think_seconds']:g} --processes {c['processes']}` on {c['date']} ({path.name}):", "",
                  capacity.markdown(c["runs"])]
    return lines


def interleaved_rows(i: dict | None) -> list[str]:
    """The three Overviews timed in one process, change by change: the ratios a busy machine cannot skew."""
    if not i:
        return []
    m = i["median_ms"]
    return ["", f"The three in one process, interleaved (bench/baseline_same_run.py: each change computed by all "
            f"three in turn, {i['views']} views; ratio = median of the per-view ratios):", "",
            "| Overview, same moments | ours | pandas | Polars | pandas / ours | Polars / ours |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| median page time | {m['ours']:,.0f} ms | {m['pandas']:,.0f} ms | {m['polars']:,.0f} ms | "
            f"{i['pandas_over_ours']:.1f}× | {i['polars_over_ours']:.1f}× |"]


def polars_rows(pol: dict | None, o: dict) -> list[str]:
    """The Polars baseline beside ours (same run, same changes): its own small table, or nothing."""
    if not pol:
        return []
    p = stats(all_samples(pol["samples"]))
    return [
        "", "The same Overview with Polars (eager) instead of pandas: bench/baseline_polars.py loads the same "
        "tables into Polars frames at start and filters and groups in memory (its numbers equal the SQL's: "
        "tests/unit/bench/test_baseline_polars.py).", "",
        "| Overview | ours | Polars | ratio (Polars / ours) |", "| --- | --- | --- | --- |",
        f"| median page time | {o['median_ms']:,.0f} ms | {p['median_ms']:,.0f} ms | "
        f"{p['median_ms'] / o['median_ms']:.1f}× |",
        f"| p95 page time | {o['p95_ms']:,.0f} ms | {p['p95_ms']:,.0f} ms | {p['p95_ms'] / o['p95_ms']:.1f}× |",
        f"| start: read and join | | {pol['load_seconds']:.1f} s | |",
        f"| peak memory (RSS) | | {pol['peak_rss_mb']:,.0f} MB | |",
    ]


def report(r: dict) -> str:
    """RESULTS.md from the collected results."""
    m, ours, base, ov = r["machine"], r["ours"], r.get("baseline"), r.get("ours_overview")
    overall = stats(all_samples(ours["samples"]))
    lines = [
        "# Benchmark results", "",
        f"Produced by `{r['command']}` on {r['date']} (commit {m['commit'] or 'unknown'}).", "",
        "## Machine", "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram_gib']:.1f} GiB; {m['os']}",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- 1-minute load average: {r['load_start']:.1f} at the start, {r['load_end']:.1f} at the end"
        + (" (other work was running on the machine; times are inflated by it)" if r["load_start"] >= 3 else ""),
        "",
        "## Data", "",
        f"`{r['data']}`, snapshot {r['snapshot']} (as of {r['as_of']}): " + ", ".join(
            f"{k} {v:,}" for k, v in r["rows"].items()) + ".",
        "",
    ]
    imp, built = r.get("import"), r.get("build")
    lines += ["## Import time", ""]
    if built and built.get("built"):
        lines.append(f"- `saleslens.demo.build` (generate and write {built['snapshots']} snapshots and the event "
                     f"store): {built['seconds']:.1f} s, of which generating {built['generate_seconds']:.1f} s and "
                     f"writing {built['write_seconds']:.1f} s.")
    if imp:
        lines.append(f"- Store write of one snapshot and the whole event history (what an import does after "
                     f"parsing: conform, sort, Parquet with statistics, month partitions, the derived tables, "
                     f"atomic publish): **{imp['seconds']:.1f} s** (events {imp['events_seconds']:.1f} s, snapshot "
                     f"{imp['snapshot_seconds']:.1f} s, derived tables {imp.get('derive_seconds', 0):.1f} s).")
    lines += ["", "## Page times (server side)", "",
              "From a filter change to all of the page's data and figures ready: the same named queries, library "
              "calls and chart builders as the page (bench/pages.py). The filter changes: "
              + ", ".join(f"{c['name']} (`{c['query'] or 'no filter'}`)" for c in r["changes"]) + "; the "
              "period is this quarter unless the change says otherwise. Each page is measured in "
              f"{ours['rounds']} round(s): the query cache is emptied at the start of a round and the changes "
              "follow one another, so each view after the first is a real filter change (only results whose "
              "parameters equal an earlier view's come from the cache, as in the app); the first view of a "
              "round (a first visit, nothing cached) is reported apart. Rounds start at different changes.", ""]
    lines += page_table(ours["samples"])
    lines += ["", f"All pages together: median **{overall['median_ms']:,.0f} ms** "
              f"(target < {TARGETS['median_ms']} ms: {verdict(overall['median_ms'], TARGETS['median_ms'])}), "
              f"p95 **{overall['p95_ms']:,.0f} ms** (target < {TARGETS['p95_ms']} ms: "
              f"{verdict(overall['p95_ms'], TARGETS['p95_ms'])}).", "", "Median per filter change:", ""]
    lines += change_table(ours["samples"])
    slow = sorted(ours["queries"].items(), key=lambda kv: -kv[1]["median_ms"])[:12]
    if slow and "calls_per_view" in slow[0][1]:
        lines += ["", "Where the time goes: the queries taking longest per view (all calls of the query in one view, "
                  "cache hits included; median and p95 over the views):", "",
                  "| page:query | calls per view | median per view | p95 per view |", "| --- | --- | --- | --- |"]
        lines += [f"| {k} | {v['calls_per_view']:g} | {v['median_ms']:,.0f} ms | {v['p95_ms']:,.0f} ms |"
                  for k, v in slow]
    else:  # results of an older run: per call
        lines += ["", "Slowest queries (median per call, cache hits included):", "",
                  "| page:query | calls | median | p95 |", "| --- | --- | --- | --- |"]
        lines += [f"| {k} | {v['n']} | {v['median_ms']:,.0f} ms | {v['p95_ms']:,.0f} ms |" for k, v in slow]
    if r.get("apptest"):
        at = r["apptest"]
        lines += ["", "### Cross-check: the real page scripts", "",
                  "The same changes through `streamlit.testing` (dashboard.py, sidebar and the page script, "
                  "protobuf included, cache emptied). Tabs that the browser computes only when opened may all "
                  "run here.", ""]
        lines += page_table(at["samples"])
        if at["errors"]:
            lines += ["", "Errors: " + "; ".join(at["errors"][:5])]
    lines += ["", "## Against the usual way (pandas in memory)", ""]
    if base and ov:
        b, o = stats(all_samples(base["samples"])), stats(all_samples(ov["samples"]))
        speed_med, speed_p95 = b["median_ms"] / o["median_ms"], b["p95_ms"] / o["p95_ms"]
        mem = base["peak_rss_mb"] / ov["peak_rss_mb"]
        lines += [
            "bench/baseline_pandas.py loads the snapshot's opportunities, reps, accounts, products, stages and "
            "targets and all activities up to the snapshot date into pandas at start, joins the deals once, and "
            "computes the Overview (KPIs now and before, the monthly trend, KPIs by region; the same figures and "
            "downloads) by filtering and grouping in memory. Its numbers equal the SQL's "
            "(tests/unit/test_bench_smoke.py checks it). Each side ran in its own process.", "",
            "| Overview | ours | pandas | ratio (pandas / ours) | target |", "| --- | --- | --- | --- | --- |",
            f"| median page time | {o['median_ms']:,.0f} ms | {b['median_ms']:,.0f} ms | {speed_med:.1f}× | "
            f"≥ {TARGETS['speedup']}×: {verdict(speed_med, TARGETS['speedup'], lower_is_better=False)} |",
            f"| p95 page time | {o['p95_ms']:,.0f} ms | {b['p95_ms']:,.0f} ms | {speed_p95:.1f}× | |",
            f"| peak memory (RSS of the process) | {ov['peak_rss_mb']:,.0f} MB | {base['peak_rss_mb']:,.0f} MB | "
            f"{mem:.1f}× | ≥ {TARGETS['memory_ratio']}×: {verdict(mem, TARGETS['memory_ratio'], False)} |",
            f"| start: open the data | {ov['open_seconds'] * 1000:,.0f} ms (DuckDB views) | "
            f"{base['load_seconds']:.1f} s (read and join) | "
            f"{base['load_seconds'] / max(ov['open_seconds'], 1e-9):,.0f}× | |",
            "",
            f"Of those peaks, Python with the libraries imported and no data is {ov['rss_start_mb']:,.0f} MB "
            f"(ours) and {base['rss_start_mb']:,.0f} MB (pandas).",
        ]
        lines += polars_rows(r.get("baseline_polars"), o)
        lines += interleaved_rows(r.get("interleaved"))
    else:
        lines.append("Not measured in this run.")
    lines += ["", "## Memory", "",
              f"Peak RSS of the process that ran every page for every change: **{ours['peak_rss_mb']:,.0f} MB** "
              f"(the Overview alone: {ov['peak_rss_mb']:,.0f} MB)." if ov else
              f"Peak RSS of the process that ran every page: {ours['peak_rss_mb']:,.0f} MB."]
    cold = r.get("cold")
    lines += ["", "## Cold start", ""]
    if cold:
        lines += [f"Process start (`streamlit run serve.py`, the README command, with its warm start) to the Overview "
                  f"drawn in headless Chromium (six tiles and both charts), fresh server each time, data files in the "
                  f"OS page cache: median "
                  f"**{cold['median_ready_s']:.1f} s** over {len(cold['runs'])} runs (target < {TARGETS['cold_s']} s: "
                  f"{verdict(cold['median_ready_s'], TARGETS['cold_s'])}); the server answered its health check "
                  f"after {cold['median_healthy_s']:.1f} s.", "",
                  "| run | healthy | Overview drawn | server RSS then | server peak RSS |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {k + 1} | {c['healthy_s']:.1f} s | {c['ready_s']:.1f} s | {c['rss_mb'] or 0:,.0f} MB | "
                  f"{c['peak_mb'] or 0:,.0f} MB |" for k, c in enumerate(cold["runs"])]
        lines += ["", f"In a fresh process the first page's data (the {ours['first_page']}, DuckDB database new) took "
                  f"{ours['first_page_seconds'] * 1000:,.0f} ms."]
        lines += cold_split(r.get("cold_protocol"), cold)
    else:
        lines.append(f"Browser cold start not measured in this run. In a fresh process the first page's data (the "
                     f"{ours['first_page']}, DuckDB database new) took {ours['first_page_seconds'] * 1000:,.0f} ms.")
    w = ours.get("whatif")
    lines += ["", "## What-if recompute", ""]
    lines.append(
        f"A slider move (target change) with the per-rep base cached: scenario, commission, two charts and the rep "
        f"table. Median **{w['median_ms']:,.0f} ms**, p95 {w['p95_ms']:,.0f} ms over {w['n']} moves (target < "
        f"{TARGETS['whatif_ms']} ms: {verdict(w['median_ms'], TARGETS['whatif_ms'])})." if w
        else "saleslens/scenarios.py or its base query is missing: not measured.")
    load_runs = sorted((ROOT / "bench").glob("load*.json"))
    lines += ["", "## Load test", ""]
    if load_runs:
        from bench.load import markdown, protocol_markdown

        for path in load_runs:
            lr = json.loads(path.read_text(encoding="utf-8"))
            if lr.get("mode") == "protocol":  # simulated users (bench/protocol.py), no browsers
                lines += [f"`python -m bench.load --users {lr['users']} --minutes {lr['minutes']:g} --processes "
                          f"{lr['processes']} --think {lr['think_seconds']:g} --data {lr.get('data')}` on "
                          f"{lr.get('date')} ({path.name}):", "", protocol_markdown(lr)]
                continue
            lines += [f"`python -m bench.load --browsers --data {lr.get('data')} --think "
                      f"{lr.get('think_seconds', 0):g}` on {lr.get('date')} ({path.name}):", "",
                      markdown(lr, lr.get("data"))]
    else:
        lines.append("Not run yet: `python -m bench.load --data DIR_OF_THE_M_DEMO` writes bench/load.json, which the "
                     "next `bench.run` puts here.")
    lines += capacity_section()
    lines += xl_section()
    if r.get("notes"):
        lines += ["", "## Where targets are missed, and why", "", r["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write RESULTS.md (or run one worker when --worker is given)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=("S", "M", "L", "XL"), default="L")
    ap.add_argument("--data", type=Path, help="data directory (default /tmp/saleslens-bench-SIZE); built if empty")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    ap.add_argument("--rounds", type=int, default=3, help="times each filter change is measured per page")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--as-of", type=date.fromisoformat, help="demo as-of date when building")
    ap.add_argument("--cold-runs", type=int, default=2, help="cold starts of a real server (0: skip)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the pandas and Polars baselines")
    ap.add_argument("--no-import", action="store_true", help="skip the import (store write) timing")
    ap.add_argument("--apptest", action="store_true", help="also time the real page scripts with streamlit.testing")
    ap.add_argument("--pages", default=",".join(p for p in ("overview", "funnel", "targets", "leaderboard", "whatif")))
    ap.add_argument("--whatif-moves", type=int, default=4)
    ap.add_argument("--quiet-load", type=float, default=0, help="wait until the load average is below this")
    ap.add_argument("--max-wait", type=float, default=2400, help="longest wait for a quiet machine, seconds")
    ap.add_argument("--notes", type=Path, default=ROOT / "bench" / "ANALYSIS.md",
                    help="a Markdown file explaining missed targets, added to the report")
    ap.add_argument("--report-only", action="store_true",
                    help="only write RESULTS.md again from the RESULTS.json next to it (e.g. after editing the notes)")
    ap.add_argument("--json", type=Path, help="(workers) where to write the result")
    ap.add_argument("--worker", choices=("ours", "apptest"), help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    data_dir = (args.data or Path(tempfile.gettempdir()) / f"saleslens-bench-{args.size}").resolve()
    if args.report_only:
        r = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        if args.notes and args.notes.exists():
            r["notes"] = args.notes.read_text(encoding="utf-8")
        args.out.write_text(report(r), encoding="utf-8")
        return 0
    if args.worker:
        pages = [p for p in args.pages.split(",") if p]
        result = (worker(data_dir, args.rounds, pages, args.whatif_moves) if args.worker == "ours"
                  else apptest_worker(data_dir, args.rounds))
        args.json.write_text(json.dumps(result, default=str), encoding="utf-8")
        return 0
    return run(args, data_dir, "python -m bench.run " + " ".join(argv))


def run(args: argparse.Namespace, data_dir: Path, command: str) -> int:
    """Orchestrate: data, import, workers, cold start, report."""
    sys.path.insert(0, str(ROOT))
    from bench import pages
    from saleslens.core import store

    build = ensure_data(data_dir, args.size, args.seed, args.as_of)
    if args.quiet_load:
        wait_for_quiet(args.quiet_load, args.max_wait)
    snap = store.open_snapshot(data_dir)
    r: dict = {"command": command.strip(), "date": datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "load_start": load_avg(), "data": str(data_dir), "snapshot": snap.id, "as_of": snap.as_of.isoformat(),
               "rows": {**snap.manifest.get("row_counts", {}), **snap.manifest.get("events", {})}, "build": build,
               "changes": [{"name": c.name, "query": "&".join(f"{k}={v}" for k, v in c.query.items())}
                           for c in pages.filter_changes(snap)]}
    common = ("bench.run", "--data", str(data_dir), "--rounds", str(args.rounds))
    step = lambda msg: print(f"[{datetime.now():%H:%M:%S} load {load_avg():.1f}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    step("our pages")
    r["ours"] = in_subprocess(*common, "--worker", "ours", "--pages", args.pages,
                              "--whatif-moves", str(args.whatif_moves))
    r["ours"]["rounds"] = args.rounds
    if not args.no_baseline:
        step("our Overview alone (for the memory ratio)")
        r["ours_overview"] = in_subprocess(*common, "--worker", "ours", "--pages", "overview", "--whatif-moves", "0")
        step("pandas baseline")
        r["baseline"] = in_subprocess("bench.baseline_pandas", "--data", str(data_dir), "--rounds", str(args.rounds))
        step("polars baseline")
        r["baseline_polars"] = in_subprocess("bench.baseline_polars", "--data", str(data_dir),
                                             "--rounds", str(args.rounds))
        step("the three Overviews interleaved in one process")
        r["interleaved"] = in_subprocess("bench.baseline_same_run", "--data", str(data_dir),
                                         "--rounds", str(args.rounds))
    if args.apptest:
        step("page scripts under streamlit.testing")
        r["apptest"] = in_subprocess(*common, "--worker", "apptest")
    if args.cold_runs:
        step("cold start")
        r["cold"] = cold_start(data_dir, args.cold_runs)
        step("cold start, server's share (protocol client)")
        from bench.load import protocol_cold_start

        with tempfile.TemporaryDirectory() as tmp:
            r["cold_protocol"] = protocol_cold_start(data_dir, args.cold_runs, Path(tmp))
    if not args.no_import:
        step("import (store write)")
        r["import"] = import_time(data_dir)
    r["load_end"] = load_avg()
    if args.notes and args.notes.exists():
        r["notes"] = args.notes.read_text(encoding="utf-8")
    args.out.write_text(report(r), encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(r, indent=1, default=str), encoding="utf-8")
    step(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
