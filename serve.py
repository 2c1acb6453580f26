"""Sales Lens with a warm start: `streamlit run serve.py` serves dashboard.py and, while the first browser loads
the app, imports the libraries and opens the latest snapshot (saleslens/warmup.py)."""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

# The app always routes with st.navigation. Left unset, Streamlit decides on the first session that pages/ is an
# old-style page folder, and dashboard.py then spends the first visit of a fresh server on an extra st.rerun()
# to switch that off (see its main()): part of every cold start.
PagesManager.uses_pages_directory = False


def check_streamlit_use() -> None:
    """Streamlit's check whether it runs in a REPL, made once per process on the first element of the first page
    run: inspect.stack() reads the source of every frame, so on a page run's deep stack it cost 0.1-0.35 s. Done
    first thing in the warm-up thread, on its short stack, before the first visitor's script gets there."""
    try:
        from streamlit import delta_generator

        delta_generator._maybe_print_use_warning()
    except Exception:  # a private function of Streamlit: without it the first page pays the check
        pass


def warm_start() -> None:
    """The warm-up thread: Streamlit's one-time check, tidy the data directory (the first page run did it), then
    warm up (saleslens/warmup.py).

    Imported here, in the thread: importing the warm-up (the store: Polars, pyarrow) in the lifespan held the server
    back from answering for about half a second of every cold start.
    """
    check_streamlit_use()
    from saleslens import warmup
    from saleslens.core import settings
    from ui import context

    try:
        context.tidy(settings.data_dir())
    except Exception as exc:  # the page runs tidy too and reports what it cannot do
        warmup.log.warning("warm start could not tidy: %s", exc)
    warmup.warm_then_freeze()


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """Start the warm-up beside the server: the server answers at once, the first page finds the work done."""
    threading.Thread(target=warm_start, name="saleslens-warmup", daemon=True).start()
    yield


# A server that stops answering explains itself: `kill -USR1 PID` writes every thread's Python stack to the server's
# output, even when no thread can take the GIL (faulthandler writes from the signal handler, in C). The smoke load
# test does it when a health check goes unanswered (bench/ANALYSIS.md, "Server hang under load (2026-12-02)").
faulthandler.register(signal.SIGUSR1, all_threads=True)

if os.environ.get("SALESLENS_PROFILE"):  # the benchmark's rerun profile (bench/profile_hook.py); off otherwise
    from bench import profile_hook

    profile_hook.install(os.environ["SALESLENS_PROFILE"])

app = st.App("dashboard.py", lifespan=lifespan)
