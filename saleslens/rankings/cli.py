"""Review commands: `review` writes a quarterly review pack; `scorecard` prints the scores behind it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

from saleslens.cli import CliError, add_data_arg, add_format_arg, emit, open_runner
from saleslens.core import i18n, settings
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import review, scorecards


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


def _definitions(data_dir, names: list[str]) -> dict[str, scorecards.Definition]:
    """Saved scorecards by the role they score; an unknown name is an error."""
    out = {}
    for name in names:
        try:
            definition = scorecard_defs.get(data_dir, name, "AE")
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
    req = review.Request(args.quarter, args.rep, args.team, lang, _definitions(data_dir, args.scorecard))
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
        definition = _definitions(data_dir, [args.scorecard]).get(args.role)
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
