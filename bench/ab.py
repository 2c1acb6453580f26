"""Cached rerun times of two checkouts side by side: the same data, the same machine load, one user each.

    python -m bench.ab --ref /work/main --data DIR [--rounds 4]

Starts `streamlit run serve.py` from this checkout and from the reference one, warms both (two walks of the
path), then one protocol user per server walks the path `rounds` times, the two alternating step by step (and
which goes first each round), so a busy machine slows both alike. Prints the median per step and the ratio, and
each server's CPU seconds per rerun over the timed rounds (what a busy machine does not change much).

    python -m bench.ab --ref /work/main --data DIR --cold 3

instead starts fresh servers of the two checkouts in turn and times process start to the first Overview run
finished (a protocol client connecting at the health check: the server's share of a cold start).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from bench import protocol
from bench.load import ROOT, Server, cpu_seconds, first_view

Times = dict[str, dict[str, list[float]]]  # server -> step -> seconds


async def compare(urls: dict[str, str], rounds: int, cpu: dict[str, float] | None = None,
                  pids: dict[str, int] | None = None) -> Times:
    """Warm each server, then walk the path with one user each, alternating; seconds per step per server. With
    `pids`, `cpu` gets each server's CPU seconds over the timed rounds."""
    for url in urls.values():
        await protocol.walk_once(url)
        await protocol.walk_once(url)
    sessions = {name: protocol.Session(url) for name, url in urls.items()}
    for s in sessions.values():
        await s.connect()
        await s.open("")
    times: Times = {name: {} for name in urls}
    started = {name: cpu_seconds(pid) or 0.0 for name, pid in (pids or {}).items()}
    for r in range(rounds):
        order = list(sessions) if r % 2 == 0 else list(reversed(sessions))
        for step in protocol.PATH:
            for name in order:
                s = sessions[name]
                if step.page is None and step.key not in s.widgets:
                    continue
                res = await protocol.do_step(s, step, r)
                if res.errors:
                    raise RuntimeError(f"{name} {step.label}: {res.errors}")
                times[name].setdefault(step.label, []).append(res.seconds)
    if cpu is not None:
        cpu.update({name: (cpu_seconds(pid) or 0.0) - started[name] for name, pid in (pids or {}).items()})
    for s in sessions.values():
        await s.close()
    return times


def cold_starts(checkouts: dict[str, Path], data_dir: Path, runs: int) -> dict[str, list[tuple[float, ...]]]:
    """(healthy, first run, ready) seconds of `runs` fresh servers per checkout, the checkouts alternating."""
    out: dict[str, list[tuple[float, ...]]] = {name: [] for name in checkouts}
    for k in range(runs):
        order = list(checkouts) if k % 2 == 0 else list(reversed(checkouts))
        for name in order:
            server = Server(data_dir, Path("/tmp") / f"ab-cold-{name}.log", checkout=checkouts[name])
            try:
                healthy = server.wait_healthy()
                result = asyncio.run(first_view(server.url))
                if result.errors:
                    raise RuntimeError(f"{name} cold start: {result.errors}")
                out[name].append((healthy, result.seconds, time.perf_counter() - server.started))
            finally:
                server.stop()
    return out


def print_cold(ref: str, out: dict[str, list[tuple[float, ...]]]) -> None:
    """The cold starts' medians as a table."""
    print(f"| cold start (median) | {ref} | {ROOT.name} | ratio |\n| --- | --- | --- | --- |")
    for i, what in enumerate(("healthy", "first Overview run", "process start to Overview run finished")):
        a, b = (statistics.median(r[i] for r in out[name]) for name in ("ref", "ours"))
        print(f"| {what} | {a:.2f} s | {b:.2f} s | {a / b:.2f}× |")


def main(argv: list[str] | None = None) -> int:
    """Run both servers, compare, print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", type=Path, required=True, help="the reference checkout (e.g. the main branch)")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--cold", type=int, default=0, metavar="N", help="time N cold starts of each instead")
    args = ap.parse_args(argv)
    if args.cold:
        print_cold(args.ref.name, cold_starts({"ref": args.ref.resolve(), "ours": ROOT}, args.data.resolve(),
                                              args.cold))
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        return 0
    log_dir = Path("/tmp")
    ours = Server(args.data.resolve(), log_dir / "ab-ours.log")
    ref = Server(args.data.resolve(), log_dir / "ab-ref.log", checkout=args.ref.resolve())
    try:
        ours.wait_healthy()
        ref.wait_healthy()
        time.sleep(15)  # both warm starts done (and the heap frozen where the checkout does that)
        cpu: dict[str, float] = {}
        times = asyncio.run(compare({"ref": ref.url, "ours": ours.url}, args.rounds, cpu,
                                    {"ref": ref.proc.pid, "ours": ours.proc.pid}))
    finally:
        ours.stop()
        ref.stop()
    print(f"| step | {args.ref.name} p50 | {ROOT.name} p50 | ratio |\n| --- | --- | --- | --- |")
    for label in times["ours"]:
        a, b = statistics.median(times["ref"][label]), statistics.median(times["ours"][label])
        print(f"| {label} | {a * 1000:,.0f} ms | {b * 1000:,.0f} ms | {a / b:.2f}× |")
    a = statistics.median([x for v in times["ref"].values() for x in v])
    b = statistics.median([x for v in times["ours"].values() for x in v])
    print(f"| all steps | {a * 1000:,.0f} ms | {b * 1000:,.0f} ms | {a / b:.2f}× |")
    n = {name: sum(len(v) for v in t.values()) for name, t in times.items()}
    a, b = cpu["ref"] / n["ref"], cpu["ours"] / n["ours"]
    print(f"| server CPU per rerun | {a * 1000:,.0f} ms | {b * 1000:,.0f} ms | {a / b:.2f}× |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
