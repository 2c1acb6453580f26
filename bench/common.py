"""What the bench scripts share: the command line of a JSON-printing measurement, stopping a server, units.

Tests that start a server (tests/support.py) can stop it with `stop_process` too, so the terminate-then-kill
dance is written once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO


def json_main(description: str, measure: Callable[[Path, int], dict], argv: list[str] | None = None) -> int:
    """Parse --data, --rounds and --json, run `measure(data, rounds)` and print (or write) its JSON."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", type=Path, required=True, help="data directory with snapshots")
    ap.add_argument("--rounds", type=int, default=3, help="times each filter change is measured")
    ap.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    args = ap.parse_args(argv)
    text = json.dumps(measure(args.data, args.rounds), default=str)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


def stop_process(proc: subprocess.Popen, log: IO[str], timeout: float) -> None:
    """Terminate a process (kill it if it has not stopped after `timeout` s) and close its log."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    log.close()


def mb(v: float | None) -> str:
    """Megabytes for a results table; a dash when not measured."""
    return "–" if v is None else f"{v:,.0f} MB"


def ms(v: float | None) -> str:
    """Seconds as milliseconds for a results table; a dash when not measured."""
    return "–" if v is None else f"{v * 1000:,.0f} ms"
