"""End to end on the What-if page: a slider move recomputes the tiles and the link; a scenario is saved."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from saleslens.whatif import store as scenario_store
from tests import support

pytestmark = pytest.mark.e2e

ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"


def tile(page, label: str):
    """The value element of the metric tile with a label."""
    labelled = page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{re.escape(label)}$"))
    return page.locator("[data-testid='stMetric']", has=labelled).locator("[data-testid='stMetricValue']")


def test_slider_moves_outputs_and_a_scenario_is_saved(page, server: support.Server, e2e_demo_dir: Path) -> None:
    """Drag the global target change with the keyboard; the outputs and the link follow; Save keeps it."""
    from playwright.sync_api import expect

    # Open the app first: a deep link as the first visit of a fresh server is answered before st.navigation runs.
    page.goto(server.url)
    support.settle(page)
    page.goto(f"{server.url}/whatif?period=last_quarter")
    support.settle(page, 1000)
    page.locator("[data-testid='stPlotlyChart']").nth(1).wait_for(timeout=60_000)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).first.inner_text()
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 2
    assigned = tile(page, "Targets assigned to reps")
    before = assigned.inner_text()

    slider = page.get_by_role("slider").first  # "Change all targets by", the first input of the page
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    support.settle(page, 500)
    expect(assigned).not_to_have_text(before)
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params.get("p_tgt") == ["10"], page.url

    name = "e2e stretch plan"
    page.get_by_placeholder("Name, e.g. Q1 plan +8%").fill(name)
    page.get_by_placeholder("Name, e.g. Q1 plan +8%").press("Enter")
    support.settle(page, 300)
    page.get_by_role("button", name="Save").click()
    support.settle(page, 500)
    expect(page.get_by_text(f"Saved scenario '{name}'")).to_be_visible()
    assert page.locator(ERRORS).count() == 0
    saved = scenario_store.load(e2e_demo_dir, name)
    assert saved.target_change_pct == 10
