"""Warm start: what the first visit would pay for, done while the browser is still loading the app.

Imports the heavy libraries and opens the latest snapshot's runner (the one an unscoped viewer gets), running the
sidebar's filter options and the Overview's default queries, so their results are cached for the first view.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from pathlib import Path

from saleslens.core import settings, store

log = logging.getLogger(__name__)
_ONCE = threading.Lock()
_done = False


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
    from saleslens.core import charts  # noqa: F401

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
