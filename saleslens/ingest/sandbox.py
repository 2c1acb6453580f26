"""Reading an import file in a child process with a memory limit, so a runaway file cannot take the server down.

The parent writes a request into a temporary folder (outside the data directory) and starts
`python -m saleslens.ingest.sandbox_child FOLDER` (saleslens/ingest/sandbox_child.py). The child limits its own
address space first, sends its output to a log file (a Rust abort must not print into the CLI's one-line error),
reads the file with readers.read, and writes the table as Parquet beside a JSON result, rather than pickling a big
frame. A child that dies (out of memory, a Rust allocation failure, killed) or runs out of time becomes one
problem naming the file; the parent never holds more than the finished table.

A plain subprocess, not multiprocessing: a multiprocessing child (fork server or spawn) prepares itself by running
the parent's `__main__` again, and inside the app that is whatever script Streamlit put there (dashboard.py,
serve.py, an AppTest script), so every import child ran the app's entry script. This child runs its own module
and nothing of the parent's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from saleslens.core import settings
from saleslens.ingest.errors import Problem
from saleslens.ingest.readers import Limits, RawTable, ReadError, SourceFile, check_size
from saleslens.ingest.sandbox_child import LOG, REQUEST, RESULT, TABLE

CHILD_MODULE = "saleslens.ingest.sandbox_child"
# The folder holding the saleslens package: the child finds it there whatever the parent's working directory.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# What a process that ran out of memory leaves on stderr: Python's MemoryError, Rust's allocation failure.
_MEMORY_SIGNS = ("MemoryError", "memory allocation of", "Cannot allocate memory", "std::bad_alloc")
# A Rust thread that could not start (EAGAIN): under the child's address-space cap Polars' pool could not reserve a
# stack, which Polars reports as a panic carrying io::ErrorKind::WouldBlock. Both must be there: an EAGAIN from
# anything else (a pipe, a process limit) is not the memory cap.
_THREAD_SIGNS = ("PanicException", "WouldBlock")
# What the child needs of the parent's environment: where programs, locales and temporary files are, Python's and
# Polars' own switches. Not the rest: the database URL, object-storage keys and other secrets stay out of the process
# that parses an untrusted file.
_CHILD_ENV_NAMES = ("PATH", "HOME", "LANG", "TZ", "TMPDIR", "TEMP", "TMP")
_CHILD_ENV_PREFIXES = ("LC_", "PYTHON", "POLARS_")
_KILL_SLACK_SECONDS = 5  # the child's own CPU limit: the read timeout and this, should the parent die first


def read(f: SourceFile, limits: Limits, sheet: str | None = None, encoding: str = "auto",
         delimiter: str = "auto", stop_at_blank: bool = False) -> RawTable:
    """readers.read, run in a child process limited to import_memory_mb and import_read_seconds."""
    check_size(f, limits)  # refused before a process is started
    memory_mb = int(settings.get("import_memory_mb"))
    seconds = float(settings.get("import_read_seconds"))
    with tempfile.TemporaryDirectory(prefix="saleslens-read-") as tmp:
        folder = Path(tmp)
        source = f.path
        if source is None:  # an upload: the child reads it from the temporary folder
            source = folder / f"input{f.suffix}"
            source.write_bytes(f.load())
        request = {"name": f.name, "path": str(Path(source).absolute()), "size": f.size, "sheet": sheet,
                   "encoding": encoding, "delimiter": delimiter, "stop_at_blank": stop_at_blank,
                   "memory_mb": memory_mb, "cpu_seconds": cpu_limit(seconds),
                   "limits": {"max_mb": limits.max_mb, "max_rows": limits.max_rows, "max_columns": limits.max_columns,
                              "max_cells": limits.max_cells, "max_unzipped_mb": limits.max_unzipped_mb}}
        (folder / REQUEST).write_text(json.dumps(request), encoding="utf-8")
        return _run_child(folder, f.name, memory_mb, seconds)


def cpu_limit(seconds: float) -> int:
    """The child's own CPU-time limit: a backstop for a child whose server died, never reached before the read
    timeout (the parent kills it then), though Polars' threads spend CPU time on every core at once."""
    return int(seconds * max(os.cpu_count() or 1, 1)) + _KILL_SLACK_SECONDS


def child_command(folder: Path) -> list[str]:
    """The child's command line: this interpreter, the child module, the request folder.

    -P keeps the working directory off the child's module path (only the package root, below, is put there), so no
    file beside the server or the upload can stand in for a module the child imports.
    """
    return [sys.executable, "-P", "-m", CHILD_MODULE, str(folder)]


def child_env() -> dict[str, str]:
    """The little of the parent's environment the child needs (no secrets), with the package root on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k in _CHILD_ENV_NAMES or k.startswith(_CHILD_ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _run_child(folder: Path, name: str, memory_mb: int, seconds: float) -> RawTable:
    """Run the child on a request folder and turn what it left into a table, or raise the problem."""
    try:
        with open(folder / LOG, "wb") as log:
            child = subprocess.Popen(child_command(folder), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=child_env(), cwd=folder)
    except (OSError, ValueError) as exc:  # no process could be started: say so, do not crash
        raise ReadError(Problem("read_failed", {"file": name, "error": f"{type(exc).__name__}: {exc}"[:200]})) from None
    try:
        exitcode = child.wait(seconds)
    except subprocess.TimeoutExpired:
        raise ReadError(Problem("read_timeout", {"file": name, "seconds": f"{seconds:g}"})) from None
    finally:  # timed out, or this thread interrupted (a server stopping): the child never outlives the read
        if child.poll() is None:
            child.kill()
            child.wait()
    result_path = folder / RESULT
    if not result_path.exists():
        log_path = folder / LOG
        said = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        raise ReadError(_death(name, exitcode, said, memory_mb))
    result = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise ReadError(Problem(**result["error"]))
    return RawTable(result["label"], pl.read_parquet(folder / TABLE), result["encoding"], result["delimiter"],
                    [Problem(**p) for p in result["problems"]], result["footer_rows"])


def _death(name: str, returncode: int, stderr: str, memory_mb: int) -> Problem:
    """Why a child left no result: its CPU limit (a time-out), memory (a signal, an abort, an allocation failure),
    else its last words."""
    if returncode == -signal.SIGXCPU:
        return Problem("read_timeout", {"file": name, "seconds": f"{float(settings.get('import_read_seconds')):g}"})
    if (returncode < 0 or returncode in (134, 137) or any(sign in stderr for sign in _MEMORY_SIGNS)
            or all(sign in stderr for sign in _THREAD_SIGNS)):
        return Problem("read_out_of_memory", {"file": name, "mb": f"{memory_mb:,}"})
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), f"exit {returncode}")
    return Problem("read_failed", {"file": name, "error": last.strip()[:200]})
