"""Core commands: demo, snapshots, kpis, query, schema, settings."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

import polars as pl

from queries import catalog
from saleslens.cli import CliError, add_data_arg, add_format_arg, emit, open_runner
from saleslens.core import schema, settings, store
from saleslens.kpis.registry import GROUP_BY

DEMO_YEARS = (2, 3, 4, 5)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the core commands."""
    p = sub.add_parser("demo", help="generate the demo dataset into the data directory")
    p.add_argument("--size", choices=["S", "M", "L", "XL"], default="S",
                   help="S about 60 reps, M 500, L 5,000, XL 50,000 (streamed, 4 snapshots)")
    p.add_argument("--seed", type=int, default=int(settings.get("demo_seed")), help="random seed")
    p.add_argument("--as-of", type=date.fromisoformat, default=None, help="last day of the data (default today)")
    # demo.YEARS and demo.DEFAULT_YEARS (a test keeps them equal): the demo module is imported only to build
    p.add_argument("--years", type=int, choices=DEMO_YEARS, default=DEMO_YEARS[0],
                   help="years of history, each week a snapshot (S, M; L keeps 13 snapshots; XL two years)")
    add_data_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("derive", help="write the derived tables (rollups) of snapshots published without them")
    p.add_argument("--snapshot", help="snapshot id (default: every snapshot)")
    p.add_argument("--only", action="append", metavar="NAME", help="only this derived table (repeatable)")
    add_data_arg(p)
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("snapshots", help="list snapshots with their row counts")
    add_data_arg(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_snapshots)

    p = sub.add_parser("kpis", help="print the canonical KPIs for each group, as the app computes them")
    p.add_argument("--by", choices=GROUP_BY, default="org", help="dimension to group by")
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (default: all time)")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (default: all time)")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_kpis)

    p = sub.add_parser("query", help="run a named query; --list shows them with their parameters")
    p.add_argument("name", nargs="?", help="query name (see --list)")
    p.add_argument("--list", action="store_true", help="list the named queries")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter; lists are comma-separated (regions=EMEA,APAC)")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("schema", help="print the canonical schema as Markdown")
    p.set_defaults(func=lambda args: sys.stdout.write(schema.markdown() + "\n") and 0)

    p = sub.add_parser("settings", help="print the settings with their environment variables")
    p.set_defaults(func=lambda args: sys.stdout.write(settings.markdown() + "\n") and 0)


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo and publish its weekly snapshots."""
    from saleslens import demo

    data_dir = settings.data_dir(args.data)
    started = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        sys.stderr.write(f"\r{fraction:4.0%} {message:<60}")

    try:
        snaps = demo.build(data_dir, size=args.size, seed=args.seed, as_of=args.as_of, progress=progress,
                           years=args.years)
    except ValueError as e:  # --years with XL
        raise CliError(str(e)) from None
    sys.stderr.write("\n")
    print(f"published {len(snaps)} snapshots in {data_dir} in {time.perf_counter() - started:.1f} s;"
          f" latest {snaps[-1].id}")
    return 0


def cmd_derive(args: argparse.Namespace) -> int:
    """Write (or rewrite) the derived tables of one snapshot or all of them."""
    from queries.runner import build_derived

    data_dir = settings.data_dir(args.data)
    snaps = [store.open_snapshot(data_dir, args.snapshot)] if args.snapshot else store.list_snapshots(data_dir)
    if not snaps:
        raise CliError(f"no snapshot in {data_dir}; run `python -m saleslens demo` or import data")
    for snap in snaps:
        started = time.perf_counter()
        try:
            counts = build_derived(snap, args.only)
        except catalog.QueryError as exc:
            raise CliError(str(exc)) from None
        rows = ", ".join(f"{name} {n:,}" for name, n in counts.items()) or "no derived tables"
        print(f"{snap.id}: {rows} ({time.perf_counter() - started:.1f} s)")
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    """List snapshots with their row counts."""
    data_dir = settings.data_dir(args.data)
    snaps = store.list_snapshots(data_dir)
    if not snaps:
        raise CliError(f"no snapshot in {data_dir}; run `python -m saleslens demo` or import data")
    if args.as_user:
        emit(pl.DataFrame([_scoped_counts(args, s) for s in snaps]), args.format)
        return 0
    rows = [
        {"snapshot": s.id, "as_of": s.manifest["as_of"], "source": s.manifest.get("source", "")}
        | {t: s.manifest.get("row_counts", {}).get(t, 0) for t in schema.SNAPSHOT_TABLES}
        | {t: s.manifest.get("events", {}).get(t, 0) for t in schema.EVENT_TABLES}
        for s in snaps
    ]
    emit(pl.DataFrame(rows), args.format)
    return 0


# Tables every viewer sees whole (reference data); the manifest's counts of the others are organisation-wide.
_REFERENCE_TABLES = ("stages", "accounts", "products")
_SCOPED_COUNTS = ("opportunities", "leads", "activities", "stage_changes", "payments")


def _scoped_counts(args: argparse.Namespace, snap: store.Snapshot) -> dict[str, object]:
    """One snapshot's row counts as --as USER sees them: their reps' rows, counted through their scoped views."""
    runner = open_runner(args, snap.id)  # refuses a user who sees nothing
    counts = dict(runner.run("health_freshness_by_table").select("table_name", "row_count").iter_rows())
    rep_ids = runner.scope.rep_ids
    reps = snap.manifest.get("row_counts", {}).get("reps", 0) if rep_ids is None else len(rep_ids)
    return ({"snapshot": snap.id, "as_of": snap.manifest["as_of"], "source": snap.manifest.get("source", ""),
             "reps": reps}
            | {t: snap.manifest.get("row_counts", {}).get(t, 0) for t in _REFERENCE_TABLES}
            | {t: int(counts.get(t, 0)) for t in _SCOPED_COUNTS})


def cmd_kpis(args: argparse.Namespace) -> int:
    """Print kpis_by_group for the chosen dimension and period."""
    if args.start and args.end and args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    runner = open_runner(args, args.snapshot)
    emit(runner.run("kpis_by_group", by=args.by, start=args.start, end=args.end), args.format)
    return 0


def _parse_params(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs to a dict; a pair without '=' is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param must look like KEY=VALUE, got '{pair}'")
        out[key.strip()] = value
    return out


def cmd_query(args: argparse.Namespace) -> int:
    """Run a named query, or list them."""
    if args.list:
        rows = [
            {"query": q.name, "purpose": q.purpose, "grain": q.grain,
             "parameters": ", ".join(f"{p.name}:{p.type}" for p in q.params)}
            for q in catalog.catalog().values()
        ]
        emit(pl.DataFrame(rows), args.format)
        return 0
    if not args.name:
        raise CliError("give a query name, or --list to see them")
    query = catalog.get(args.name)
    params = _parse_params(args.param)
    catalog.bind(query, params)  # check names and types before opening any data
    runner = open_runner(args, args.snapshot)
    emit(runner.run(args.name, **params), args.format)
    return 0
