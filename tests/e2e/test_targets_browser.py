"""End to end: the Targets & forecast page in headless Chromium against a real server over the S demo."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from saleslens.core import access
from saleslens.targets import sets as target_sets
from tests import support

pytestmark = pytest.mark.e2e

ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
SET_NAME = "E2E plan"


def assert_no_error(page) -> None:
    """No traceback and no error box on the page."""
    errors = page.locator(ERRORS)
    if errors.count():
        pytest.fail(f"{page.url} shows an error: {errors.first.inner_text()[:500]}")


def query(page) -> dict[str, list[str]]:
    """The page's URL query parameters."""
    return urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)


def test_targets_page_sections_and_saving_a_target_set(server: support.Server, page, e2e_demo_dir: Path) -> None:
    """Charts draw, sections switch and go into the link, and a saved set is there after a fresh visit."""
    from playwright.sync_api import expect

    try:
        page.goto(f"{server.url}/targets")
        support.settle(page)
        assert_no_error(page)
        expect(page.locator("h1", has_text="Targets & forecast")).to_be_visible()
        expect(page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first).to_be_visible()
        # The title wraps on two lines (tspans) in narrow charts: match its first words.
        expect(page.get_by_text("This quarter: closed so far").first).to_be_visible()

        page.get_by_role("radio", name="Attainment trend").click()
        support.settle(page)
        assert_no_error(page)
        expect(page.get_by_text("Bookings against target by Month")).to_be_visible()
        assert query(page).get("p_view") == ["trend"]

        page.get_by_role("radio", name="Target planning").click()
        support.settle(page)
        assert_no_error(page)
        name = page.get_by_label("Target set name")
        name.fill(SET_NAME)
        name.press("Enter")
        support.settle(page)
        page.get_by_role("button", name="Save target set").click()
        support.settle(page)
        expect(page.get_by_text(f"Saved target set '{SET_NAME}'")).to_be_visible()
        assert SET_NAME in target_sets.names(e2e_demo_dir)

        # A fresh visit (new session) with the set in the link uses it.
        page.goto(f"{server.url}/targets?p_target_set={urllib.parse.quote(SET_NAME)}")
        support.settle(page)
        assert_no_error(page)
        source = page.locator("[data-testid='stSelectbox']").filter(
            has=page.locator("[data-testid='stWidgetLabel']", has_text="Targets from"))
        expect(source.locator("input")).to_have_value(SET_NAME)
    finally:
        if SET_NAME in target_sets.names(e2e_demo_dir):
            # As an admin: a delete, like every write, names who does it (the e2e server's user is the admin).
            target_sets.delete(e2e_demo_dir, SET_NAME, who=access.Actor(access.User("admin", "Admin", "admin"), None))
