"""The per-run context pages read: language, data directory, snapshot, runner and filters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import streamlit as st

from queries.runner import Runner, Scope, runner_for
from saleslens import settings, store
from saleslens.filters import Filters

_KEY = "_saleslens_context"


@dataclass(frozen=True)
class Context:
    """What a page needs to render: who reads, in which language, which data, which filters."""

    lang: str
    data_dir: Path
    snapshot: store.Snapshot
    runner: Runner
    filters: Filters

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query on the current snapshot with the viewer's scope."""
        return self.runner.run(name, **params)


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_runner(data_dir: str, snapshot_id: str, created_at: str, scope_key: str) -> Runner:
    """One runner (DuckDB database with base views) per snapshot and scope, shared by sessions."""
    del created_at, scope_key  # part of the cache key only: a re-published snapshot gets a new runner
    return runner_for(Path(data_dir), snapshot_id, Scope.everyone())


def data_dir() -> Path:
    """The data directory from settings (SALESLENS_DATA, else ./data)."""
    return settings.data_dir()


def set_current(ctx: Context) -> None:
    """Make the context available to the page that runs next."""
    st.session_state[_KEY] = ctx


def current() -> Context:
    """The context the entry file prepared; pages call this first."""
    return st.session_state[_KEY]
