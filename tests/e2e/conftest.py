"""Fixtures for browser tests: Chromium via Playwright and a real streamlit server over the S demo."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import support

SCREENSHOTS = support.ROOT / "screenshots" / "e2e"  # git-ignored


def _unavailable(reason: str) -> None:
    """In CI (CI=1, or CI=true as most CI systems set it) a missing browser fails: e2e never skips there."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"e2e tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary, checked once: skip the e2e tests without it (fail them in CI)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    if not Path(support.CHROMIUM).exists():
        _unavailable(f"Chromium is missing at {support.CHROMIUM} (apt-get install -y chromium)")
    return support.CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator:
    """Headless Chromium driven by Playwright, per test module.

    Not per session: Playwright's sync API keeps an event loop running in this thread, and any later
    test that starts Playwright itself (or uses asyncio) would fail while it is open.
    """
    from playwright.sync_api import expect, sync_playwright

    # Generous waits: a loaded 2-core CI box can take several seconds per rerun; a pass is still fast.
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=support.CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator:
    """A fresh browser page (own cookies and storage) for one test; a failed test leaves a screenshot."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = SCREENSHOTS / (re.sub(r"[^\w.-]+", "_", request.node.name) + ".png")
        try:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}")
        except Exception as exc:  # a screenshot is a courtesy; never hide the real failure
            print(f"no screenshot: {exc}")
    context.close()


@pytest.fixture(scope="session")
def e2e_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S demo in its own data directory, built once."""
    return support.demo_copy(tmp_path_factory, "e2e_demo")


def start_server(data_dir: Path, log_dir: Path, **env: str) -> support.Server:
    """A streamlit server over a data directory, healthy when returned."""
    env = {"SALESLENS_DATA": str(data_dir), "SALESLENS_AUTO_DEMO": "0", "SALESLENS_LANGUAGE": "en", **env}
    server = support.Server(env, log_dir / "server.log")
    try:
        server.wait_healthy()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def server(chromium: str, e2e_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.Server]:
    """A real `streamlit run dashboard.py` over the S demo, stopped after the session."""
    srv = start_server(e2e_demo_dir, tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()
