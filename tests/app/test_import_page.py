"""AppTest of the Import page: upload files, choose or edit a mapping, check, publish, read the report."""

from __future__ import annotations

import threading
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


def test_salesforce_zip_with_weekly_backfill(tmp_path: Path, monkeypatch, app: Callable[..., AppTest]) -> None:
    """A Salesforce Data Export uploaded as a .zip, imported with the backfill: one snapshot per past week, then the
    export's own; the rebuilt weeks are labelled; the report names the currencies that had no rate."""
    from tests import support
    from tests.salesforce_fixtures import AS_OF, export_zip, main_org

    data_dir = support.use_data(monkeypatch, tmp_path / "empty")
    at = app()
    at.switch_page(PAGE).run()
    at.file_uploader(key="import_files").set_value(
        [("WE_00D000000000001_1.zip", export_zip(main_org()), "application/zip")]).run()
    at.selectbox(key="import_mapping").set_value("salesforce").run()
    at.date_input(key="import_as_of").set_value(AS_OF).run()
    at.checkbox(key="import_backfill").check().run()
    at.button(key="import_check").click().run(timeout=300)  # a child reads each file
    assert not at.exception, texts(at.exception)
    assert not at.error, texts(at.error)
    # 11 deals, one deleted: 10. First deal created Monday 5 Jan 2026: Sundays 11 Jan ... 28 Jun = 25 weeks.
    assert "Ready to publish: 10 deals as of 30 Jun 2026" in texts(at.success)
    assert "rebuild 25 past week(s) from the history, 11 Jan 2026 to 28 Jun 2026" in texts(at.info)
    # GBP's rate is 0 (O9), JPY has none (O10), CHF's is -1.2 (O11): one deal each, told as warnings.
    warned = texts(at.warning)
    assert "1 deal(s) in GBP have no usable rate into USD (rate: 0)" in warned
    assert "1 deal(s) in JPY have no usable rate into USD (rate: -)" in warned
    assert "1 deal(s) in CHF have no usable rate into USD (rate: -1.2)" in warned
    notes = texts(at.markdown)
    assert "Opportunity.csv: 1 row(s) marked IsDeleted left out" in notes  # O7
    # Converted: the EUR deals O2, O3, O5, O8. Per currency (O7 deleted): USD O1, O4, O6.
    assert "Amounts are in USD: 4 deal(s) converted from another currency" in notes
    assert "Deals per currency: CHF 1, EUR 4, GBP 1, JPY 1, USD 3" in notes
    assert store.list_snapshots(data_dir) == []  # checking writes nothing

    at.button(key="import_publish").click().run(timeout=600)  # 26 snapshots
    assert not at.exception, texts(at.exception)
    snaps = store.list_snapshots(data_dir)
    assert len(snaps) == 26
    assert (snaps[0].id, snaps[-2].id, snaps[-1].id) == ("2026-01-11", "2026-06-28", "2026-06-30")
    assert [bool(s.manifest.get("backfilled")) for s in snaps] == [True] * 25 + [False]
    assert "Published 25 backfilled weekly snapshot(s) from the deals' history, 2026-01-11 to 2026-06-28." \
        in texts(at.success)
    picker = at.sidebar.selectbox(key="snapshot")
    assert picker.value == "2026-06-30"
    assert picker.format_func("2026-06-28") == "2026-06-28 (rebuilt from history)"
    assert picker.format_func("2026-06-30") == "2026-06-30"

    # An older week chosen: the caption says it was rebuilt, in English and in Chinese.
    picker.set_value("2026-06-28").run()
    assert "snapshot 2026-06-28 (rebuilt from history)" in texts(at.sidebar.caption)


def test_overview_says_which_deals_have_no_rate(tmp_path: Path, monkeypatch, app: Callable[..., AppTest]) -> None:
    """The Salesforce org published as it is: amounts in USD, and GBP, JPY and CHF deals (one each) left out."""
    from saleslens import ingest
    from tests import support
    from tests.ingest_cases import write
    from tests.salesforce_fixtures import AS_OF, main_org

    data_dir = support.use_data(monkeypatch, tmp_path / "data")
    ingest.run_import(write(tmp_path / "export", main_org()), "salesforce", data_dir, AS_OF)
    for lang, caption, note in (
        ("en", "Amounts in USD.", "1 deal(s) in CHF, 1 deal(s) in GBP, 1 deal(s) in JPY have no conversion rate "
                                  "and are left out of money figures"),
        ("zh", "金额单位：USD。", "1 个 CHF 商机、1 个 GBP 商机、1 个 JPY 商机没有汇率"),
    ):
        at = app(lang=lang)
        assert not at.exception, texts(at.exception)
        assert caption in texts(at.caption)
        assert note in texts(at.warning)


def test_publish_while_another_import_runs(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """Another import holds the data directory's lock: Publish says so in one line and publishes nothing."""
    at = _open(app)
    _upload(at, {"hubspot-deals.csv": HUBSPOT_DEALS.encode()})
    at.selectbox(key="import_mapping").set_value("hubspot").run()
    at.date_input(key="import_as_of").set_value(date(2026, 6, 30)).run()
    at.button(key="import_check").click().run()
    before = tree_state(tiny_data / store.SNAPSHOTS)
    holding, done = threading.Event(), threading.Event()

    def other_import() -> None:
        with store.import_lock(tiny_data):
            holding.set()
            done.wait(timeout=120)

    other = threading.Thread(target=other_import)
    other.start()
    try:
        assert holding.wait(timeout=60)
        at.button(key="import_publish").click().run()
    finally:
        done.set()
        other.join(timeout=60)
    assert not at.exception, texts(at.exception)
    assert texts(at.error).startswith("Another import is running in this data directory")
    assert tree_state(tiny_data / store.SNAPSHOTS) == before
