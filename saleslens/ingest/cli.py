"""Import commands: `import SOURCE --mapping NAME|FILE` and `mappings [NAME]`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from saleslens.cli import CliError, add_data_arg, cli_user
from saleslens.core import access, i18n, settings, store
from saleslens.core.i18n import t
from saleslens.ingest import backfill, build, mapping, publish, readers
from saleslens.ingest import report as report_mod
from saleslens.ingest.errors import ImportFailed, busy_text


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-06-30") from None


def register(sub: argparse._SubParsersAction) -> None:
    """Add the import commands."""
    p = sub.add_parser("import", help="import a CRM export (a folder of CSV/Excel files, or one file) with a mapping")
    p.add_argument("source", help="folder of CSV or Excel files, or a single file")
    p.add_argument("--mapping", required=True, metavar="NAME|FILE",
                   help=f"built-in profile ({', '.join(mapping.builtin_names())}) or a mapping file (.toml)")
    p.add_argument("--as-of", type=_date, default=None,
                   help="snapshot date (default: the mapping's rule, today or the last date in the data)")
    p.add_argument("--max-rejected", type=int, default=0, metavar="N",
                   help="publish even if up to N rows are rejected (default 0: any bad row stops the import)")
    p.add_argument("--check", action="store_true", help="check and print the report, publish nothing")
    p.add_argument("--backfill", choices=backfill.BACKFILL_CHOICES, default=None,
                   help="also publish one snapshot per past week, rebuilt from the deals' history (salesforce; "
                        "hubspot with \"Date entered\" columns)")
    p.add_argument("--report", choices=["text", "json"], default="text", help="report format")
    p.add_argument("--lang", choices=list(i18n.LANGUAGES), default=None,
                   help="language of the message when another import is running (default: the setting)")
    add_data_arg(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("mappings", help="list the built-in mapping profiles, or print one to start your own")
    p.add_argument("name", nargs="?", help="profile to print as TOML")
    p.set_defaults(func=cmd_mappings)


def cmd_import(args: argparse.Namespace) -> int:
    """Check an export against a mapping and publish it as a snapshot (or only check it)."""
    if args.max_rejected < 0:
        raise CliError("--max-rejected must be 0 or more")
    data_dir = settings.data_dir(args.data)
    chosen = mapping.load(args.mapping)
    try:
        files = readers.files_from_path(Path(args.source))
    except readers.ReadError as exc:
        raise ImportFailed([exc.problem]) from None
    if chosen.adapter == "salesforce":  # a folder of the zips a large Salesforce export comes in
        from saleslens.ingest import salesforce

        files += salesforce.zips_in(Path(args.source))
    if not files:
        raise CliError(f"{args.source} holds no CSV or Excel files (.csv, .tsv, .txt, .xlsx)")

    def progress(fraction: float, message: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r{fraction:4.0%} {message:<50}")

    try:
        prepared = build.prepare(files, chosen, as_of=args.as_of, max_rejected=args.max_rejected, progress=progress,
                                 source_label=str(Path(args.source).resolve()))
    except ImportFailed as exc:
        _refuse(exc)
        raise
    if args.backfill and (prepared.history is None or prepared.history.is_empty()):
        raise CliError("--backfill weekly needs the deals' history: a Salesforce Data Export with "
                       "OpportunityHistory.csv (--mapping salesforce), or a HubSpot deals export with "
                       "\"Date entered\" columns (--mapping hubspot)")
    if args.check:
        report = publish.with_diff(prepared, data_dir)
        _print(report, args.report)
        _say(t("ingest.report.checked", "en"), args.report)
        return 0
    try:
        snap = _publish(prepared, data_dir, args, progress)
    except store.ImportBusy as exc:  # the store says it in English; the user reads it in their language
        raise CliError(busy_text(exc, args.lang or settings.get("language"))) from None
    access.audit(data_dir, cli_user(args), "import", f"snapshot {snap.id} from {snap.manifest.get('source', '')}")
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    _print(snap.manifest["import_report"], args.report)
    _say(t("ingest.report.published", "en", snapshot=snap.id, rows=snap.manifest["row_counts"]["opportunities"],
           data=data_dir), args.report)
    return 0


def _publish(prepared: build.Prepared, data_dir: Path, args: argparse.Namespace, progress: build.Progress
             ) -> store.Snapshot:
    """Publish the import (with the weeks rebuilt from history when asked); the import's own snapshot."""
    if args.backfill:
        snaps = backfill.publish_weekly(prepared, data_dir, progress)
        snap, weeks = snaps[-1], snaps[:-1]
        if weeks:
            _say(t("ingest.report.backfilled", "en", count=len(weeks), first=weeks[0].id, last=weeks[-1].id),
                 args.report)
        return snap
    return publish.publish(prepared, data_dir, progress)


def _refuse(exc: ImportFailed) -> None:
    """A file refused whole (too big, too wide, a zip bomb, out of memory) is told in one line, like other refusals."""
    if exc.problems and all(p.code in readers.REFUSALS for p in exc.problems):
        if sys.stderr.isatty():
            sys.stderr.write("\n")  # end the progress line
        raise CliError("; ".join(p.text("en") for p in exc.problems)) from None


def _print(report: dict, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    else:
        print(report_mod.text(report, "en"))


def _say(line: str, fmt: str) -> None:
    """A status line: on stdout under a text report, on stderr under JSON so stdout stays one JSON document."""
    print(line, file=sys.stderr if fmt == "json" else sys.stdout)


def cmd_mappings(args: argparse.Namespace) -> int:
    """List the built-in profiles, or print one."""
    names = mapping.builtin_names()
    if args.name:
        if args.name not in names:
            raise CliError(f"no built-in mapping '{args.name}' (built-ins: {', '.join(names)})")
        sys.stdout.write(mapping.builtin_text(args.name))
        return 0
    width = max(12, *(len(n) + 1 for n in names))
    for name in names:
        print(f"{name:<{width}} {mapping.load(name).description}")
    return 0
