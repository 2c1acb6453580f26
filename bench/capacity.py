"""Capacity: the most concurrent users one server holds with rerun p95 under 2 s and no error.

    python -m bench.capacity --data DIR [--users 10,25,50,100] [--minutes 1] [--think 5] [--processes 1]

Runs bench.load's protocol users at each count against a fresh server (or K servers sharing the users), and
writes bench/capacity-<name>.json and a markdown table; memory per session is (peak RSS - start RSS) / users.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench import load

ROOT = Path(__file__).resolve().parent.parent
P95_LIMIT_S = 2.0


def passes(r: dict) -> bool:
    """p95 under the limit and no error."""
    return r["error_count"] == 0 and r["p95_s"] is not None and r["p95_s"] < P95_LIMIT_S


def markdown(rows: list[dict]) -> str:
    """One row per user count, and the verdict."""
    def ms(v: float | None) -> str:
        return "–" if v is None else f"{v * 1000:,.0f} ms"

    lines = ["| users | processes | reruns/s | p50 | p95 | errors | RSS start / peak | MB per session | "
             "server CPU | CPU per rerun | load avg | verdict |", "| " + " | ".join(["---"] * 12) + " |"]
    for r in rows:
        lines.append(f"| {r['users']} | {r['processes']} | {r['reruns_per_second']:.1f} | {ms(r['p50_s'])} | "
                     f"{ms(r['p95_s'])} | {r['error_count']} | {r['rss_start_mb'] or 0:,.0f} / "
                     f"{r['rss_peak_mb'] or 0:,.0f} MB | {r['mb_per_session'] or 0:.1f} | "
                     f"{r['server_cpu_share']:.0%} | {ms(r.get('cpu_per_rerun_s'))} | {r['load_avg_at_start']:.1f} | "
                     f"{'ok' if passes(r) else 'over'} |")
    held = [r["users"] for r in rows if passes(r)]
    lines += ["", f"Largest user count held (p95 < {P95_LIMIT_S:g} s, no error): "
              f"**{max(held) if held else 'none of those tried'}**."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the user counts in turn and write the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--users", default="10,25,50,100")
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--think", type=float, default=5.0)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--ramp", type=float, default=10.0)
    ap.add_argument("--name", default=None, help="results go to bench/capacity-NAME.json (default: data dir name)")
    ap.add_argument("--stop-after-fail", action="store_true", help="skip larger counts once one fails")
    args = ap.parse_args(argv)
    rows = []
    for n in [int(x) for x in args.users.split(",")]:
        print(f"[{time.strftime('%H:%M:%S')}] {n} users", file=sys.stderr, flush=True)
        r = load.protocol_run(args.data.resolve(), n, args.minutes, args.think, 3.0, Path(tempfile.gettempdir()),
                              args.processes, args.ramp)
        rows.append(r)
        if args.stop_after_fail and not passes(r):
            break
    name = args.name or args.data.name
    out = {"data": str(args.data), "date": time.strftime("%Y-%m-%d %H:%M"), "minutes": args.minutes,
           "think_seconds": args.think, "processes": args.processes, "runs": rows}
    (ROOT / "bench" / f"capacity-{name}.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    sys.stdout.write(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
