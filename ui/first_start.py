"""The first start: build the demo once per data directory, in a thread of its own, while every visitor waits.

The build runs outside any script run on purpose: a visitor who clicks while it runs reruns their script, and
Streamlit stops a running script at its next call, which would abort (and restart) a build made inside it.
Every visitor's page, the first one's included, shows the build's progress and goes on once the data is in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import streamlit as st

from saleslens.core import settings, store
from saleslens.core.i18n import t

# How long a page waits for the first data (the demo build, or another server's build or first import): an M
# demo takes about a minute and a half on two cores.
DATA_WAIT_SECONDS = 600.0
POLL_SECONDS = 0.5


@dataclass
class Build:
    """One data directory's demo build: its thread and what it last reported."""

    thread: threading.Thread
    started: float
    fraction: float = 0.0
    message: str = ""
    error: str | None = None


_BUILDS: dict[str, Build] = {}
_GUARD = threading.Lock()


def build_demo_if_empty(data_dir: Path, lang: str) -> None:
    """With no snapshot and the demo allowed, start (or join) the demo build and wait for it under a progress bar."""
    if store.list_snapshots(data_dir) or settings.get("auto_demo") != "1":
        return
    build = start(data_dir)
    with st.status(t("app.loading_demo", lang), expanded=True) as status:
        bar = st.progress(0.0)
        deadline = time.monotonic() + DATA_WAIT_SECONDS
        while build.thread.is_alive() and time.monotonic() < deadline:
            bar.progress(min(max(build.fraction, 0.0), 1.0), text=build.message or t("app.waiting_for_data", lang))
            time.sleep(POLL_SECONDS)
        if build.error:
            status.update(label=build.error, state="error")
        elif store.list_snapshots(data_dir):
            seconds = time.monotonic() - build.started
            status.update(label=t("app.demo_ready", lang, snapshots=len(store.list_snapshots(data_dir)),
                                  seconds=seconds), state="complete")


def start(data_dir: Path) -> Build:
    """The running build of this data directory, or a new one started now."""
    key = str(data_dir.resolve())
    with _GUARD:
        build = _BUILDS.get(key)
        if build is None or not build.thread.is_alive():
            thread = threading.Thread(target=lambda: _run(data_dir, _BUILDS[key]), name="saleslens-demo", daemon=True)
            build = _BUILDS[key] = Build(thread, time.monotonic())
            thread.start()
    return build


def _run(data_dir: Path, build: Build) -> None:
    """The thread: wait for the import lock (another server may be building), then build if still nothing is in."""
    from saleslens import demo  # imported here: only the first start needs it

    def progress(fraction: float, message: str) -> None:
        build.fraction, build.message = fraction, message

    deadline = time.monotonic() + DATA_WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            try:
                with store.import_lock(data_dir, timeout=store.LOCK_WAIT_SECONDS):
                    if not store.list_snapshots(data_dir):
                        as_of = settings.get("demo_as_of")
                        demo.build(data_dir, size=settings.get("demo_size"), seed=int(settings.get("demo_seed")),
                                   as_of=date.fromisoformat(as_of) if as_of else None, progress=progress)
                    return
            except store.ImportBusy:
                build.message = ""  # someone else publishes: the page says it is waiting for them
    except Exception as exc:  # the page shows it; the next visitor tries again with a new thread
        build.error = str(exc)
