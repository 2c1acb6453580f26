"""Phone width (390 x 844): every page, in both languages, fits the screen and shows its chart titles whole; at
390 px and at 1,280 px no metric tile cuts its label or its value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saleslens.core.i18n import t
from tests import support

pytestmark = pytest.mark.e2e

PAGES = support.existing_pages()
CHART_PAGES = {"overview", "funnel", "targets", "leaderboard", "whatif"}
PHONE = {"width": 390, "height": 844}

# Elements of the main column wider than the column (the page would scroll sideways), and chart titles that run
# past their chart's left, right or top edge (Plotly cuts them). Tables (glide data grid) scroll inside themselves
# and are skipped.
OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const box = main.getBoundingClientRect();
  const wide = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1) wide.push('document ' +
      document.documentElement.scrollWidth + 'px');
  for (const el of main.querySelectorAll('[data-testid="stElementContainer"]')) {
    if (el.closest('[data-testid="stDataFrame"], [data-testid="stTable"]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1)) wide.push(
        (el.innerText || el.className).slice(0, 60) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  return wide;
}"""
TITLES_JS = """() => {
  const cut = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const frame = plot.getBoundingClientRect();
    for (const title of plot.querySelectorAll('.gtitle')) {
      const r = title.getBoundingClientRect();
      if (r.width > 0 && (r.right > frame.right + 1 || r.left < frame.left - 1 || r.top < frame.top - 1))
        cut.push(title.textContent);
    }
  }
  return cut;
}"""

# Tiles whose label or value does not fit its box. Streamlit 1.67 truncates a label in the Markdown container inside
# stMetricLabel (white-space: nowrap, overflow: hidden, text-overflow: ellipsis: "2026年第4季度 …"); a value that does
# not fit runs past its element (ui/page.css keeps it from ending in "…"). Either way the text is wider than the box
# that holds it: scrollWidth > clientWidth. Inline elements and icons (clientWidth 0) hold no box of their own.
TILES_JS = """() => {
  const cut = [];
  for (const part of document.querySelectorAll('[data-testid="stMetricLabel"], [data-testid="stMetricValue"]')) {
    for (const el of [part, ...part.querySelectorAll('*')]) {
      if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        cut.push(part.dataset.testid + ' "' + part.innerText.trim().slice(0, 40) + '" ' + el.scrollWidth + '>' +
                 el.clientWidth);
        break;
      }
    }
  }
  return cut;
}"""
DESKTOP = {"width": 1280, "height": 900}
# Pages with tiles on their first view (Import shows its tiles after an import run).
TILE_PAGES = ["overview", "funnel", "targets", "whatif", "health"]
# Tiles on a tab or section other than the page's first (the Leaderboard's only on the Rep profile):
# (page, link parameters, tab label key).
TILE_TABS = [("funnel", "", "funnel.tab.speed"), ("targets", "&p_view=accuracy", None),
             ("leaderboard", "", "lb.tab.profile")]


def assert_tiles_whole(page, where: str) -> None:
    """Fail when a tile's label or value is cut once the tiles have drawn and the layout has come to rest (a
    sidebar or a dialog still sliding in narrows the page for a moment)."""
    page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=30_000)
    cut = page.evaluate(TILES_JS)
    for _ in range(3):
        if not cut:
            break
        page.wait_for_timeout(700)
        cut = page.evaluate(TILES_JS)
    assert not cut, f"{where} cuts tiles: {cut}"


@pytest.fixture
def phone(browser) -> Iterator:
    """A fresh browser page at phone size."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("url", [p[3] for p in PAGES])
def test_page_fits_a_phone(url: str, lang: str, server: support.Server, phone) -> None:
    phone.goto(f"{server.url}/{url}?lang={lang}")
    support.settle(phone, wait_ms=800)
    if url in CHART_PAGES:  # the titles are checked once the charts have drawn
        phone.locator(".js-plotly-plot .gtitle").first.wait_for(timeout=30_000)
        phone.wait_for_timeout(500)
    assert not phone.locator("[data-testid='stException']").count(), f"{url} shows a traceback"
    wide = phone.evaluate(OVERFLOW_JS)
    assert not wide, f"{url} ({lang}) is wider than a 390 px phone: {wide[:5]}"
    cut = phone.evaluate(TITLES_JS)
    assert not cut, f"{url} ({lang}) cuts chart titles: {cut}"
    if url in TILE_PAGES:
        assert_tiles_whole(phone, f"{url} ({lang}, 390 px)")


@pytest.fixture
def screen(browser, request: pytest.FixtureRequest) -> Iterator:
    """A fresh browser page at phone size or at 1,280 px (the sidebar open beside the page), by the test's width."""
    width = request.node.callspec.params["width"]
    context = browser.new_context(viewport=PHONE if width == PHONE["width"] else DESKTOP,
                                  **({"is_mobile": True, "has_touch": True} if width == PHONE["width"] else {}))
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("url", "query", "tab", "width"),
                         [(u, "", None, DESKTOP["width"]) for u in TILE_PAGES]
                         + [(u, q, k, w) for u, q, k in TILE_TABS for w in (PHONE["width"], DESKTOP["width"])])
def test_tiles_are_whole(url: str, query: str, tab: str | None, width: int, lang: str, server: support.Server,
                         screen) -> None:
    """At 1,280 px every page's tiles, and at both widths the tiles on a later tab, show their label and value whole
    ("Avg deal size" and "2026年第4季度 目标" were cut at 1,280 px)."""
    screen.goto(f"{server.url}/{url}?lang={lang}{query}")
    support.settle(screen, wait_ms=500)
    if tab:
        screen.get_by_role("tab", name=t(tab, lang), exact=True).click()
        support.settle(screen, wait_ms=500)
    assert not screen.locator("[data-testid='stException']").count(), f"{url} shows a traceback"
    assert_tiles_whole(screen, f"{url}{query} {tab or ''} ({lang}, {width} px)")
