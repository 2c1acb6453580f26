"""End to end: headless Chromium against a real `streamlit run dashboard.py` over the S demo."""

from __future__ import annotations

import re
import time
import urllib.parse
import warnings
from datetime import date
from pathlib import Path

import pytest

from queries.runner import runner_for
from saleslens.core import store
from saleslens.core.filters import period_bounds
from tests import support
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e

PAGES = support.existing_pages()
# Pages that must draw at least one Plotly chart on the demo data (by url path).
CHART_PAGES = {"overview", "funnel", "targets", "leaderboard", "whatif"}
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
FIRST_START_LIMIT = 60  # seconds the test allows; the product requirement for S is 30


def assert_no_error(page) -> None:
    """No traceback and no error box on the page."""
    errors = page.locator(ERRORS)
    if errors.count():
        pytest.fail(f"{page.url} shows an error: {errors.first.inner_text()[:500]}")


def tile(page, label: str):
    """The value element of the metric tile with a label."""
    labelled = page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{re.escape(label)}$"))
    return page.locator("[data-testid='stMetric']", has=labelled).locator("[data-testid='stMetricValue']")


def sidebar_widget(page, testid: str, label: str):
    """A sidebar widget of a kind (stSelectbox, stMultiSelect) by its label."""
    return page.locator(f"[data-testid='stSidebar'] [data-testid='{testid}']").filter(
        has=page.locator("[data-testid='stWidgetLabel']", has_text=re.compile(f"^{re.escape(label)}$"))
    )


def pick(page, box, value: str, tries: int = 4) -> None:
    """Choose a value in a multiselect the way a user does: open the list and click the option.

    The sidebar can re-render just after the page settles, which closes an open list or drops a click;
    so the whole gesture is retried until the value shows as a chosen tag.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    option = page.get_by_role("option", name=value, exact=True)
    tag = box.locator("[data-tag]", has_text=value).filter(visible=True)
    for attempt in range(tries):
        try:
            box.get_by_role("combobox").click()
            option.click(timeout=3_000)
            tag.first.wait_for(timeout=3_000)
            return  # the list stays open: Escape right after a pick can undo it before it is sent
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")


def query(page) -> dict[str, list[str]]:
    """The query parameters of the page's current URL."""
    return urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)


def page_url(server: support.Server, url_path: str) -> str:
    """The link of a page: the default page (Overview) lives at the root."""
    return f"{server.url}/" if url_path == "overview" else f"{server.url}/{url_path}"


@pytest.fixture(scope="module")
def region(e2e_demo_dir: Path) -> str:
    """A demo region with bookings this quarter, but not all of them: picking it must change the tile."""
    snap = store.open_snapshot(e2e_demo_dir)
    start, end = period_bounds("this_quarter", snap.as_of)
    runner = runner_for(e2e_demo_dir)
    try:
        by_region = runner.run("kpis_by_group", by="region", start=start, end=end)
    finally:
        runner.close()
    total = by_region["bookings"].sum()
    partial = by_region.filter((by_region["bookings"] > 0) & (by_region["bookings"] < total))
    assert partial.height, "the demo has bookings in one region only this quarter"
    return partial.sort("bookings")["group_key"][0]


def test_nav_lists_every_page(server: support.Server, page) -> None:
    """The sidebar menu links every page whose file exists."""
    page.goto(server.url)
    support.settle(page)
    assert_no_error(page)
    links = page.locator("[data-testid='stSidebarNav'] a")
    hrefs = {urllib.parse.urlparse(links.nth(i).get_attribute("href")).path.strip("/") for i in range(links.count())}
    expected = {"" if p[3] == "overview" else p[3] for p in PAGES}
    assert hrefs == expected


@pytest.mark.parametrize("url_path", [p[3] for p in PAGES])
def test_page_renders(url_path: str, server: support.Server, page) -> None:
    """Each page opens without a traceback or error box, pages with charts draw them, and nothing is fetched from
    another host (a local-first app must work offline and tell no one what its users open)."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_url(server, url_path))
    support.settle(page)
    assert_no_error(page)
    assert page.locator("h1").count(), f"{url_path} shows no title"
    if url_path in CHART_PAGES:
        page.locator("[data-testid='stPlotlyChart']").first.wait_for(state="visible", timeout=60_000)
        # A drawn Plotly chart has its SVG; an empty frame would mean the figure failed in the browser.
        page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(state="attached", timeout=60_000)
    support.settle(page, wait_ms=0)
    assert_no_error(page)
    elsewhere = [u for u in requests if not u.startswith((server.url + "/", "data:", "blob:"))]
    assert not elsewhere, f"{url_path} fetched from another host: {elsewhere}"


def test_region_filter_updates_link_and_tiles(server: support.Server, page, region: str) -> None:
    """Picking a region in the sidebar writes ?region= into the link and changes the Bookings tile."""
    from playwright.sync_api import expect

    page.goto(server.url)
    support.settle(page)
    bookings = tile(page, "Bookings")
    expect(bookings).to_have_count(1)
    before = bookings.inner_text()
    pick(page, sidebar_widget(page, "stMultiSelect", "Region"), region)
    page.wait_for_function("r => new URLSearchParams(location.search).get('region') === r", arg=region)
    page.locator("[data-testid='stMain'] h1").first.click()  # close the option list
    expect(bookings).not_to_have_text(before)
    support.settle(page)
    assert_no_error(page)
    assert query(page)["region"] == [region]


def test_shared_link_selects_its_filters(server: support.Server, page, region: str) -> None:
    """Opening a link with ?period=last_quarter&region=... shows those filters chosen, with no warning."""
    from playwright.sync_api import expect

    link = f"{server.url}/?" + urllib.parse.urlencode({"period": "last_quarter", "region": region})
    page.goto(link)
    support.settle(page)
    assert_no_error(page)
    expect(sidebar_widget(page, "stSelectbox", "Period").get_by_role("combobox")).to_have_value("Last quarter")
    # Chosen values show as tags (the widget keeps a hidden copy of them for measuring: count visible ones).
    tags = sidebar_widget(page, "stMultiSelect", "Region").locator("[data-tag]").filter(visible=True)
    expect(tags).to_have_text([region])
    assert page.locator("[data-testid='stAlertContentWarning']").count() == 0
    params = query(page)
    assert params["period"] == ["last_quarter"] and params["region"] == [region]


def test_deep_link_on_a_fresh_server(browser, e2e_demo_dir: Path, tmp_path: Path) -> None:
    """The first visit to a new server may be a shared link to any page, not the home page."""
    others = [p[3] for p in PAGES if p[3] != "overview"]
    if not others:
        pytest.skip("only the Overview exists")
    srv = start_server(e2e_demo_dir, tmp_path)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{srv.url}/{others[-1]}?period=last_quarter")
        support.settle(page)
        assert_no_error(page)
        assert page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").count(), "no filters"
        assert query(page).get("period") == ["last_quarter"]
    finally:
        context.close()
        srv.stop()


def test_first_start_builds_the_demo(browser, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An empty data directory with auto demo on: progress shows, then the Overview with its tiles; a second
    visitor arriving mid-build sees the same progress and then the whole demo, never its first weeks."""
    from playwright.sync_api import expect

    data_dir = tmp_path / "data"
    started = time.perf_counter()
    srv = start_server(data_dir, tmp_path, SALESLENS_AUTO_DEMO="1", SALESLENS_DEMO_SIZE="S",
                       SALESLENS_DEMO_SEED=str(support.DEMO_SEED), SALESLENS_DEMO_AS_OF=support.DEMO_AS_OF.isoformat())
    healthy = time.perf_counter() - started
    contexts = [browser.new_context(viewport={"width": 1440, "height": 1000}) for _ in range(2)]
    try:
        page, second = (c.new_page() for c in contexts)
        opened = time.perf_counter()
        page.goto(srv.url)
        # The status box names the work and a progress bar moves while the demo is built (about 10 s for S).
        expect(page.locator("[data-testid='stMain']")).to_contain_text("Building the demo dataset", timeout=30_000)
        page.locator("[data-testid='stMain'] [data-testid='stProgress']").first.wait_for(timeout=10_000)
        second.goto(srv.url)
        expect(second.locator("[data-testid='stMain']")).to_contain_text("Building the demo dataset",
                                                                         timeout=30_000)
        tile(page, "Bookings").wait_for(state="visible", timeout=FIRST_START_LIMIT * 1000)
        ready = time.perf_counter() - opened
        tile(second, "Bookings").wait_for(state="visible", timeout=FIRST_START_LIMIT * 1000)
        support.settle(page)
        support.settle(second)
        with capsys.disabled():
            print(f"\nfirst start (S demo): server healthy in {healthy:.1f} s, "
                  f"Overview with tiles {ready:.1f} s after opening the page")
        for shown in (page, second):
            assert_no_error(shown)
            expect(shown.locator("h1").first).to_have_text("Overview")
            expect(shown.locator("[data-testid='stMetric']")).not_to_have_count(0)
            # the latest week of the demo, on both: the second visitor did not get an early snapshot
            expect(shown.locator("[data-testid='stMain']")).to_contain_text("2026-06-30")
        assert ready < FIRST_START_LIMIT
        if ready > 30:
            warnings.warn(f"first start took {ready:.1f} s; the requirement for S is 30 s", stacklevel=1)
        snaps = store.list_snapshots(data_dir)
        assert len(snaps) == 104 and snaps[-1].as_of == date(2026, 6, 30)
    finally:
        for context in contexts:
            context.close()
        srv.stop()
