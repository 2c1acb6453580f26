"""Review commands: `review` writes a quarterly review pack; `scorecard` prints the scores behind it;
`ratings list|set|history` reads and writes managers' ratings under the same rules as the app."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from saleslens.cli import CliError, acting_user, add_data_arg, add_format_arg, emit, open_runner, writer
from saleslens.core import access, i18n, settings
from saleslens.core.context import RunnerContext
from saleslens.core.filters import Filters
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import load as rankings_load
from saleslens.rankings import ratings, review, scorecards


def register(sub: argparse._SubParsersAction) -> None:
    """Add the review and scorecard commands."""
    p = sub.add_parser("review", help="write a quarterly review pack (FILE.html, FILE.xlsx, FILE.pdf)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--rep", help="rep_id of the rep to review")
    who.add_argument("--team", help="team name to review")
    p.add_argument("--quarter", required=True, help="quarter to review, like 2026Q3")
    p.add_argument("--out", required=True, help="output path without extension; FILE.html, .xlsx and .pdf are written")
    p.add_argument("--scorecard", action="append", default=[], metavar="NAME",
                   help="a saved scorecard to use for its role (default: the standard one per role)")
    p.add_argument("--lang", choices=list(i18n.LANGUAGES), default=None, help="language (default: the setting)")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("scorecard", help="print each rep's score, rank and rank change for a quarter and role")
    p.add_argument("--quarter", required=True, help="quarter, like 2026Q3")
    p.add_argument("--role", default="AE", choices=list(scorecards.SCORED_ROLES), help="role to score")
    p.add_argument("--scorecard", default=None, metavar="NAME", help="a saved scorecard (default: the standard one)")
    p.add_argument("--breakdown", action="store_true", help="print the per-KPI breakdown instead of the scores")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_scorecard)
    _register_leaderboard(sub)
    _register_ratings(sub)


def _register_leaderboard(sub: argparse._SubParsersAction) -> None:
    """Add `leaderboard`: the Leaderboard tab's ranking, the command its CLI line prints."""
    p = sub.add_parser("leaderboard", help="print one role's reps ranked by a KPI for a period, as the Leaderboard "
                                           "tab ranks them (with the rank change against the period before)")
    p.add_argument("--kpi", default="bookings", choices=list(scorecards.LEADERBOARD_KPIS), help="KPI to rank by")
    p.add_argument("--role", choices=list(scorecards.SCORED_ROLES),
                   help="role to rank (default: the first role with reps in view)")
    p.add_argument("--from", dest="start", type=date.fromisoformat,
                   help="first day (with --to; default: the snapshot's quarter)")
    p.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (with --from)")
    p.add_argument("--region", help="only reps in these regions (comma-separated)")
    p.add_argument("--team", help="only reps in these teams (comma-separated)")
    p.add_argument("--rep", help="only these rep_ids (comma-separated)")
    p.add_argument("--lang", choices=list(i18n.LANGUAGES), default=None,
                   help="language of the change and basis columns (default: the setting)")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    add_data_arg(p)
    add_format_arg(p)
    p.set_defaults(func=cmd_leaderboard)


def _register_ratings(sub: argparse._SubParsersAction) -> None:
    """Add `ratings list|set|history`."""
    p = sub.add_parser("ratings", help="list, set or show the history of managers' ratings of reps")
    rsub = p.add_subparsers(dest="ratings_command", required=True, metavar="ACTION", parser_class=type(p))
    r = rsub.add_parser("list", help="the latest rating of each rep for a quarter (the reps --as USER may see)")
    r.add_argument("--quarter", required=True, help="quarter, like 2026Q3")
    add_data_arg(r)
    add_format_arg(r)
    r.set_defaults(func=cmd_ratings_list)
    r = rsub.add_parser("set", help="rate a rep for a quarter (as --as USER: their managers, leaders, admins)")
    r.add_argument("--rep", required=True, help="rep_id of the rep to rate")
    r.add_argument("--quarter", required=True, help="quarter, like 2026Q3")
    r.add_argument("--score", action="append", default=[], metavar="CRITERION=N",
                   help=f"a score from 1 to 5; criteria: {', '.join(scorecards.RATING_CRITERIA)}")
    r.add_argument("--comment", default="", help="the manager's comment")
    r.add_argument("--version", type=int, default=None,
                   help="the version you started from: refused if someone saved a newer one")
    add_data_arg(r)
    r.set_defaults(func=cmd_ratings_set)
    r = rsub.add_parser("history", help="every version of a rep's rating for a quarter, with author and time")
    r.add_argument("--rep", required=True, help="rep_id")
    r.add_argument("--quarter", required=True, help="quarter, like 2026Q3")
    add_data_arg(r)
    add_format_arg(r)
    r.set_defaults(func=cmd_ratings_history)


RATING_COLUMNS = ("rep_id", "quarter", "version", *scorecards.RATING_CRITERIA, "comment", "updated_by", "updated_at")


def _rating_frame(rows: list[ratings.Rating]) -> pl.DataFrame:
    """Ratings as a table: one column per criterion."""
    schema = {c: (pl.Int64 if c == "version" or c in scorecards.RATING_CRITERIA else pl.String)
              for c in RATING_COLUMNS}
    return pl.DataFrame([{"rep_id": r.rep_id, "quarter": r.quarter, "version": r.version,
                          **{c: r.scores.get(c) for c in scorecards.RATING_CRITERIA}, "comment": r.comment,
                          "updated_by": r.updated_by, "updated_at": r.updated_at} for r in rows], schema=schema)


def _quarter(text: str) -> str:
    try:
        return ratings.normal_quarter(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def cmd_ratings_list(args: argparse.Namespace) -> int:
    """Print the latest rating of each rep the user may see."""
    data_dir = settings.data_dir(args.data)
    stored = ratings.load_quarter(data_dir, _quarter(args.quarter), who=acting_user(args))
    emit(_rating_frame(list(stored.values())), args.format)
    return 0


def _scores(pairs: list[str]) -> dict[str, int]:
    """CRITERION=N pairs as scores; a malformed pair is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise CliError(f"--score must look like teamwork=4; got '{pair}'")
        out[key.strip()] = int(value)
    return out


def cmd_ratings_set(args: argparse.Namespace) -> int:
    """Append a new version of a rep's rating, under the acting user's rights."""
    data_dir = settings.data_dir(args.data)
    rating = ratings.Rating(args.rep, _quarter(args.quarter), _scores(args.score), args.comment)
    stored = ratings.save(data_dir, rating, who=writer(args), expected_version=args.version)
    print(f"rated {stored.rep_id} for {stored.quarter}: version {stored.version} by {stored.updated_by}")
    return 0


def cmd_ratings_history(args: argparse.Namespace) -> int:
    """Print every version of a rep's rating, oldest first."""
    data_dir = settings.data_dir(args.data)
    emit(_rating_frame(ratings.history(data_dir, _quarter(args.quarter), args.rep, who=acting_user(args))),
         args.format)
    return 0


def _definitions(data_dir, names: list[str], who: access.Actor | None = None) -> dict[str, scorecards.Definition]:
    """Saved scorecards by the role they score; an unknown name is an error."""
    out = {}
    for name in names:
        try:
            definition = scorecard_defs.get(data_dir, name, "AE", who=who)
        except scorecard_defs.DefinitionError as exc:
            raise CliError(str(exc)) from None
        out[definition.role] = definition
    return out


def cmd_review(args: argparse.Namespace) -> int:
    """Build the pack and write its three files."""
    data_dir = settings.data_dir(args.data)
    try:
        scorecards.parse_quarter(args.quarter)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    runner = open_runner(args, args.snapshot)
    lang = args.lang or settings.get("language")
    chosen = _definitions(data_dir, args.scorecard, acting_user(args))
    req = review.Request(args.quarter, args.rep, args.team, lang, chosen)
    started = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        sys.stderr.write(f"\r{fraction:4.0%} {message:<50}")

    try:
        files = review.make(runner, data_dir, runner.snapshot.as_of, req, progress)
    except review.ReviewError as exc:
        raise CliError(str(exc)) from None
    finally:
        sys.stderr.write("\n")
    for path in review.write(files, Path(args.out)):
        print(path)
    if review.pdf_language(lang) != lang:
        sys.stderr.write(f"note: {review.MISSING_CJK_FONT}\n")
    sys.stderr.write(f"review pack written in {time.perf_counter() - started:.1f} s\n")
    return 0


def cmd_scorecard(args: argparse.Namespace) -> int:
    """Print scores (or the breakdown) for one role and quarter, as the Leaderboard page computes them."""
    data_dir = settings.data_dir(args.data)
    try:
        start, end = scorecards.parse_quarter(args.quarter)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.scorecard:
        definition = _definitions(data_dir, [args.scorecard], acting_user(args)).get(args.role)
        if definition is None:
            raise CliError(f"scorecard '{args.scorecard}' is not for the role {args.role}")
    else:
        definition = scorecards.default_definition(args.role)
    runner = open_runner(args, args.snapshot)
    scored = scorecard_data.scored_with_change(runner, start, end, definition, scorecard_data.Org(), data_dir)
    if args.breakdown:
        frame = scored.breakdown.join(scored.scores.select("rep_id", "name"), on="rep_id").select(
            "rep_id", "name", pl.exclude("rep_id", "name"))
    else:
        frame = scored.scores.select("rank", "prev_rank", "rank_change", "rep_id", "name", "team", "score",
                                     "kpis_scored", "flags").sort(["rank", "name"], nulls_last=True)
    emit(frame, args.format)
    return 0


@dataclass
class _ViewerContext(RunnerContext):
    """A command-line context with the --as user's grant: a rep's rank is then among their peers, as on the page."""

    grant: access.Grant | None = None


def _split(value: str | None) -> tuple[str, ...]:
    """A comma-separated option as a tuple of values."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """Print the ranking the Leaderboard tab shows (its downloaded table) from the same load function."""
    if (args.start is None) != (args.end is None):
        raise CliError("give both --from and --to, or neither (the snapshot's quarter)")
    if args.start and args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    data_dir = settings.data_dir(args.data)
    runner = open_runner(args, args.snapshot)
    f = Filters(period="custom", start=args.start, end=args.end, regions=_split(args.region),
                teams=_split(args.team), reps=_split(args.rep))
    grant = None
    if args.as_user:  # open_runner has checked the user exists and sees someone
        user = access.known_users(data_dir)[args.as_user.lower()]
        grant = access.grant(user, access.reps_of(runner.snapshot))
    ctx = _ViewerContext(data_dir, runner.snapshot, runner, f, args.lang or settings.get("language"), grant=grant)
    head = rankings_load.load_header(ctx)
    if not head.roles or (args.role and args.role not in head.roles):
        raise CliError(f"no rep with the role {args.role or 'of a scored role'} is in view")
    view = rankings_load.load(ctx, rankings_load.Choices(role=args.role, tab="board", kpi=args.kpi), head)
    emit(view.board.table.drop("trend"), args.format)
    return 0
