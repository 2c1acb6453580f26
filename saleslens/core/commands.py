"""The command line that prints what a page's table shows: `python -m saleslens query NAME --param ...`.

A page writes it under a table (issue 16: the CLI reproduces a page when given the page's window and filters);
tests/unit/core/test_commands.py runs the command and compares its output with the table.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import date

from saleslens.core.access import Grant


def _value(value: object) -> str:
    """A parameter as `query --param` reads it: dates in ISO form, lists comma-separated."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_value(v) for v in value)
    return str(value)


def login_for(grant: Grant | None) -> str | None:
    """The login `--as` needs to see the same rows as the page: None when the viewer sees every row."""
    if grant is None or grant.rep_ids is None or grant.user is None:
        return None
    return grant.user.login


def query_command(name: str, params: Mapping[str, object], snapshot: str | None = None,
                  login: str | None = None) -> str:
    """The shell command that runs a named query with the page's parameters, quoted for copying.

    A parameter left at its default (None, an empty list) is left out: the query's default is the same.
    """
    args = ["python", "-m", "saleslens", "query", name]
    for key, value in params.items():
        if value is None or (isinstance(value, list | tuple | set | frozenset) and not value):
            continue
        args += ["--param", f"{key}={_value(value)}"]
    if snapshot:
        args += ["--snapshot", snapshot]
    if login:
        args += ["--as", login]
    return shlex.join(args)


def cli_command(command: str, options: Mapping[str, object], snapshot: str | None = None,
                login: str | None = None) -> str:
    """The shell command that runs a saleslens command with a page's options (`--from 2026-07-01`), quoted for
    copying: for a table no single named query prints (the Leaderboard's ranking). An option left at its default
    (None, an empty list) is left out."""
    args = ["python", "-m", "saleslens", command]
    for key, value in options.items():
        if value is None or (isinstance(value, list | tuple | set | frozenset) and not value):
            continue
        args += [f"--{key}", _value(value)]
    if snapshot:
        args += ["--snapshot", snapshot]
    if login:
        args += ["--as", login]
    return shlex.join(args)
