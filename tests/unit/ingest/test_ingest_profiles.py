"""The Salesforce and HubSpot profiles on small generated exports; the report's differences between imports."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens import ingest
from saleslens.core import store
from saleslens.ingest import mapping as mp
from tests.ingest_cases import (
    TINY_DEALS,
    TINY_MAPPING,
    hubspot_files,
    hubspot_xlsx,
    salesforce_files,
    tiny_files,
    write,
)

AS_OF = date(2026, 6, 30)


def _kpis(snap: store.Snapshot) -> dict:
    runner = Runner(snap)
    try:
        return runner.run("kpis_by_group", by="org").row(0, named=True)
    finally:
        runner.close()


@pytest.fixture
def salesforce(tmp_path: Path) -> store.Snapshot:
    """The Salesforce sample imported into an empty data directory."""
    return ingest.run_import(write(tmp_path / "sf", salesforce_files()), "salesforce-report", tmp_path / "data",
                             AS_OF)


def test_salesforce_reps_and_roles(salesforce: store.Snapshot) -> None:
    """Users become reps: roles translated, the footer ignored, US dates read month first."""
    reps = pl.read_parquet(salesforce.table_path("reps")).sort("rep_id")
    assert reps.select("rep_id", "role", "manager_id", "region", "active").rows() == [
        ("005A1", "Manager", None, "EMEA", True),
        ("005A2", "AE", "005A1", "EMEA", True),
        ("005A3", "SDR", "005A1", "EMEA", False),
        ("005A4", "AE", "005A1", "APAC", True),  # 'West Coast AE' falls to the '*' rule
    ]
    # 3/1/2019 sits in a column with 6/15/2021, which can only be month first.
    assert reps["hire_date"][0] == date(2019, 3, 1)
    files = {f["file"]: f["footer_rows_skipped"] for f in salesforce.manifest["import_report"]["files"]}
    assert files == {"users.csv": 2, "opportunities.csv": 1, "opportunity_history.csv": 1, "tasks_events.csv": 0}


def test_salesforce_opportunities(salesforce: store.Snapshot) -> None:
    """Owners are linked by name, open deals get an expected close date, unknown owners are kept."""
    opps = pl.read_parquet(salesforce.table_path("opportunities")).sort("opportunity_id")
    assert opps.select("opportunity_id", "owner_id", "status", "amount", "forecast_category").rows() == [
        ("006B1", "005A2", "won", 12000.0, "commit"),
        ("006B2", "005A2", "lost", 3500.0, "omitted"),
        ("006B3", "005A4", "open", 8250.5, "commit"),
        ("006B4", "005A2", "open", None, "pipeline"),  # owner written 'tom berg'
        ("006B5", "Sam Gone", "open", 5000.0, "best_case"),  # not a user: kept, shown unlinked
    ]
    assert opps["close_date"].to_list() == [date(2026, 2, 15), date(2026, 3, 20), None, None, None]
    assert opps["expected_close_date"].to_list() == [None, None, date(2026, 7, 31), date(2026, 8, 15),
                                                     date(2026, 9, 1)]
    report = salesforce.manifest["import_report"]
    owner = next(u for u in report["unlinked"] if u["relation"] == "opportunities.owner_id → reps")
    assert (owner["linked"], owner["rows"], owner["examples"]) == (4, 1, [{"value": "Sam Gone", "rows": 1}])
    assert {"table": "opportunities", "field": "owner_id", "from": "tom berg", "to": "005A2", "count": 1} \
        in report["normalised"]


def test_salesforce_history_goes_to_the_event_store(salesforce: store.Snapshot) -> None:
    """Stage changes and activities land in the event store, stage aliases and activity types normalised."""
    assert salesforce.manifest["events"] == {"stage_changes": 5, "activities": 4}
    data = salesforce.data_dir
    changes = pl.read_parquet(store.events_glob(data, "stage_changes")).sort("changed_at")
    assert changes["to_stage"].to_list() == [
        "Prospecting", "Negotiation/Review", "Closed Won", "Prospecting", "Negotiation/Review",  # 'Negotiation'
    ]
    assert changes["changed_at"][1] == datetime(2026, 1, 25, 14, 30)
    acts = pl.read_parquet(store.events_glob(data, "activities")).sort("activity_id")
    assert acts.select("activity_id", "rep_id", "type").rows() == [
        ("00T1", "005A2", "call"), ("00T2", "005A2", "email"), ("00U1", "005A4", "meeting"), ("00U2", "005A4", "demo"),
    ]


def test_salesforce_kpis(salesforce: store.Snapshot) -> None:
    """The app's KPIs on the import, worked out by hand from the sample."""
    k = _kpis(salesforce)
    assert (k["bookings"], k["deals_won"], k["deals_lost"], k["win_rate"]) == (12000.0, 1, 1, 0.5)
    assert k["open_deals"] == 3
    # Open amounts: 006B3 8,250.50 + 006B5 5,000 (006B4 has none) = 13,250.50.
    assert k["open_pipeline"] == pytest.approx(13250.5)
    # Weighted: 8,250.50 x 0.9 (Negotiation/Review) + 5,000 x 0.75 (Proposal/Price Quote) = 7,425.45 + 3,750.
    assert k["weighted_pipeline"] == pytest.approx(11175.45)
    # Won 006B1: created 5 Jan, closed 15 Feb = 26 + 15 = 41 days.
    assert k["cycle_days"] == pytest.approx(41)
    assert k["activities"] == 4


@pytest.mark.parametrize("as_excel", [False, True], ids=["csv", "xlsx"])
def test_hubspot_deals(as_excel: bool, tmp_path: Path) -> None:
    """One HubSpot file, CSV or Excel, under any name: reps and accounts come from the deals."""
    files = {"All deals.xlsx": hubspot_xlsx()} if as_excel else hubspot_files()
    snap = ingest.run_import(write(tmp_path / "hs", files), "hubspot", tmp_path / "data", AS_OF)
    opps = pl.read_parquet(snap.table_path("opportunities")).sort("opportunity_id")
    assert opps.select("opportunity_id", "owner_id", "account_id", "stage", "status", "amount").rows() == [
        ("9001", "Ann Able", "Acme", "Closed Won", "won", 12000.0),
        ("9002", "Ann Able", "Globex", "Closed Lost", "lost", 4000.5),  # stage written 'closedlost'
        ("9003", "Bob Best", "Initech", "Contract Sent", "open", 7000.0),
        ("9004", "Bob Best", None, "Appointment Scheduled", "open", None),
    ]
    assert opps["created_date"].to_list() == [date(2026, 1, 5), date(2026, 1, 20), date(2026, 4, 1), date(2026, 6, 1)]
    assert opps["expected_close_date"][2] == date(2026, 7, 15)
    assert pl.read_parquet(snap.table_path("reps"))["rep_id"].sort().to_list() == ["Ann Able", "Bob Best"]
    assert pl.read_parquet(snap.table_path("accounts"))["name"].sort().to_list() == ["Acme", "Globex", "Initech"]
    accounts = next(s for s in snap.manifest["import_report"]["sources"] if s["table"] == "accounts")
    # 4 deals: Acme, Globex, Initech and one without a company (skipped); no repeats to merge.
    assert (accounts["read"], accounts["accepted"], accounts["skipped"]) == (4, 3, 1)
    k = _kpis(snap)
    # Open: 9003 7,000 at Contract Sent (0.9) = 6,300; 9004 has no amount.
    assert (k["bookings"], k["open_pipeline"], k["weighted_pipeline"]) == (12000.0, 7000.0, pytest.approx(6300.0))


def test_report_lists_differences_from_the_previous_snapshot(tmp_path: Path) -> None:
    """A second import is compared with the first: row counts, new stages, fields newly filled or emptied."""
    data = tmp_path / "data"
    first = ingest.run_import(write(tmp_path / "a", tiny_files()), mp.parse(TINY_MAPPING), data)
    assert first.manifest["import_report"]["diff"] == {"previous": None}
    more = TINY_MAPPING.replace('[[stages]]\nname = "Won"', '[[stages]]\nname = "Demo"\nprobability = 0.7\n'
                                '[[stages]]\nname = "Won"').replace('hire_date = "hired"\n', "")
    deals = TINY_DEALS + "D4,R2,Demo,2026-03-01,,700\n"
    second = ingest.run_import(write(tmp_path / "b", tiny_files(deals=deals)), mp.parse(more), data)
    d = second.manifest["import_report"]["diff"]
    assert d["previous"] == first.id and d["same_source"]
    assert d["stages_added"] == ["Demo"] and d["stages_removed"] == [] and not d["stage_order_changed"]
    assert d["fields_emptied"] == ["reps.hire_date"]
    counts = {r["table"]: (r["before"], r["after"]) for r in d["row_counts"]}
    assert counts == {"stages": (3, 4), "reps": (3, 3), "opportunities": (3, 4)}
    lines = ingest.report.diff_lines(second.manifest["import_report"], "en")
    assert "New stages: Demo." in lines and "Fields that are now empty: reps.hire_date." in lines


def test_report_text_and_frames_in_both_languages(salesforce: store.Snapshot) -> None:
    """The stored report renders as text and tables in English and Chinese without missing keys."""
    report = salesforce.manifest["import_report"]
    for lang in ("en", "zh"):
        text = ingest.report.text(report, lang)
        assert "ingest." not in text
        frames = ingest.report.frames(report, lang)
        assert frames["sources"].height == 5 and frames["unlinked"].height == 7
    assert "Sam Gone (1)" in ingest.report.text(report, "en")
