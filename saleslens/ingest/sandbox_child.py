"""The import sandbox's reading child (see sandbox.py): `python -m saleslens.ingest.sandbox_child DIR`.

It limits its own address space first, reads the file the request in DIR names with readers.read, and writes the
table as Parquet beside a JSON result (rather than pickling a big frame back). Its output goes to a log file the
parent opened (a Rust abort must not print into the CLI's one-line error); the parent reads it only on failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from saleslens.ingest.errors import Problem
from saleslens.ingest.readers import Limits, ReadError, SourceFile
from saleslens.ingest.readers import read as read_here

MB = 1024 * 1024
REQUEST, RESULT, TABLE, LOG = "request.json", "result.json", "table.parquet", "child.log"


def problem_dict(p: Problem) -> dict:
    """A problem as JSON-ready keyword arguments of Problem."""
    return {"code": p.code, "values": p.values, "file": p.file, "row": p.row, "column": p.column, "table": p.table}


def limit_memory(memory_mb: int, cpu_seconds: int | None = None) -> None:
    """Cap this process's address space, so a runaway file fails here instead of in the server, and its CPU time, so
    a child whose server died (nobody left to kill it at the read timeout) still stops."""
    try:
        import resource
    except ImportError:  # not on this platform: the file size and shape limits still hold
        return
    limit = memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def read_request(folder: Path) -> dict:
    """Read the requested file; the result to write as JSON (the table itself goes to Parquet)."""
    request = json.loads((folder / REQUEST).read_text(encoding="utf-8"))
    limit_memory(int(request["memory_mb"]), request.get("cpu_seconds"))
    path = Path(request["path"])
    f = SourceFile(request["name"], int(request["size"]), path.read_bytes, path)
    try:
        raw = read_here(f, Limits(**request["limits"]), request["sheet"], request["encoding"], request["delimiter"],
                        request["stop_at_blank"])
    except ReadError as exc:
        return {"error": problem_dict(exc.problem)}
    except MemoryError:
        return {"error": problem_dict(Problem("read_out_of_memory",
                                              {"file": f.name, "mb": f"{int(request['memory_mb']):,}"}))}
    raw.frame.write_parquet(folder / TABLE)
    return {"label": raw.label, "encoding": raw.encoding, "delimiter": raw.delimiter,
            "problems": [problem_dict(p) for p in raw.problems], "footer_rows": raw.footer_rows}


def main(argv: list[str] | None = None) -> int:
    """Read, then write the result in one rename so a half result is never seen."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m saleslens.ingest.sandbox_child REQUEST_DIR", file=sys.stderr)
        return 2
    folder = Path(args[0])
    result = read_request(folder)
    partial = folder / (RESULT + ".part")
    partial.write_text(json.dumps(result, default=str), encoding="utf-8")
    partial.replace(folder / RESULT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
