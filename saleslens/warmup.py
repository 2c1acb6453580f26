"""Warm start: what the first visit would pay for, done while the browser is still loading the app.

Imports the heavy libraries and opens the latest snapshot's runner (the one an unscoped viewer gets), running the
sidebar's filter options and the Overview's default queries, so their results are cached for the first view.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time
from datetime import date
from pathlib import Path

from saleslens.core import settings, store

log = logging.getLogger(__name__)
_ONCE = threading.Lock()
_done = False
# What the first page run imports besides the runner, in the order it needs them.
FIRST_PAGE_MODULES = ("saleslens.core.db", "pandas", "plotly.graph_objects", "saleslens.core.charts")
# The feature modules the pages import: loaded before the heap is frozen, so their objects are frozen too.
FEATURE_MODULES = tuple(f"saleslens.{name}.load" for name in
                        ("overview", "funnel", "targets", "rankings", "whatif", "health"))


def freeze_heap() -> float:
    """Import every page's feature module, collect, then freeze the heap; returns the objects frozen.

    Streamlit collects garbage after every script run (runner.postScriptGC): a full collection walks every
    tracked object, and the app's libraries (plotly's validators, pandas, Streamlit itself) are about 150,000
    of them that never become garbage, so each rerun paid 40-190 ms on this machine to rescan them. Frozen
    objects are left out of every later collection; they are still freed by reference counting.
    """
    for name in FEATURE_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a page that cannot import reports it itself when opened
            log.warning("warm start could not import %s: %s", name, exc)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def overview_calls(as_of: date) -> list[tuple[str, dict[str, object]]]:
    """The queries of the Overview's default view (this quarter, no filters, the default group)."""
    from saleslens.core.filters import from_query
    from saleslens.overview import calls as overview

    f = from_query({}, as_of)
    return [*overview.header_calls(f, as_of)[1], overview.group_call(f)]


# The latest snapshot's unscoped runner while the warm start opens it and runs the first view's queries: (store
# folder, created_at) -> set when done. A first visitor who would get that runner waits for it (wait_for_runner)
# instead of opening a second one beside it and running the same queries again (0.7 s of a cold start, twice the
# DuckDB work on two shared cores).
_WARMING: dict[tuple[str, object], threading.Event] = {}
WAIT_SECONDS = 30.0  # the longest a visitor waits for the warm start (a stuck one must not stop the page)


def wait_for_runner(snap: store.Snapshot, scope_key: str, timeout: float = WAIT_SECONDS) -> bool:
    """Wait while the warm start opens this snapshot's runner for this scope; whether there was one to wait for."""
    if scope_key != "all":  # the warm start opens the runner of a viewer who sees everyone only
        return False
    done = _WARMING.get((str(snap.root), snap.manifest.get("created_at")))
    if done is None or done.is_set():
        return False
    if not done.wait(timeout):
        # A stuck warm start: one visitor waited; let every later run go its own way rather than wait again.
        log.warning("warm start still opening %s after %.0f s: not waiting for it any more", snap.root, timeout)
        done.set()
    return True


def warm(data_dir: Path | None = None) -> float:
    """Open and query as the first visit would, then import what it draws with, once per process; returns the
    seconds it took (0 when there is no data or it already ran: the server may enter its lifespan more than once).

    The runner and its queries first: DuckDB works mostly without the GIL, so while it opens the views and runs the
    queries the server and the first visitor's script import in Python beside it. The imports (each needs the GIL
    throughout) come after, in the order the first page needs them.
    """
    global _done
    with _ONCE:
        if _done:
            return 0.0
        _done = True
    started = time.perf_counter()
    data_dir = data_dir or settings.data_dir()
    try:
        _open_latest(data_dir)
    except Exception as exc:  # a warm start must never stop the server; the page reports data problems itself
        log.warning("warm start skipped: %s", exc)
        return 0.0
    _import_for_first_page()
    return time.perf_counter() - started


def _open_latest(data_dir: Path) -> None:
    """Open the latest snapshot's unscoped runner and run the sidebar's and the Overview's default queries."""
    from queries.runner import shared_runner

    snaps = store.list_snapshots(data_dir)
    if not snaps:
        raise LookupError(f"no snapshot in {data_dir} yet")
    snap = store.open_snapshot(data_dir, snaps[-1].id)
    key = (str(snap.root), snap.manifest.get("created_at"))
    done = _WARMING.setdefault(key, threading.Event())
    try:
        runner = shared_runner(snap)
        runner.run("filter_options_by_dimension")
        runner.run_many(overview_calls(runner.snapshot.as_of))
    finally:
        done.set()


def _import_for_first_page() -> None:
    """Import what the first page run needs besides the runner."""
    # In the order the first page run needs them: SQLAlchemy and Alembic (saved work, the sign-in's audit line, about
    # a second), then pandas before plotly (core/charts.py says why) for the Overview's tables and charts.
    for name in FIRST_PAGE_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the page reports its own import errors
            log.warning("warm start could not import %s: %s", name, exc)


def warm_then_freeze(data_dir: Path | None = None, freeze_after: float = 10.0) -> None:
    """The server's warm start (serve.py): warm(), then freeze the heap some seconds later (freeze_heap).

    Later, not at once: importing the other pages' modules would compete with the first Overview for the GIL.
    """
    warm(data_dir)
    time.sleep(freeze_after)
    freeze_heap()
