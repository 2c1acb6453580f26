"""Shared fixtures: the tiny literal dataset published as a real snapshot in tmp_path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from queries.runner import Runner
from saleslens.core import store
from tests import fixtures


@pytest.fixture(autouse=True)
def fresh_forecast_cache() -> None:
    """Each test starts with an empty forecast cache, so no test's result depends on which tests ran before it in
    the same process (which depends on the order, or on the pytest-xdist worker a file lands on)."""
    forecast = sys.modules.get("saleslens.targets.forecast")
    if forecast is not None:  # not imported yet: nothing cached
        forecast._CACHE.clear()


@pytest.fixture(autouse=True)
def real_main_module() -> Iterator[None]:
    """Put the interpreter's own __main__ back after each test. An AppTest run leaves its script's module there
    (Streamlit runs a script as __main__), so a later test would see another test's script as __main__. (This
    once made the import sandbox's multiprocessing child run that script; the child is now a plain
    `python -m saleslens.ingest.sandbox_child`, tests/unit/ingest/test_sandbox_child.py, so this keeps tests apart.)"""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A data directory holding the tiny dataset as one snapshot."""
    fixtures.build_store(tmp_path)
    return tmp_path


@pytest.fixture
def tiny(tiny_dir: Path) -> Runner:
    """A runner over the tiny snapshot, seeing every row."""
    runner = Runner(store.open_snapshot(tiny_dir))
    yield runner
    runner.close()
