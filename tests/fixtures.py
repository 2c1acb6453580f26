"""A tiny hand-written dataset, small enough to work every expected value out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from saleslens.core import store
from tests import rows

AS_OF = date(2026, 6, 30)

STAGES = rows.stages(["Prospecting", "Proposal", "Closed Won", "Closed Lost"], [0.1, 0.5, 1.0, 0.0])

# R3 joined in 2026, the others in 2020.
REPS = rows.people([
    ("M1", "Mia Manager", "Manager", "East 1", None, "East", "2020-01-01"),
    ("R1", "Ann Able", "AE", "East 1", "M1", "East", "2020-01-01"),
    ("R2", "Bob Best", "AE", "East 1", "M1", "East", "2020-01-01"),
    ("M2", "Max Mgr", "Manager", "West 1", None, "West", "2020-01-01"),
    ("R3", "Cy Cole", "AE", "West 1", "M2", "West", "2026-01-01"),
])

ACCOUNTS = rows.accounts([("A1", "Acme", "SMB", "Tech", "East"), ("A2", "Globex", "Enterprise", "Health", "West")])

PRODUCTS = rows.PRODUCTS


# id, owner, account, product, source, created, expected close, close, amount, stage, status
DEAL_ROWS = [
    ("O1", "R1", "A1", "P1", "Inbound", "2026-01-10", None, "2026-02-10", 1000.0, "Closed Won", "won"),
    ("O2", "R1", "A1", "P2", "Outbound", "2026-01-15", None, "2026-03-20", 5000.0, "Closed Lost", "lost"),
    ("O3", "R2", "A2", "P2", "Inbound", "2026-02-01", None, "2026-04-15", 6000.0, "Closed Won", "won"),
    ("O4", "R3", "A2", "P1", "Partner", "2026-03-01", None, "2026-05-01", 2000.0, "Closed Won", "won"),
    ("O5", "R3", "A2", "P2", "Partner", "2026-04-01", "2026-07-15", None, 4000.0, "Proposal", "open"),
    ("O6", "R2", "A1", "P1", "Inbound", "2026-05-01", "2026-06-30", None, 1000.0, "Prospecting", "open"),
    ("O7", "R1", "A1", "P1", "Inbound", "2026-05-05", None, "2026-06-01", 800.0, "Closed Lost", "lost"),
]
OPPORTUNITIES = rows.deals(DEAL_ROWS)


def _monthly(rep: str, values: list[float]) -> list[dict]:
    return [
        {
            "owner_type": "rep", "owner_id": rep, "metric": "bookings", "value": v,
            "period_start": date(2026, m, 1),
            "period_end": (date(2026, m + 1, 1) if m < 12 else date(2027, 1, 1)) - timedelta(days=1),
        }
        for m, v in enumerate(values, start=1)
    ]


# R3 is a new hire whose target rises from 1500 to 2000 in April: the target line is not constant.
TARGETS = pl.DataFrame(
    _monthly("R1", [1000.0] * 6) + _monthly("R2", [2000.0] * 6) + _monthly("R3", [1500.0] * 3 + [2000.0] * 3)
)

ACTIVITIES = pl.DataFrame(
    {
        "activity_id": ["X1", "X2", "X3", "X4", "X5"],
        "rep_id": ["R1", "R1", "R2", "R3", "R3"],
        "opportunity_id": ["O1", "O2", "O3", "O4", None],
        "account_id": ["A1", "A1", "A2", "A2", "A2"],
        "type": ["call", "meeting", "demo", "email", "call"],
        "occurred_at": [
            datetime(2026, 1, 12, 10), datetime(2026, 2, 3, 11), datetime(2026, 3, 1, 9),
            datetime(2026, 4, 2, 15), datetime(2026, 7, 2, 9),  # the last is after AS_OF: never visible
        ],
    }
)


def build_store(data_dir: Path, opportunities: pl.DataFrame | None = None) -> store.Snapshot:
    """Write the tiny dataset as a real snapshot (and event store) in data_dir."""
    store.write_events(data_dir, "activities", ACTIVITIES)
    return store.publish_snapshot(
        data_dir,
        AS_OF,
        {
            "stages": STAGES, "reps": REPS, "accounts": ACCOUNTS, "products": PRODUCTS,
            "opportunities": OPPORTUNITIES if opportunities is None else opportunities,
            "targets": TARGETS,
        },
        source="tests",
    )
