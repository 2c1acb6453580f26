"""AppTest of the Import page: upload files, choose or edit a mapping, check, publish, read the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from saleslens.core import store
from tests.ingest_cases import HUBSPOT_DEALS, TINY_MAPPING, tiny_files, tree_state
from tests.support import texts

PAGE = "pages/import_data.py"


def _open(app: Callable[..., AppTest], **query: str) -> AppTest:
    at = app(**query)
    at.switch_page(PAGE).run()
    assert not at.exception, texts(at.exception)
    return at


def _upload(at: AppTest, files: dict[str, bytes]) -> None:
    at.file_uploader(key="import_files").set_value([(name, data, "text/csv") for name, data in files.items()]).run()


def test_upload_check_and_publish_hubspot(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """Upload a HubSpot export, pick the hubspot profile, check, publish: a new snapshot is served with its report."""
    at = _open(app)
    assert at.button(key="import_publish").disabled
    _upload(at, {"hubspot-deals.csv": HUBSPOT_DEALS.encode()})
    at.selectbox(key="import_mapping").set_value("hubspot").run()
    at.date_input(key="import_as_of").set_value(date(2026, 6, 30)).run()
    at.button(key="import_check").click().run()
    assert not at.exception, texts(at.exception)
    assert not at.error, texts(at.error)
    assert "Ready to publish: 4 deals as of 30 Jun 2026" in texts(at.success)
    assert not at.button(key="import_publish").disabled
    assert store.list_snapshots(tiny_data)[-1].id == "2026-06-30"  # checking writes nothing

    at.button(key="import_publish").click().run()
    assert not at.exception, texts(at.exception)
    snaps = store.list_snapshots(tiny_data)
    assert [s.id for s in snaps] == ["2026-06-30", "2026-06-30-2"]
    assert snaps[-1].manifest["source"] == "import:hubspot"
    assert snaps[-1].manifest["row_counts"]["opportunities"] == 4
    assert "Published snapshot 2026-06-30-2" in texts(at.success)
    # The app now serves the new snapshot, and the page shows its stored report.
    assert "snapshot 2026-06-30-2" in texts(at.sidebar.caption)
    assert any("(2026-06-30-2)" in h.value for h in at.subheader)
    tiles = {m.label: m.value for m in at.metric}
    # One file of 4 deals feeds reps, accounts and deals: its rows are read once (was 12, counted per table).
    assert tiles["Rows read"] == "4" and tiles["Rejected"] == "0"


def test_custom_mapping_uploaded_and_edited(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """A mapping file of one's own is uploaded; an edit in the text box is what gets checked and published."""
    at = _open(app)
    _upload(at, tiny_files())
    at.selectbox(key="import_mapping").set_value("__custom__").run()
    at.file_uploader(key="import_mapping_file").set_value(("tiny.toml", TINY_MAPPING.encode(), "text/plain")).run()
    area = at.text_area[0]
    assert 'name = "tiny"' in area.value
    area.set_value(area.value.replace('name = "tiny"', 'name = "tiny-edited"')).run()
    at.button(key="import_check").click().run()
    assert not at.error, texts(at.error)
    at.button(key="import_publish").click().run()
    assert not at.exception, texts(at.exception)
    # as_of = "latest": the last date in the tiny deals, D2's close on 20 Mar, before the tiny snapshot.
    published = store.open_snapshot(tiny_data, "2026-03-20")
    assert published.manifest["source"] == "import:tiny-edited"
    assert "snapshot 2026-03-20" in texts(at.sidebar.caption)  # the app shows the new one though it is older


def test_bad_file_is_told_and_nothing_is_published(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """A bad date is named by file, row and column; Publish stays disabled; the store does not change."""
    at = _open(app)
    # Taken after the first run: opening the app signs the user in (users.toml, audit log), which is not the import.
    before = tree_state(tiny_data)
    deals = "id,owner,stage,created,closed,amount\nD1,R1,Won,2026-01-10,2026-02-10,1\nD2,R1,Lost,someday,,2\n"
    _upload(at, tiny_files(deals=deals))
    at.selectbox(key="import_mapping").set_value("__custom__").run()
    at.text_area[0].set_value(TINY_MAPPING).run()
    at.button(key="import_check").click().run()
    assert not at.exception, texts(at.exception)
    assert "The import found 1 problem(s); nothing was published." in texts(at.error)
    assert "deals.csv, row 3, column created: 'someday' is not a date (created_date)" in texts(at.markdown)
    assert at.button(key="import_publish").disabled
    assert tree_state(tiny_data) == before


def test_bad_mapping_text_is_told(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """A mapping that does not parse is explained and Check is disabled."""
    at = _open(app)
    _upload(at, tiny_files())
    at.selectbox(key="import_mapping").set_value("__custom__").run()
    at.text_area[0].set_value(TINY_MAPPING.replace("won = true", "")).run()
    assert "The mapping cannot be used" in texts(at.error)
    assert "won = true" in texts(at.error)
    assert at.button(key="import_check").disabled


def test_changed_inputs_need_a_new_check(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """After a check, changing the snapshot date disables Publish until the next check."""
    at = _open(app)
    _upload(at, {"deals.csv": HUBSPOT_DEALS.encode()})
    at.selectbox(key="import_mapping").set_value("hubspot").run()
    at.button(key="import_check").click().run()
    assert not at.button(key="import_publish").disabled
    at.date_input(key="import_as_of").set_value(date(2026, 5, 31)).run()
    assert at.button(key="import_publish").disabled
    assert "changed since the last check" in texts(at.warning)


def test_page_in_chinese(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """The page renders in Chinese, report and messages included."""
    at = _open(app, lang="zh")
    _upload(at, {"deals.csv": HUBSPOT_DEALS.encode()})
    at.selectbox(key="import_mapping").set_value("hubspot").run()
    at.button(key="import_check").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "导入您的 CRM 数据"
    assert "可以发布" in texts(at.success)


def test_first_import_into_an_empty_data_directory(tmp_path: Path, monkeypatch, app: Callable[..., AppTest]) -> None:
    """No demo and no snapshot: the app says so and offers the Import page (local mode: this machine's admin);
    publishing there serves the new snapshot."""
    from tests import support

    data_dir = support.use_data(monkeypatch, tmp_path / "empty")
    at = app()
    assert not at.exception, texts(at.exception)
    assert "No data to show yet" in texts(at.title)
    assert "Import page" in texts(at.markdown)
    at.switch_page(PAGE).run()
    assert not at.exception, texts(at.exception)
    assert not at.error, texts(at.error)
    _upload(at, {"hubspot-deals.csv": HUBSPOT_DEALS.encode()})
    at.selectbox(key="import_mapping").set_value("hubspot").run()
    at.date_input(key="import_as_of").set_value(date(2026, 6, 30)).run()
    at.button(key="import_check").click().run()
    assert "Ready to publish: 4 deals as of 30 Jun 2026" in texts(at.success)
    at.button(key="import_publish").click().run()
    assert not at.exception, texts(at.exception)
    assert [s.id for s in store.list_snapshots(data_dir)] == ["2026-06-30"]
    assert "snapshot 2026-06-30" in texts(at.sidebar.caption)  # the app now runs on it


def test_empty_data_directory_offers_no_import_to_a_non_admin(tmp_path: Path, monkeypatch,
                                                              app: Callable[..., AppTest]) -> None:
    """With a users file that makes the local user a rep, the empty data directory shows only the message."""
    from saleslens.core import access
    from tests import support

    data_dir = support.use_data(monkeypatch, tmp_path / "empty")
    data_dir.mkdir(parents=True, exist_ok=True)
    access.write_users(access.users_path(data_dir),
                       [{"login": "rep", "name": "A Rep", "role": "rep", "rep_id": "R1"}])
    at = app()
    assert not at.exception, texts(at.exception)
    assert "No data to show yet" in texts(at.title)
    with pytest.raises(ValueError, match="Known pages"):  # the Import page is not among the app's pages
        at.switch_page(PAGE)
