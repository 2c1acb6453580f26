"""A HubSpot deals export with stage calculated properties, written here from HubSpot's documented names.

HubSpot's knowledge base ("Use stage calculated properties") names a property per pipeline stage: "Date entered
[stage]", "Date exited [stage]", "Latest time in [stage]", "Cumulative time in [stage]"; an export labels the
column with the stage and its pipeline in quotes. The default sales pipeline's stages are those of the
`hubspot` profile. Every value below is made up and small enough to check by eye.

    deal  stage now               entered (2026)
    9001  Closed Won              Appointment 01-05 09:12, Qualified 01-12 10:00, Contract 01-26 15:30, Won 02-10 10:00
    9002  Contract Sent           Appointment 01-20 15:00, Contract 02-03 11:00 (skipped Qualified)
    9003  Appointment Scheduled   Appointment 02-01 08:00; Qualified cell "soon" (not a date)
    9004  Qualified To Buy        Qualified 02-04 09:00 (and a Partner Pipeline stage the list lacks: 02-02)
    9005  Appointment Scheduled   Qualified 02-10 09:00, back to Appointment 02-20 14:00 (a regression)
"""

from __future__ import annotations

PIPE = "Sales Pipeline"
ENTERED = [f'Date entered "{s} ({PIPE})"' for s in
           ("Appointment Scheduled", "Qualified To Buy", "Contract Sent", "Closed Won")]
EXITED = f'Date exited "Appointment Scheduled ({PIPE})"'  # not a move: ignored
UNKNOWN = 'Date entered "Discovery call (Partner Pipeline)"'  # no such stage in the list: named in the report

HEADER = ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Create Date", "Deal owner",
          "Associated Company", "Original Source Type", *ENTERED, EXITED, UNKNOWN]
ROWS = [
    ["9001", "Acme - annual", "Closed Won", PIPE, "12000", "2026-02-10 10:00", "2026-01-05 09:12", "Ann Able", "Acme",
     "Organic Search", "2026-01-05 09:12", "2026-01-12 10:00", "2026-01-26 15:30", "2026-02-10 10:00",
     "2026-01-12 10:00", ""],
    ["9002", "Globex - pilot", "Contract Sent", PIPE, "4000", "2026-03-15 00:00", "2026-01-20 15:00", "Ann Able",
     "Globex", "Paid Search", "2026-01-20 15:00", "", "2026-02-03 11:00", "", "2026-02-03 11:00", ""],
    ["9003", "Initech - seats", "Appointment Scheduled", PIPE, "7000", "2026-04-30 00:00", "2026-02-01 08:00",
     "Bob Best", "Initech", "Direct Traffic", "2026-02-01 08:00", "soon", "", "", "", ""],
    ["9004", "Hooli - trial", "Qualified To Buy", PIPE, "1500", "2026-03-31 00:00", "2026-02-02 12:00", "Bob Best",
     "Hooli", "Offline Sources", "", "2026-02-04 09:00", "", "", "", "2026-02-02 12:00"],
    ["9005", "Umbrella - renewal", "Appointment Scheduled", PIPE, "900", "2026-05-31 00:00", "2026-02-10 09:00",
     "Ann Able", "Umbrella", "Referrals", "2026-02-20 14:00", "2026-02-10 09:00", "", "", "", ""],
]


def _cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"') else value


def deals_csv() -> bytes:
    """The export as HubSpot writes it: one CSV, header labels quoted where they hold quotes."""
    lines = [",".join(_cell(v) for v in row) for row in [HEADER, *ROWS]]
    return ("\n".join(lines) + "\n").encode()


def files() -> dict[str, bytes]:
    """The export under the long name HubSpot gives it."""
    return {"hubspot-crm-exports-all-deals-2026-02-22.csv": deals_csv()}
