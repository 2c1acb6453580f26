"""A literal dataset for the leaderboard, scorecards and review pack, small enough to work by hand.

The period under review is 2026Q3 (1 Jul - 30 Sep 2026); 2026Q2 is the previous period.
Four AEs (A1..A4, A3 hired 1 Jul 2026 and still ramping), two SDRs, one CSM, one manager, and one
AE who left in May (X1, not in Q3). Expected values are worked out in the tests' comments.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from saleslens.core import store
from tests import rows

AS_OF = date(2026, 9, 30)
Q3 = (date(2026, 7, 1), date(2026, 9, 30))
Q2 = (date(2026, 4, 1), date(2026, 6, 30))

STAGES = rows.stages(["Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"],
                     [0.1, 0.3, 0.6, 1.0, 0.0])

# rep_id, name, role, team, manager, region, hire date, leave date
_REPS = [
    ("M1", "Mona Major", "Manager", "North", None, "East", "2019-01-01", None),
    ("A1", "Ava Ames", "AE", "North", "M1", "East", "2022-01-10", None),
    ("A2", "Ben Birch", "AE", "North", "M1", "East", "2022-03-01", None),
    ("A3", "Cleo Cruz", "AE", "South", "M1", "West", "2026-07-01", None),
    ("A4", "Dan Dorn", "AE", "South", "M1", "West", "2021-05-01", None),
    ("S1", "Sia Sand", "SDR", "North", "M1", "East", "2023-01-01", None),
    ("S2", "Tom Teal", "SDR", "South", "M1", "West", "2023-06-01", None),
    ("C1", "Cara Cole", "CSM", "North", "M1", "East", "2020-02-01", None),
    ("X1", "Old Leaver", "AE", "North", "M1", "East", "2020-01-01", "2026-05-31"),
]


REPS = rows.people(_REPS)

ACCOUNTS = pl.DataFrame(
    {
        "account_id": [f"AC{i}" for i in range(1, 13)],
        "name": [f"Account {i}" for i in range(1, 13)],
        "segment": ["SMB", "Mid-Market", "Enterprise"] * 4,
        "industry": ["Tech"] * 12,
        "region": ["East"] * 6 + ["West"] * 6,
    }
)

PRODUCTS = pl.DataFrame({"product_id": ["P1"], "name": ["Core"], "family": ["Suite"], "list_price": [10000.0]})

# id, owner, account, created, close, expected close, amount, stage, status
_OPPS = [
    # 2026Q2, the previous period: bookings A2 50,000, A4 30,000, A1 20,000.
    ("P1", "A2", "AC9", "2026-03-01", "2026-05-10", None, 50000.0, "Closed Won", "won"),
    ("P2", "A1", "AC8", "2026-03-01", "2026-05-20", None, 20000.0, "Closed Won", "won"),
    ("P3", "A4", "AC7", "2026-03-15", "2026-06-10", None, 30000.0, "Closed Won", "won"),
    # A1 in Q3: 4 won (100,000), 2 lost; cycles 30, 50, 40, 50 days; new logos AC1, AC2, AC3.
    ("O101", "A1", "AC1", "2026-06-01", "2026-07-01", None, 10000.0, "Closed Won", "won"),
    ("O102", "A1", "AC2", "2026-06-11", "2026-07-31", None, 20000.0, "Closed Won", "won"),
    ("O103", "A1", "AC3", "2026-07-01", "2026-08-10", None, 30000.0, "Closed Won", "won"),
    ("O104", "A1", "AC8", "2026-07-10", "2026-08-29", None, 40000.0, "Closed Won", "won"),
    ("O105", "A1", "AC4", "2026-07-01", "2026-08-01", None, 15000.0, "Closed Lost", "lost"),
    ("O106", "A1", "AC4", "2026-07-05", "2026-09-01", None, 15000.0, "Closed Lost", "lost"),
    # A2 in Q3: 3 won (60,000), 3 lost; cycles 20, 30, 40; new logos AC5, AC6 (AC9 was won in Q2).
    ("O201", "A2", "AC9", "2026-07-01", "2026-07-21", None, 20000.0, "Closed Won", "won"),
    ("O202", "A2", "AC5", "2026-07-01", "2026-07-31", None, 20000.0, "Closed Won", "won"),
    ("O203", "A2", "AC6", "2026-07-01", "2026-08-10", None, 20000.0, "Closed Won", "won"),
    ("O204", "A2", "AC5", "2026-07-01", "2026-08-15", None, 10000.0, "Closed Lost", "lost"),
    ("O205", "A2", "AC5", "2026-07-01", "2026-08-15", None, 10000.0, "Closed Lost", "lost"),
    ("O206", "A2", "AC5", "2026-07-01", "2026-08-15", None, 10000.0, "Closed Lost", "lost"),
    # A3 (ramping) in Q3: 2 won (10,000), 0 lost: too few to trust the win rate; new logo AC10.
    ("O301", "A3", "AC10", "2026-07-02", "2026-08-01", None, 5000.0, "Closed Won", "won"),
    ("O302", "A3", "AC10", "2026-07-02", "2026-09-01", None, 5000.0, "Closed Won", "won"),
    # A4 in Q3: 3 won (100,000), 2 lost; cycles 40, 60, 90; new logos AC11, AC12 (AC7 was won in Q2).
    ("O401", "A4", "AC7", "2026-06-01", "2026-07-11", None, 30000.0, "Closed Won", "won"),
    ("O402", "A4", "AC11", "2026-06-01", "2026-07-31", None, 30000.0, "Closed Won", "won"),
    ("O403", "A4", "AC12", "2026-07-01", "2026-09-29", None, 40000.0, "Closed Won", "won"),
    ("O404", "A4", "AC12", "2026-07-01", "2026-08-01", None, 8000.0, "Closed Lost", "lost"),
    ("O405", "A4", "AC11", "2026-07-01", "2026-08-01", None, 8000.0, "Closed Lost", "lost"),
    # C1 (CSM) in Q3: an expansion won with AC1 (not a new logo: O101 came first) and one lost.
    ("O501", "C1", "AC1", "2026-07-15", "2026-09-15", None, 12000.0, "Closed Won", "won"),
    ("O502", "C1", "AC2", "2026-08-01", "2026-09-20", None, 6000.0, "Closed Lost", "lost"),
    # Open on 30 Sep 2026.
    ("O110", "A1", "AC3", "2026-08-01", None, "2026-10-15", 50000.0, "Proposal", "open"),
    ("O111", "A1", "AC4", "2026-09-01", None, "2026-11-30", 25000.0, "Qualification", "open"),
    ("O210", "A2", "AC6", "2026-09-10", None, "2026-12-15", 10000.0, "Prospecting", "open"),
    ("O310", "A3", "AC10", "2026-09-05", None, "2026-10-30", 15000.0, "Proposal", "open"),
    ("O410", "A4", "AC12", "2026-05-01", None, "2026-09-15", 60000.0, "Proposal", "open"),
]
# one product and source for all: (id, owner, account, "P1", "Inbound", created, expected close, close, ...)
OPPORTUNITIES = rows.deals((*o[:3], "P1", "Inbound", o[3], o[5], o[4], *o[6:]) for o in _OPPS)


def _month_targets(rep: str, metric: str, per_month: float, months: range) -> list[dict]:
    return [
        {
            "owner_type": "rep", "owner_id": rep, "metric": metric, "value": per_month,
            "period_start": date(2026, m, 1),
            "period_end": (date(2026, m + 1, 1) if m < 12 else date(2027, 1, 1)) - timedelta(days=1),
        }
        for m in months
    ]


# Q3 bookings targets per month: A1 30,000, A2 30,000, A3 20,000 (full; ramped 25/50/75% in Jul/Aug/Sep),
# A4 40,000. A1 also has a new-logo target (1 a month) and an activity target (5 a month); Q2 targets
# exist for A1, A2, A4 so the previous period has attainment too.
TARGETS = pl.DataFrame(
    _month_targets("A1", "bookings", 30000.0, range(4, 10))
    + _month_targets("A2", "bookings", 30000.0, range(4, 10))
    + _month_targets("A3", "bookings", 20000.0, range(7, 10))
    + _month_targets("A4", "bookings", 40000.0, range(4, 10))
    + _month_targets("A1", "new_logos", 1.0, range(7, 10))
    + _month_targets("A1", "activities", 5.0, range(7, 10))
)

# Stage moves in Q3 (plus creations with no from_stage, and one June move, which do not count):
# A1 5 exits / 4 forward; A2 6 / 3; A3 2 / 2 (too few); A4 5 / 3.
_MOVES = [
    ("O103", None, "Prospecting", "2026-07-01"),
    ("O101", "Qualification", "Proposal", "2026-06-15"),
    ("O103", "Prospecting", "Qualification", "2026-07-05"),
    ("O103", "Qualification", "Proposal", "2026-07-20"),
    ("O103", "Proposal", "Closed Won", "2026-08-10"),
    ("O105", "Qualification", "Closed Lost", "2026-08-01"),
    ("O110", "Prospecting", "Qualification", "2026-08-05"),
    ("O202", "Prospecting", "Proposal", "2026-07-10"),
    ("O202", "Proposal", "Closed Won", "2026-07-31"),
    ("O204", "Prospecting", "Closed Lost", "2026-08-15"),
    ("O205", "Qualification", "Closed Lost", "2026-08-15"),
    ("O206", "Proposal", "Qualification", "2026-08-01"),
    ("O203", "Proposal", "Closed Won", "2026-08-10"),
    ("O301", "Proposal", "Closed Won", "2026-08-01"),
    ("O302", "Proposal", "Closed Won", "2026-09-01"),
    ("O403", "Prospecting", "Qualification", "2026-07-10"),
    ("O403", "Qualification", "Proposal", "2026-08-10"),
    ("O403", "Proposal", "Closed Won", "2026-09-29"),
    ("O404", "Proposal", "Closed Lost", "2026-08-01"),
    ("O405", "Qualification", "Closed Lost", "2026-08-01"),
]
STAGE_CHANGES = pl.DataFrame(
    {
        "opportunity_id": [m[0] for m in _MOVES], "from_stage": [m[1] for m in _MOVES],
        "to_stage": [m[2] for m in _MOVES],
        "changed_at": [datetime.fromisoformat(m[3] + "T12:00:00") for m in _MOVES],
    },
    schema_overrides={"from_stage": pl.String},
)


def _acts(rep: str, day: str, opps: list[str | None], **counts: int) -> list[tuple]:
    """Activities of one rep on one day: counts per type, cycling over the deals they were about."""
    rows = []
    for typ, n in counts.items():
        for _ in range(n):
            rows.append((rep, opps[len(rows) % len(opps)], typ, day))
    return rows


# Q3 activities: A1 12 (4 calls, 4 emails, 2 meetings, 2 demos) on 3 deals; A2 8 (6 calls, 2 emails),
# 6 on 3 deals and 2 on none; A3 3 (2 calls, 1 meeting) on 1 deal; A4 10 (2 calls, 2 emails,
# 3 meetings, 2 demos, 1 visit) on 5 deals; S1 20 (12 calls, 8 emails); S2 10 (5 calls, 5 emails);
# C1 6 (3 meetings, 3 visits). One A1 call in June does not count.
_ACTS = (
    _acts("A1", "2026-07-15", ["O103", "O104", "O110"], call=4, email=4, meeting=2, demo=2)
    + _acts("A2", "2026-07-15", ["O201", "O202", "O203"], call=6)
    + _acts("A2", "2026-07-16", [None], email=2)
    + _acts("A3", "2026-08-15", ["O301"], call=2, meeting=1)
    + _acts("A4", "2026-08-15", ["O401", "O402", "O403", "O404", "O405"], call=2, email=2, meeting=3, demo=2,
            visit=1)
    + _acts("S1", "2026-07-20", [None], call=12, email=8)
    + _acts("S2", "2026-07-20", [None], call=5, email=5)
    + _acts("C1", "2026-09-01", [None], meeting=3, visit=3)
    + _acts("A1", "2026-06-20", ["O101"], call=1)
)
ACTIVITIES = pl.DataFrame(
    {
        "activity_id": [f"X{i:03d}" for i in range(len(_ACTS))],
        "rep_id": [a[0] for a in _ACTS], "opportunity_id": [a[1] for a in _ACTS],
        "account_id": [None] * len(_ACTS), "type": [a[2] for a in _ACTS],
        "occurred_at": [datetime.fromisoformat(a[3] + "T10:00:00") for a in _ACTS],
    },
    schema_overrides={"opportunity_id": pl.String, "account_id": pl.String},
)

# Q3 leads: S1 10, four converted (to O103, O104, O202, O403); S2 6, one converted (to O301).
_LEADS = (
    [("L1", "S1", "converted", "O103"), ("L2", "S1", "converted", "O104"), ("L3", "S1", "converted", "O202"),
     ("L4", "S1", "converted", "O403")]
    + [(f"L{i}", "S1", "qualified", None) for i in range(5, 8)]
    + [(f"L{i}", "S1", "disqualified", None) for i in range(8, 11)]
    + [("L11", "S2", "converted", "O301")]
    + [(f"L{i}", "S2", "working", None) for i in range(12, 17)]
)
LEADS = pl.DataFrame(
    {
        "lead_id": [x[0] for x in _LEADS], "source": ["Outbound"] * len(_LEADS),
        "created_date": [date(2026, 7, 1)] * len(_LEADS), "status": [x[2] for x in _LEADS],
        "owner_id": [x[1] for x in _LEADS], "account_id": [None] * len(_LEADS),
        "qualified_date": [None] * len(_LEADS), "converted_opportunity_id": [x[3] for x in _LEADS],
    },
    schema_overrides={"account_id": pl.String, "qualified_date": pl.Date, "converted_opportunity_id": pl.String},
)


def tables() -> dict[str, pl.DataFrame]:
    """The snapshot tables of the dataset."""
    return {
        "stages": STAGES, "reps": REPS, "accounts": ACCOUNTS, "products": PRODUCTS,
        "opportunities": OPPORTUNITIES, "targets": TARGETS, "leads": LEADS,
    }


def build_store(data_dir: Path, as_of: date = AS_OF) -> store.Snapshot:
    """Write the dataset as a real snapshot (and event store) in data_dir."""
    store.write_events(data_dir, "activities", ACTIVITIES)
    store.write_events(data_dir, "stage_changes", STAGE_CHANGES)
    return store.publish_snapshot(data_dir, as_of, tables(), source="scorecard tests")
