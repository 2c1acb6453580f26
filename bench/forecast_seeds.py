"""Forecast backtest across demo seeds: issue #17's bar measured with the real CLI on one demo per seed.

The bar: at six weeks before quarter end MAPE at most 8%, the 80% range covering 70-90% of past outcomes, the model
beating every naive baseline at every week.

    python -m bench.forecast_seeds --size S --seeds 1,2,3,4,5,7 [--as-of 2026-12-02] [--years 2] [--work DIR] [--keep]
                                   [--out bench/forecast-seeds-S.json]
    python -m bench.forecast_seeds --report-only bench/forecast-seeds-S.json

One seed's six backtested quarters make a noisy MAPE, so this builds the demo once per seed with the real CLI
(`python -m saleslens demo`, in a subprocess; a DIR/<size>-<seed> (-<years>y beyond two years) that already holds
that demo's weekly snapshots, 104 for two years, is reused), runs the backtest command (`forecast-accuracy --format
json`) and this quarter's `forecast --format json` on it, and summarises each seed (MAPE at six weeks and over all
weeks, noise floor, range coverage, weeks beating the baselines, which parts of the bar hold) and the seeds together
(mean, median, min, max; seeds meeting 8%).
Writes the JSON and prints a markdown table for bench/FORECAST.md. The work dir is a temporary folder under /tmp
unless --work is given; without --keep the script removes what it created there, and nothing else.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from bench.common import git_commit
from saleslens.demo import DEFAULT_YEARS, YEARS, demo_source, snapshot_days

ROOT = Path(__file__).resolve().parent.parent
MID_WEEKS = 6  # the bar's mid-period: six weeks before quarter end
MAPE_BAR = 0.08
COVERAGE_BAR = (0.70, 0.90)
# Sums of ratios read back from JSON carry float error; a value a hair past a bound still counts as on it.
EPS = 1e-9
# Keys of `forecast --format json` kept per seed: these, and any key containing one of them.
FORECAST_KEYS = ("shrinkage", "weighting", "forecast")
FORECAST_CONTEXT = ("low", "high", "weeks_left", "quarters_learned", "method")
STDERR_LINES = 3  # stderr lines quoted when a command fails
TIMEOUT_S = 3600.0


class BenchError(Exception):
    """A step failed; the message is the one line printed."""


# --- pure summaries -------------------------------------------------------------------------------------------

def _mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None if there are none)."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _week(rows: list[dict], weeks_left: int) -> dict:
    """The row for that many weeks before quarter end ({} if the backtest has none)."""
    return next((r for r in rows if r.get("weeks_left") == weeks_left), {})


def bar(mape_6: float | None, coverage: float | None, beats_weeks: int, weeks: int) -> dict:
    """Which parts of issue #17's bar hold (a missing number fails its part)."""
    low, high = COVERAGE_BAR
    parts = {
        "mape": mape_6 is not None and mape_6 <= MAPE_BAR + EPS,
        "coverage": coverage is not None and low - EPS <= coverage <= high + EPS,
        "beats": weeks > 0 and beats_weeks == weeks,
    }
    return {**parts, "all": all(parts.values())}


def summarise(rows: list[dict]) -> dict:
    """One seed's backtest rows (one per weeks_left) -> its summary."""
    mid = _week(rows, MID_WEEKS)
    with_mape = [r for r in rows if r.get("model_mape") is not None]
    pooled_n = sum(r.get("periods") or 0 for r in with_mape)
    # A week whose range was never given (ranges 0, coverage null) adds nothing to the covered share.
    ranged = [r for r in rows if r.get("ranges") and r.get("coverage") is not None]
    ranges = sum(r["ranges"] for r in ranged)
    covered = sum(r["coverage"] * r["ranges"] for r in ranged)
    coverage = covered / ranges if ranges else None
    beats_weeks = sum(1 for r in rows if r.get("beats_baselines") is True)
    mape_6 = mid.get("model_mape")
    return {
        "mape_6": mape_6,
        "bias_6": mid.get("model_bias"),
        "noise_floor_6": mid.get("noise_floor_mape"),
        "mape_all": _mean(r["model_mape"] for r in with_mape),
        # Weighted by quarters per week: every backtested day counts once, as bench/FORECAST.md's "row-weighted".
        "mape_all_pooled": (sum(r["model_mape"] * (r.get("periods") or 0) for r in with_mape) / pooled_n
                            if pooled_n else None),
        "coverage": coverage,
        "covered": covered,
        "ranges": ranges,
        "beats_weeks": beats_weeks,
        "weeks": len(rows),
        "bar": bar(mape_6, coverage, beats_weeks, len(rows)),
    }


def _spread(values: list[float | None]) -> dict:
    """Mean, median, min and max of the values that are not None (all None if none)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0, "mean": None, "median": None, "min": None, "max": None}
    return {"n": len(vals), "mean": sum(vals) / len(vals), "median": statistics.median(vals),
            "min": min(vals), "max": max(vals)}


def across(summaries: list[dict]) -> dict:
    """Per-seed summaries -> the spread of their MAPEs and how many seeds meet each part of the bar."""
    return {
        "seeds": len(summaries),
        "mape_6": _spread([s["mape_6"] for s in summaries]),
        "noise_floor_6": _spread([s["noise_floor_6"] for s in summaries]),
        "mape_all": _spread([s["mape_all"] for s in summaries]),
        "mape_all_pooled": _spread([s["mape_all_pooled"] for s in summaries]),
        "coverage": _spread([s["coverage"] for s in summaries]),
        "meet_mape": sum(s["bar"]["mape"] for s in summaries),
        "meet_coverage": sum(s["bar"]["coverage"] for s in summaries),
        "meet_beats": sum(s["bar"]["beats"] for s in summaries),
        "meet_all": sum(s["bar"]["all"] for s in summaries),
    }


def forecast_fields(row: dict) -> dict:
    """The forecast command's shrinkage, weighting and forecast keys (and the range beside them) that it has."""
    return {k: v for k, v in row.items() if k in FORECAST_CONTEXT or any(w in k for w in FORECAST_KEYS)}


def _pct(v: float | None) -> str:
    """A ratio as a percentage with one decimal, or a dash."""
    return "–" if v is None else f"{v:.1%}"


def _yes(ok: bool) -> str:
    """yes / no."""
    return "yes" if ok else "no"


def _k(fc: dict) -> str:
    """The shrinkage k (and weighting, if the forecast gives one), or a dash."""
    k = fc.get("shrinkage_k")
    text = "–" if k is None else f"{k:g}" if isinstance(k, int | float) else str(k)
    return f"{text}, {fc['weighting']}" if fc.get("weighting") is not None else text


def _spread_cell(s: dict) -> str:
    """mean (median; min – max)."""
    if not s["n"]:
        return "–"
    return f"{_pct(s['mean'])} (median {_pct(s['median'])}; {_pct(s['min'])} – {_pct(s['max'])})"


def markdown(result: dict) -> str:
    """The result as a caption, one table row per seed and a summary row, ready for bench/FORECAST.md."""
    runs, agg = result["runs"], result["summary"]
    years = result.get("years", DEFAULT_YEARS)  # results written before --years had two
    lines = [f"{result['size']} demo, seeds {', '.join(str(r['seed']) for r in runs)}, as of {result['as_of']}, "
             f"{years} years of history "
             f"(commit {result.get('commit') or 'unknown'}, run {result.get('date', '?')}): `python -m "
             f"bench.forecast_seeds`. MAPE, all weeks: the mean of the weekly MAPEs (pooled: every backtested day "
             "once). Bar: MAPE at 6 weeks ≤ 8% / coverage 70–90% / beats all baselines every week.", "",
             "| seed | MAPE at 6 weeks (bias) | noise floor at 6 weeks | MAPE, all weeks | MAPE, all weeks, pooled | "
             "range coverage, all weeks | beats all baselines | k | bar: MAPE / coverage / beats |",
             "| " + " | ".join(["---"] * 9) + " |"]
    for r in runs:
        s, fc = r["summary"], r.get("forecast") or {}
        bias = "" if s["bias_6"] is None else f" ({s['bias_6']:+.1%})"
        cov = "–" if s["coverage"] is None else f"{s['coverage']:.0%} ({s['covered']:.0f} of {s['ranges']})"
        b = s["bar"]
        lines.append(f"| {r['seed']} | {_pct(s['mape_6'])}{bias} | {_pct(s['noise_floor_6'])} | "
                     f"{_pct(s['mape_all'])} | {_pct(s['mape_all_pooled'])} | {cov} | "
                     f"{s['beats_weeks']} of {s['weeks']} weeks | {_k(fc)} | "
                     f"{_yes(b['mape'])} / {_yes(b['coverage'])} / {_yes(b['beats'])} |")
    n = agg["seeds"]
    lines.append(f"| all {n} | {_spread_cell(agg['mape_6'])} | {_pct(agg['noise_floor_6']['mean'])} (mean) | "
                 f"{_spread_cell(agg['mape_all'])} | "
                 f"{_spread_cell(agg['mape_all_pooled'])} | {agg['meet_coverage']} of {n} in 70–90% | "
                 f"{agg['meet_beats']} of {n} every week | | {agg['meet_mape']} / {agg['meet_coverage']} / "
                 f"{agg['meet_beats']} of {n} |")
    lines += ["", f"Seeds meeting the 8% bar at six weeks: **{agg['meet_mape']} of {n}**; the whole bar: "
              f"**{agg['meet_all']} of {n}**."]
    return "\n".join(lines) + "\n"


# --- subprocess parts -----------------------------------------------------------------------------------------

def _say(message: str) -> None:
    """A timestamped progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _tail(text: str) -> str:
    """The last non-empty stderr lines (progress bars redraw with \\r), joined on one line."""
    lines = [x.strip() for x in text.replace("\r", "\n").splitlines() if x.strip()]
    return " | ".join(lines[-STDERR_LINES:]) or "no stderr"


def run_cli(seed: int, args: list[str], timeout: float) -> str:
    """Run `python -m saleslens ARGS` from the repo; its stdout, or a BenchError naming the seed and the command."""
    cmd = [sys.executable, "-m", "saleslens", *args]
    shown = "python -m saleslens " + " ".join(args)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"seed {seed}: `{shown}` did not finish in {timeout:g} s") from None
    if proc.returncode != 0:
        raise BenchError(f"seed {seed}: `{shown}` failed (exit {proc.returncode}): {_tail(proc.stderr)}")
    return proc.stdout


def _parse(seed: int, command: str, text: str) -> list[dict]:
    """A command's JSON output as a list of rows, or a BenchError."""
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"seed {seed}: `{command}` printed no JSON ({exc}): {text[:200]!r}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BenchError(f"seed {seed}: `{command}` printed JSON that is not a list of rows")
    return rows


def years_suffix(years: int) -> str:
    """What names a demo folder's and a result's years beyond the default two ("-3y"); empty for two."""
    return f"-{years}y" if years != DEFAULT_YEARS else ""


def demo_state(data: Path, size: str, seed: int, as_of: date, years: int = DEFAULT_YEARS) -> int:
    """How many snapshots of this demo (size, seed, last day, years) the folder holds; -1 if it holds anything else."""
    manifests = sorted((data / "snapshots").glob("*/manifest.json"))
    if not manifests:  # nothing published (a killed build's leftovers are the demo's to clear)
        return 0
    latest = json.loads(manifests[-1].read_text(encoding="utf-8"))  # snapshot folders are named by date
    if latest.get("source") != demo_source(size, seed, years) or latest.get("as_of") != as_of.isoformat():
        return -1
    return len(manifests)


def ensure_demo(data: Path, size: str, seed: int, as_of: date, timeout: float, years: int = DEFAULT_YEARS) -> bool:
    """Build the demo into `data` unless it already holds it; True if this call built it."""
    held, want = demo_state(data, size, seed, as_of, years), len(snapshot_days(size, as_of, years))
    if held == want:
        _say(f"seed {seed}: reusing {data}")
        return False
    if held != 0:  # never add to (or remove) a folder this run cannot vouch for
        raise BenchError(f"seed {seed}: {data} holds something other than the {size} demo of seed {seed} as of "
                         f"{as_of} with {want} snapshots; remove it or choose another --work")
    _say(f"seed {seed}: building the {size} demo in {data}")
    longer = ["--years", str(years)] if years != DEFAULT_YEARS else []
    run_cli(seed, ["demo", "--size", size, "--seed", str(seed), "--as-of", as_of.isoformat(), *longer,
                   "--data", str(data)], timeout)
    return True


def measure_seed(data: Path, seed: int, timeout: float) -> dict:
    """Run the backtest and the forecast on one demo; the seed's summary, weekly rows and forecast fields."""
    _say(f"seed {seed}: backtest")
    weeks = _parse(seed, "forecast-accuracy", run_cli(
        seed, ["forecast-accuracy", "--format", "json", "--data", str(data)], timeout))
    _say(f"seed {seed}: forecast")
    fc = _parse(seed, "forecast", run_cli(seed, ["forecast", "--format", "json", "--data", str(data)], timeout))
    return {"seed": seed, "summary": summarise(weeks), "forecast": forecast_fields(fc[0]) if fc else {},
            "weeks": weeks}


def run_seeds(work: Path, size: str, seeds: list[int], as_of: date, timeout: float, created: list[Path],
              years: int = DEFAULT_YEARS) -> dict:
    """Every seed in turn; folders this run builds are appended to `created` as they appear (for the clean-up)."""
    runs = []
    for seed in seeds:
        data = work / f"{size}-{seed}{years_suffix(years)}"
        existed = data.exists()
        try:
            ensure_demo(data, size, seed, as_of, timeout, years)
        finally:  # a failed build may still leave its folder behind
            if not existed and data.exists():
                created.append(data)
        runs.append(measure_seed(data, seed, timeout))
    return {"size": size, "seeds": seeds, "as_of": as_of.isoformat(), "years": years, "commit": git_commit(),
            "date": time.strftime("%Y-%m-%d %H:%M"), "summary": across([r["summary"] for r in runs]), "runs": runs}


def _seeds(text: str) -> list[int]:
    """Comma-separated seeds."""
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    return seeds


def _clean(created: list[Path]) -> None:
    """Remove what this run created, newest first."""
    for path in reversed(created):
        shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Measure the seeds (or re-print a result), write the JSON and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["S", "M"], default="S", help="the demo's size")
    ap.add_argument("--seeds", type=_seeds, default=[1, 2, 3, 4, 5, 7], help="comma-separated demo seeds")
    ap.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 12, 2), help="the demo's last day")
    ap.add_argument("--years", type=int, choices=YEARS, default=DEFAULT_YEARS,
                    help="the demo's years of history (saleslens demo --years)")
    ap.add_argument("--work", type=Path, help="where the demos go (default: a new temporary folder under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the demos this run built (so a re-run reuses them)")
    ap.add_argument("--out", type=Path, help="the JSON result (default: bench/forecast-seeds-SIZE.json)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds each command may take")
    ap.add_argument("--report-only", type=Path, metavar="FILE", help="re-print the table of an earlier result")
    args = ap.parse_args(argv)
    if args.report_only:
        try:
            sys.stdout.write(markdown(json.loads(args.report_only.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: {args.report_only} is not a forecast_seeds result: {exc!r}", file=sys.stderr)
            return 1
        return 0
    out = args.out or ROOT / "bench" / f"forecast-seeds-{args.size}{years_suffix(args.years)}.json"
    if not out.parent.is_dir():  # say so now, not after the seeds have run
        print(f"error: --out {out}: no folder {out.parent}", file=sys.stderr)
        return 1
    created: list[Path] = []
    if args.work is None:
        work = Path(tempfile.mkdtemp(prefix="forecast-seeds-", dir=tempfile.gettempdir()))
        created.append(work)
    else:
        work = args.work.resolve()
        if not work.exists():
            work.mkdir(parents=True)
            created.append(work)
    try:
        result = run_seeds(work, args.size, args.seeds, args.as_of, args.timeout, created, args.years)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            _say(f"kept {work}")
        else:
            _clean(created)
    out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    _say(f"wrote {out}")
    sys.stdout.write(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
