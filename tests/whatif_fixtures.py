"""Literal inputs for the what-if and commission tests: a per-rep base frame and a commission plan.

Every expected value in the tests is worked out by hand from these rows (see the comments there).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from saleslens.whatif import commission
from saleslens.whatif.scenarios import Scenario

# Q1 2027: 1 Jan - 31 Mar = 31 + 28 + 31 = 90 days, 3 months.
START, END = date(2027, 1, 1), date(2027, 3, 31)
CLOSED_AS_OF = date(2027, 4, 15)  # after the period: the period is over, open pipeline never counts
OPEN_AS_OF = date(2027, 3, 1)  # inside the period: weighted open pipeline counts

# The AE plan used by the hand-worked examples: 8% base; under 50% attainment everything at 8% x 0.5 = 4%;
# 100-125% at 8% x 1.5 = 12%; 125-150% at 8% x 2 = 16%; above 150% at 8% x 2.5 = 20%; cap 3 x (8% x target).
PLANS_TOML = """
version = 1

[plans.AE]
description = "Test AE plan"
base_rate_pct = 8.0
decelerator_below_pct = 50
decelerator_multiplier = 0.5
cap_multiple = 3.0

tiers = [
    {from_pct = 100, to_pct = 125, multiplier = 1.5},
    {from_pct = 125, to_pct = 150, multiplier = 2.0},
    {from_pct = 150, multiplier = 2.5},
]
"""


def plans() -> commission.Plans:
    """The test plans (AE only: the CSM below has no target, so needs no plan)."""
    return commission.parse_text(PLANS_TOML, "test plans")


# rep, team, region, role, hire date, target, bookings, won, lost, cycle days, weighted open pipeline
_ROWS = [
    ("A1", "North 1", "North", "AE", date(2020, 1, 1), 100_000.0, 40_000.0, 4, 6, 45.0, 5_000.0),
    ("A2", "North 1", "North", "AE", date(2020, 1, 1), 100_000.0, 80_000.0, 8, 8, 60.0, 0.0),
    ("A3", "North 1", "North", "AE", date(2020, 1, 1), 100_000.0, 120_000.0, 10, 5, 30.0, 0.0),
    ("A4", "South 1", "South", "AE", date(2026, 11, 1), 50_000.0, 70_000.0, 7, 3, 90.0, 0.0),
    ("A5", "South 1", "South", "AE", date(2019, 6, 1), 50_000.0, 200_000.0, 10, 0, 40.0, 0.0),
    ("A6", "South 1", "South", "CSM", date(2020, 1, 1), None, 10_000.0, 1, 0, 20.0, 0.0),
    ("A7", "West 1", "West", "AE", date(2020, 1, 1), 80_000.0, 60_000.0, 6, 4, 50.0, 0.0),
]


def base(rows: list[tuple] | None = None) -> pl.DataFrame:
    """The per-rep base frame, shaped like queries/whatif_base_by_rep.sql."""
    rows = _ROWS if rows is None else rows
    return pl.DataFrame(
        {
            "rep_id": [r[0] for r in rows], "rep_name": [f"Rep {r[0]}" for r in rows],
            "role": [r[3] for r in rows], "team": [r[1] for r in rows], "region": [r[2] for r in rows],
            "manager_id": [None] * len(rows), "hire_date": [r[4] for r in rows], "active": [True] * len(rows),
            "target": [r[5] for r in rows], "bookings": [r[6] for r in rows], "deals_won": [r[7] for r in rows],
            "deals_lost": [r[8] for r in rows],
            "win_rate": [r[7] / (r[7] + r[8]) for r in rows],
            "avg_deal_size": [r[6] / r[7] for r in rows], "cycle_days": [r[9] for r in rows],
            "open_pipeline": [r[10] * 2 for r in rows], "weighted_pipeline": [r[10] for r in rows],
            "open_deals": [1 if r[10] else 0 for r in rows],
        },
        schema_overrides={"target": pl.Float64, "manager_id": pl.String},
    )


def rows_with(rep_id: str, **changes: object) -> list[tuple]:
    """The literal rows with one rep's fields changed (by name: role, target)."""
    index = {"role": 3, "target": 5}
    out = []
    for row in _ROWS:
        row = list(row)
        if row[0] == rep_id:
            for key, value in changes.items():
                row[index[key]] = value
        out.append(tuple(row))
    return out


def scenario(**inputs: object) -> Scenario:
    """A scenario over Q1 2027 with the given inputs."""
    return Scenario(start=START, end=END, **inputs)
