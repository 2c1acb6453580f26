"""Funnel command: the bottleneck callouts of the Funnel page, with the numbers behind them.

The funnels themselves print with `query funnel_by_stage`, `query funnel_by_cohort`, ...; this command adds
the comparison the page makes on top of them (previous period, whole organisation).
"""

from __future__ import annotations

import argparse
from datetime import date

import polars as pl

from saleslens.cli import CliError, add_data_arg, add_format_arg, emit, open_runner
from saleslens.core.filters import LIST_FILTERS, Filters
from saleslens.funnel import logic as funnel


def register(sub: argparse._SubParsersAction) -> None:
    """Add the funnel-bottleneck command."""
    p = sub.add_parser("funnel-bottleneck",
                       help="the funnel step that fell most against the previous period and the lowest against "
                            "the whole organisation")
    p.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day of the period")
    p.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day of the period")
    p.add_argument("--method", choices=["auto", "cohort", "current"], default="auto",
                   help="cohort funnel (needs stage history) or current-state funnel; auto picks cohort when "
                        "the snapshot has stage history")
    p.add_argument("--min-deals", type=int, default=5, help="deals that must have left a stage to judge it")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help=f"a filter, comma-separated values ({', '.join(LIST_FILTERS)}), e.g. regions=EMEA")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_bottleneck)


def _filters(args: argparse.Namespace) -> Filters:
    """The period and list filters given on the command line."""
    if args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    lists: dict[str, tuple[str, ...]] = {}
    for pair in args.param:
        key, sep, value = pair.partition("=")
        if not sep or key.strip() not in LIST_FILTERS:
            raise CliError(f"--param must be one of {', '.join(LIST_FILTERS)} as KEY=VALUE, got '{pair}'")
        lists[key.strip()] = tuple(v.strip() for v in value.split(",") if v.strip())
    return Filters(period="custom", start=args.start, end=args.end, **lists)


def _row(b: funnel.Bottleneck | None, kind: str) -> dict:
    """One callout as a table row (empty numbers when there is nothing to single out)."""
    s = b.step if b else None
    r = b.reference if b else None
    return {
        "callout": b.kind if b else kind, "from_stage": s.from_stage if s else None,
        "to_stage": s.to_stage if s else None, "moved_on": s.moved_on if s else None,
        "decided": s.decided if s else None, "waiting": s.waiting if s else None, "rate": s.rate if s else None,
        "ref_moved_on": r.moved_on if r else None, "ref_decided": r.decided if r else None,
        "ref_rate": r.rate if r else None, "change": b.change if b else None,
    }


def cmd_bottleneck(args: argparse.Namespace) -> int:
    """Print the two bottleneck callouts for a period and filters."""
    f = _filters(args)
    prev = f.previous()
    runner = open_runner(args, args.snapshot)
    cohort = args.method == "cohort" or (args.method == "auto" and runner.snapshot.has("stage_changes"))
    filtered = funnel.has_filters(f.params())
    if cohort:
        both = runner.run("funnel_by_cohort", **f.params(), prev_start=prev.start, prev_end=prev.end)
        now = both.filter(pl.col("cohort") == "current")
        before = both.filter(pl.col("cohort") == "previous")
        org = runner.run("funnel_by_cohort", start=f.start, end=f.end) if filtered else None
    else:
        now = runner.run("funnel_by_stage", **f.params())
        before = runner.run("funnel_by_stage", **prev.params())
        org = runner.run("funnel_by_stage", start=f.start, end=f.end) if filtered else None
    rows = [_row(funnel.drop_vs_previous(now, before, args.min_deals), "vs_previous"),
            _row(funnel.lowest_vs_org(now, org if filtered else None, args.min_deals),
                 "vs_org" if filtered else "lowest")]
    emit(pl.DataFrame(rows).with_columns(pl.lit("cohort" if cohort else "current").alias("funnel")), args.format)
    return 0
