"""Imports that forgive and explain (issue 16, items 6 to 10): bad cells reject rows, counts, JSON, Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from saleslens import ingest
from saleslens.ingest import mapping as mp
from saleslens.ingest import parsers, readers
from saleslens.ingest import report as rp
from saleslens.ingest.errors import ImportFailed
from tests.ingest_cases import TINY_MAPPING, tiny_files, write

# Four deals written day first; D4's date has a month 13 (it fits neither day/month nor month/day).
DMY_DEALS = """id,owner,stage,created,closed,amount
D1,R1,Won,10/01/2026,25/02/2026,1000
D2,R1,Lost,15/01/2026,20/03/2026,500
D3,R2,Open,01/02/2026,,2500
D4,R2,Won,03/02/2026,31/13/2026,700
"""


def _prepare(tmp_path: Path, files: dict[str, bytes], mapping: str = TINY_MAPPING, **kw) -> ingest.build.Prepared:
    return ingest.build.prepare(readers.files_from_path(write(tmp_path, files)), mp.parse(mapping), **kw)


# ----------------------------------------------------------------------------- item 6: a bad date rejects its row


def test_impossible_date_rejects_its_row_when_rejects_are_allowed(tmp_path: Path) -> None:
    """'31/13/2026' is one bad cell: with one reject allowed, D4 is left out and the other three deals import."""
    prepared = _prepare(tmp_path, tiny_files(deals=DMY_DEALS), max_rejected=1)
    opps = prepared.tables["opportunities"].sort("opportunity_id")
    assert opps["opportunity_id"].to_list() == ["D1", "D2", "D3"]
    assert opps["close_date"].to_list()[0].isoformat() == "2026-02-25"  # still read day first
    [reason] = prepared.report["rejected"]
    assert (reason["code"], reason["count"], reason["column"]) == ("date_no_month", 1, "closed")
    assert reason["examples"][0]["row"] == 5  # the header is row 1
    assert reason["examples"][0]["message"] == "'31/13/2026' is not a date (close_date): month 13 does not exist"


def test_impossible_date_without_rejects_says_what_is_wrong(tmp_path: Path) -> None:
    """With no reject allowed the import stops, naming the fault, not a day/month contradiction."""
    with pytest.raises(ImportFailed) as failed:
        _prepare(tmp_path, tiny_files(deals=DMY_DEALS))
    text = failed.value.text("en")
    assert "month 13 does not exist" in text
    assert "only fits" not in text


@pytest.mark.parametrize(
    ("value", "day_first", "expected"),
    [
        ("31/13/2026", True, ("no_month", {"n": 13})),
        ("31/13/2026", False, ("no_month", {"n": 31})),  # month first: month 31
        ("32/01/2026", True, ("no_day", {"n": 32})),
        ("30/02/2026", True, ("day_in_month", {"day": 30, "month": 2})),
        ("2026-02-29", True, ("day_in_month", {"day": 29, "month": 2})),  # 2026 is not a leap year
        ("2026年13月1日", True, ("no_month", {"n": 13})),
        ("soon", True, ("", {})),
    ],
)
def test_date_flaw_names_the_fault(value: str, day_first: bool, expected: tuple) -> None:
    """The part of a numeric date that does not exist is named."""
    assert parsers.date_flaw(value, day_first) == expected


def test_a_value_fitting_neither_order_is_no_evidence() -> None:
    """'31/13/2026' says nothing about the order; '25/02/2026' says day first, so no conflict is found."""
    info = parsers.date_order(pl.Series(["25/02/2026", "31/13/2026"]), None)
    assert (info.order, info.conflict) == ("day_first", None)


def test_rows_read_counts_each_file_once(tmp_path: Path) -> None:
    """One 3-row file feeding reps and deals is 3 rows read, not 6."""
    mapping = TINY_MAPPING.replace('[[tables.reps]]\nfile = "reps.csv"', '[[tables.reps]]\nfile = "deals.csv"\n'
                                   'distinct = true').replace('rep_id = "id"\nname = "name"\nrole = "role"\n'
                                                              'manager_id = "manager"\nhire_date = "hired"\n'
                                                              'active = "active"', 'rep_id = "owner"')
    prepared = _prepare(tmp_path, {"deals.csv": tiny_files()["deals.csv"]}, mapping)
    assert [s["read"] for s in prepared.report["sources"]] == [3, 3]
    assert rp.rows_read(prepared.report) == 3


# ----------------------------------------------------------------------------- item 9: report


def test_report_lists_the_columns_the_mapping_does_not_read(tmp_path: Path) -> None:
    """deals.csv's 'region' and 'notes' are read by no field: the report names them, in file order."""
    deals = "id,owner,region,stage,created,closed,amount,notes\nD1,R1,EMEA,Won,2026-01-10,2026-02-10,10,hi\n"
    prepared = _prepare(tmp_path, tiny_files(deals=deals))
    assert prepared.report["unread_columns"] == [{"file": "deals.csv", "columns": ["region", "notes"]}]
    assert "Columns of deals.csv the mapping does not read (2): region, notes" in rp.text(prepared.report)


def test_import_report_json_is_json_alone(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`import --check --report json` prints one JSON document on stdout; the status line goes to stderr."""
    from saleslens.cli import main

    source = write(tmp_path / "src", tiny_files())
    mapping_file = tmp_path / "tiny.toml"
    mapping_file.write_text(TINY_MAPPING, encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(source), "--mapping", str(mapping_file), "--check", "--report", "json",
                 "--data", str(tmp_path / "data")]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["tables"]["opportunities"] == 3
    assert out.err.strip().endswith("Nothing was published (--check).")


# ----------------------------------------------------------------------------- item 10: Chinese amounts


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1.2万", 12_000.0),
        ("3亿", 300_000_000.0),
        ("1.2万元", 12_000.0),
        ("￥３．５万", 35_000.0),
        ("３５００", 3_500.0),
        ("１，２００", 1_200.0),
        ("-0.5万", -5_000.0),
    ],
)
def test_chinese_amounts_read(cell: str, expected: float) -> None:
    """万 is ten thousand, 亿 a hundred million; full-width digits and separators read as ASCII ones."""
    values, bad, _ = parsers.parse_money(pl.Series([cell]))
    assert (values[0], bad[0]) == (expected, False)


@pytest.mark.parametrize("cell", ["1万2", "万", "1.2万万"])
def test_misplaced_units_are_not_amounts(cell: str) -> None:
    """A unit must end the number: '1万2' is refused, not read as 120,000."""
    values, bad, _ = parsers.parse_money(pl.Series([cell]))
    assert (values[0], bad[0]) == (None, True)


def test_full_width_dates_read() -> None:
    """'２０２６年３月１日' is 1 March 2026."""
    values, bad, _ = parsers.parse_dates(pl.Series(["２０２６年３月１日"]))
    assert (values[0].isoformat(), bad[0]) == ("2026-03-01", False)


def test_gbk_export_with_wan_amounts_imports(tmp_path: Path) -> None:
    """A GBK deals file with '1.2万' and '３５００' imports; amounts in units, as written."""
    deals = "id,owner,stage,created,closed,amount\nD1,R1,Won,2026年1月10日,2026年2月10日,1.2万\n" \
            "D2,R1,Open,2026年1月15日,,３５００\n"
    files = tiny_files()
    files["deals.csv"] = deals.encode("gbk")
    prepared = _prepare(tmp_path, files)
    opps = prepared.tables["opportunities"].sort("opportunity_id")
    assert opps["amount"].to_list() == [12_000.0, 3_500.0]


# ----------------------------------------------------------------------------- item 7: a deal names its lead

DEAL_LEAD_FIELDS = 'amount = "amount"\nlead_id = "lead"\nsource = "source"'
LEADS_MAPPING = TINY_MAPPING.replace('amount = "amount"', DEAL_LEAD_FIELDS) + """
[[tables.leads]]
file = "leads.csv"
[tables.leads.fields]
lead_id = "id"
source = "source"
created_date = "created"
qualified_date = "qualified"
"""
# D1 came from L1 (won), D3 from L2 (open); L3 only got qualified; L4 went nowhere. No lead status column.
LEAD_DEALS = """id,owner,stage,created,closed,amount,lead,source
D1,R1,Won,2026-01-10,2026-02-10,1000,L1,
D2,R1,Lost,2026-01-15,2026-03-20,500,,Partner
D3,R2,Open,2026-02-01,,2500,L2,Event
"""
LEADS = """id,source,created,qualified
L1,Web,2026-01-02,2026-01-05
L2,Web,2026-01-20,
L3,Event,2026-01-21,2026-01-25
L4,Event,2026-01-22,
"""


def test_deals_name_their_lead(tmp_path: Path) -> None:
    """Each lead gets the deal that names it and a status from the link; D1 takes its lead's source."""
    files = {**tiny_files(deals=LEAD_DEALS), "leads.csv": LEADS.encode()}
    prepared = _prepare(tmp_path, files, LEADS_MAPPING)
    leads = prepared.tables["leads"].sort("lead_id")
    assert leads["converted_opportunity_id"].to_list() == ["D1", "D3", None, None]
    assert leads["status"].to_list() == ["converted", "converted", "qualified", None]
    opps = prepared.tables["opportunities"].sort("opportunity_id")
    assert opps["lead_id"].to_list() == ["L1", None, "L2"]
    # D1 had no source: its lead's; D2 has none to take; D3 keeps its own even though its lead says Web.
    assert opps["source"].to_list() == ["Web", "Partner", "Event"]
    unlinked = {u["relation"]: u for u in prepared.report["unlinked"]}
    assert unlinked["opportunities.lead_id → leads"]["linked"] == 2


def test_a_deal_naming_a_missing_lead_is_reported(tmp_path: Path) -> None:
    """L9 is no lead: kept (the default policy) and counted as unlinked; no lead becomes converted by it."""
    deals = LEAD_DEALS.replace("D3,R2,Open,2026-02-01,,2500,L2", "D3,R2,Open,2026-02-01,,2500,L9")
    files = {**tiny_files(deals=deals), "leads.csv": LEADS.encode()}
    prepared = _prepare(tmp_path, files, LEADS_MAPPING)
    unlinked = {u["relation"]: u for u in prepared.report["unlinked"]}["opportunities.lead_id → leads"]
    assert (unlinked["rows"], unlinked["linked"]) == (1, 1)
    leads = prepared.tables["leads"].sort("lead_id")
    assert leads["status"].to_list() == ["converted", None, "qualified", None]
