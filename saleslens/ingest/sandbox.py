"""Reading an import file in a child process with a memory limit, so a runaway file cannot take the server down.

The parent writes a request into a temporary folder (outside the data directory) and starts a child from
multiprocessing's fork server, which has Polars and the readers imported already (a fresh interpreter would
spend a second importing them for every file). The child limits its own address space first, sends its
output to a file (a Rust abort must not print into the CLI's one-line error), reads the file with
readers.read, and writes the table as Parquet beside a JSON result, rather than pickling a big frame.
A child that dies (out of memory, a Rust allocation failure, killed) or runs out of time becomes one
problem naming the file; the parent never holds more than the finished table.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from pathlib import Path

import polars as pl

from saleslens.core import settings
from saleslens.ingest.errors import Problem
from saleslens.ingest.readers import Limits, RawTable, ReadError, SourceFile, check_size
from saleslens.ingest.readers import read as read_here

MB = 1024 * 1024
_REQUEST, _RESULT, _TABLE, _LOG = "request.json", "result.json", "table.parquet", "child.log"
# Not 'fork': the server's threads and Polars' thread pool do not survive a fork. The fork server is a fresh
# interpreter that imports this module (and the main script, which multiprocessing would otherwise run again
# in every child: Streamlit's launcher imports all of Streamlit), so forking from it takes milliseconds.
# As with any multiprocessing, a script that imports through here needs the `if __name__ == "__main__":` guard.
if "forkserver" in multiprocessing.get_all_start_methods():
    _CONTEXT = multiprocessing.get_context("forkserver")
    _CONTEXT.set_forkserver_preload(["__main__", __name__])
else:  # Windows: a fresh interpreter per file, slower but as safe
    _CONTEXT = multiprocessing.get_context("spawn")
# What a process that ran out of memory leaves on stderr: Python's MemoryError, Rust's allocation failure.
_MEMORY_SIGNS = ("MemoryError", "memory allocation of", "Cannot allocate memory", "std::bad_alloc")


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
        request = {"name": f.name, "path": str(source), "size": f.size, "sheet": sheet, "encoding": encoding,
                   "delimiter": delimiter, "stop_at_blank": stop_at_blank, "memory_mb": memory_mb,
                   "limits": {"max_mb": limits.max_mb, "max_rows": limits.max_rows, "max_columns": limits.max_columns,
                              "max_cells": limits.max_cells, "max_unzipped_mb": limits.max_unzipped_mb}}
        (folder / _REQUEST).write_text(json.dumps(request), encoding="utf-8")
        return _run_child(folder, f.name, memory_mb, seconds)


def _run_child(folder: Path, name: str, memory_mb: int, seconds: float) -> RawTable:
    """Run the child on a request folder and turn what it left into a table, or raise the problem."""
    child = _CONTEXT.Process(target=main, args=(str(folder),), name="saleslens-read", daemon=True)
    try:
        child.start()
    except (OSError, EOFError, RuntimeError) as exc:  # no process could be started: say so, do not crash
        raise ReadError(Problem("read_failed", {"file": name, "error": f"{type(exc).__name__}: {exc}"[:200]})) from None
    child.join(seconds)
    if child.is_alive():
        child.kill()
        child.join()
        child.close()
        raise ReadError(Problem("read_timeout", {"file": name, "seconds": f"{seconds:g}"}))
    exitcode = child.exitcode or 0
    child.close()
    result_path = folder / _RESULT
    if not result_path.exists():
        log = folder / _LOG
        said = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        raise ReadError(_death(name, exitcode, said, memory_mb))
    result = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise ReadError(Problem(**result["error"]))
    return RawTable(result["label"], pl.read_parquet(folder / _TABLE), result["encoding"], result["delimiter"],
                    [Problem(**p) for p in result["problems"]], result["footer_rows"])


def _death(name: str, returncode: int, stderr: str, memory_mb: int) -> Problem:
    """Why a child left no result: memory (a signal, an abort, an allocation failure), else its last words."""
    if returncode < 0 or returncode in (134, 137) or any(sign in stderr for sign in _MEMORY_SIGNS):
        return Problem("read_out_of_memory", {"file": name, "mb": f"{memory_mb:,}"})
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), f"exit {returncode}")
    return Problem("read_failed", {"file": name, "error": last.strip()[:200]})


# ----------------------------------------------------------------------------- the child


def _problem_dict(p: Problem) -> dict:
    """A problem as JSON-ready keyword arguments of Problem."""
    return {"code": p.code, "values": p.values, "file": p.file, "row": p.row, "column": p.column, "table": p.table}


def _limit_memory(memory_mb: int) -> None:
    """Cap this process's address space, so a runaway file fails here instead of in the server."""
    try:
        import resource
    except ImportError:  # not on this platform: the file size and shape limits still hold
        return
    limit = memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child(folder: Path) -> dict:
    """Read the requested file; the result to write as JSON (the table itself goes to Parquet)."""
    request = json.loads((folder / _REQUEST).read_text(encoding="utf-8"))
    _limit_memory(int(request["memory_mb"]))
    path = Path(request["path"])
    f = SourceFile(request["name"], int(request["size"]), path.read_bytes, path)
    try:
        raw = read_here(f, Limits(**request["limits"]), request["sheet"], request["encoding"], request["delimiter"],
                        request["stop_at_blank"])
    except ReadError as exc:
        return {"error": _problem_dict(exc.problem)}
    except MemoryError:
        return {"error": _problem_dict(Problem("read_out_of_memory",
                                               {"file": f.name, "mb": f"{int(request['memory_mb']):,}"}))}
    raw.frame.write_parquet(folder / _TABLE)
    return {"label": raw.label, "encoding": raw.encoding, "delimiter": raw.delimiter,
            "problems": [_problem_dict(p) for p in raw.problems], "footer_rows": raw.footer_rows}


def _quiet(folder: Path) -> None:
    """Send this process's stdout and stderr (Python's and Rust's) to a log file the parent reads on failure."""
    fd = os.open(folder / _LOG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def main(folder_name: str) -> None:
    """The child's entry: read, then write the result in one rename so a half result is never seen."""
    folder = Path(folder_name)
    _quiet(folder)
    result = _child(folder)
    partial = folder / (_RESULT + ".part")
    partial.write_text(json.dumps(result, default=str), encoding="utf-8")
    partial.replace(folder / _RESULT)
