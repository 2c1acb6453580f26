"""Import test data, generated in code: a tiny generic export, Salesforce and HubSpot samples, bad inputs.

Every file is small and written by hand here, so each expected count in the tests can be checked by eye.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The public export lives beside the project (../shared); SALESLENS_MAVEN_DIR points elsewhere when the checkout
# is not next to it, and the workplace's own copy is the last resort.
MAVEN = next(
    (p for p in (
        Path(os.environ.get("SALESLENS_MAVEN_DIR", "/nonexistent")),
        Path(__file__).resolve().parents[2] / "shared/datasets/maven-crm",
        Path("/work/shared/datasets/maven-crm"),
    ) if (p / "sales_pipeline.csv").exists()),
    Path(__file__).resolve().parents[2] / "shared/datasets/maven-crm",
)

# ----------------------------------------------------------------------------- a tiny generic export

TINY_MAPPING = """
name = "tiny"
description = "Two files: reps.csv and deals.csv"
as_of = "latest"

[[stages]]
name = "Open"
probability = 0.5
[[stages]]
name = "Won"
won = true
[[stages]]
name = "Lost"
lost = true

[[tables.reps]]
file = "reps.csv"
[tables.reps.fields]
rep_id = "id"
name = "name"
role = "role"
manager_id = "manager"
hire_date = "hired"
active = "active"

[[tables.opportunities]]
file = "deals.csv"
[tables.opportunities.fields]
opportunity_id = "id"
owner_id = "owner"
stage = "stage"
created_date = "created"
close_date = "closed"
amount = "amount"
"""

TINY_REPS = """id,name,role,manager,hired,active
M1,Mia Manager,Manager,,2020-01-01,yes
R1,Ann Able,AE,M1,2021-03-15,yes
R2,Bob Best,AE,M1,2022-07-01,no
"""

TINY_DEALS = """id,owner,stage,created,closed,amount
D1,R1,Won,2026-01-10,2026-02-10,"$1,000.00"
D2,R1,Lost,2026-01-15,2026-03-20,500
D3,R2,Open,2026-02-01,,2500
"""


def tiny_files(reps: str | bytes = TINY_REPS, deals: str | bytes = TINY_DEALS) -> dict[str, bytes]:
    """The tiny export as file name -> bytes."""
    enc = lambda v: v if isinstance(v, bytes) else v.encode("utf-8")  # noqa: E731
    return {"reps.csv": enc(reps), "deals.csv": enc(deals)}


def with_links(policy: dict[str, str]) -> str:
    """The tiny mapping with a [links] section."""
    lines = "\n".join(f'"{k}" = "{v}"' for k, v in policy.items())
    return TINY_MAPPING + f"\n[links]\n{lines}\n"


# ----------------------------------------------------------------------------- Salesforce sample

SF_USERS = """User ID,Full Name,Role,Manager ID,Division,Active,Start Date
005A1,Maria Lopez,Sales Manager,,EMEA,TRUE,3/1/2019
005A2,Tom Berg,Account Executive,005A1,EMEA,TRUE,6/15/2021
005A3,Jana Novak,Sales Development Rep,005A1,EMEA,FALSE,1/10/2022
005A4,Li Wei,West Coast AE,005A1,APAC,TRUE,2/1/2023

"Grand Totals (4 records)"
"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."
"""

# 006B4's owner is written in lower case; 006B5's owner is not a user (kept, reported unlinked).
SF_OPPORTUNITIES = """Opportunity ID,Opportunity Name,Opportunity Owner,Account ID,Account Name,Stage,Amount,\
Close Date,Created Date,Lead Source,Forecast Category
006B1,Acme renewal,Tom Berg,001C1,Acme Corp,Closed Won,"$12,000.00",2/15/2026,1/5/2026,Web,Closed
006B2,Globex pilot,Tom Berg,001C2,Globex,Closed Lost,"$3,500.00",3/20/2026,1/20/2026,Partner,Omitted
006B3,Initech expansion,Li Wei,001C3,Initech,Negotiation/Review,"$8,250.50",7/31/2026,4/2/2026,Web,Commit
006B4,Acme add-on,tom berg,001C1,Acme Corp,Prospecting,,8/15/2026,5/10/2026,Phone Inquiry,Pipeline
006B5,Umbrella deal,Sam Gone,001C4,Umbrella,Proposal/Price Quote,"$5,000.00",9/1/2026,5/20/2026,Web,Best Case

"Grand Totals (5 records)"
"""

SF_HISTORY = """Opportunity ID,From Stage,To Stage,Last Modified Date
006B1,,Prospecting,1/5/2026 9:00 AM
006B1,Prospecting,Negotiation/Review,1/25/2026 2:30 PM
006B1,Negotiation/Review,Closed Won,2/15/2026 4:00 PM
006B3,,Prospecting,4/2/2026 10:00 AM
006B3,Prospecting,Negotiation,5/2/2026 11:15 AM

"Grand Totals (5 records)"
"""

SF_TASKS = """Activity ID,Assigned,Type,Date,Opportunity ID,Account ID
00T1,Tom Berg,Call,1/6/2026,006B1,001C1
00T2,Tom Berg,Email,1/7/2026,006B1,001C1
00U1,Li Wei,Meeting,4/10/2026,006B3,001C3
00U2,Li Wei,Demo,5/5/2026,006B3,001C3
"""


def salesforce_files() -> dict[str, bytes]:
    """A small Salesforce report export: four CSV files with report footers."""
    return {
        "users.csv": SF_USERS.encode(), "opportunities.csv": SF_OPPORTUNITIES.encode(),
        "opportunity_history.csv": SF_HISTORY.encode(), "tasks_events.csv": SF_TASKS.encode(),
    }


# ----------------------------------------------------------------------------- HubSpot sample

HUBSPOT_DEALS = """Record ID,Deal Name,Deal Stage,Pipeline,Amount,Close Date,Create Date,Deal owner,\
Associated Company,Original Source Type
9001,Acme - annual,Closed Won,Sales Pipeline,12000,2026-02-10 10:00,2026-01-05 09:12,Ann Able,Acme,Organic Search
9002,Globex - pilot,closedlost,Sales Pipeline,4000.5,2026-03-01 00:00,2026-01-20 15:00,Ann Able,Globex,Paid Search
9003,Initech - seats,Contract Sent,Sales Pipeline,7000,2026-07-15 00:00,2026-04-01 11:00,Bob Best,Initech,Direct Traffic
9004,Hooli - trial,Appointment Scheduled,Sales Pipeline,,,2026-06-01 08:00,Bob Best,,Offline Sources
"""


def hubspot_files(name: str = "hubspot-crm-exports-all-deals-2026-06-30.csv") -> dict[str, bytes]:
    """A HubSpot deals export under the long name HubSpot gives it."""
    return {name: HUBSPOT_DEALS.encode()}


def hubspot_xlsx() -> bytes:
    """The HubSpot sample as an Excel workbook with real date cells and numbers."""
    import csv
    from datetime import datetime

    import xlsxwriter

    buffer = io.BytesIO()
    rows = list(csv.reader(io.StringIO(HUBSPOT_DEALS)))
    with xlsxwriter.Workbook(buffer) as book:
        sheet = book.add_worksheet("Deals")
        stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if r and c in (5, 6) and value:
                    sheet.write_datetime(r, c, datetime.fromisoformat(value), stamp)
                elif r and c in (0, 4) and value:
                    sheet.write_number(r, c, float(value))
                else:
                    sheet.write_string(r, c, value)
    return buffer.getvalue()


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with the given sheets of rows."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        for name, rows in sheets.items():
            sheet = book.add_worksheet(name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    sheet.write(r, c, value)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- writing and comparing


def write(folder: Path, files: dict[str, bytes]) -> Path:
    """Write files into a folder (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def tree_state(root: Path) -> dict[str, str]:
    """Every file under a folder with its SHA-256, and every folder: to show a store did not change."""
    if not root.exists():
        return {}
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


# ----------------------------------------------------------------------------- malformed inputs


@dataclass(frozen=True)
class Bad:
    """One malformed input: the files, the mapping, and what the message must name."""

    id: str
    files: dict[str, bytes]
    code: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    mapping: str = TINY_MAPPING
    env: dict[str, str] = field(default_factory=dict)
    words: tuple[str, ...] = ()  # further text the message must contain


def _deals(*rows: str, header: str = "id,owner,stage,created,closed,amount") -> str:
    return "\n".join([header, *rows]) + "\n"


D1 = "D1,R1,Won,2026-01-10,2026-02-10,1000"
D2 = "D2,R1,Lost,2026-01-15,2026-03-20,500"

BAD_INPUTS: list[Bad] = [
    # --- values that are not what the field needs
    # An impossible date names its fault (issue 16 item 6: these two were a plain bad_date before).
    Bad("date_out_of_range", tiny_files(deals=_deals(D1, "D2,R1,Lost,2026-13-45,,500")), "date_no_month",
        "deals.csv", 3, "created", words=("2026-13-45", "month 13 does not exist")),
    Bad("date_words", tiny_files(deals=_deals(D1, D2, "D3,R2,Open,yesterday,,10")), "bad_date",
        "deals.csv", 4, "created", words=("yesterday",)),
    Bad("date_february_30", tiny_files(deals=_deals("D1,R1,Won,2026-01-10,2026-02-30,1000")), "date_day_in_month",
        "deals.csv", 2, "closed", words=("2026-02-30", "month 2 has no day 30")),
    Bad("dates_mix_day_and_month_first",
        tiny_files(deals=_deals("D1,R1,Won,13/01/2026,,1", "D2,R1,Lost,01/14/2026,,2")),
        "mixed_date_order", "deals.csv", None, "created", words=("13/01/2026", "01/14/2026")),
    Bad("money_words", tiny_files(deals=_deals(D1, "D2,R1,Lost,2026-01-15,2026-03-20,five hundred")),
        "bad_number", "deals.csv", 3, "amount", words=("five hundred",)),
    Bad("money_two_decimal_marks", tiny_files(deals=_deals(D1, "D2,R1,Lost,2026-01-15,2026-03-20,1.2.3")),
        "bad_number", "deals.csv", 3, "amount", words=("1.2.3",)),
    Bad("money_bad_grouping", tiny_files(deals=_deals(D1, 'D2,R1,Lost,2026-01-15,2026-03-20,"1,23,4.00"')),
        "bad_number", "deals.csv", 3, "amount", words=("1,23,4.00",)),
    Bad("money_two_currencies", tiny_files(deals=_deals(D1, "D2,R1,Lost,2026-01-15,2026-03-20,$€500")),
        "bad_number", "deals.csv", 3, "amount"),
    Bad("flag_not_yes_no", tiny_files(reps=TINY_REPS.replace("2022-07-01,no", "2022-07-01,maybe")),
        "bad_flag", "reps.csv", 4, "active", words=("maybe",)),
    Bad("hire_date_not_a_date", tiny_files(reps=TINY_REPS.replace("2021-03-15", "15th of March")),
        "bad_date", "reps.csv", 3, "hired"),
    # --- required fields, keys and references
    Bad("deal_id_empty", tiny_files(deals=_deals(D1, ",R1,Lost,2026-01-15,2026-03-20,500")),
        "required_missing", "deals.csv", 3, "id"),
    Bad("deal_owner_empty", tiny_files(deals=_deals(D1, "D2,,Lost,2026-01-15,2026-03-20,500")),
        "required_missing", "deals.csv", 3, "owner"),
    Bad("deal_stage_blank_spaces", tiny_files(deals=_deals(D1, "D2,R1,   ,2026-01-15,2026-03-20,500")),
        "required_missing", "deals.csv", 3, "stage"),
    Bad("deal_created_empty", tiny_files(deals=_deals(D1, "D2,R1,Lost,,2026-03-20,500")),
        "required_missing", "deals.csv", 3, "created"),
    Bad("duplicate_deal_id", tiny_files(deals=_deals(D1, D2, "D1,R2,Open,2026-02-01,,2500")),
        "duplicate_key", "deals.csv", 4, "id", words=("row 2",)),
    Bad("duplicate_rep_id", tiny_files(reps=TINY_REPS + "R1,Ann Other,AE,M1,2023-01-01,yes\n"),
        "duplicate_key", "reps.csv", 5, "id", words=("R1",)),
    Bad("unknown_stage", tiny_files(deals=_deals(D1, "D2,R1,Negotiating,2026-01-15,,500")),
        "unknown_stage", "deals.csv", 3, "stage", words=("Negotiating", "Open, Won, Lost")),
    Bad("unknown_role", tiny_files(reps=TINY_REPS.replace("R2,Bob Best,AE", "R2,Bob Best,Boss")),
        "unknown_value", "reps.csv", 4, "role", words=("Boss", "AE, SDR")),
    Bad("owner_points_nowhere", tiny_files(deals=_deals(D1, "D2,R9,Lost,2026-01-15,2026-03-20,500")),
        "unlinked", "deals.csv", 3, "owner", mapping=with_links({"opportunities.owner_id": "reject"}),
        words=("R9",)),
    Bad("manager_points_nowhere", tiny_files(reps=TINY_REPS.replace("R2,Bob Best,AE,M1", "R2,Bob Best,AE,M7")),
        "unlinked", "reps.csv", 4, "manager", mapping=with_links({"reps.manager_id": "reject"}), words=("M7",)),
    # --- the shape of the files
    Bad("missing_column", tiny_files(deals="id,owner,stage,created,closed\nD1,R1,Won,2026-01-10,2026-02-10\n"),
        "missing_column", "deals.csv", None, "amount"),
    Bad("misspelt_column", tiny_files(deals=_deals(D1, header="id,owner,stage,created,closed,ammount")),
        "missing_column_close", "deals.csv", None, "amount", words=("ammount",)),
    Bad("missing_file", {"reps.csv": TINY_REPS.encode(), "notes.csv": b"a,b\n1,2\n"}, "missing_file",
        None, None, None, words=("deals.csv", "notes.csv")),
    Bad("empty_file", tiny_files(deals=b""), "empty_file", "deals.csv"),
    Bad("header_only", tiny_files(deals=_deals()), "no_rows_for_table", "deals.csv", words=("opportunities",)),
    Bad("row_with_extra_field", tiny_files(deals=_deals(D1, D2 + ",oops")), "wrong_field_count",
        "deals.csv", 3, None, words=("7", "6")),
    Bad("row_with_missing_fields", tiny_files(deals=_deals(D1, "D2,R1,Lost")), "wrong_field_count",
        "deals.csv", 3, None),
    Bad("unclosed_quote", tiny_files(deals=_deals(D1, 'D2,R1,Lost,2026-01-15,2026-03-20,"500')),
        "bad_quoting", "deals.csv", 3),
    Bad("text_after_quote", tiny_files(deals=_deals(D1, 'D2,"R1"x,Lost,2026-01-15,2026-03-20,500')),
        "bad_quoting", "deals.csv", 3),
    Bad("duplicate_header", tiny_files(deals=_deals(D1, header="id,owner,stage,created,closed,id")),
        "duplicate_header", "deals.csv", 1, "id"),
    Bad("reserved_header", tiny_files(deals=_deals(D1 + ",x", header="id,owner,stage,created,closed,amount,__row")),
        "reserved_header", "deals.csv", 1, "__row"),
    Bad("wrong_delimiter_declared", tiny_files(deals=_deals(D1, D2).replace(",", ";")), "wrong_delimiter",
        "deals.csv", 1, None, words=("semicolon", "comma"),
        mapping=TINY_MAPPING.replace('as_of = "latest"', 'as_of = "latest"\n[options]\ndelimiter = "comma"')),
    # --- encodings and binary data
    Bad("binary_file", tiny_files(deals=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), "binary_file",
        "deals.csv"),
    Bad("mixed_utf8_and_latin1",
        tiny_files(reps=(TINY_REPS + "R3,José Núñez,AE,M1,2023-01-01,yes\n").encode("utf-8")
                   + "R4,Zoë Brandt,AE,M1,2023-02-01,yes\n".encode("latin-1")),
        "mixed_encoding", "reps.csv", 6),
    Bad("declared_utf8_but_gbk",
        tiny_files(reps=(TINY_REPS + "R3,张伟,AE,M1,2023-01-01,yes\n").encode("gbk")),
        "bad_encoding", "reps.csv", 5, mapping=TINY_MAPPING.replace(
            'as_of = "latest"', 'as_of = "latest"\n[options]\nencoding = "utf-8"'), words=("utf-8",)),
    # --- Excel
    Bad("damaged_workbook", {"reps.csv": TINY_REPS.encode(), "deals.xlsx": b"PK\x03\x04 not really a zip"},
        "bad_workbook", "deals.xlsx", mapping=TINY_MAPPING.replace('file = "deals.csv"', 'file = "deals.xlsx"')),
    Bad("old_xls_workbook", {"reps.csv": TINY_REPS.encode(), "deals.xls": b"\xd0\xcf\x11\xe0 old"},
        "old_excel", "deals.xls", mapping=TINY_MAPPING.replace('file = "deals.csv"', 'file = "deals.xls"')),
    Bad("missing_sheet",
        {"reps.csv": TINY_REPS.encode(),
         "deals.xlsx": xlsx({"Sheet1": [["id", "owner", "stage", "created", "closed", "amount"]]})},
        "no_sheet", "deals.xlsx", words=("Deals", "Sheet1"),
        mapping=TINY_MAPPING.replace('file = "deals.csv"', 'file = "deals.xlsx"\nsheet = "Deals"')),
    Bad("excel_bad_date_cell",
        {"reps.csv": TINY_REPS.encode(),
         "deals.xlsx": xlsx({"Deals": [["id", "owner", "stage", "created", "closed", "amount"],
                                       ["D1", "R1", "Won", "2026-01-10", "2026-02-10", 1000],
                                       ["D2", "R1", "Lost", "not yet", "2026-03-20", 500]]})},
        "bad_date", "deals.xlsx", 3, "created", words=("not yet",),
        mapping=TINY_MAPPING.replace('file = "deals.csv"', 'file = "deals.xlsx"')),
    # --- limits
    Bad("file_too_large", tiny_files(), "file_too_large", "reps.csv", env={"SALESLENS_IMPORT_MAX_MB": "0.0001"},
        words=("import_max_mb",)),
    Bad("too_many_rows", tiny_files(), "too_many_rows", "reps.csv", env={"SALESLENS_IMPORT_MAX_ROWS": "2"},
        words=("import_max_rows",)),
]

# Mapping files that cannot be used: each fails with a MappingError naming the problem.
BAD_MAPPINGS: list[tuple[str, str, str]] = [
    ("not_toml", TINY_MAPPING + "\n[[tables.reps\n", "not valid TOML"),
    ("unknown_table", TINY_MAPPING.replace("tables.reps", "tables.repz"), "did you mean 'reps'"),
    ("unknown_field", TINY_MAPPING.replace('amount = "amount"', 'ammount = "amount"'), "did you mean 'amount'"),
    ("no_won_stage", TINY_MAPPING.replace("won = true", "probability = 1.0"), "won = true"),
    ("stage_won_and_lost", TINY_MAPPING.replace("won = true", "won = true\nlost = true"), "both won and lost"),
    ("probability_over_one", TINY_MAPPING.replace("probability = 0.5", "probability = 50"), "from 0 to 1"),
    ("status_is_derived", TINY_MAPPING.replace('amount = "amount"', 'amount = "amount"\nstatus = "stage"'),
     "derived"),
    ("required_field_unmapped", TINY_MAPPING.replace('owner_id = "owner"\n', ""), "opportunities.owner_id"),
    ("unknown_encoding", TINY_MAPPING.replace('as_of = "latest"', 'as_of = "latest"\n[options]\nencoding = "klingon"'),
     "encoding"),
    ("bad_link_policy", with_links({"opportunities.owner_id": "drop"}), "keep, reject"),
]
