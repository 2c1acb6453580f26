"""Literal rows for the funnel tests: stage history with skipped and regressed stages, two snapshots.

Stages: Prospecting (1), Qualification (2), Proposal (3), then Closed Won and Closed Lost.
Snapshot A is 2026-06-23, snapshot B (the latest) 2026-06-30; between them one deal falls in each
pipeline-change category (see WATERFALL below). Every stage change happens at 09:00, so days in a
stage are whole days, easy to count by hand.

Deals created in Q2 2026 (the "current" cohort):
    D1  R1 A1 P1 Inbound   1,000  P 04-01 -> Q 04-06 -> Proposal 04-16 -> Won 05-20
    D2  R1 A1 P2 Outbound  2,000  P 04-05 -> Proposal 04-15 (skips Q) -> Lost 06-10
    D3  R2 A3 P1 Inbound   3,000  P 04-10 -> Q 04-20 -> Proposal 05-01 -> Q 05-21 (regression), open
    D4  R3 A2 P1 Partner     500  P 05-01, open
    D5  R3 A2 P2 Partner   1,500  P 05-10 -> Q 05-15 -> Lost 06-27
    D6  R2 A3 P2 Inbound   4,000  created in Q 06-01 (skips P) -> Won 06-25
    F2  R1 A1 P2 Inbound     600  P 06-26, open (new since snapshot A)
Deals created in Q1 2026 (the "previous" cohort):
    E1  R1 A1 P1 Inbound   1,000  P 01-10 -> Q 01-20 -> Won 02-20
    E2  R1 A1 P1 Outbound    800  P 02-01 -> Lost 03-01
    E3  R3 A2 P2 Partner   5,000  P 03-01 -> Q 03-11 -> Proposal 04-01, open
Older open deals:
    F1  R2 A1 P1 Event     2,500  P 2025-12-01 -> Q 2026-01-05 -> Proposal 03-01, open
    F3  R3 A2 P1 Partner   1,200  P 2025-11-01 -> Q 2025-12-01, open
    F4  R2 A1 P1 Event       900  P 2025-10-01, open in A, deleted before B
    F5  R1->R3 A2 P1 Partner 300  P 2025-09-01 -> Q 2025-10-01, open; owner R1 (East) in A, R3 (West) in B
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from queries import runner
from saleslens.core import store
from tests import rows

AS_OF_A = date(2026, 6, 23)
AS_OF_B = date(2026, 6, 30)
Q2 = {"start": date(2026, 4, 1), "end": date(2026, 6, 30)}
Q1 = {"start": date(2026, 1, 1), "end": date(2026, 3, 31)}

STAGES = rows.stages(["Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"],
                     [0.1, 0.3, 0.6, 1.0, 0.0])

REPS = rows.people([
    ("M1", "Mia Manager", "Manager", "East 1", None, "East"),
    ("R1", "Ann Able", "AE", "East 1", "M1", "East"),
    ("R2", "Bob Best", "AE", "East 1", "M1", "East"),
    ("M2", "Max Mgr", "Manager", "West 1", None, "West"),
    ("R3", "Cy Cole", "AE", "West 1", "M2", "West"),
], hire_date="2020-01-01")

ACCOUNTS = rows.accounts([
    ("A1", "Acme", "SMB", "Tech", "East"), ("A2", "Globex", "Enterprise", "Health", "West"),
    ("A3", "Initech", "Mid-Market", "Tech", "East"),
])

PRODUCTS = rows.PRODUCTS


_W, _L = "Closed Won", "Closed Lost"
# id, owner, account, product, source, created, expected close, close, amount, stage, status
_B = [
    ("D1", "R1", "A1", "P1", "Inbound", "2026-04-01", None, "2026-05-20", 1000.0, _W, "won"),
    ("D2", "R1", "A1", "P2", "Outbound", "2026-04-05", None, "2026-06-10", 2000.0, _L, "lost"),
    ("D3", "R2", "A3", "P1", "Inbound", "2026-04-10", "2026-06-28", None, 3000.0, "Qualification", "open"),
    ("D4", "R3", "A2", "P1", "Partner", "2026-05-01", "2026-06-30", None, 500.0, "Prospecting", "open"),
    ("D5", "R3", "A2", "P2", "Partner", "2026-05-10", None, "2026-06-27", 1500.0, _L, "lost"),
    ("D6", "R2", "A3", "P2", "Inbound", "2026-06-01", None, "2026-06-25", 4000.0, _W, "won"),
    ("F2", "R1", "A1", "P2", "Inbound", "2026-06-26", "2026-06-30", None, 600.0, "Prospecting", "open"),
    ("E1", "R1", "A1", "P1", "Inbound", "2026-01-10", None, "2026-02-20", 1000.0, _W, "won"),
    ("E2", "R1", "A1", "P1", "Outbound", "2026-02-01", None, "2026-03-01", 800.0, _L, "lost"),
    ("E3", "R3", "A2", "P2", "Partner", "2026-03-01", "2026-07-15", None, 5000.0, "Proposal", "open"),
    ("F1", "R2", "A1", "P1", "Event", "2025-12-01", "2026-06-29", None, 2500.0, "Proposal", "open"),
    ("F3", "R3", "A2", "P1", "Partner", "2025-11-01", "2026-06-20", None, 1200.0, "Qualification", "open"),
    ("F5", "R3", "A2", "P1", "Partner", "2025-09-01", "2026-06-30", None, 300.0, "Qualification", "open"),
]
# The same deals a week earlier: D3 was smaller, D4 larger, D5 and D6 still open, E3 due in June,
# F1 due in July, F2 not yet created, F4 still there, F5 owned by R1. Rows that did not change are B's.
_IN_B = {r[0]: r for r in _B}
_A = [
    _IN_B["D1"], _IN_B["D2"],
    ("D3", "R2", "A3", "P1", "Inbound", "2026-04-10", "2026-06-28", None, 2500.0, "Qualification", "open"),
    ("D4", "R3", "A2", "P1", "Partner", "2026-05-01", "2026-06-30", None, 700.0, "Prospecting", "open"),
    ("D5", "R3", "A2", "P2", "Partner", "2026-05-10", "2026-06-29", None, 1500.0, "Qualification", "open"),
    ("D6", "R2", "A3", "P2", "Inbound", "2026-06-01", "2026-06-26", None, 4000.0, "Qualification", "open"),
    _IN_B["E1"], _IN_B["E2"],
    ("E3", "R3", "A2", "P2", "Partner", "2026-03-01", "2026-06-25", None, 5000.0, "Proposal", "open"),
    ("F1", "R2", "A1", "P1", "Event", "2025-12-01", "2026-07-10", None, 2500.0, "Proposal", "open"),
    _IN_B["F3"],
    ("F4", "R2", "A1", "P1", "Event", "2025-10-01", "2026-06-30", None, 900.0, "Prospecting", "open"),
    ("F5", "R1", "A2", "P1", "Partner", "2025-09-01", "2026-06-30", None, 300.0, "Qualification", "open"),
]


OPPORTUNITIES_A = rows.deals(_A)
OPPORTUNITIES_B = rows.deals(_B)

_P, _Q, _PR = "Prospecting", "Qualification", "Proposal"
# opportunity, from, to, day (all at 09:00)
_MOVES = [
    ("D1", None, _P, "2026-04-01"), ("D1", _P, _Q, "2026-04-06"), ("D1", _Q, _PR, "2026-04-16"),
    ("D1", _PR, _W, "2026-05-20"),
    ("D2", None, _P, "2026-04-05"), ("D2", _P, _PR, "2026-04-15"), ("D2", _PR, _L, "2026-06-10"),
    ("D3", None, _P, "2026-04-10"), ("D3", _P, _Q, "2026-04-20"), ("D3", _Q, _PR, "2026-05-01"),
    ("D3", _PR, _Q, "2026-05-21"),
    ("D4", None, _P, "2026-05-01"),
    ("D5", None, _P, "2026-05-10"), ("D5", _P, _Q, "2026-05-15"), ("D5", _Q, _L, "2026-06-27"),
    ("D6", None, _Q, "2026-06-01"), ("D6", _Q, _W, "2026-06-25"),
    ("F2", None, _P, "2026-06-26"),
    ("E1", None, _P, "2026-01-10"), ("E1", _P, _Q, "2026-01-20"), ("E1", _Q, _W, "2026-02-20"),
    ("E2", None, _P, "2026-02-01"), ("E2", _P, _L, "2026-03-01"),
    ("E3", None, _P, "2026-03-01"), ("E3", _P, _Q, "2026-03-11"), ("E3", _Q, _PR, "2026-04-01"),
    ("F1", None, _P, "2025-12-01"), ("F1", _P, _Q, "2026-01-05"), ("F1", _Q, _PR, "2026-03-01"),
    ("F3", None, _P, "2025-11-01"), ("F3", _P, _Q, "2025-12-01"),
    ("F4", None, _P, "2025-10-01"),
    ("F5", None, _P, "2025-09-01"), ("F5", _P, _Q, "2025-10-01"),
]
STAGE_CHANGES = pl.DataFrame(
    {
        "opportunity_id": [m[0] for m in _MOVES],
        "from_stage": [m[1] for m in _MOVES],
        "to_stage": [m[2] for m in _MOVES],
        "changed_at": [datetime.fromisoformat(m[3] + "T09:00:00") for m in _MOVES],
    },
    schema_overrides={"from_stage": pl.String},
)

# lead, source, created, status, owner, account, qualified, converted opportunity
_LEADS = [
    ("L1", "Inbound", "2026-04-02", "converted", "R1", "A1", "2026-04-03", "D1"),
    ("L2", "Inbound", "2026-04-10", "converted", "R2", "A3", "2026-04-12", "D3"),
    ("L3", "Inbound", "2026-05-01", "qualified", "R1", "A1", "2026-05-03", None),
    ("L4", "Inbound", "2026-05-05", "disqualified", "R1", "A1", None, None),
    ("L5", "Partner", "2026-05-05", "converted", "R3", "A2", "2026-05-06", "D5"),
    ("L6", "Partner", "2026-06-01", "new", "R3", "A2", None, None),
    ("L7", "Event", "2026-03-15", "converted", "R3", "A2", "2026-03-16", "E3"),
]
LEADS = rows.frame(
    ("lead_id", "source", "created_date", "status", "owner_id", "account_id", "qualified_date",
     "converted_opportunity_id"), _LEADS, ("created_date", "qualified_date"), {"qualified_date": pl.Date},
)

PAYMENTS = pl.DataFrame(
    {
        "payment_id": ["PY1", "PY2", "PY3"],
        "opportunity_id": ["D1", "D6", "E1"],
        "invoiced_date": [date(2026, 5, 25), date(2026, 6, 28), date(2026, 2, 25)],
        "paid_date": [date(2026, 6, 10), None, date(2026, 3, 20)],
        "amount": [1000.0, 4000.0, 1000.0],
    },
    schema_overrides={"paid_date": pl.Date},
)


def _tables(opportunities: pl.DataFrame, extras: bool) -> dict[str, pl.DataFrame]:
    tables = {"stages": STAGES, "reps": REPS, "accounts": ACCOUNTS, "products": PRODUCTS,
              "opportunities": opportunities}
    if extras:
        tables |= {"leads": LEADS, "payments": PAYMENTS}
    return tables


def build_store(data_dir: Path, history: bool = True, derive: bool = False) -> tuple[store.Snapshot, store.Snapshot]:
    """Publish snapshot A (2026-06-23) and B (2026-06-30); stage history only when `history`; with `derive`, the
    derived tables are written at publish (as an import does), otherwise the runner computes them as views."""
    if history:
        store.write_events(data_dir, "stage_changes", STAGE_CHANGES)
    hook = {"derive": runner.build_derived} if derive else {}
    a = store.publish_snapshot(data_dir, AS_OF_A, _tables(OPPORTUNITIES_A, history), source="funnel tests", **hook)
    b = store.publish_snapshot(data_dir, AS_OF_B, _tables(OPPORTUNITIES_B, history), source="funnel tests", **hook)
    return a, b
