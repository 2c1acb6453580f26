"""Shared fixtures: the tiny literal dataset published as a real snapshot in tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from queries.runner import Runner
from saleslens.core import store
from tests import fixtures


@pytest.fixture(autouse=True)
def fresh_forecast_cache() -> None:
    """Each test starts with an empty forecast cache.

    Its key is the snapshot's id and creation second, not its folder: two fixture stores published in the same
    second for the same day (another test's, earlier in this process) would share an entry, and which tests share
    a process depends on the order, or on the pytest-xdist worker they land on.
    """
    forecast = sys.modules.get("saleslens.targets.forecast")
    if forecast is not None:  # not imported yet: nothing cached
        forecast._CACHE.clear()


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
