"""End to end: a rep signs in on the S demo and finds no other rep's name or id on any page.

What may appear besides the rep's own name and id: their direct manager's name and id, as their manager
(the Overview groups by manager, and deal lists name a deal's manager). Anyone else's name or id anywhere in
the page (text, hidden tabs and expanders, chart labels, table cells in the DOM) fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saleslens.core import access, store
from tests import support
from tests.e2e.test_browser import assert_no_error, sidebar_widget

pytestmark = pytest.mark.e2e

REP_PAGES = {"overview", "funnel", "targets", "leaderboard", "health", "glossary"}


def people(data_dir: Path) -> tuple[access.User, dict[str, str], set[str]]:
    """The demo's rep user, every person's name by id, and the ids whose names may show (the rep, their manager)."""
    snap = store.open_snapshot(data_dir)
    reps = access.reps_of(snap)
    user = access.load_users(access.users_path(data_dir))["rep"]
    names = dict(zip(reps["rep_id"].to_list(), reps["name"].to_list(), strict=True))
    manager = reps.filter(reps["rep_id"] == user.rep_id)["manager_id"][0]
    return user, names, {user.rep_id, manager}


def leaks(text: str, names: dict[str, str], allowed: set[str]) -> list[str]:
    """Names and ids of people outside `allowed` found in a text (a name shared with an allowed person is skipped)."""
    allowed_names = {names[i] for i in allowed}
    found = [name for rep_id, name in names.items()
             if rep_id not in allowed and name not in allowed_names and name in text]
    found += [rep_id for rep_id in names if rep_id not in allowed and re.search(rf"\b{re.escape(rep_id)}\b", text)]
    return found


def page_text(page) -> str:
    """What the page shows and holds: visible text plus the DOM (hidden tabs, closed expanders, SVG labels)."""
    return page.inner_text("body") + "\n" + page.content()


def sign_in(page, who, label: str, tries: int = 3) -> None:
    """Pick a user in the sidebar's "Signed in as" box, and wait until the app has rerun as them.

    Retried like tests/e2e/test_browser.py pick(): on a cold server a pick made right after the first page
    load was once seen to fall back to the default user (not reproduced since).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    for attempt in range(tries):
        who.locator("input").click()
        page.get_by_role("option", name=label, exact=True).click()
        support.settle(page)
        try:
            expect(who.locator("input")).to_have_value(label, timeout=5_000)
            return
        except (AssertionError, PlaywrightTimeout):
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")


def test_rep_sees_no_other_rep_anywhere(server: support.Server, e2e_demo_dir: Path, page) -> None:
    """Sign in as the demo rep in the sidebar, visit every page in the menu, and download a table."""
    from playwright.sync_api import expect

    page.goto(server.url)
    support.settle(page)
    assert_no_error(page)
    user, names, allowed = people(e2e_demo_dir)

    # The check can see names in this DOM: the default user (admin) sees other reps on the rankings page.
    page.locator("[data-testid='stSidebarNav'] a[href$='/leaderboard']").click()
    support.settle(page)
    assert leaks(page_text(page), names, allowed), "the admin's rankings name nobody: the leak check is blind"

    who = sidebar_widget(page, "stSelectbox", "Signed in as")
    sign_in(page, who, f"{user.name} · Rep")
    assert_no_error(page)

    links = page.locator("[data-testid='stSidebarNav'] a")
    expect(links).to_have_count(len(REP_PAGES & {p[3] for p in support.existing_pages()}))
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for href in hrefs:
        page.locator(f"[data-testid='stSidebarNav'] a[href='{href}']").click()
        support.settle(page)
        assert_no_error(page)
        # Still the rep: a click in the menu keeps the session (a fresh page load would sign in the default user).
        expect(who.locator("input")).to_have_value(f"{user.name} · Rep")
        found = leaks(page_text(page), names, allowed)
        assert not found, f"{href} shows {found[:10]}"

    # A download is the rep's rows too, and is written to the audit log with the rep's scope.
    page.locator("[data-testid='stSidebarNav'] a").first.click()
    support.settle(page)
    with page.expect_download() as info:
        page.locator("[data-testid='stDownloadButton'] button", has_text="Download CSV").first.click()
    data = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert user.name in data or user.rep_id in data or data.count("\n") <= 2
    assert not leaks(data, names, allowed)
    audit = access.audit_entries(e2e_demo_dir)  # the audit log lives in the database of saved work
    exports = [r for r in audit if r["action"] == "export" and r["who"] == "rep"]
    assert exports and f'scope reps:["{user.rep_id}"]' in exports[-1]["what"]
    assert any(r["action"] == "sign-in" and r["who"] == "rep" for r in audit)
