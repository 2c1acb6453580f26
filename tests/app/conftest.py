"""Fixtures for AppTest runs of dashboard.py: data directories in the environment and an app factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from tests import fixtures, support
from tests.support import use_data


@pytest.fixture(autouse=True)
def navigation_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep Streamlit from treating pages/ as an old-style page folder in AppTest.

    AppTest resets that switch before every run, so each rerun after the first would execute the page
    file alone (with the previous run's context) instead of dashboard.py. A real server turns it off
    for good at the first st.navigation call; this gives AppTest the same behaviour.
    """
    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def tiny_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny literal dataset as the app's data directory."""
    fixtures.build_store(tmp_path)
    return use_data(monkeypatch, tmp_path)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S demo (seed 7, as of 2026-06-30), built once per test session."""
    return support.demo_copy(tmp_path_factory, "demo_s")


@pytest.fixture
def demo_data(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The S demo as the app's data directory."""
    return use_data(monkeypatch, demo_dir)


@pytest.fixture
def app() -> Callable[..., AppTest]:
    """A factory: dashboard.py run once with the given URL query parameters."""

    def make(**query: str) -> AppTest:
        at = AppTest.from_file(str(support.DASHBOARD), default_timeout=60)
        at.query_params.update(query)
        return at.run()

    return make
