# ruff: noqa: F811 - the S3 fixtures are imported and then named by the tests' parameters
"""Several servers: two real `streamlit run serve.py` processes sharing one store on S3 (moto) and one PostgreSQL.

What a user does through one server shows on the other after a reload: a saved rating, and a published import.
Each server has its own mirror of the store, as on two machines; the database is a real PostgreSQL started by
tests/database_fixtures.py, as the README's deployment has it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from saleslens.core import objectstore, settings, store
from tests import fixtures, support
from tests.database_fixtures import postgres
from tests.ingest_cases import HUBSPOT_DEALS
from tests.s3_fixtures import S3Store, s3_server, store_env  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.e2e

TABLES = {
    "stages": fixtures.STAGES, "reps": fixtures.REPS, "accounts": fixtures.ACCOUNTS,
    "products": fixtures.PRODUCTS, "opportunities": fixtures.OPPORTUNITIES, "targets": fixtures.TARGETS,
}


@dataclass
class Pair:
    """Two servers over one store and one database."""

    a: support.Server
    b: support.Server
    s3: S3Store
    env: dict[str, str]  # of server a (b differs only in its mirror)


@pytest.fixture
def pair(browser, s3_server: str, tmp_path: Path) -> Iterator[Pair]:
    """The tiny dataset published to a fresh bucket, and two servers on it with their own mirrors."""
    bucket = "e" + uuid.uuid4().hex[:12]
    url = f"s3://{bucket}/store"
    s3 = S3Store(s3_server, bucket, url, {})
    s3.client().create_bucket(Bucket=bucket)
    pg = postgres()
    database = pg.create_database()
    shared = {"SALESLENS_DATABASE_URL": pg.url(database), "SALESLENS_AUTO_DEMO": "0",
              "SALESLENS_LANGUAGE": "en", "SALESLENS_STORE_POLL_SECONDS": "1"}
    env_a = {**store_env(s3_server, url, tmp_path / "mirror-a"), **shared}
    env_b = {**store_env(s3_server, url, tmp_path / "mirror-b"), **shared}
    with pytest.MonkeyPatch.context() as mp:  # publish the first snapshot as a third party (the CLI would)
        for name, value in store_env(s3_server, url, tmp_path / "mirror-setup").items():
            mp.setenv(name, value)
        objectstore.detach_all()
        store.publish_snapshot(settings.data_dir(), fixtures.AS_OF, TABLES, source="tests",
                               events={"activities": fixtures.ACTIVITIES})
        objectstore.detach_all()
    servers = []
    try:
        for name, env in (("a", env_a), ("b", env_b)):
            servers.append(support.Server(env, tmp_path / f"server-{name}.log"))
        for srv in servers:
            srv.wait_healthy(timeout=120)
        yield Pair(servers[0], servers[1], s3, env_a)
    finally:
        for srv in servers:
            srv.stop()
        pg.drop_database(database)


def open_app(page, server: support.Server) -> None:
    """Open the app's front page and wait for it to settle."""
    page.goto(server.url)
    support.settle(page)


def go_to(page, name: str) -> None:
    """Follow a sidebar link and wait for the page to settle."""
    page.locator("[data-testid='stSidebarNav'] a", has_text=name).click()
    support.settle(page)


def ratings_tab(page) -> None:
    """The Leaderboard's Ratings tab."""
    go_to(page, "Leaderboard")
    page.get_by_role("tab", name="Ratings").click()
    support.settle(page)


def test_a_rating_saved_through_one_server_shows_on_the_other(pair: Pair, browser) -> None:
    from playwright.sync_api import expect

    page_a = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page_b = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    comment = "Saved through server A, seen through server B."
    open_app(page_b, pair.b)
    ratings_tab(page_b)
    box_b = page_b.locator("[data-testid='stTextArea'] textarea").first
    expect(box_b).to_have_value("")  # nothing rated yet

    open_app(page_a, pair.a)
    ratings_tab(page_a)
    box_a = page_a.locator("[data-testid='stTextArea'] textarea").first
    box_a.fill(comment)
    page_a.get_by_role("button", name="Save rating").click()
    expect(page_a.get_by_text("saved.").first).to_be_visible(timeout=60_000)

    page_b.reload()
    support.settle(page_b)
    ratings_tab(page_b)
    expect(page_b.locator("[data-testid='stTextArea'] textarea").first).to_have_value(comment)
    for page in (page_a, page_b):
        assert page.locator("[data-testid='stException']").count() == 0
        page.context.close()


def test_an_import_published_through_one_server_is_served_by_the_other(pair: Pair, browser) -> None:
    from playwright.sync_api import expect

    page_a = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page_b = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    open_app(page_b, pair.b)
    sidebar_b = page_b.locator("[data-testid='stSidebar']")
    expect(sidebar_b.get_by_text("snapshot 2026-06-30")).to_be_visible()

    open_app(page_a, pair.a)
    go_to(page_a, "Import")
    uploader = page_a.locator("[data-testid='stFileUploader'] input[type='file']").first
    uploader.set_input_files([{"name": "deals.csv", "mimeType": "text/csv", "buffer": HUBSPOT_DEALS.encode()}])
    expect(page_a.get_by_text("deals.csv").first).to_be_visible()
    support.settle(page_a)
    page_a.get_by_role("button", name="Check").click()
    expect(page_a.get_by_text("Ready to publish: 4 deals")).to_be_visible(timeout=60_000)
    page_a.get_by_role("button", name="Publish").click()
    expect(page_a.get_by_text("Published snapshot").first).to_be_visible(timeout=60_000)

    # Published to the bucket: the pointer names two snapshots, the second from the import.
    pointer = json.loads(pair.s3.client().get_object(Bucket=pair.s3.bucket, Key="store/published.json")["Body"]
                         .read())
    entries = [(e["id"], e["manifest"]) for e in pointer["snapshots"]]
    assert len(entries) == 2 and entries[-1][1]["source"] == "import:hubspot"
    new_id = entries[-1][0]

    page_b.reload()
    support.settle(page_b)
    expect(sidebar_b.get_by_text(f"snapshot {new_id}")).to_be_visible()
    for page in (page_a, page_b):
        assert page.locator("[data-testid='stException']").count() == 0
        page.context.close()


def test_two_people_saving_one_scenario_at_once_one_wins_and_the_other_is_told(pair: Pair, browser) -> None:
    """Two browsers, one on each server, save a new scenario of the same name in the same moment: the database
    keeps exactly one, and the other person is told the name is taken (nothing of theirs silently lost)."""
    from playwright.sync_api import expect

    name = "Shared stretch plan"
    pages = []
    for srv in (pair.a, pair.b):
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        open_app(page, srv)
        go_to(page, "What-if")
        box = page.get_by_placeholder("Name, e.g. Q1 plan +8%")
        box.fill(name)
        box.press("Enter")
        support.settle(page, 300)
        pages.append(page)
    for page in pages:  # both clicks go out before either server answers
        page.get_by_role("button", name="Save").click(no_wait_after=True)
    saved, refused = [], []
    for page in pages:
        support.settle(page, 500)
        ok = page.get_by_text(f"Saved scenario '{name}'")
        error = page.locator("[data-testid='stAlertContentError']", has_text="is already saved")
        expect(ok.or_(error).first).to_be_visible(timeout=60_000)
        (saved if ok.count() else refused).append(page)
    assert (len(saved), len(refused)) == (1, 1)
    for page in pages:
        assert page.locator("[data-testid='stException']").count() == 0
        page.context.close()
