"""A small literal dataset for the targets page: three snapshots, stage history, targets that change.

Snapshot dates: 2026-03-04 and 2026-03-18 (mid Q1, for forecast accuracy) and AS_OF 2026-05-12, the
42nd day of Q2 (Apr 1 - Jun 30): exactly the end of week 6 of the quarter. Earlier snapshots are
derived from the deals' stage paths, so each shows the deals as they stood that day.

People: team North (region East) has Ann (R1), Bob (R2) and the new hire Cy (R3, hired 2026-04-01,
no history); team Solo (region West) has one rep, Dee (R4). Managers M1 and M2 carry no quota.

Targets (bookings):
  R1  1,000 a month Jan-Mar 2026, then 1,500 a month Apr-Jun (a change mid-year)
  R2  2,000 a month Jan-Jun
  R3  500 / 1,000 / 1,500 in Apr / May / Jun (ramping new hire)
  R4  one row per quarter: 3,000 for Q1 and 3,000 for Q2 (1,000 a month once spread)
  team North  99,999 for Q2 (ignored: its reps have their own targets then) and 30,000 for Jul-Dec
              (5,000 a month, used because no rep of North has a target in H2)
Targets (activities): R1 40 a month Apr-Jun.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from queries import runner
from saleslens.core import store
from tests import rows
from tests.rows import day as _d

AS_OF = date(2026, 5, 12)
SNAPSHOT_DATES = (date(2026, 3, 4), date(2026, 3, 18), AS_OF)

STAGES = rows.stages(["Prospecting", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
                     [0.1, 0.5, 0.8, 1.0, 0.0])


_PEOPLE = [
    # rep_id, name, role, team, manager, region, hire
    ("M1", "Mia Manager", "Manager", "North", None, "East", "2020-01-01"),
    ("R1", "Ann Able", "AE", "North", "M1", "East", "2022-01-10"),
    ("R2", "Bob Best", "AE", "North", "M1", "East", "2023-03-01"),
    ("R3", "Cy New", "AE", "North", "M1", "East", "2026-04-01"),
    ("M2", "Max Mgr", "Manager", "Solo", None, "West", "2020-01-01"),
    ("R4", "Dee Solo", "AE", "Solo", "M2", "West", "2024-01-01"),
]
REPS = rows.people(_PEOPLE)

ACCOUNTS = pl.DataFrame({"account_id": ["A1"], "name": ["Acme"], "segment": ["SMB"], "industry": ["Tech"],
                         "region": ["East"]})
PRODUCTS = pl.DataFrame({"product_id": ["P1"], "name": ["Core"], "family": ["Suite"], "list_price": [1000.0]})

# id, owner, amount, expected or actual close, forecast category, stage path [(stage, day), ...]
# The last stage of a closed deal is Closed Won / Closed Lost on its close date.
DEALS = [
    ("W1", "R1", 2000.0, "2025-10-20", None,
     [("Prospecting", "2025-09-01"), ("Proposal", "2025-09-20"), ("Negotiation", "2025-10-05"),
      ("Closed Won", "2025-10-20")]),
    ("W2", "R2", 4000.0, "2025-12-15", None,
     [("Prospecting", "2025-10-01"), ("Proposal", "2025-11-01"), ("Closed Won", "2025-12-15")]),
    ("W3", "R1", 1000.0, "2026-01-20", None,
     [("Prospecting", "2025-11-15"), ("Proposal", "2025-12-10"), ("Closed Won", "2026-01-20")]),
    ("W4", "R2", 1000.0, "2026-02-20", None, [("Prospecting", "2025-12-01"), ("Closed Won", "2026-02-20")]),
    ("W5", "R4", 2000.0, "2026-03-25", None, [("Proposal", "2026-02-01"), ("Closed Won", "2026-03-25")]),
    ("W6", "R1", 1500.0, "2026-04-10", None,
     [("Prospecting", "2026-02-15"), ("Proposal", "2026-03-20"), ("Closed Won", "2026-04-10")]),
    ("W7", "R2", 1500.0, "2026-05-05", None,
     [("Prospecting", "2026-03-01"), ("Proposal", "2026-03-25"), ("Negotiation", "2026-04-15"),
      ("Closed Won", "2026-05-05")]),
    ("L1", "R1", 3000.0, "2026-02-01", None, [("Prospecting", "2025-12-15"), ("Closed Lost", "2026-02-01")]),
    ("L2", "R2", 2000.0, "2026-03-10", None,
     [("Prospecting", "2026-01-05"), ("Proposal", "2026-02-10"), ("Closed Lost", "2026-03-10")]),
    ("L3", "R1", 1000.0, "2025-11-15", None,
     [("Prospecting", "2025-08-01"), ("Proposal", "2025-09-01"), ("Negotiation", "2025-10-01"),
      ("Closed Lost", "2025-11-15")]),
    ("L4", "R4", 500.0, "2026-04-20", None, [("Prospecting", "2026-03-15"), ("Closed Lost", "2026-04-20")]),
    # open on AS_OF
    ("O1", "R1", 2000.0, "2026-06-15", "commit", [("Prospecting", "2026-04-01"), ("Proposal", "2026-04-20")]),
    ("O2", "R2", 1000.0, "2026-05-30", "best_case",
     [("Prospecting", "2026-03-10"), ("Proposal", "2026-04-01"), ("Negotiation", "2026-05-01")]),
    ("O3", "R3", 4000.0, "2026-06-20", "pipeline", [("Prospecting", "2026-04-15")]),
    ("O4", "R4", 3000.0, "2026-07-20", "commit", [("Prospecting", "2026-04-20"), ("Proposal", "2026-05-01")]),
    ("O5", "R2", 500.0, None, None, [("Prospecting", "2026-05-01")]),
]
_OUTCOME = {"Closed Won": "won", "Closed Lost": "lost"}


def opportunities_as_of(day: date) -> pl.DataFrame:
    """The deals as they stood at the end of a day: later deals absent, later moves not yet made."""
    rows = []
    for oid, owner, amount, close, category, path in DEALS:
        moves = [(stage, _d(when)) for stage, when in path if _d(when) <= day]
        if not moves:
            continue
        stage, when = moves[-1]
        status = _OUTCOME.get(stage, "open")
        rows.append({
            "opportunity_id": oid, "owner_id": owner, "account_id": "A1", "product_id": "P1", "source": "Inbound",
            "created_date": _d(path[0][1]), "expected_close_date": _d(close),
            "close_date": when if status != "open" else None, "amount": amount, "stage": stage, "status": status,
            "forecast_category": category if status == "open" else None,
        })
    return pl.DataFrame(rows)


def stage_changes() -> pl.DataFrame:
    """Every move of every deal, at noon of its day (the event store filters by snapshot date)."""
    rows = []
    for oid, *_, path in DEALS:
        prev = None
        for stage, when in path:
            rows.append({"opportunity_id": oid, "from_stage": prev, "to_stage": stage,
                         "changed_at": datetime.combine(_d(when), time(12))})
            prev = stage
    return pl.DataFrame(rows, schema_overrides={"from_stage": pl.String})


def _month_rows(owner_type: str, owner: str, metric: str, values: dict[int, float], year: int = 2026) -> list[dict]:
    out = []
    for m, v in values.items():
        start = date(year, m, 1)
        end = (date(year, m + 1, 1) if m < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
        out.append({"owner_type": owner_type, "owner_id": owner, "period_start": start, "period_end": end,
                    "metric": metric, "value": v})
    return out


def _row(owner_type: str, owner: str, start: str, end: str, value: float, metric: str = "bookings") -> dict:
    return {"owner_type": owner_type, "owner_id": owner, "period_start": _d(start), "period_end": _d(end),
            "metric": metric, "value": value}


TARGETS = pl.DataFrame(
    _month_rows("rep", "R1", "bookings", {1: 1000.0, 2: 1000.0, 3: 1000.0, 4: 1500.0, 5: 1500.0, 6: 1500.0})
    + _month_rows("rep", "R2", "bookings", dict.fromkeys(range(1, 7), 2000.0))
    + _month_rows("rep", "R3", "bookings", {4: 500.0, 5: 1000.0, 6: 1500.0})
    + [_row("rep", "R4", "2026-01-01", "2026-03-31", 3000.0), _row("rep", "R4", "2026-04-01", "2026-06-30", 3000.0)]
    + [_row("team", "North", "2026-04-01", "2026-06-30", 99999.0),
       _row("team", "North", "2026-07-01", "2026-12-31", 30000.0)]
    + _month_rows("rep", "R1", "activities", {4: 40.0, 5: 40.0, 6: 40.0})
)

# Week of Mon 6 Apr: Ann 3 calls + 1 meeting, Bob 1 call + 1 demo; week of 13 Apr: Ann 2 emails;
# week of 20 Apr: Dee 1 visit. One call in Q1 (outside a Q2 range).
_ACTS = [
    ("X1", "R1", "call", "2026-04-06"), ("X2", "R1", "call", "2026-04-07"), ("X3", "R1", "call", "2026-04-08"),
    ("X4", "R1", "meeting", "2026-04-09"), ("X5", "R2", "call", "2026-04-06"), ("X6", "R2", "demo", "2026-04-10"),
    ("X7", "R1", "email", "2026-04-13"), ("X8", "R1", "email", "2026-04-14"), ("X9", "R4", "visit", "2026-04-21"),
    ("X0", "R1", "call", "2026-02-02"),
]
ACTIVITIES = pl.DataFrame({
    "activity_id": [a[0] for a in _ACTS], "rep_id": [a[1] for a in _ACTS], "opportunity_id": [None] * len(_ACTS),
    "account_id": ["A1"] * len(_ACTS), "type": [a[2] for a in _ACTS],
    "occurred_at": [datetime.combine(_d(a[3]), time(10)) for a in _ACTS],
}, schema_overrides={"opportunity_id": pl.String})


def build_store(data_dir: Path, dates: tuple[date, ...] = SNAPSHOT_DATES, derive: bool = False,
                extra_changes: pl.DataFrame | None = None) -> list[store.Snapshot]:
    """Publish one snapshot per date (and the event store) in data_dir; the last one is AS_OF.

    derive: also write the derived tables at publish, as an import does (without them the runner computes
    them as views); extra_changes: stage changes added to the event store (e.g. of a deal no snapshot has).
    """
    changes = stage_changes() if extra_changes is None else pl.concat([stage_changes(), extra_changes])
    store.write_events(data_dir, "stage_changes", changes)
    store.write_events(data_dir, "activities", ACTIVITIES)
    return [
        store.publish_snapshot(
            data_dir, day,
            {"stages": STAGES, "reps": REPS, "accounts": ACCOUNTS, "products": PRODUCTS,
             "opportunities": opportunities_as_of(day), "targets": TARGETS},
            source="tests", derive=runner.build_derived if derive else None,
        )
        for day in dates
    ]
