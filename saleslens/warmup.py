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


def warm(data_dir: Path | None = None) -> float:
    """Import, open and query as the first visit would, once per process; returns the seconds it took (0 when
    there is no data or it already ran: the server may enter its lifespan more than once)."""
    global _done
    with _ONCE:
        if _done:
            return 0.0
        _done = True
    started = time.perf_counter()
    import pandas  # noqa: F401  (Streamlit's dataframes need it; about a second to import)
    import plotly.graph_objects  # noqa: F401

    from queries.runner import runner_for

    # SQLAlchemy and Alembic (saved work) cost about a second to import: the first page run needs them too
    from saleslens.core import charts, db  # noqa: F401

    data_dir = data_dir or settings.data_dir()
    try:
        snaps = store.list_snapshots(data_dir)
        if not snaps:
            return 0.0
        runner = runner_for(data_dir)
        runner.run("filter_options_by_dimension")
        runner.run_many(overview_calls(runner.snapshot.as_of))
    except Exception as exc:  # a warm start must never stop the server; the page reports data problems itself
        log.warning("warm start skipped: %s", exc)
        return 0.0
    return time.perf_counter() - started


def warm_then_freeze(data_dir: Path | None = None, freeze_after: float = 10.0) -> None:
    """The server's warm start (serve.py): warm(), then freeze the heap some seconds later (freeze_heap).

    Later, not at once: importing the other pages' modules would compete with the first Overview for the GIL.
    """
    warm(data_dir)
    time.sleep(freeze_after)
    freeze_heap()
