"""The `scenario` command: print what a saved what-if scenario does, computed as the app computes it;
`scenario list` and `scenario delete NAME` manage the saved ones under the same rules as the app."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl

from saleslens.cli import CliError, acting_user, add_data_arg, emit, open_runner, writer
from saleslens.core import settings, store
from saleslens.whatif import commission, scenarios
from saleslens.whatif import store as scenario_store
from saleslens.whatif.load import with_model_pipeline

LEVELS = ("summary", "reps", "teams", "regions", "all")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the scenario command."""
    p = sub.add_parser(
        "scenario", help="print the outputs of a what-if scenario (a JSON file or the name of a saved one)",
        description="Compute a what-if scenario saved from the What-if page (or written by hand in the same "
                    "format) and print its outputs: summary, per rep, team and region.",
    )
    p.add_argument("action", nargs="?", choices=["list", "delete"],
                   help="list the saved scenarios (those --as USER may see), or delete NAME (its owner or an admin)")
    p.add_argument("name", nargs="?", help="the saved scenario to delete")
    p.add_argument("--file", metavar="SCENARIO",
                   help="scenario JSON file, or the name of a saved scenario")
    p.add_argument("--list", action="store_true", help="list the saved scenarios (same as `scenario list`)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    p.add_argument("--level", choices=LEVELS, default=None,
                   help="what to print (default: all for json, summary for table and csv)")
    p.add_argument("--explain", metavar="REP_ID", help="print the step-by-step commission of one rep instead")
    p.add_argument("--snapshot", help="snapshot id (default: the one the scenario was saved on)")
    p.add_argument("--plans", type=Path, help="commission plans file (default: the plans saved with the scenario)")
    add_data_arg(p)
    p.set_defaults(func=cmd_scenario)


def cmd_scenario(args: argparse.Namespace) -> int:
    """Compute a scenario and print it."""
    data_dir = settings.data_dir(args.data)
    if args.list or args.action == "list":
        rows = [{"name": s.name, "saved_at": s.saved_at, "owner": s.owner, "visibility": s.visibility,
                 "version": s.version, "problem": s.error or ""}
                for s in scenario_store.list_saved(data_dir, who=acting_user(args))]
        if not rows:
            raise CliError("no saved scenario" + (f" that {args.as_user} may see" if args.as_user else ""))
        emit(pl.DataFrame(rows), args.format)
        return 0
    if args.action == "delete":
        if not args.name:
            raise CliError("give the name of the scenario to delete: scenario delete NAME")
        scenario_store.delete(data_dir, args.name, who=writer(args))
        print(f"deleted scenario '{args.name}'")
        return 0
    if not args.file:
        raise CliError("give --file SCENARIO (a JSON file or a saved scenario's name), or `scenario list`")
    sc = scenario_store.resolve(data_dir, args.file, who=acting_user(args))
    snapshot = args.snapshot or sc.snapshot
    if snapshot and not args.snapshot and snapshot not in {s.id for s in store.list_snapshots(data_dir)}:
        raise CliError(f"the scenario was saved on snapshot {snapshot}, which is not in {data_dir}; "
                       "pass --snapshot to compute it on another one")
    runner = open_runner(args, snapshot)
    result, plans = compute(runner, data_dir, sc, args.plans)
    for note in result.warnings:
        sys.stderr.write(f"note: {scenarios.note_text(note, 'en')}\n")
    if args.explain:
        return explain(result, plans, args.explain, args.format)
    level = args.level or ("all" if args.format == "json" else "summary")
    if args.format == "json":
        out = {"scenario": scenario_store.to_dict(sc)["inputs"] | {"name": sc.name},
               "snapshot": runner.snapshot.id, "as_of": runner.snapshot.as_of.isoformat(), **sections(result, level)}
        sys.stdout.write(json.dumps(out, default=str, ensure_ascii=False, indent=1) + "\n")
        return 0
    if level == "all":
        if args.format == "csv":
            raise CliError("csv prints one table: choose --level summary, reps, teams or regions")
        for name, frame in frames(result).items():
            sys.stdout.write(f"\n## {name}\n")
            emit(frame, args.format)
        return 0
    emit(frames(result)[level], args.format)
    return 0


def compute(runner, data_dir: Path, sc: scenarios.Scenario, plans_file: Path | None
            ) -> tuple[scenarios.Result, commission.Plans]:
    """The scenario's outputs on a runner's snapshot, with the plans it was saved with unless told otherwise."""
    if plans_file is not None:
        plans = commission.load(plans_file)
    elif sc.plans is not None:
        plans = commission.parse(sc.plans, "the plans saved with the scenario")
    else:
        plans = commission.load(data_dir=data_dir)
    base = runner.run("whatif_base_by_rep", start=sc.start, end=sc.end, regions=list(sc.regions),
                      teams=list(sc.teams), reps=list(sc.reps))
    base = with_model_pipeline(runner, base, sc.start, sc.end, sc.regions, sc.teams, sc.reps)
    if sc.target_set:
        base = scenario_store.with_targets(
            base, scenario_store.target_set_targets(data_dir, sc.target_set, sc.start, sc.end))
    return scenarios.compute(base, sc, plans, runner.snapshot.as_of), plans


def frames(result: scenarios.Result) -> dict[str, pl.DataFrame]:
    """The outputs as tables: summary (measure, value), reps, teams, regions."""
    summary = pl.DataFrame({"measure": list(scenarios.SUMMARY_KEYS),
                            "value": [_num(result.summary[k]) for k in scenarios.SUMMARY_KEYS]})
    reps = result.reps.drop("win_factor", "size_factor", "cycle_factor", strict=False)
    return {"summary": summary, "reps": reps, "teams": result.teams, "regions": result.regions}


def sections(result: scenarios.Result, level: str) -> dict[str, object]:
    """The outputs as JSON-ready sections."""
    out: dict[str, object] = {}
    if level in ("summary", "all"):
        out["summary"] = result.summary
    for name in ("teams", "regions", "reps"):
        if level in (name, "all"):
            out[name] = frames(result)[name].to_dicts()
    out["notes"] = [scenarios.note_text(n, "en") for n in result.warnings]
    return out


def explain(result: scenarios.Result, plans: commission.Plans, rep_id: str, fmt: str) -> int:
    """Print one rep's commission, baseline and scenario, step by step."""
    rows = result.reps.filter(pl.col("rep_id") == rep_id)
    if rows.height == 0:
        raise CliError(f"rep '{rep_id}' is not in this scenario's results (see --level reps)")
    row = rows.row(0, named=True)
    plan = plans.plan(row["role"])
    parts = []
    for case, bookings, target in (("baseline", row["baseline"], row["target"]),
                                   ("scenario", row["projected"], row["target_scn"])):
        table = commission.describe(plan.explain(bookings, target), plan, "en")
        if table.height:
            parts.append(table.select(pl.lit(case).alias("case"), pl.all()))
    if not parts:
        raise CliError(f"rep '{rep_id}' has no target in the period, so no commission is worked out")
    emit(pl.concat(parts), fmt)
    return 0


def _num(value: object) -> float | None:
    return None if value is None else float(value)
