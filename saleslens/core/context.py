"""What a feature's load(ctx, choices) reads: the page's context without Streamlit.

The app's ui.context.Context and the benchmark's BenchContext both fit this shape, so the page, the
warm start and the benchmark call the same load function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import polars as pl

from saleslens.core import store
from saleslens.core.filters import Filters

if TYPE_CHECKING:  # the benchmark's pandas baseline process imports features without loading DuckDB
    from queries.runner import Runner

# A named query and its parameters: one call of Runner.run, or one entry of Runner.run_many.
Call = tuple[str, dict[str, object]]


class DataContext(Protocol):
    """Language, data, filters and the named-query runner a load function needs."""

    lang: str
    data_dir: Path
    snapshot: store.Snapshot | None
    runner: Runner | None
    filters: Filters

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query on the current snapshot with the viewer's scope."""
        ...

    def run_many(self, calls: list[Call]) -> list[pl.DataFrame]:
        """Run independent named queries side by side, frames in the order of the calls."""
        ...


@dataclass
class RunnerContext:
    """A DataContext over one runner without Streamlit: for the command line, tests and scripts."""

    data_dir: Path
    snapshot: store.Snapshot
    runner: Runner
    filters: Filters
    lang: str = "en"
    calls: list[str] = field(default_factory=list)  # the names of the queries run, in order (tests read it)

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query on the runner's snapshot and scope."""
        self.calls.append(name)
        return self.runner.run(name, **params)

    def run_many(self, calls: list[Call]) -> list[pl.DataFrame]:
        """Run named queries one after the other (the runner caches; no thread pool needed here)."""
        return [self.run(name, **params) for name, params in calls]
