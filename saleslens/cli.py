"""The command line, `python -m saleslens`: the same code the app runs, for scripts and checks.

Each module in saleslens/commands/ adds its subcommands through `register(subparsers)`, so a
feature brings its command with it.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import sys
from collections.abc import Sequence

import polars as pl

from queries.catalog import QueryError
from queries.runner import Runner, Scope, runner_for
from saleslens.core import access, export, i18n, settings, store
from saleslens.core.filters import FilterError
from saleslens.core.store import StoreError


class CliError(Exception):
    """An error to print as one line, with exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print a one-line error naming the command, then exit 2."""
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def add_data_arg(parser: argparse.ArgumentParser) -> None:
    """The --data and --as options every data command takes."""
    parser.add_argument("--data", help="data directory (default: SALESLENS_DATA, else ./data)")
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="see only what this user of users.toml may see (default: everything)")


def cli_user(args: argparse.Namespace) -> str:
    """Who runs the command, for the audit log: --as, else the operating-system user."""
    return getattr(args, "as_user", None) or f"cli:{getpass.getuser()}"


def open_runner(args: argparse.Namespace, snapshot_id: str | None = None) -> Runner:
    """The runner for --data and a snapshot, scoped to --as USER when given (default deny if unknown)."""
    data_dir = settings.data_dir(args.data)
    login = getattr(args, "as_user", None)
    snap = store.open_snapshot(data_dir, snapshot_id)
    i18n.use_currency(snap.manifest.get("reporting_currency"))  # money printed in the data's reporting currency
    if not login:
        return runner_for(data_dir, snap.id)
    users = access.known_users(data_dir)
    user = users.get(login.lower())
    if user is None:
        raise CliError(f"--as {login}: no such user in {access.users_path(data_dir)}")
    grant = access.grant(user, access.reps_of(snap))
    if grant.rep_ids is not None and not grant.rep_ids:
        raise CliError(f"--as {login}: {grant.reason}")
    return runner_for(data_dir, snap.id, Scope(grant.scope_key, grant.rep_ids))


def acting_user(args: argparse.Namespace) -> access.Actor | None:
    """Who a command acts as: --as USER with their scope in the newest snapshot, else None (everything).

    Without --as, reading commands see everything, as anyone with the data directory can; saving commands
    act as an admin named after the operating-system user (see `command_line_admin`).
    """
    login = getattr(args, "as_user", None)
    if not login:
        return None
    data_dir = settings.data_dir(args.data)
    user = access.known_users(data_dir).get(login.lower())
    if user is None:
        raise CliError(f"--as {login}: no such user in {access.users_path(data_dir)} or the database")
    return access.actor(user, data_dir)


def writer(args: argparse.Namespace) -> access.Actor:
    """Who a saving command acts as: --as USER under that user's rights, else the command line's admin."""
    return acting_user(args) or access.Actor(access.User(cli_user(args), "command line", "admin"), None)


def add_format_arg(parser: argparse.ArgumentParser) -> None:
    """The --format option of commands that print a table."""
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")


def emit(frame: pl.DataFrame, fmt: str) -> None:
    """Print a frame as an aligned table, CSV or JSON records."""
    if fmt == "csv":
        # A CSV from the command line ends up in spreadsheets too: neutralise formulas as the app's downloads do.
        sys.stdout.write(export.safe_frame(frame).write_csv())
    elif fmt == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str, ensure_ascii=False, indent=1) + "\n")
    else:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=400, fmt_str_lengths=60,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                       tbl_formatting="ASCII_MARKDOWN", float_precision=2):
            sys.stdout.write(str(frame) + "\n")


# Each feature's commands live in its package; this order is the order `--help` lists them in.
COMMAND_MODULES = ("saleslens.core.cli", "saleslens.funnel.cli", "saleslens.ingest.cli", "saleslens.rankings.cli",
                   "saleslens.whatif.cli", "saleslens.targets.cli")


def build_parser() -> Parser:
    """The parser with every command of every feature's cli module, in a fixed order."""
    parser = Parser(prog="saleslens", description="Sales Lens: sales-performance analytics over CRM snapshots.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; known errors become one line on stderr and a non-zero exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, QueryError, FilterError, StoreError, ValueError) as exc:
        sys.stderr.write(f"saleslens {args.command}: error: {exc}\n")
        return 2
    except BrokenPipeError:  # output piped into head: not an error
        return 0
