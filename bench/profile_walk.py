"""Profile cached reruns: a server under SALESLENS_PROFILE (bench/profile_hook.py), one protocol user walking the path.

    python -m bench.profile_walk --data DIR --out /tmp/x.prof [--rounds 3] [--top 40]

Starts `streamlit run serve.py` from this checkout with every script run under cProfile, warms it (two walks of
the path, so every query is cached and the heap frozen), starts the totals afresh, then walks the path `rounds`
times with no think time. Prints each step's median, the profiled script seconds per run, and the functions with
the most cumulative and own time per run. The statistics stay in OUT for `python -m pstats OUT`.
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import statistics
import time
from pathlib import Path

from bench import protocol
from bench.load import Server


async def walk(url: str, rounds: int, out: Path) -> dict[str, list[float]]:
    """Warm the server, reset the totals, then walk the path `rounds` times; seconds per step."""
    await protocol.walk_once(url)
    await protocol.walk_once(url)
    out.with_name(out.name + ".reset").touch()
    session = protocol.Session(url)
    await session.connect()
    await session.open("")
    times: dict[str, list[float]] = {}
    for r in range(rounds):
        for step in protocol.PATH:
            if step.page is None and step.key not in session.widgets:
                continue
            res = await protocol.do_step(session, step, r)
            if res.errors:
                raise RuntimeError(f"{step.label}: {res.errors}")
            times.setdefault(step.label, []).append(res.seconds)
    await session.close()
    return times


def report(out: Path, top: int) -> None:
    """The profile's runs and its heaviest functions, per run."""
    runs, seconds, objects = out.with_name(out.name + ".runs").read_text().split()
    n = int(runs)
    print(f"\n{n} profiled script runs, {float(seconds) / n * 1000:.1f} ms a run under cProfile, "
          f"{objects} objects tracked by the collector")
    stats = pstats.Stats(str(out))
    for key, title in (("cumulative", "cumulative"), ("tottime", "own time")):
        print(f"\n-- by {title}, ms per run --")
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3 if key == "cumulative" else 2], reverse=True)
        for (file, line, name), (_cc, calls, own, cum, _callers) in rows[:top]:
            where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
            print(f"{cum / n * 1000:8.2f} {own / n * 1000:8.2f} {calls / n:8.1f}  {name}  {where}")


def main(argv: list[str] | None = None) -> int:
    """Run the server, walk, print the profile."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="the cProfile statistics file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args(argv)
    out = args.out.resolve()
    server = Server(args.data.resolve(), out.with_suffix(".server.log"), SALESLENS_PROFILE=str(out))
    try:
        server.wait_healthy()
        time.sleep(12)  # the warm start done and the heap frozen (saleslens/warmup.warm_then_freeze)
        times = asyncio.run(walk(server.url, args.rounds, out))
    finally:
        server.stop()
    for label, seconds in times.items():
        print(f"{label:28} median {statistics.median(seconds) * 1000:7.0f} ms")
    report(out, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
