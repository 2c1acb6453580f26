"""End to end: the Rankings & reviews page in headless Chromium against a real server over the S demo."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests import support

pytestmark = pytest.mark.e2e

ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"


def assert_no_error(page) -> None:
    """No traceback and no error box on the page."""
    errors = page.locator(ERRORS)
    if errors.count():
        pytest.fail(f"{page.url} shows an error: {errors.first.inner_text()[:500]}")


def test_leaderboard_ranks_scores_and_makes_a_pack(server: support.Server, page) -> None:
    """Charts draw; ranking by another KPI updates the table and the link; the score and the pack work."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/leaderboard?period=last_quarter")
    support.settle(page)
    assert_no_error(page)
    expect(page.locator("h1", has_text="Rankings & reviews")).to_be_visible()
    expect(page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first).to_be_visible()

    rank_by = page.locator("[data-testid='stSelectbox']").filter(
        has=page.locator("[data-testid='stWidgetLabel']", has_text=re.compile("^Rank by$")))
    rank_by.locator("input").click()
    page.get_by_role("option", name="Win rate", exact=True).click()
    support.settle(page)
    assert_no_error(page)
    expect(page.locator("[data-testid='stMainBlockContainer']").get_by_text("Win rate by rep")).to_be_visible()
    assert urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).get("p_kpi") == ["win_rate"]

    page.get_by_role("tab", name="Scorecard").click()
    expect(page.get_by_text("Scores and what they are made of")).to_be_visible()
    expect(page.get_by_text(re.compile(r"scores \d+\.\d = "))).to_be_visible()

    page.get_by_role("tab", name="Review pack").click()
    page.get_by_role("button", name="Prepare review pack").click()
    expect(page.get_by_text("Review pack ready")).to_be_visible(timeout=90_000)
    for label in ("HTML (interactive)", "Excel workbook", "PDF"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    assert_no_error(page)
