"""Cached rerun times of two checkouts side by side: the same data, the same machine load, one user each.

    python -m bench.ab --ref /work/main --data DIR [--rounds 4]

Starts `streamlit run serve.py` from this checkout and from the reference one, warms both (two walks of the
path), then one protocol user per server walks the path `rounds` times, the two alternating step by step (and
which goes first each round), so a busy machine slows both alike. Prints the median per step and the ratio, and
each server's CPU seconds per rerun over the timed rounds (what a busy machine does not change much).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from bench import protocol
from bench.load import ROOT, Server, cpu_seconds

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


def main(argv: list[str] | None = None) -> int:
    """Run both servers, compare, print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", type=Path, required=True, help="the reference checkout (e.g. the main branch)")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args(argv)
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
