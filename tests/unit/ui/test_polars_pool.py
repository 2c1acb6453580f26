"""No Python function runs inside Polars' thread pool in code the server runs (the server hang of 2026-12-02).

A Python function given to a Polars expression (`map_elements`, `map_batches`, ...) runs on Polars' worker threads
and needs the GIL there; `DataFrame.to_pandas` (Streamlit's st.dataframe, every table) holds the GIL while it waits
for those workers. Two sessions doing one each deadlocked the whole server (bench/ANALYSIS.md).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import polars as pl

from saleslens.core import pymap

ROOT = Path(__file__).resolve().parents[3]
SERVER_CODE = ("dashboard.py", "serve.py", "ui", "pages", "saleslens", "queries")
POOL_UDFS = {"map_elements", "map_batches", "map_rows", "map_groups"}
# Files allowed such calls: none (Targets' six went with the merge). Nothing may be added here.
KNOWN: dict[str, int] = {}


def _pool_udf_calls(path: Path) -> int:
    """How many calls of a Polars method that runs a Python function in the pool a file makes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sum(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in POOL_UDFS
               for n in ast.walk(tree))


def test_server_code_runs_no_python_function_in_the_polars_pool() -> None:
    """Every module the app imports maps values with pymap.map_values, on the calling thread."""
    files = [ROOT / p for p in SERVER_CODE if (ROOT / p).is_file()]
    files += [f for p in SERVER_CODE if (ROOT / p).is_dir() for f in sorted((ROOT / p).rglob("*.py"))]
    found = {str(f.relative_to(ROOT)): n for f in files if (n := _pool_udf_calls(f))}
    extra = {f: n for f, n in found.items() if n > KNOWN.get(f, 0)}
    assert not extra, f"use saleslens.core.pymap.map_values instead of {sorted(POOL_UDFS)}: {extra}"


def test_the_scan_sees_such_a_call(tmp_path: Path) -> None:
    """The check above finds map_elements and map_batches (so its silence means something)."""
    module = tmp_path / "m.py"
    module.write_text("import polars as pl\nx = pl.col('a').map_elements(str)\ny = pl.col('b').map_batches(len)\n")
    assert _pool_udf_calls(module) == 2


def test_map_values_gives_what_map_elements_gave() -> None:
    """Nulls stay null (or are passed on with skip_nulls=False); the name stays; the dtype is the one asked for."""
    s = pl.Series("n", [1, None, 3])
    out = pymap.map_values(s, lambda v: v * 10, pl.Int64)
    assert (out.name, out.dtype, out.to_list()) == ("n", pl.Int64, [10, None, 30])
    kept = pymap.map_values(s, lambda v: "none" if v is None else str(v), pl.String, skip_nulls=False)
    assert kept.to_list() == ["1", "none", "3"]
    days = pymap.map_values(pl.Series("m", ["2026-01", "2026-02"]), lambda m: date.fromisoformat(m + "-01"), pl.Date)
    assert (days.dtype, days.to_list()) == (pl.Date, [date(2026, 1, 1), date(2026, 2, 1)])
    rows = pymap.map_values(pl.Series("r", [{"a": 1, "b": 2}, {"a": 5, "b": None}]),
                            lambda r: r["a"] + (r["b"] or 0), pl.Int64)
    assert rows.to_list() == [3, 5]
    assert pymap.map_values(pl.Series("e", [], dtype=pl.String), str.upper, pl.String).to_list() == []


# A table formatted for the screen (widgets.readable, as every page does) in one thread while another converts a
# multi-chunk frame to pandas (as st.dataframe does for another session). With map_elements in readable this
# deadlocked within a second on two cores; the child process then never prints "done".
_RACE = textwrap.dedent("""
    import faulthandler, threading, time
    import polars as pl
    from ui import widgets

    faulthandler.dump_traceback_later(40, exit=True)
    table = pl.DataFrame({f"c{i}": [None if j % 7 == 0 else j * 1.5 for j in range(200)] for i in range(6)})
    config = {c: {"type_config": {"format": "%.1f"}} for c in table.columns}
    stop = time.monotonic() + 3

    def chunks():
        parts = [pl.DataFrame({f"c{i}": [str(j) if i % 2 else j for j in range(2000)] for i in range(12)})
                 for _ in range(8)]
        return pl.concat(parts, rechunk=False)

    def format_tables():
        while time.monotonic() < stop:
            widgets.readable(table, config, "en")

    def convert():
        while time.monotonic() < stop:
            chunks().to_pandas()

    threads = [threading.Thread(target=f) for f in (format_tables, convert, convert)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("done")
""")


def test_formatting_a_table_beside_a_pandas_conversion_does_not_deadlock() -> None:
    """readable() and to_pandas() in threads of one process for 3 s both finish."""
    proc = subprocess.run([sys.executable, "-c", _RACE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "done", proc.stderr[-3000:]
