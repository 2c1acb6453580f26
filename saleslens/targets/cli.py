"""Targets commands: attainment, pacing, forecast, forecast-accuracy, coverage, leading and targets (plan, sets).

They print exactly what the Targets & forecast page shows, from the same functions (saleslens.targets.logic.data).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import polars as pl

from queries.runner import Runner
from saleslens.cli import CliError, acting_user, add_data_arg, add_format_arg, emit, open_runner, writer
from saleslens.core import access, settings, store
from saleslens.core.filters import Filters
from saleslens.targets import data as td
from saleslens.targets import forecast as fm
from saleslens.targets import logic as tg
from saleslens.targets import sets as target_sets


def _split(value: str | None) -> tuple[str, ...]:
    """A comma-separated option as a tuple of values."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _common(p: argparse.ArgumentParser, group: bool = True, source: bool = True) -> None:
    """Options most targets commands share: data, snapshot, format, the group and the target source."""
    if group:
        p.add_argument("--region", help="only these regions (comma-separated)")
        p.add_argument("--team", help="only these teams (comma-separated)")
        p.add_argument("--rep", help="only these rep_ids (comma-separated)")
        p.add_argument("--product", help="only deals of these product_ids (comma-separated)")
        p.add_argument("--segment", help="only deals with accounts in these segments (comma-separated)")
        p.add_argument("--source", dest="deal_source", help="only deals from these lead sources (comma-separated)")
    if source:
        p.add_argument("--set", dest="target_set", default="",
                       help="use this saved target set instead of the snapshot's targets")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    add_format_arg(p)


def _filters(args: argparse.Namespace, start: date | None = None, end: date | None = None) -> Filters:
    """The group and deal filters given on the command line."""
    return Filters(
        period="custom", start=start, end=end, regions=_split(getattr(args, "region", None)),
        teams=_split(getattr(args, "team", None)), reps=_split(getattr(args, "rep", None)),
        products=_split(getattr(args, "product", None)), segments=_split(getattr(args, "segment", None)),
        sources=_split(getattr(args, "deal_source", None)),
    )


def _open(args: argparse.Namespace) -> tuple[Runner, Filters, pl.DataFrame, pl.DataFrame]:
    """The runner, filters, people of the group and target rows for a command."""
    runner = open_runner(args, args.snapshot)
    f = _filters(args)
    people = td.members(runner, f)
    if people.is_empty():
        raise CliError("nobody in the data matches the --region/--team/--rep filters")
    if getattr(args, "target_set", "") and args.as_user:  # --as may use only the sets that user may see
        target_sets.load(settings.data_dir(args.data), args.target_set, who=acting_user(args))
    rows = td.target_rows(runner, settings.data_dir(args.data), getattr(args, "target_set", ""))
    return runner, f, people, rows


def register(sub: argparse._SubParsersAction) -> None:
    """Add the targets commands."""
    p = sub.add_parser("attainment", help="bookings against target by month or quarter (also the heatmap's data)")
    p.add_argument("--by", choices=tg.GROUPINGS, default="org", help="one series per org, region, team or rep")
    p.add_argument("--grain", choices=tg.GRAINS, default="month", help="month or quarter")
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (default: Jan 1 of last year)")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (default: Dec 31 of this year)")
    _common(p)
    p.set_defaults(func=cmd_attainment)

    p = sub.add_parser("pacing", help="this quarter's closed-to-date against the usual pace (--by for each member)")
    p.add_argument("--by", choices=tg.GROUPINGS, help="one row per rep, team or region of the group")
    p.add_argument("--curve", action="store_true", help="print the learned share-by-week curve instead")
    p.add_argument("--min-deals", type=int, default=tg.MIN_STAGE_DEALS, help="closed deals a stage needs to learn")
    _common(p)
    p.set_defaults(func=cmd_pacing)

    p = sub.add_parser("forecast", help="bookings expected to close won by quarter end, with the 80%% range from "
                                        "the model's past errors")
    show = p.add_mutually_exclusive_group()
    show.add_argument("--stages", action="store_true", help="print each stage's learned chance of winning in-quarter")
    show.add_argument("--deals", action="store_true", help="print the open deals with their chance")
    show.add_argument("--categories", action="store_true", help="print the reps' forecast categories (their call)")
    show.add_argument("--managers", action="store_true",
                      help="print per manager the model's forecast beside the reps' call, and the gap")
    _common(p)
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("forecast-accuracy", help="backtest: per week before quarter end, the forecast's MAPE, bias "
                                                 "and range coverage beside three naive baselines")
    p.add_argument("--detail", action="store_true",
                   help="print one row per snapshot day of each past quarter instead of the table per week")
    _common(p, source=False)
    p.set_defaults(func=cmd_accuracy)

    p = sub.add_parser("coverage", help="open pipeline due this quarter against the target still to close")
    _common(p)
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser("leading", help="activities per rep per week against target, and activity-to-win conversion")
    p.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (default: quarter start)")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (default: the snapshot date)")
    show = p.add_mutually_exclusive_group()
    show.add_argument("--weekly", action="store_true", help="print activities per rep per week and type")
    show.add_argument("--conversion", action="store_true", help="print the activity-to-win steps")
    _common(p)
    p.set_defaults(func=cmd_leading)

    p = sub.add_parser("targets", help="plan targets (decompose) and manage saved target sets")
    tsub = p.add_subparsers(dest="targets_command", required=True, metavar="ACTION")
    d = tsub.add_parser("decompose", help="split a team's annual target into months and reps")
    d.add_argument("--team", required=True, help="the team to plan")
    d.add_argument("--year", type=int, required=True, help="the year to plan")
    d.add_argument("--parent", type=float, help="annual target (default: the team's current target for the year)")
    d.add_argument("--months", choices=[m for m in tg.ANNUAL_METHODS if m != "hand"], default="seasonality",
                   help="how to split the year into months")
    d.add_argument("--month-values", help="12 comma-separated monthly values instead (split by hand)")
    d.add_argument("--reps", choices=[m for m in tg.TEAM_METHODS if m != "hand"], default="history",
                   help="how to split the team into reps")
    d.add_argument("--rep-values", help="comma-separated rep_id=value pairs instead (split by hand)")
    d.add_argument("--ramp", type=int, default=tg.RAMP_MONTHS, help="ramp-up months of new hires (capacity)")
    d.add_argument("--show", choices=["reps", "months", "quarters", "rows"], default="reps", help="what to print")
    d.add_argument("--save", metavar="NAME", help="save the plan as this target set")
    d.add_argument("--replace", action="store_true", help="with --save: replace the set instead of merging into it")
    d.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(d)
    add_format_arg(d)
    d.set_defaults(func=cmd_decompose)
    s = tsub.add_parser("sets", help="list the saved target sets")
    add_data_arg(s)
    add_format_arg(s)
    s.set_defaults(func=cmd_sets)
    s = tsub.add_parser("show", help="print the rows of a saved target set")
    s.add_argument("name", help="the set's name")
    add_data_arg(s)
    add_format_arg(s)
    s.set_defaults(func=cmd_show)
    s = tsub.add_parser("delete", help="delete a saved target set")
    s.add_argument("name", help="the set's name")
    add_data_arg(s)
    s.set_defaults(func=cmd_delete)


def cmd_attainment(args: argparse.Namespace) -> int:
    """Print attainment per group and period."""
    runner, f, people, rows = _open(args)
    start, end = td.trend_range(Filters(period="custom", start=args.start, end=args.end), runner.snapshot.as_of)
    start, end = args.start or start, args.end or end
    if start > end:
        raise CliError(f"--from {start} is after --to {end}")
    emit(td.attainment_table(runner, f, rows, people, args.by, args.grain, start, end, runner.snapshot.as_of),
         args.format)
    return 0


def _quarter(args: argparse.Namespace) -> tuple[Runner, Filters, pl.DataFrame, pl.DataFrame, td.PacingReport,
                                                td.ForecastReport]:
    """Pacing and forecast of the snapshot's quarter for the command's group."""
    runner, f, people, rows = _open(args)
    pacing = td.pacing_report(runner, f, rows, people, runner.snapshot.as_of)
    fc = td.forecast_report(runner, f, pacing.q_start, pacing.q_end, pacing.pace.closed)
    return runner, f, people, rows, pacing, fc


def cmd_pacing(args: argparse.Namespace) -> int:
    """Print pacing for the group, its curve, or one row per member."""
    runner, f, people, rows, pacing, fc = _quarter(args)
    if args.curve:
        curve = pacing.curve or []
        emit(pl.DataFrame({"week": list(range(len(curve))), "share_closed_by_week_end": curve,
                           "source": [pacing.curve_source] * len(curve)}), args.format)
        return 0
    if args.by:
        emit(td.members_table(runner, f, rows, people, args.by, pacing, fc), args.format)
        return 0
    p = pacing.pace
    emit(pl.DataFrame([{
        "quarter_start": pacing.q_start, "quarter_end": pacing.q_end, "as_of": pacing.as_of, "target": p.target,
        "closed": p.closed, "attainment": p.attainment, "expected_share": p.share, "expected": p.expected,
        "gap": p.gap, "gap_pct": p.gap_pct, "status": None if p.ahead is None else ("ahead" if p.ahead else "behind"),
        "curve_source": pacing.curve_source, "quarters_learned": pacing.quarters_learned,
    }]), args.format)
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    """Print the forecast, its stage chances, its deals, the reps' categories or the gap per manager."""
    _, _, people, _, pacing, fc = _quarter(args)
    out = fc.outcome
    if args.stages:
        emit(fc.probabilities, args.format)
    elif args.deals:
        emit(fc.deals.select("opportunity_id", "owner_id", "owner_name", "account_name", "segment", "stage",
                             "forecast_category", "expected_close_date", "pushes", "amount", "probability",
                             "weighted"), args.format)
    elif args.categories:
        if fc.categories.is_empty():
            raise CliError("the data has no forecast categories")
        emit(fc.categories, args.format)
    elif args.managers:
        emit(td.manager_gap(fc, people), args.format)
    else:
        if out.method != "model":
            sys.stderr.write(f"note: fewer than {fm.MIN_PERIODS} past quarters of snapshots ({out.periods}): "
                             f"fallback '{out.method}' (stage probabilities of open deals due), no range\n")
        elif out.learned_from == fm.STAGE_HISTORY:
            sys.stderr.write("note: no snapshot of a past quarter: the model learned from past weeks rebuilt from "
                             "stage history (expected close dates and pushes of those weeks are unknown)\n")
        if out.method == "model" and out.low is None:  # the range's rule found too few past errors: say so
            sys.stderr.write(f"note: too few past errors at this point of the quarter for an honest range "
                             f"({out.errors} within {fm.RANGE_WEEKS} weeks): no range\n")
        if out.deals.is_empty():
            sys.stderr.write("note: no open pipeline: the forecast is what has closed so far\n")
        if pacing.pace.target is None:
            sys.stderr.write("note: no bookings target for this quarter\n")
        emit(pl.DataFrame([{
            "quarter_start": pacing.q_start, "quarter_end": pacing.q_end, "as_of": pacing.as_of,
            "target": pacing.pace.target, "closed": out.closed, "from_open_deals": out.from_open,
            "from_new_deals": out.new, "forecast": out.expected, "low": out.low, "high": out.high,
            "range_coverage": out.coverage, "range_errors": out.errors, "method": out.method,
            "quarters_learned": out.periods, "learned_from": out.learned_from, "shrinkage_k": out.prior,
            "weighting": out.weighting,
            "new_growth": out.new_growth,
            "season_level": out.season.level, "season_ratio": out.season.ratio, "season_quarters": out.season.quarters,
            "weeks_left": out.week, "open_pipeline": fc.forecast.open_total,
            "open_deals": fc.forecast.open_deals, "forecast_attainment": tg.ratio_or_none(out.expected,
                                                                                          pacing.pace.target),
        }]), args.format)
    return 0


def cmd_accuracy(args: argparse.Namespace) -> int:
    """Print the backtest table per week before quarter end (or every backtested day with --detail)."""
    runner = open_runner(args, args.snapshot)
    frame = td.accuracy(runner, _filters(args))
    if frame.is_empty():
        raise CliError(f"fewer than {fm.MIN_PERIODS + 1} complete past quarters of weekly snapshots or stage "
                       "history: nothing to backtest yet (the model needs two quarters to learn from and one to "
                       "check)")
    emit(frame if args.detail else td.accuracy_summary(frame), args.format)
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print coverage of the remaining target for the group."""
    runner, f, _, _, pacing, fc = _quarter(args)
    rep = td.coverage_report(runner, f, pacing.q_start, pacing.pace.target, pacing.pace.closed,
                             fc.forecast.open_total)
    c = rep.coverage
    emit(pl.DataFrame([{
        "quarter_start": pacing.q_start, "target": c.target, "closed": c.closed, "remaining": c.remaining,
        "open_pipeline": c.open_pipeline, "coverage": c.ratio, "win_rate": c.win_rate,
        "win_rate_source": rep.win_rate_source, "history_start": rep.history_start, "history_end": rep.history_end,
        "pipeline_needed": c.needed, "pipeline_gap": c.gap,
    }]), args.format)
    return 0


def cmd_leading(args: argparse.Namespace) -> int:
    """Print activities per rep against target, per week, or the conversion steps."""
    runner, f, people, _ = _open(args)
    as_of = runner.snapshot.as_of
    start = args.start or tg.quarter_bounds(as_of)[0]
    end = args.end or as_of
    if start > end:
        raise CliError(f"--from {start} is after --to {end}")
    lead = td.leading_report(runner, settings.data_dir(args.data), f, start, end, args.target_set, people)
    if args.weekly:
        emit(lead.weekly, args.format)
    elif args.conversion:
        emit(lead.conversion, args.format)
    else:
        emit(lead.per_rep, args.format)
    return 0


def _numbers(text: str, what: str) -> list[float]:
    """Comma-separated numbers, or a CliError naming the bad one."""
    out = []
    for i, part in enumerate(text.split(","), start=1):
        try:
            out.append(float(part))
        except ValueError:
            raise CliError(f"{what}: value {i} ('{part.strip()}') is not a number") from None
    return out


def cmd_decompose(args: argparse.Namespace) -> int:
    """Split a team's annual target into months and reps; print it and optionally save it as a set."""
    data_dir = settings.data_dir(args.data)
    runner = open_runner(args, args.snapshot)
    as_of = runner.snapshot.as_of
    f = Filters(period="custom")
    people = td.members(runner, f)
    if args.team not in set(people["team"].drop_nulls().to_list()):
        teams = ", ".join(sorted(people["team"].drop_nulls().unique()))
        raise CliError(f"there is no team '{args.team}' (teams: {teams})")
    team_people, shares = td.plan_inputs(runner, f, args.team, as_of)
    parent = args.parent
    if parent is None:
        parent = td.team_annual_target(td.target_rows(runner, data_dir), people, args.team, args.year)
        if parent is None:
            raise CliError(f"team {args.team} has no target for {args.year}: give one with --parent")
    if args.month_values:
        months = tg.decompose_annual(parent, args.year, "hand", hand=_numbers(args.month_values, "--month-values"))
    else:
        months = tg.decompose_annual(parent, args.year, args.months, shares)
    quota = tg.quota_reps(team_people, args.team, date(args.year, 1, 1), date(args.year, 12, 31))
    if quota.is_empty():
        raise CliError(f"team {args.team} has nobody who can carry a quota in {args.year}")
    h_start, h_end = td.history_window(as_of)
    if args.rep_values:
        given = dict(_pair(x) for x in args.rep_values.split(","))
        unknown = set(given) - set(quota["rep_id"].to_list())
        if unknown:
            raise CliError(f"--rep-values: {', '.join(sorted(unknown))} not in team {args.team}'s quota reps")
        hand = [given.get(r) for r in quota["rep_id"].to_list()]
        if any(v is None for v in hand):
            missing = [r for r, v in zip(quota["rep_id"].to_list(), hand, strict=True) if v is None]
            raise CliError(f"--rep-values: no value for {', '.join(missing)}")
        split = tg.decompose_team(months, quota, "hand", hand=hand)
    else:
        split = tg.decompose_team(months, quota, args.reps, h_start, h_end, args.ramp)
    for key, values in split.notes:
        sys.stderr.write("note: " + tg.t(key, "en", **values) + "\n")
    rows = tg.plan_rows(args.team, months, split)
    if args.save:
        saved = target_sets.save(data_dir, args.save, rows, merge=not args.replace, who=writer(args),
                                 extra={"source_snapshot": runner.snapshot.id, "team": args.team, "year": args.year})
        sys.stderr.write(f"saved target set '{saved.name}' ({saved.meta['rows']} rows, "
                         f"version {saved.meta['version']})\n")
    shown = {"reps": split.reps, "months": months, "quarters": tg.quarters_of(months), "rows": rows}[args.show]
    emit(shown, args.format)
    return 0


def _pair(text: str) -> tuple[str, float]:
    """rep_id=value, or a CliError."""
    key, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return key.strip(), float(value)
    except ValueError:
        raise CliError(f"--rep-values must look like R1=1000,R2=2000; got '{text}'") from None


def cmd_sets(args: argparse.Namespace) -> int:
    """List the saved target sets (those --as USER may see)."""
    sets = target_sets.list_meta(settings.data_dir(args.data), who=acting_user(args))
    if not sets:
        raise CliError("no saved target set yet (save one with `targets decompose ... --save NAME` or in the app)")
    cols = ("name", "description", "rows", "owners", "first_period", "last_period", "updated_at", "owner",
            "visibility", "version")
    emit(pl.DataFrame([{c: s.get(c) for c in cols} for s in sets]), args.format)
    return 0


def visible_rows(rows: pl.DataFrame, who: access.Actor | None, data_dir: Path) -> pl.DataFrame:
    """The rows of a set the user may see: their reps' rows and those reps' teams' rows, as the page shows."""
    if who is None or who.rep_ids is None:
        return rows
    reps = access.reps_of(store.open_snapshot(data_dir)).filter(pl.col("rep_id").is_in(list(who.rep_ids)))
    return tg.rows_for_group(rows, reps, team_rows=True)


def cmd_show(args: argparse.Namespace) -> int:
    """Print a saved target set's rows (only those --as USER may see)."""
    data_dir = settings.data_dir(args.data)
    who = acting_user(args)
    emit(visible_rows(target_sets.load(data_dir, args.name, who=who).rows, who, data_dir), args.format)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a saved target set (as --as USER: its owner, analysts and admins)."""
    target_sets.delete(settings.data_dir(args.data), args.name, who=writer(args))
    print(f"deleted target set '{args.name}'")
    return 0
