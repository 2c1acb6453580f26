"""Python functions over a column's values, run on the calling thread and never inside Polars' thread pool.

Why not `map_elements` (or `map_batches`, `map_rows`, `map_groups` with a Python function): Polars runs the function
on its own worker threads, and each call there must take the GIL. A thread that holds the GIL while it waits for
those same workers (`DataFrame.to_pandas`, which Streamlit's `st.dataframe` calls for every table of every
session) then waits forever for workers that wait forever for it; every other Python thread of the server, the
event loop included, queues behind the GIL, and the server stops answering (bench/ANALYSIS.md, "Server hang under
load (2026-12-02)"; pola-rs/polars#26821 is the same deadlock with `to_numpy`). Code the app runs must use these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl


def map_values(series: pl.Series, fn: Callable[[Any], Any], dtype: pl.DataType | type[pl.DataType],
               skip_nulls: bool = True) -> pl.Series:
    """fn of each value, as a series of dtype with the same name: `series.map_elements(fn, return_dtype=dtype)`'s
    result (a missing value stays missing unless skip_nulls is False; a struct's values are dicts)."""
    out = [None if value is None and skip_nulls else fn(value) for value in series.to_list()]
    return pl.Series(series.name, out, dtype=dtype)
