"""The per-run context pages read: language, data directory, snapshot, runner and filters."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import streamlit as st

from queries.runner import Runner, Scope, shared_runner
from saleslens import warmup
from saleslens.core import access, settings, store
from saleslens.core.filters import Filters

_KEY = "_saleslens_context"
# Page runs tidy the data directory (store.clean_leftovers) at most this often per process: the tidying walks
# every snapshot's and every history batch's folder twice and takes the import lock, which cost a page run tens
# of milliseconds at a hundred snapshots, to find nothing almost every time.
TIDY_EVERY_SECONDS = 60.0
# What page runs leave alone: a `saleslens derive` may be rebuilding a derived table.
TIDY_MIN_AGE_SECONDS = 6 * 3600
_TIDIED: dict[str, float] = {}
_TIDY_LOCK = threading.Lock()


@dataclass(frozen=True)
class Context:
    """What a page needs to render: who reads, in which language, which data, which filters."""

    lang: str
    data_dir: Path
    # None only while the data directory is empty, when the Import page is the one page that runs
    snapshot: store.Snapshot | None
    runner: Runner | None
    filters: Filters
    grant: access.Grant | None = None

    @property
    def who(self) -> str:
        """The signed-in login, for the audit log."""
        return self.grant.user.login if self.grant and self.grant.user else "(unknown)"

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query on the current snapshot with the viewer's scope."""
        return self.runner.run(name, **params)

    def run_many(self, calls: list[tuple[str, dict[str, object]]]) -> list[pl.DataFrame]:
        """Run independent named queries side by side; the frames come back in the order of the calls."""
        return self.runner.run_many(calls)


def runner_for_grant(data_dir: Path, snap: store.Snapshot, grant: access.Grant) -> Runner:
    """The shared runner that sees exactly the rows a grant allows.

    From the one registry in queries.runner (no Streamlit cache: a second cache could hold a runner the registry
    had closed). The scope is part of its key, so cached results of one viewer never reach another.
    """
    del data_dir  # the snapshot knows its data directory
    rep_ids = None if grant.rep_ids is None else frozenset(grant.rep_ids)
    scope = Scope(grant.scope_key, rep_ids)
    warmup.wait_for_runner(snap, scope.key)  # the warm start may be opening this very runner: take it when done
    return shared_runner(snap, scope)


def data_dir() -> Path:
    """The data directory from settings (SALESLENS_DATA, else ./data)."""
    return settings.data_dir()


def tidy(data_dir: Path) -> None:
    """Remove what killed imports and saves left behind (store.clean_leftovers), once a minute at most."""
    now = time.monotonic()
    with _TIDY_LOCK:
        last = _TIDIED.get(str(data_dir))
        if last is not None and now - last < TIDY_EVERY_SECONDS:
            return
        _TIDIED[str(data_dir)] = now
    store.clean_leftovers(data_dir, min_age_seconds=TIDY_MIN_AGE_SECONDS)


def set_current(ctx: Context) -> None:
    """Make the context available to the page that runs next."""
    st.session_state[_KEY] = ctx


def current() -> Context:
    """The context the entry file prepared; pages call this first."""
    if _KEY not in st.session_state:
        # On a fresh server, a deep link (/funnel?...) opened before any other visit runs the page file alone:
        # Streamlit treats pages/ as an old-style page folder until st.navigation has run once. Switch that
        # off and rerun, so dashboard.py runs first and routes to the same page.
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state[_KEY]
