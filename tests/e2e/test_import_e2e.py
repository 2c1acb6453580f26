"""End to end: in a real browser, upload a HubSpot export on the Import page, check it and publish it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from saleslens.core import store
from tests import fixtures, support
from tests.e2e.conftest import start_server
from tests.ingest_cases import HUBSPOT_DEALS

pytestmark = pytest.mark.e2e


@pytest.fixture
def tiny_server(browser, tmp_path: Path) -> Iterator[tuple[support.Server, Path]]:
    """A server of its own over the tiny dataset, since publishing changes the data directory."""
    data = tmp_path / "data"
    fixtures.build_store(data)
    server = start_server(data, tmp_path)
    yield server, data
    server.stop()


def test_upload_check_publish(tiny_server: tuple[support.Server, Path], page) -> None:
    """Upload deals.csv, keep the hubspot mapping, Check, Publish: the app then serves the new snapshot."""
    from playwright.sync_api import expect

    server, data = tiny_server
    # Open the app first: a deep link is the first visit of a fresh server otherwise, which Streamlit answers
    # with a "page not found" notice before st.navigation has run once.
    page.goto(server.url)
    support.settle(page)
    page.locator("[data-testid='stSidebarNav'] a", has_text="Import").click()
    support.settle(page)
    expect(page.get_by_role("heading", name="Import your CRM data")).to_be_visible()
    uploader = page.locator("[data-testid='stFileUploader'] input[type='file']").first
    uploader.set_input_files([{"name": "deals.csv", "mimeType": "text/csv", "buffer": HUBSPOT_DEALS.encode()}])
    expect(page.get_by_text("deals.csv").first).to_be_visible()
    support.settle(page)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Ready to publish: 4 deals")).to_be_visible(timeout=60_000)
    assert len(store.list_snapshots(data)) == 1  # a check writes nothing
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published snapshot").first).to_be_visible(timeout=60_000)
    snaps = store.list_snapshots(data)
    assert len(snaps) == 2 and snaps[-1].manifest["source"] == "import:hubspot"
    support.settle(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar.get_by_text(f"snapshot {snaps[-1].id}")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
