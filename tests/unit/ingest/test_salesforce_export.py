"""The `salesforce` profile on small Data Exports (the main org is built in tests/salesforce_fixtures.py), in the
field names, every value quoted): two currencies with dated rates, a role tree without ManagerId, accented stage
names in Windows-1252 and Chinese ones in UTF-8, all-zero ids, tasks on records that are not deals, deleted rows,
and a history with a regression and an amount change. Every expected value is worked out by hand in comments.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens import ingest
from saleslens.core import store
from saleslens.ingest import salesforce
from tests.ingest_cases import ROOT, write
from tests.salesforce_fixtures import (
    AC1,
    AC2,
    ANA,
    AS_OF,
    KIM,
    LEAD1,
    LEAD2,
    LI,
    MAX,
    OPP,
    P1,
    P2,
    QUEUE,
    TOM,
    VERA,
    ZOE,
    main_org,
    sfid,
    table,
)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> store.Snapshot:
    """The main org imported into an empty data directory."""
    tmp = tmp_path_factory.mktemp("org")
    return ingest.run_import(write(tmp / "export", main_org()), "salesforce", tmp / "data", AS_OF)


def _frame(snap: store.Snapshot, name: str, key: str) -> pl.DataFrame:
    return pl.read_parquet(snap.table_path(name)).sort(key)


def _notes(snap: store.Snapshot) -> dict[tuple[str, str], dict]:
    return {(n["code"], n["file"]): n for n in snap.manifest["import_report"]["export"]}


# ----------------------------------------------------------------------------- reps and the role tree


def test_managers_from_the_role_tree(org: store.Snapshot) -> None:
    """ManagerId first; else the one holder of the parent role; two holders or none: no manager."""
    reps = _frame(org, "reps", "rep_id")
    managers = dict(zip(reps["rep_id"], reps["manager_id"], strict=True))
    assert managers == {VERA: None, MAX: VERA, ANA: MAX, LI: VERA, ZOE: None, TOM: VERA, KIM: VERA}
    assert _notes(org)[("manager_from_role", "User.csv")]["count"] == 4  # Max, Ana, Tom, Kim
    assert _notes(org)[("zero_ids", "User.csv")]["count"] == 1  # Max's ManagerId


def test_reps_names_roles_and_teams(org: store.Snapshot) -> None:
    """Names with accents read from Windows-1252; roles from the role names; a team is the manager's name."""
    reps = _frame(org, "reps", "rep_id")
    assert reps["name"].to_list() == ["Vera Vogt", "Max Müller", "Ana Ruiz", "Li Wei", "Zoé Blanc", "Tom Berg",
                                      "Kim Lee"]
    # VP Sales -> Director, Sales Manager -> Manager, Account Executive -> AE, Sales Development Rep -> SDR,
    # Team Lead (no translation) -> AE.
    assert reps["role"].to_list() == ["Director", "Manager", "AE", "AE", "SDR", "AE", "AE"]
    # Vera, Max, Tom? No: Tom and Kim manage nobody (Zoé has no manager), so they are in Vera's team.
    assert reps["team"].to_list() == ["Vera Vogt", "Max Müller", "Max Müller", "Vera Vogt", None, "Vera Vogt",
                                      "Vera Vogt"]
    assert reps["active"].to_list() == [True, True, True, True, False, True, True]


# ----------------------------------------------------------------------------- stages


def test_stage_list_from_opportunity_stage(org: store.Snapshot) -> None:
    """OpportunityStage in SortOrder, outcomes last; Revisión (history only) is added as an open stage and noted."""
    stages = _frame(org, "stages", "position")
    assert stages["stage"].to_list() == ["Prospección", "Calificación", "Négociation", "Revisión",
                                         "Cerrada ganada", "Cerrada perdida"]
    # DefaultProbability / 100; Revisión: the history's 40 %.
    assert stages["probability"].to_list() == [0.1, 0.2, 0.6, 0.4, 1.0, 0.0]
    assert stages["is_won"].to_list() == [False, False, False, False, True, False]
    assert stages["is_lost"].to_list() == [False, False, False, False, False, True]
    assert _notes(org)[("stage_added", "OpportunityStage.csv")]["values"] == {"stage": "Revisión"}


def test_history_moves_with_a_regression(org: store.Snapshot) -> None:
    """Only changes of StageName are moves; the regression is kept; the amount-only row and deleted row are not."""
    moves = pl.read_parquet(org.event_files("stage_changes"))  # the batches the snapshot reads
    moves = moves.sort(["opportunity_id", "changed_at"])
    o2 = moves.filter(pl.col("opportunity_id") == OPP[2])
    assert list(zip(o2["from_stage"], o2["to_stage"], strict=True)) == [
        (None, "Prospección"), ("Prospección", "Négociation"), ("Négociation", "Calificación"),
        ("Calificación", "Cerrada ganada")]
    o5 = moves.filter(pl.col("opportunity_id") == OPP[5])
    assert o5["to_stage"].to_list() == ["Prospección", "Revisión", "Négociation"]
    assert moves.height == 7
    notes = _notes(org)
    assert notes[("history_not_moves", "OpportunityHistory.csv")]["count"] == 1
    assert notes[("deleted", "OpportunityHistory.csv")]["count"] == 1


# ----------------------------------------------------------------------------- money


def test_amounts_converted_at_the_dated_rate(org: store.Snapshot) -> None:
    """Closed deals at their close date's rate, open ones at the snapshot date's; originals kept."""
    opps = _frame(org, "opportunities", "opportunity_id")
    got = {r["opportunity_id"]: (r["currency"], r["amount_original"], r["amount"]) for r in opps.iter_rows(named=True)}
    assert OPP[7] not in got  # deleted
    assert got[OPP[1]] == ("USD", 10000.0, 10000.0)
    assert got[OPP[2]][:2] == ("EUR", 16000.0) and got[OPP[2]][2] == pytest.approx(20000)
    assert got[OPP[3]][2] == pytest.approx(10000)
    assert got[OPP[4]][2] == pytest.approx(18000)
    assert got[OPP[5]][2] == pytest.approx(5000)
    assert got[OPP[6]][2] == pytest.approx(3000)
    assert got[OPP[8]][2] == pytest.approx(1000)
    assert [got[OPP[n]] for n in (9, 10, 11)] == [("GBP", 500.0, None), ("JPY", 70000.0, None), ("CHF", 100.0, None)]
    assert org.reporting_currency == "USD"
    assert org.manifest["rates"]["dated"]["EUR"][1] == {"start": "2026-04-01", "end": "9999-12-31", "rate": 0.9}


def test_bookings_per_rep_in_the_reporting_currency(org: store.Snapshot) -> None:
    """The app's KPIs per rep: Ana 30,000 leads Li 28,000, though Li's amounts as written add up to more."""
    runner = Runner(org)
    try:
        per_rep = runner.run("kpis_by_group", by="rep")
        org_row = runner.run("kpis_by_group", by="org").row(0, named=True)
    finally:
        runner.close()
    bookings = dict(per_rep.select("group_label", "bookings").iter_rows())
    assert bookings["Ana Ruiz"] == pytest.approx(30000)
    assert bookings["Li Wei"] == pytest.approx(28000)
    assert org_row["bookings"] == pytest.approx(58000)
    # Open deals with an amount: O5 5,000 + O8 1,000; O9-O11 have none and are not summed.
    assert org_row["open_pipeline"] == pytest.approx(6000)


def test_bookings_equal_plain_sql_converting_each_deal(org: store.Snapshot, tmp_path: Path) -> None:
    """Bookings per owner equal a plain DuckDB query over the export's own CSV files, converting each deal."""
    import duckdb

    folder = write(tmp_path / "utf8", {n: d.decode("cp1252", errors="replace").encode() for n, d in main_org().items()})
    sql = f"""
        select o.OwnerId as owner, sum(o.Amount / coalesce(d.ConversionRate, 1)) as bookings
        from read_csv('{folder}/Opportunity.csv', all_varchar=false) o
        left join read_csv('{folder}/DatedConversionRate.csv', types={{'StartDate': 'VARCHAR'}}) d
          on d.IsoCode = o.CurrencyIsoCode and o.CloseDate >= try_cast(d.StartDate as date)
         and o.CloseDate < d.NextStartDate
        where o.IsWon and not o.IsDeleted
        group by 1 order by 1
    """
    plain = dict(duckdb.sql(sql).fetchall())
    opps = pl.read_parquet(org.table_path("opportunities")).filter(pl.col("status") == "won")
    ours = dict(opps.group_by("owner_id").agg(pl.col("amount").sum()).iter_rows())
    assert set(plain) == set(ours) == {ANA, LI}
    for owner, value in plain.items():
        assert ours[owner] == pytest.approx(value)


def test_currencies_without_a_rate_are_reported(org: store.Snapshot) -> None:
    """GBP (rate 0), CHF (rate -1.2) and JPY (no rate) are named with their deals, in the report and as warnings."""
    money = org.manifest["import_report"]["currency"]
    missing = {m["currency"]: (m["rate"], m["deals"], m["examples"]) for m in money["missing"]}
    assert missing == {"GBP": ("0", 1, [OPP[9]]), "CHF": ("-1.2", 1, [OPP[11]]), "JPY": (None, 1, [OPP[10]])}
    assert money["deals_per_currency"] == {"CHF": 1, "EUR": 4, "GBP": 1, "JPY": 1, "USD": 3}
    warnings = [w for w in org.manifest["import_report"]["warnings"] if w["code"] == "no_rate"]
    assert len(warnings) == 3
    assert any("JPY" in w["message"] and OPP[10] in w["message"] for w in warnings)
    text = ingest.report.text(org.manifest["import_report"], "en")
    assert "Amounts are in USD" in text


# ----------------------------------------------------------------------------- conventions


def test_deleted_rows_and_zero_ids(org: store.Snapshot) -> None:
    """IsDeleted rows are skipped and counted per file; an all-zero AccountId is empty, not unlinked."""
    notes = _notes(org)
    assert {f: notes[("deleted", f)]["count"] for f in ("Opportunity.csv", "Account.csv", "Task.csv")} == {
        "Opportunity.csv": 1, "Account.csv": 1, "Task.csv": 1}
    opps = _frame(org, "opportunities", "opportunity_id")
    assert opps.filter(pl.col("opportunity_id") == OPP[8])["account_id"].to_list() == [None]
    account = next(u for u in org.manifest["import_report"]["unlinked"] if u["relation"].startswith(
        "opportunities.account_id"))
    assert (account["rows"], account["empty"]) == (0, 1)
    assert _frame(org, "accounts", "account_id")["name"].to_list() == ["Café Olé SA", "Müller GmbH"]


def test_activities_link_by_prefix_and_get_a_date(org: store.Snapshot) -> None:
    """WhatId 006 -> deal, 001 -> account, others kept without one; dates fall back to completion, then creation."""
    acts = pl.read_parquet(org.event_files("activities")).sort("activity_id")
    rows = {r["activity_id"]: r for r in acts.iter_rows(named=True)}
    assert set(rows) == {sfid("00T", n) for n in (1, 2, 3, 4)} | {sfid("00U", 1), sfid("00U", 2)}
    t1, t2, t3, t4 = (rows[sfid("00T", n)] for n in (1, 2, 3, 4))
    assert (t1["opportunity_id"], t1["account_id"], t1["type"]) == (OPP[2], AC2, "call")
    assert (t2["opportunity_id"], t2["account_id"], t2["type"]) == (None, AC1, "email")
    assert str(t2["occurred_at"]) == "2026-03-01 09:00:00"  # CompletedDateTime
    assert (t3["opportunity_id"], t3["account_id"]) == (None, None)
    assert str(t3["occurred_at"]) == "2026-04-01 08:00:00"  # CreatedDate
    assert (t4["opportunity_id"], t4["type"]) == (None, "meeting")
    e1, e2 = rows[sfid("00U", 1)], rows[sfid("00U", 2)]
    assert (e1["opportunity_id"], e1["type"]) == (OPP[5], "meeting")
    assert (str(e2["occurred_at"]), e2["type"]) == ("2026-06-15 00:00:00", "demo")
    notes = _notes(org)
    assert notes[("what_elsewhere", "Task.csv")]["count"] == 1  # the case
    dated = [n for n in org.manifest["import_report"]["export"] if n["code"] == "date_from"]
    assert sorted((n["file"], n["values"]["column"], n["count"]) for n in dated) == [
        ("Event.csv", "ActivityDate", 1), ("Task.csv", "CompletedDateTime", 1), ("Task.csv", "CreatedDate", 1)]


def test_leads_products_and_replaced_bytes(org: store.Snapshot) -> None:
    """Converted leads say so; a queue owner stays unlinked; the main product is the largest line item; a byte
    that is no Windows-1252 character is replaced and counted."""
    leads = _frame(org, "leads", "lead_id")
    assert leads["status"].to_list() == ["working", "converted", "new"]
    assert leads["source"].to_list() == ["Web", "Unknown", "Event"]
    assert leads["converted_opportunity_id"].to_list() == [None, OPP[1], None]
    owner = next(u for u in org.manifest["import_report"]["unlinked"] if u["relation"].startswith("leads.owner_id"))
    assert owner["rows"] == 1 and owner["examples"][0]["value"] == QUEUE
    opps = _frame(org, "opportunities", "opportunity_id")
    products = dict(zip(opps["opportunity_id"], opps["product_id"], strict=True))
    assert (products[OPP[1]], products[OPP[3]], products[OPP[2]]) == (P1, P2, None)
    note = _notes(org)[("replaced_characters", "Lead.csv")]
    assert (note["count"], note["values"]["encoding"]) == (1, "cp1252")
    files = {f["file"]: f["encoding"] for f in org.manifest["import_report"]["files"]}
    assert files["Opportunity.csv"] == "cp1252"


def test_zip_imports_the_same(tmp_path: Path, org: store.Snapshot) -> None:
    """The .zip Salesforce sends (files in a folder inside) gives the same deals and amounts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in main_org().items():
            archive.writestr(f"export/{name}", data)
    source = tmp_path / "WE_00D000000000001_1.ZIP"
    source.write_bytes(buffer.getvalue())
    snap = ingest.run_import(source, "salesforce", tmp_path / "data", AS_OF)
    cols = ["opportunity_id", "amount", "amount_original", "currency", "stage"]
    assert _frame(snap, "opportunities", "opportunity_id").select(cols).equals(
        _frame(org, "opportunities", "opportunity_id").select(cols))


# ----------------------------------------------------------------------------- a UTF-8 org in Chinese


C = {n: sfid("006", 100 + n) for n in range(1, 5)}
WANG, LEI = sfid("005", 101), sfid("005", 102)
# No OpportunityStage.csv and no currency files (a single-currency org). Stages from the deals: 初步接洽 10 %,
# 方案报价 50 %, 赢单 won, 输单 lost; 需求分析 (30 %) only in C2's history. Open stages in order of probability:
# 初步接洽, 需求分析, 方案报价; then won, then lost.
CN_OPPS = table(["Id", "IsDeleted", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate",
                 "IsClosed", "IsWon", "ForecastCategoryName", "OwnerId", "CreatedDate"], [
    [C[1], "false", "", "甲", "初步接洽", "1000", "10", "2026-09-01", "false", "false", "Pipeline", LEI,
     "2026-04-01T00:00:00.000Z"],
    [C[2], "false", "", "乙", "方案报价", "2000", "50", "2026-09-01", "false", "false", "Pipeline", LEI,
     "2026-04-02T00:00:00.000Z"],
    [C[3], "false", "", "丙", "赢单", "3000", "100", "2026-05-01", "true", "true", "Closed", WANG,
     "2026-04-03T00:00:00.000Z"],
    [C[4], "false", "", "丁", "输单", "500", "0", "2026-05-02", "true", "false", "Omitted", WANG,
     "2026-04-04T00:00:00.000Z"],
])
CN_HISTORY = table(["Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "CloseDate", "Probability",
                    "ForecastCategory", "IsDeleted"], [
    [sfid("008", 101), C[2], "2026-04-02T00:00:00.000Z", "初步接洽", "2000", "2026-09-01", "10", "Pipeline", "0"],
    [sfid("008", 102), C[2], "2026-04-10T00:00:00.000Z", "需求分析", "2000", "2026-09-01", "30", "Pipeline", "0"],
    [sfid("008", 103), C[2], "2026-04-20T00:00:00.000Z", "方案报价", "2000", "2026-09-01", "50", "Pipeline", "0"],
    [sfid("008", 104), C[3], "2026-04-03T00:00:00.000Z", "初步接洽", "3000", "2026-05-01", "10", "Pipeline", "0"],
    [sfid("008", 105), C[3], "2026-05-01T00:00:00.000Z", "赢单", "3000", "2026-05-01", "100", "Closed", "0"],
])
CN_USERS = table(["Id", "FirstName", "LastName", "UserRoleId", "ManagerId", "IsActive"], [
    [WANG, "芳", "王", "", "", "true"], [LEI, "雷", "李", "", WANG, "true"]])


def chinese_org() -> dict[str, bytes]:
    """A UTF-8 export (with the BOM some tools add) whose account file has one damaged byte."""
    damaged = b'"001000000000102AAA","\xff"\r\n'
    accounts = table(["Id", "Name"], [[sfid("001", 101), "北京科技有限公司"]]).encode() + damaged
    return {"Opportunity.csv": b"\xef\xbb\xbf" + CN_OPPS.encode(), "OpportunityHistory.csv": CN_HISTORY.encode(),
            "User.csv": CN_USERS.encode(), "Account.csv": accounts}


def test_chinese_stages_from_the_deals(tmp_path: Path) -> None:
    """Stage names in Chinese come through as written, ordered from the deals and history; one currency: amounts
    as they are, no reporting currency recorded."""
    snap = ingest.run_import(write(tmp_path / "cn", chinese_org()), "salesforce", tmp_path / "data", AS_OF)
    stages = _frame(snap, "stages", "position")
    assert stages["stage"].to_list() == ["初步接洽", "需求分析", "方案报价", "赢单", "输单"]
    assert stages["probability"].to_list() == [0.1, 0.3, 0.5, 1.0, 0.0]
    opps = _frame(snap, "opportunities", "opportunity_id")
    assert opps["stage"].to_list() == ["初步接洽", "方案报价", "赢单", "输单"]
    assert opps["status"].to_list() == ["open", "open", "won", "lost"]
    assert opps["amount"].to_list() == [1000.0, 2000.0, 3000.0, 500.0]
    assert opps["amount_original"].null_count() == 4
    assert snap.reporting_currency is None
    assert _frame(snap, "reps", "rep_id")["name"].to_list() == ["芳 王", "雷 李"]
    notes = _notes(snap)
    assert (notes[("replaced_characters", "Account.csv")]["count"],
            notes[("replaced_characters", "Account.csv")]["values"]["encoding"]) == (1, "utf-8")
    assert _frame(snap, "accounts", "account_id")["name"].to_list() == ["北京科技有限公司", "\ufffd"]


# ----------------------------------------------------------------------------- bad input


def test_folder_without_opportunities_names_what_is_needed(tmp_path: Path) -> None:
    """One line, exit status 2, naming the missing file and what the export needs."""
    files = {n: d for n, d in main_org().items() if n != "Opportunity.csv"}
    source = write(tmp_path / "export", files)
    done = subprocess.run([sys.executable, "-m", "saleslens", "import", str(source), "--mapping", "salesforce",
                           "--data", str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Opportunity.csv is missing" in lines[0] and "Opportunity.csv, User.csv" in lines[0]
    assert not (tmp_path / "data" / "snapshots").exists()


def test_decode_rules() -> None:
    """UTF-8 first; Windows-1252 when the high bytes are not UTF-8; damaged bytes counted either way."""
    assert salesforce.decode("Négociation".encode()) == ("Négociation", "utf-8", 0)
    assert salesforce.decode("Négociation".encode("cp1252")) == ("Négociation", "cp1252", 0)
    assert salesforce.decode("阶段 é".encode() + b"\x81") == ("阶段 é\ufffd", "utf-8", 1)
    assert salesforce.decode(b"Caf\xe9 \x81") == ("Café \ufffd", "cp1252", 1)


# ----------------------------------------------------------------------------- other CRMs: [currency]

CURRENCY_DEALS = """id,owner,stage,created,closed,amount,cur
D1,R1,Won,2026-01-10,2026-02-10,1000,EUR
D2,R1,Won,2026-01-15,2026-03-20,800,eur
D3,R2,Open,2026-02-01,,3000,MXN
D4,R2,Won,2026-02-01,2026-02-02,700,USD
D5,R2,Lost,2026-02-01,2026-02-03,100,ARS
D6,R1,Won,2026-02-05,2026-02-06,50,
"""
CURRENCY_FIELD = 'currency = "cur"\n'
INLINE_RATES = """
[currency]
reporting = "USD"
rates = { MXN = 20 }
[[currency.dated]]
currency = "EUR"
rate = 0.5
start = 2026-01-01
[[currency.dated]]
currency = "EUR"
rate = 0.8
start = 2026-03-01
"""
RATES_FILE = """
[currency]
reporting = "usd"
file = "rates.csv"
"""
RATES_CSV = "currency,rate,start\nEUR,0.5,2026-01-01\nEUR,0.8,2026-03-01\nMXN,20,\n"


@pytest.mark.parametrize("section", [INLINE_RATES, RATES_FILE], ids=["inline", "file"])
def test_currency_section_of_a_mapping(section: str, tmp_path: Path) -> None:
    """Inline or file rates, dated or not. EUR is 0.5 per USD from 1 Jan 2026 and 0.8 from 1 Mar; MXN 20.
    D1 1,000 EUR closed 10 Feb / 0.5 = 2,000; D2 800 EUR closed 20 Mar / 0.8 = 1,000; D3 3,000 MXN open / 20 = 150;
    D4 700 USD; D5 100 ARS: no rate, no amount; D6 has no currency: the reporting one, 50."""
    from tests.ingest_cases import TINY_MAPPING, tiny_files

    mapping = tmp_path / "m.toml"
    mapping.write_text(TINY_MAPPING + CURRENCY_FIELD + section, encoding="utf-8")
    files = {**tiny_files(deals=CURRENCY_DEALS), "rates.csv": RATES_CSV.encode()}
    snap = ingest.run_import(write(tmp_path / "x", files), str(mapping), tmp_path / "data")
    opps = _frame(snap, "opportunities", "opportunity_id")
    amounts = opps["amount"].to_list()
    assert amounts[4] is None
    assert [amounts[i] for i in (0, 1, 2, 3, 5)] == pytest.approx([2000, 1000, 150, 700, 50])
    assert opps["currency"].to_list() == ["EUR", "EUR", "MXN", "USD", "ARS", "USD"]
    assert opps["amount_original"].to_list() == [1000, 800, 3000, 700, 100, 50]
    assert snap.reporting_currency == "USD"
    # Won in USD: 2,000 + 1,000 + 700 + 50 = 3,750.
    assert opps.filter(pl.col("status") == "won")["amount"].sum() == pytest.approx(3750)
    missing = snap.manifest["import_report"]["currency"]["missing"]
    assert [(m["currency"], m["deals"], m["examples"]) for m in missing] == [("ARS", 1, ["D5"])]


def test_without_currencies_amounts_stay_as_they_are(tmp_path: Path) -> None:
    """A mapping with no currency field and no [currency]: amounts as written, nothing converted or recorded."""
    from tests.ingest_cases import TINY_MAPPING, tiny_files

    mapping = tmp_path / "m.toml"
    mapping.write_text(TINY_MAPPING, encoding="utf-8")
    snap = ingest.run_import(write(tmp_path / "x", tiny_files()), str(mapping), tmp_path / "data")
    opps = _frame(snap, "opportunities", "opportunity_id")
    assert opps["amount"].to_list() == [1000.0, 500.0, 2500.0]
    assert opps["amount_original"].null_count() == 3 and opps["currency"].null_count() == 3
    assert snap.reporting_currency is None and "currency" not in snap.manifest["import_report"]


def test_hubspot_amount_in_company_currency(tmp_path: Path) -> None:
    """HubSpot's company-currency amount is used when the export has it; the deal's own amount is kept beside it."""
    deals = ("Record ID,Deal Stage,Amount,Currency,Amount in company currency,Close Date,Create Date,Deal owner,"
             "Associated Company,Original Source Type\n"
             "1,Closed Won,1000,EUR,1100,2026-02-10,2026-01-05,Ann Able,Acme,Direct Traffic\n"
             "2,Closed Won,500,USD,500,2026-02-11,2026-01-06,Bob Best,Acme,Direct Traffic\n")
    snap = ingest.run_import(write(tmp_path / "hs", {"deals.csv": deals.encode()}), "hubspot", tmp_path / "data",
                             AS_OF)
    opps = _frame(snap, "opportunities", "opportunity_id")
    assert opps["amount"].to_list() == [1100.0, 500.0]
    assert opps["amount_original"].to_list() == [1000.0, 500.0]
    assert opps["currency"].to_list() == ["EUR", "USD"]
    assert snap.manifest["import_report"]["currency"]["missing"] == []


# ----------------------------------------------------------------------------- weekly backfill


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, store.Snapshot]:
    """The main org imported with a weekly backfill, by snapshot id."""
    from saleslens.ingest import backfill, build, mapping, readers

    tmp = tmp_path_factory.mktemp("weekly")
    files = readers.files_from_path(write(tmp / "export", main_org()))
    prepared = build.prepare(files, mapping.load("salesforce"), as_of=AS_OF)
    snaps = backfill.publish_weekly(prepared, tmp / "data")
    return {s.id: s for s in snaps}


def _deal(snap: store.Snapshot, opp: str) -> dict:
    rows = pl.read_parquet(snap.table_path("opportunities")).filter(pl.col("opportunity_id") == opp)
    return rows.row(0, named=True)


def test_one_snapshot_per_week_then_the_export(weekly: dict[str, store.Snapshot]) -> None:
    """First deal created Monday 5 Jan 2026: Sundays 11 Jan ... 28 Jun = 25 weeks, then the export of 30 Jun."""
    ids = list(weekly)
    assert len(ids) == 26
    assert ids[0] == "2026-01-11" and ids[-2] == "2026-06-28" and ids[-1] == "2026-06-30"
    assert all(weekly[i].manifest["backfilled"] is True for i in ids[:-1])
    assert "backfilled" not in weekly["2026-06-30"].manifest
    assert weekly["2026-01-11"].reporting_currency == "USD"
    data = weekly["2026-06-30"].data_dir
    assert [s.id for s in store.list_snapshots(data)] == ids


def test_backfilled_weeks_follow_the_history(weekly: dict[str, store.Snapshot]) -> None:
    """O2 by week: 11 Jan Prospección 12,000 EUR (0.8 -> 15,000 USD, expected close 31 Mar, pipeline); 1 Feb back in
    Calificación; 15 Feb 16,000 EUR -> 20,000; 15 Mar won on 10 Mar. O5 (created 2 May): 3 May Prospección 4,000 EUR
    at 0.9 -> 4,444.44; 24 May Revisión 4,500 -> 5,000."""
    o2 = _deal(weekly["2026-01-11"], OPP[2])
    assert (o2["stage"], o2["status"], o2["amount_original"], o2["forecast_category"]) == (
        "Prospección", "open", 12000.0, "pipeline")
    assert o2["amount"] == pytest.approx(15000)
    assert (str(o2["expected_close_date"]), o2["close_date"]) == ("2026-03-31", None)
    assert _deal(weekly["2026-01-25"], OPP[2])["stage"] == "Négociation"
    assert _deal(weekly["2026-02-01"], OPP[2])["stage"] == "Calificación"
    assert _deal(weekly["2026-02-15"], OPP[2])["amount"] == pytest.approx(20000)
    won = _deal(weekly["2026-03-15"], OPP[2])
    assert (won["status"], str(won["close_date"]), won["expected_close_date"]) == ("won", "2026-03-10", None)
    o5 = _deal(weekly["2026-05-03"], OPP[5])
    assert (o5["stage"], o5["amount_original"]) == ("Prospección", 4000.0)
    assert o5["amount"] == pytest.approx(4000 / 0.9)
    assert _deal(weekly["2026-05-24"], OPP[5])["stage"] == "Revisión"


def test_backfilled_weeks_hold_only_what_existed(weekly: dict[str, store.Snapshot]) -> None:
    """11 Jan: deals O1 and O2 (created 5 Jan), leads L1 (10 Jan) and L2 (2 Jan). 26 Apr: O1-O4 and O6 (1 Apr)."""
    first = weekly["2026-01-11"]
    assert sorted(pl.read_parquet(first.table_path("opportunities"))["opportunity_id"]) == [OPP[1], OPP[2]]
    assert sorted(pl.read_parquet(first.table_path("leads"))["lead_id"]) == [LEAD1, LEAD2]
    april = pl.read_parquet(weekly["2026-04-26"].table_path("opportunities"))["opportunity_id"]
    assert sorted(april) == [OPP[1], OPP[2], OPP[3], OPP[4], OPP[6]]
    assert weekly["2026-04-26"].manifest["events"]["stage_changes"] == 4  # O2's four moves, all before April


def test_backfill_needs_history(tmp_path: Path) -> None:
    """A mapping without history cannot backfill: one line, exit status 2, nothing published."""
    from tests.ingest_cases import TINY_MAPPING, tiny_files

    mapping = tmp_path / "m.toml"
    mapping.write_text(TINY_MAPPING, encoding="utf-8")
    source = write(tmp_path / "x", tiny_files())
    done = subprocess.run([sys.executable, "-m", "saleslens", "import", str(source), "--mapping", str(mapping),
                           "--backfill", "weekly", "--data", str(tmp_path / "data")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "OpportunityHistory.csv" in done.stderr
    assert not (tmp_path / "data" / "snapshots").exists()


@pytest.mark.parametrize(("section", "message"), [
    ('[currency]\nreporting = "dollars"\n', "three-letter currency code"),
    ('[currency]\nrates = { EUR = "high" }\n', "must be a number"),
    ('[currency]\n[[currency.dated]]\ncurrency = "EUR"\nrate = 0.9\n', "needs start"),
    ('[currency]\nrate = 1\n', "did you mean 'rates'"),
])
def test_bad_currency_sections_are_told_in_one_line(section: str, message: str) -> None:
    """A [currency] section that cannot be used says what is wrong."""
    from saleslens.ingest import mapping
    from tests.ingest_cases import TINY_MAPPING

    with pytest.raises(ingest.MappingError, match=message):
        mapping.parse(TINY_MAPPING + section)


def test_missing_rates_file_is_told(tmp_path: Path) -> None:
    """A rates file the mapping names but the export lacks stops the import, naming it."""
    from tests.ingest_cases import TINY_MAPPING, tiny_files

    mapping = tmp_path / "m.toml"
    mapping.write_text(TINY_MAPPING + CURRENCY_FIELD + RATES_FILE, encoding="utf-8")
    with pytest.raises(ingest.ImportFailed, match=r"rates\.csv named in \[currency\] is not among the files"):
        ingest.run_import(write(tmp_path / "x", tiny_files(deals=CURRENCY_DEALS)), str(mapping), tmp_path / "data")


def test_a_folder_of_zips_with_an_object_split_in_two(tmp_path: Path, org: store.Snapshot) -> None:
    """A large export comes as several zips; Opportunity.csv in two parts (each with its header) reads as one."""
    files = main_org()
    lines = files.pop("Opportunity.csv").split(b"\r\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    first = b"\r\n".join([header, *rows[:4]]) + b"\r\n"
    second = b"\r\n".join([header, *rows[4:]]) + b"\r\n"
    folder = tmp_path / "export"
    folder.mkdir()
    for n, members in enumerate(({**files, "Opportunity.csv": first}, {"Opportunity.csv": second}), start=1):
        with zipfile.ZipFile(folder / f"WE_00D000000000001_{n}.ZIP", "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    done = subprocess.run([sys.executable, "-m", "saleslens", "import", str(folder), "--mapping", "salesforce",
                           "--as-of", AS_OF.isoformat(), "--data", str(tmp_path / "data")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    snap = store.list_snapshots(tmp_path / "data")[-1]
    cols = ["opportunity_id", "amount", "stage"]
    assert _frame(snap, "opportunities", "opportunity_id").select(cols).equals(
        _frame(org, "opportunities", "opportunity_id").select(cols))
    assert snap.manifest["import_report"]["sources"][3]["file"] == "Opportunity.csv (2 parts)"
