"""What the bench scripts share: the command line of a JSON-printing measurement, starting and stopping a server
(a free port, waiting for health, terminate-then-kill), units.

Tests that start a server (tests/support.py) can use `free_port`, `wait_healthy` and `stop_process` too, so each
is written once.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent


def git_commit(root: Path = REPO) -> str | None:
    """The short commit of the checkout at root, or None if git cannot say."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc: subprocess.Popen, url: str, log: Callable[[], str], timeout: float,
                 poll: float = 0.05) -> None:
    """Block until a Streamlit server's /_stcore/health answers ok; fail with its log (`log()`) if it exits or
    does not answer within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}:\n{log()}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(poll)
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s:\n{log()}")


def mb(v: float | None) -> str:
    """Megabytes for a results table; a dash when not measured."""
    return "–" if v is None else f"{v:,.0f} MB"


def ms(v: float | None) -> str:
    """Seconds as milliseconds for a results table; a dash when not measured."""
    return "–" if v is None else f"{v * 1000:,.0f} ms"
