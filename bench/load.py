"""Load test: simulated users on a real server; per-page rerun times, errors, reruns per second, server memory.

    python -m bench.load --users 50 --minutes 2 [--data DIR] [--think 5] [--processes 1] [--json FILE]
    python -m bench.load --browsers --sessions 3 --minutes 0.5 --data DIR    # the browser smoke test

By default each user is a coroutine holding one websocket session and speaking Streamlit's protocol
(bench/protocol.py): it walks Overview, a region filter, Funnel, Targets, What-if, a What-if slider,
Leaderboard, with think time, timing each rerun from request to script_finished. No browser runs, so the
figures measure the server. With --processes K, K servers share the users (user i on server i mod K).

With --browsers, each session is its own browser context (its own Streamlit session) in one headless
Chromium. It opens a page with a filter in the link, waits until the page is ready, checks it for errors,
and goes on to the next (page, filter) pair at once, until the time is up. Server memory (RSS of the `streamlit run`
process) is sampled every second: before (after start and one warm-up visit), during, and after the
sessions close, when it should return near its baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import free_port, mb, ms, stop_process, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
PAGES = ("", "funnel", "targets", "leaderboard", "whatif")  # url paths; "" is the Overview


def rss_mb(pid: int, field_name: str = "VmRSS") -> float | None:
    """A process's resident memory (VmRSS) or its peak (VmHWM) in MB, from /proc; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Server:
    """A real `streamlit run dashboard.py` on a free port over a data directory, output to a log file."""

    def __init__(self, data_dir: Path, log_path: Path, entry: str = "serve.py", checkout: Path = ROOT,
                 **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        cmd = [sys.executable, "-m", "streamlit", "run", str(checkout / entry), "--server.headless", "true",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        full_env = {**os.environ, "SALESLENS_DATA": str(data_dir), "SALESLENS_AUTO_DEMO": "0", **env}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=checkout, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 120) -> float:
        """Block until /_stcore/health answers ok; the seconds since the process started."""
        wait_healthy(self.proc, self.url, self.log, timeout)
        return time.perf_counter() - self.started

    def rss(self) -> float | None:
        """Current resident memory of the server in MB."""
        return rss_mb(self.proc.pid)

    def peak(self) -> float | None:
        """Peak resident memory of the server so far in MB."""
        return rss_mb(self.proc.pid, "VmHWM")

    def log(self) -> str:
        """The end of the server output, for messages."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop) and close the log."""
        stop_process(self.proc, self._log, 15)


async def wait_ready(page, timeout: float = 120) -> float:
    """Wait until the page has its title and Streamlit has stopped running; when that was, in perf_counter time.

    The status widget ("Running...") comes and goes, and a rerun can follow straight after, so the page is
    ready when the widget has stayed away for three checks 100 ms apart; the ready time is the first of them.
    """
    deadline = time.monotonic() + timeout
    await page.locator("[data-testid='stMain'] h1, [data-testid='stException']").first.wait_for(
        timeout=timeout * 1000)
    quiet, first_quiet = 0, time.perf_counter()
    while quiet < 3:
        if time.monotonic() > deadline:
            raise TimeoutError("the page kept running")
        if await page.locator("[data-testid='stStatusWidget']").count() == 0:
            if quiet == 0:
                first_quiet = time.perf_counter()
            quiet += 1
        else:
            quiet = 0
        await asyncio.sleep(0.1)
    return first_quiet


@dataclass
class Tally:
    """What the sessions saw: page times, errors, visits."""

    times: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def session(browser, base: str, links: list[str], offset: int, until: float, tally: Tally,
                  think: float = 0.0) -> None:
    """One user: visit (page, filter) links in turn from an offset, reading each for `think` s, until time is up."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: tally.errors.append(f"page error: {exc}"))
    k = offset
    try:
        while time.monotonic() < until:
            link = links[k % len(links)]
            k += 1
            started = time.perf_counter()
            try:
                await page.goto(base + link, timeout=120_000)
                ready = await wait_ready(page)
            except Exception as exc:  # a timeout or a closed page is an error of the run, not of the script
                tally.errors.append(f"{link}: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            tally.times.append((link.split("?")[0] or "/", ready - started))
            bad = page.locator(ERRORS)
            if await bad.count():
                tally.errors.append(f"{link}: {(await bad.first.inner_text())[:300]}")
            await asyncio.sleep(think)
    finally:
        await context.close()


def links_for(data_dir: Path) -> list[str]:
    """(page, filter) links: every page with the organisation, a region, a team, a rep and last quarter."""
    from bench.pages import filter_changes
    from saleslens.core import store

    changes = filter_changes(store.open_snapshot(data_dir))
    out = []
    for change in changes:
        query = "&".join(f"{k}={v}" for k, v in change.query.items())
        for path in PAGES:
            out.append(f"/{path}" + (f"?{query}" if query else ""))
    return out


class Sampler:
    """Samples the servers' summed RSS every second in a thread, tagged with a phase."""

    def __init__(self, server: Server | list[Server]) -> None:
        self.servers = server if isinstance(server, list) else [server]
        self.phase = "before"
        self.samples: list[tuple[float, str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            values = [s.rss() for s in self.servers]
            if all(v is not None for v in values):
                self.samples.append((time.perf_counter() - self._t0, self.phase, sum(values)))
            self._stop.wait(1.0)

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()

    def of(self, phase: str) -> list[float]:
        """The samples of one phase."""
        return [v for _, p, v in self.samples if p == phase]


async def drive(base: str, links: list[str], sessions: int, seconds: float, tally: Tally, think: float) -> None:
    """Run the sessions together in one browser."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        until = time.monotonic() + seconds
        step = max(1, len(links) // sessions)
        await asyncio.gather(*(session(browser, base, links, i * step, until, tally, think) for i in range(sessions)))
        await browser.close()


async def warm_up(base: str, links: list[str]) -> None:
    """One visit to each page before measuring, so 'before' is a server that has served the app once."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page()
        for link in links[: len(PAGES)]:
            await page.goto(base + link, timeout=120_000)
            await wait_ready(page)
        await browser.close()


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far (Linux /proc), or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of some values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(q * len(ordered)))) - 1]


def run(data_dir: Path, sessions: int, minutes: float, settle_s: float, log_dir: Path, think: float = 0.0) -> dict:
    """Start a server, warm it, drive the sessions, watch memory, and summarise."""
    links = links_for(data_dir)
    server = Server(data_dir, log_dir / "load-server.log")
    sampler = Sampler(server)
    try:
        server.wait_healthy()
        asyncio.run(warm_up(server.url, links))
        sampler.start()
        time.sleep(5)
        sampler.phase = "during"
        tally = Tally()
        load_before = os.getloadavg()[0]
        started, cpu_start = time.perf_counter(), cpu_seconds(server.proc.pid)
        asyncio.run(drive(server.url, links, sessions, minutes * 60, tally, think))
        wall = time.perf_counter() - started
        cpu_end = cpu_seconds(server.proc.pid)
        # the server's share of the machine while the browsers ran: the rest went to the 20 Chromium sessions
        server_cpu = cpu_end - cpu_start if cpu_start is not None and cpu_end is not None else None
        sampler.phase = "after"
        time.sleep(settle_s)
        sampler.stop()
        log_tail = server.log()
    finally:
        sampler.stop() if sampler._thread.is_alive() else None
        server.stop()
    times = [s for _, s in tally.times]
    by_page: dict[str, list[float]] = {}
    for path, s in tally.times:
        by_page.setdefault(path, []).append(s)
    before, during, after = sampler.of("before"), sampler.of("during"), sampler.of("after")
    return {
        "sessions": sessions, "minutes": minutes, "think_seconds": think, "wall_seconds": wall, "visits": len(times),
        "errors": tally.errors[:50], "error_count": len(tally.errors),
        "page_median_s": statistics.median(times) if times else None, "page_p95_s": pct(times, 0.95),
        "by_page": {p: {"n": len(v), "median_s": statistics.median(v), "p95_s": pct(v, 0.95)}
                    for p, v in sorted(by_page.items())},
        "rss_before_mb": statistics.median(before) if before else None,
        "rss_during_max_mb": max(during) if during else None,
        "rss_during_median_mb": statistics.median(during) if during else None,
        "rss_after_mb": after[-1] if after else None,
        "settle_seconds": settle_s, "load_avg_at_start": load_before,
        "server_cpu_seconds": server_cpu, "server_cpu_share": server_cpu / (wall * (os.cpu_count() or 1))
        if server_cpu is not None else None,
        "server_log_errors": [line for line in log_tail.splitlines() if "Traceback" in line or "Error" in line][-20:],
    }


def markdown(result: dict, data_dir: Path) -> str:
    """The load test as a RESULTS.md section."""
    lines = [
        f"{result['sessions']} concurrent headless Chromium sessions for {result['minutes']:g} min against one "
        f"`streamlit run` over `{data_dir}` (load average at start {result['load_avg_at_start']:.1f}); each user opens "
        f"the next (page, filter) link {result.get('think_seconds', 0):g} s after the last one was ready. The 20 "
        "browsers and the server share the 2 cores.",
        "",
        "| measure | value |", "| --- | --- |",
        f"| page visits | {result['visits']} |",
        f"| errors | {result['error_count']} |",
        f"| page time, median (browser: navigation to script finished) | {ms(result['page_median_s'])} |",
        f"| page time, 95th percentile | {ms(result['page_p95_s'])} |",
        f"| server RSS before (after one warm-up visit per page) | {mb(result['rss_before_mb'])} |",
        f"| server RSS during, median / max | {mb(result['rss_during_median_mb'])} / "
        f"{mb(result['rss_during_max_mb'])} |",
        f"| server RSS {result['settle_seconds']:.0f} s after the sessions closed | {mb(result['rss_after_mb'])} |",
        *([f"| server CPU while the sessions ran (share of all cores; the browsers used the rest) | "
           f"{result['server_cpu_seconds']:,.0f} s ({result['server_cpu_share']:.0%}) |"]
          if result.get("server_cpu_seconds") is not None else []),
        "", "| page | visits | median | p95 |", "| --- | --- | --- | --- |",
    ]
    lines += [f"| {p} | {v['n']} | {ms(v['median_s'])} | {ms(v['p95_s'])} |" for p, v in result["by_page"].items()]
    if result["errors"]:
        lines += ["", "First errors:", ""] + [f"- `{' '.join(e.split())[:200]}`" for e in result["errors"][:10]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- protocol load (no browsers)


def protocol_run(data_dir: Path, users: int, minutes: float, think: float, settle_s: float, log_dir: Path,
                 processes: int = 1, ramp: float = 0.0) -> dict:
    """Start the servers, warm each with one walk of the path, run the users, watch memory, and summarise."""
    from bench import protocol

    servers = [Server(data_dir, log_dir / f"load-server-{k}.log") for k in range(processes)]
    sampler = Sampler(servers)
    try:
        for server in servers:
            server.wait_healthy()
        for server in servers:
            asyncio.run(protocol.walk_once(server.url))
        sampler.start()
        time.sleep(3)
        sampler.phase = "during"
        load_before = os.getloadavg()[0]
        cpu_start = [cpu_seconds(s.proc.pid) or 0.0 for s in servers]
        started = time.perf_counter()
        results = asyncio.run(protocol.users([s.url for s in servers], users, minutes * 60, think, ramp))
        wall = time.perf_counter() - started
        server_cpu = sum((cpu_seconds(s.proc.pid) or 0.0) - c for s, c in zip(servers, cpu_start, strict=True))
        peak = sum(s.peak() or 0.0 for s in servers)
        sampler.phase = "after"
        time.sleep(settle_s)
        sampler.stop()
        logs = "\n".join(s.log() for s in servers)
    finally:
        sampler.stop() if sampler._thread.is_alive() else None
        for server in servers:
            server.stop()
    return summarise(results, sampler, wall, users, minutes, think, processes, server_cpu, peak, load_before, logs)


async def first_view(url: str):
    """One session's first run of the default page (the Overview)."""
    from bench import protocol

    session = protocol.Session(url)
    await session.connect()
    try:
        return await session.open("")
    finally:
        await session.close()


def protocol_cold_start(data_dir: Path, runs: int, log_dir: Path) -> dict:
    """Process start to the Overview's first run finished, as a protocol client sees it (no browser): the server's
    share of a cold start. The client connects as soon as the health check answers, as a fast browser would."""
    from bench import protocol  # noqa: F401  (imported before the clock starts: it imports Streamlit's protobufs)

    out = []
    for k in range(runs):
        server = Server(data_dir, log_dir / f"cold-protocol-{k}.log")
        try:
            healthy = server.wait_healthy()
            result = asyncio.run(first_view(server.url))
            out.append({"healthy_s": healthy, "ready_s": time.perf_counter() - server.started,
                        "first_run_s": result.seconds, "errors": result.errors, "elements": result.elements})
        finally:
            server.stop()
    return {"runs": out, "median_ready_s": statistics.median(r["ready_s"] for r in out),
            "median_healthy_s": statistics.median(r["healthy_s"] for r in out),
            "median_first_run_s": statistics.median(r["first_run_s"] for r in out),
            "errors": [e for r in out for e in r["errors"]]}


def summarise(results: list, sampler: Sampler, wall: float, users: int, minutes: float, think: float,
              processes: int, server_cpu: float, peak: float, load_before: float, logs: str) -> dict:
    """Per-page p50/p95, errors, reruns per second and memory from the users' reruns and the RSS samples."""
    ok = [r for r in results if not r.errors]
    by_page: dict[str, list[float]] = {}
    for r in ok:
        by_page.setdefault(r.page, []).append(r.seconds)
    times = [r.seconds for r in ok]
    errors = [f"{r.page}: {e}" for r in results for e in r.errors]
    before, during, after = sampler.of("before"), sampler.of("during"), sampler.of("after")
    rss_start = statistics.median(before) if before else None
    rss_peak = max(during) if during else None
    return {
        "mode": "protocol", "users": users, "minutes": minutes, "think_seconds": think, "processes": processes,
        "wall_seconds": wall, "reruns": len(ok), "reruns_per_second": len(ok) / wall if wall else None,
        "error_count": len(errors), "errors": errors[:50],
        "p50_s": statistics.median(times) if times else None, "p95_s": pct(times, 0.95),
        "by_page": {p: {"n": len(v), "p50_s": statistics.median(v), "p95_s": pct(v, 0.95)}
                    for p, v in sorted(by_page.items())},
        "elements_per_rerun": statistics.mean(r.elements for r in ok) if ok else None,
        "kb_per_rerun": statistics.mean(r.bytes for r in ok) / 1024 if ok else None,
        "rss_start_mb": rss_start, "rss_peak_mb": rss_peak, "rss_peak_hwm_mb": peak,
        "rss_end_mb": after[-1] if after else None,
        "mb_per_session": (rss_peak - rss_start) / users if rss_start is not None and rss_peak is not None else None,
        "server_cpu_seconds": server_cpu, "server_cpu_share": server_cpu / (wall * (os.cpu_count() or 1)),
        # CPU per rerun holds on a busy machine where times do not: the server's cost, whatever it was given
        "cpu_per_rerun_s": server_cpu / len(ok) if ok else None,
        "load_avg_at_start": load_before,
        "server_log_errors": [line for line in logs.splitlines() if "Traceback" in line or "Error" in line][-20:],
    }


def protocol_markdown(r: dict) -> str:
    """The protocol load test as a RESULTS.md section."""
    lines = [
        f"{r['users']} simulated users (websocket sessions speaking Streamlit's protocol, bench/protocol.py) for "
        f"{r['minutes']:g} min against {r['processes']} `streamlit run` process(es); think time "
        f"{r['think_seconds']:g} s (±50 %) between steps; load average at start {r['load_avg_at_start']:.1f}.", "",
        "| measure | value |", "| --- | --- |",
        f"| reruns (no error) | {r['reruns']} ({r['reruns_per_second']:.1f} per second) |",
        f"| errors | {r['error_count']} |",
        f"| rerun time p50 / p95 (request to script_finished) | {ms(r['p50_s'])} / {ms(r['p95_s'])} |",
        f"| elements and bytes sent per rerun (mean) | {r['elements_per_rerun'] or 0:.0f} / "
        f"{r['kb_per_rerun'] or 0:.0f} kB |",
        f"| server RSS start / peak / end | {mb(r['rss_start_mb'])} / {mb(r['rss_peak_mb'])} / {mb(r['rss_end_mb'])} |",
        f"| memory per session ((peak − start) / users) | {mb(r['mb_per_session'])} |",
        f"| server CPU (share of all cores) | {r['server_cpu_seconds']:,.0f} s ({r['server_cpu_share']:.0%}) |",
        f"| server CPU per rerun | {ms(r.get('cpu_per_rerun_s'))} |",
        "", "| step | reruns | p50 | p95 |", "| --- | --- | --- | --- |",
    ]
    lines += [f"| {p} | {v['n']} | {ms(v['p50_s'])} | {ms(v['p95_s'])} |" for p, v in r["by_page"].items()]
    if r["errors"]:
        lines += ["", "First errors:", ""] + [f"- `{' '.join(e.split())[:200]}`" for e in r["errors"][:10]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the load test (protocol users, or browsers with --browsers) and write its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("SALESLENS_DATA", "/tmp/saleslens-bench-L")),
                    help="data directory (default: SALESLENS_DATA, else the benchmark's L directory)")
    ap.add_argument("--users", type=int, default=10, help="simulated protocol users")
    ap.add_argument("--processes", type=int, default=1, help="server processes sharing the users")
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds over which the users arrive")
    ap.add_argument("--browsers", action="store_true", help="the browser smoke test instead (Chromium sessions)")
    ap.add_argument("--sessions", type=int, default=3, help="browser sessions (with --browsers)")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--think", type=float, default=None,
                    help="seconds each user reads a page before the next (default 5 for users, 0 for browsers)")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds to watch memory after the sessions close")
    ap.add_argument("--json", type=Path, default=None, help="default bench/load-protocol.json or bench/load.json")
    args = ap.parse_args(argv)
    if not args.browsers:
        think = 5.0 if args.think is None else args.think
        result = protocol_run(args.data.resolve(), args.users, args.minutes, think, args.settle,
                              Path(tempfile.gettempdir()), args.processes, args.ramp)
        result["data"] = str(args.data)
        result["date"] = time.strftime("%Y-%m-%d %H:%M")
        out = args.json or ROOT / "bench" / "load-protocol.json"
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        sys.stdout.write(protocol_markdown(result))
        return 0 if result["error_count"] == 0 else 1
    result = run(args.data.resolve(), args.sessions, args.minutes, args.settle, Path(tempfile.gettempdir()),
                 args.think or 0.0)
    result["data"] = str(args.data)
    result["date"] = time.strftime("%Y-%m-%d %H:%M")
    (args.json or ROOT / "bench" / "load.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    sys.stdout.write(markdown(result, args.data))
    return 0 if result["error_count"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
