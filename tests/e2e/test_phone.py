"""Phone width (390 x 844): every page, in both languages, fits the screen and shows its chart titles whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
