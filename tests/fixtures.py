"""A tiny hand-written dataset, small enough to work every expected value out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from saleslens.core import store

AS_OF = date(2026, 6, 30)

STAGES = pl.DataFrame(
    {
        "stage": ["Prospecting", "Proposal", "Closed Won", "Closed Lost"],
        "position": [1, 2, 3, 4],
        "is_won": [False, False, True, False],
        "is_lost": [False, False, False, True],
        "probability": [0.1, 0.5, 1.0, 0.0],
    }
)

REPS = pl.DataFrame(
    {
        "rep_id": ["M1", "R1", "R2", "M2", "R3"],
        "name": ["Mia Manager", "Ann Able", "Bob Best", "Max Mgr", "Cy Cole"],
        "role": ["Manager", "AE", "AE", "Manager", "AE"],
        "team": ["East 1", "East 1", "East 1", "West 1", "West 1"],
        "manager_id": [None, "M1", "M1", None, "M2"],
        "region": ["East", "East", "East", "West", "West"],
        "hire_date": [date(2020, 1, 1)] * 4 + [date(2026, 1, 1)],
        "leave_date": [None] * 5,
        "active": [True] * 5,
    },
    schema_overrides={"leave_date": pl.Date},
)

ACCOUNTS = pl.DataFrame(
    {
        "account_id": ["A1", "A2"],
        "name": ["Acme", "Globex"],
        "segment": ["SMB", "Enterprise"],
        "industry": ["Tech", "Health"],
        "region": ["East", "West"],
    }
)

PRODUCTS = pl.DataFrame(
    {"product_id": ["P1", "P2"], "name": ["Core", "Pro"], "family": ["Suite", "Suite"], "list_price": [1000.0, 5000.0]}
)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# id, owner, account, product, source, created, expected close, close, amount, stage, status
_OPPS = [
    ("O1", "R1", "A1", "P1", "Inbound", "2026-01-10", None, "2026-02-10", 1000.0, "Closed Won", "won"),
    ("O2", "R1", "A1", "P2", "Outbound", "2026-01-15", None, "2026-03-20", 5000.0, "Closed Lost", "lost"),
    ("O3", "R2", "A2", "P2", "Inbound", "2026-02-01", None, "2026-04-15", 6000.0, "Closed Won", "won"),
    ("O4", "R3", "A2", "P1", "Partner", "2026-03-01", None, "2026-05-01", 2000.0, "Closed Won", "won"),
    ("O5", "R3", "A2", "P2", "Partner", "2026-04-01", "2026-07-15", None, 4000.0, "Proposal", "open"),
    ("O6", "R2", "A1", "P1", "Inbound", "2026-05-01", "2026-06-30", None, 1000.0, "Prospecting", "open"),
    ("O7", "R1", "A1", "P1", "Inbound", "2026-05-05", None, "2026-06-01", 800.0, "Closed Lost", "lost"),
]
OPPORTUNITIES = pl.DataFrame(
    {
        "opportunity_id": [o[0] for o in _OPPS],
        "owner_id": [o[1] for o in _OPPS],
        "account_id": [o[2] for o in _OPPS],
        "product_id": [o[3] for o in _OPPS],
        "source": [o[4] for o in _OPPS],
        "created_date": [_d(o[5]) for o in _OPPS],
        "expected_close_date": [_d(o[6]) for o in _OPPS],
        "close_date": [_d(o[7]) for o in _OPPS],
        "amount": [o[8] for o in _OPPS],
        "stage": [o[9] for o in _OPPS],
        "status": [o[10] for o in _OPPS],
    }
)


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
