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
# What a process that ran out of memory leaves on stderr: Python's MemoryError, Rust's allocation failure, and a
# thread that could not start (EAGAIN: under the child's address-space cap Polars' pool could not reserve a stack,
# which Rust reports as a panic with "WouldBlock" / "Resource temporarily unavailable").
_MEMORY_SIGNS = ("MemoryError", "memory allocation of", "Cannot allocate memory", "std::bad_alloc",
                 "Resource temporarily unavailable")


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
                   "memory_mb": memory_mb,
                   "limits": {"max_mb": limits.max_mb, "max_rows": limits.max_rows, "max_columns": limits.max_columns,
                              "max_cells": limits.max_cells, "max_unzipped_mb": limits.max_unzipped_mb}}
        (folder / REQUEST).write_text(json.dumps(request), encoding="utf-8")
        return _run_child(folder, f.name, memory_mb, seconds)


def child_command(folder: Path) -> list[str]:
    """The child's command line: this interpreter, the child module, the request folder.

    -P keeps the working directory off the child's module path (only the package root, below, is put there), so no
    file beside the server or the upload can stand in for a module the child imports.
    """
    return [sys.executable, "-P", "-m", CHILD_MODULE, str(folder)]


def child_env() -> dict[str, str]:
    """The parent's environment (settings travel in SALESLENS_* variables) with the package root on PYTHONPATH."""
    env = dict(os.environ)
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
        child.kill()
        child.wait()
        raise ReadError(Problem("read_timeout", {"file": name, "seconds": f"{seconds:g}"})) from None
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
    """Why a child left no result: memory (a signal, an abort, an allocation failure), else its last words."""
    if returncode < 0 or returncode in (134, 137) or any(sign in stderr for sign in _MEMORY_SIGNS):
        return Problem("read_out_of_memory", {"file": name, "mb": f"{memory_mb:,}"})
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), f"exit {returncode}")
    return Problem("read_failed", {"file": name, "error": last.strip()[:200]})
