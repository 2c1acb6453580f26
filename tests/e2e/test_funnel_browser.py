"""End to end on the Funnel page: a click on a bar opens its deals, a filter change recomputes the page.

Runs a real `streamlit run dashboard.py` over the literal funnel fixtures (tests/funnel_fixtures.py), so
the expected numbers are the hand-worked ones of the unit tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import funnel_fixtures as ff
from tests import support
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e

ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
Q2_LINK = "/funnel?period=custom&start=2026-04-01&end=2026-06-30"


@pytest.fixture(scope="module")
def funnel_server(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.Server]:
    data = tmp_path_factory.mktemp("funnel_e2e")
    ff.build_store(data)
    srv = start_server(data, tmp_path_factory.mktemp("funnel_server"))
    yield srv
    srv.stop()


def tile(page, label: str):
    labelled = page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{re.escape(label)}$"))
    return page.locator("[data-testid='stMetric']", has=labelled).locator("[data-testid='stMetricValue']")


def click_bar(page, chart_key: str, index: int) -> None:
    """Click the middle of a Plotly bar (the drag layer lies on top, so click by position)."""
    bars = page.locator(f".st-key-{chart_key} g.point path")
    bars.nth(index).wait_for()
    bars.nth(index).scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = bars.nth(index).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_click_on_a_stage_lists_its_deals(funnel_server: support.Server, page: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(funnel_server.url + Q2_LINK)
    support.settle(page)
    expect(tile(page, "Still open")).to_have_text("7")
    click_bar(page, "funnel_current_chart", 2)  # Proposal
    support.settle(page)
    drill = page.locator(".st-key-funnel_current_drill")
    expect(drill.get_by_role("combobox")).to_have_value("Proposal")
    # Reached Proposal, current state: D1, D2, D6, E3, F1.
    expect(page.get_by_text("5 rows; download them as CSV or Excel below the table.")).to_be_visible()
    assert page.locator(ERRORS).count() == 0


def test_waterfall_bar_and_region_filter(funnel_server: support.Server, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(funnel_server.url + Q2_LINK)
    support.settle(page)
    # Only the open tab is computed: the waterfall is drawn once its tab is opened.
    expect(page.locator(".st-key-funnel_pc_chart")).to_have_count(0)
    page.get_by_role("tab", name="Pipeline changes").click()
    support.settle(page)
    click_bar(page, "funnel_pc_chart", 8)  # remainder: F3, F4, F5
    support.settle(page)
    expect(page.locator(".st-key-funnel_pc_drill").get_by_role("combobox")).to_have_value("Remainder")
    expect(page.get_by_text("3 rows; download them as CSV or Excel below the table.")).to_be_visible()

    page.goto(funnel_server.url + Q2_LINK + "&region=West")
    support.settle(page)
    # West: D4, E3, F3, F5 open; D5 lost.
    expect(tile(page, "Still open")).to_have_text("4")
    expect(tile(page, "Lost (outcome)")).to_have_text("1")
    assert page.locator(ERRORS).count() == 0
