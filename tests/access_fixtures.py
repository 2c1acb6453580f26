"""Literal rows for the access tests: a deeper org than tests/fixtures.py, and an independent scope oracle.

The org (every person is a row of `reps`):

    D1 Dana Director (Director)
    ├── M1 Mia Manager (East 1)
    │   ├── R1 Ann Able, R2 Bob Best (AE, East 1)
    │   └── M3 Sam Subman (Manager, East 2)           <- a three-level chain D1 -> M1 -> M3 -> R4
    │       ├── R4 Dee Deep (AE, East 2)
    │       └── S1 Sid Seller (SDR, East 2)
    └── M2 Max Mgr (West 1)
        └── R3 Cy Cole (AE, West 1)
    R5 Olly Orphan (AE, West 1), whose manager GONE is not in the table: nobody above him sees him
    X1 Xia Loop and X2 Xan Loop manage each other (a cycle), and nobody else

The helpers here compute who sees what *without* saleslens.core.access, so tests check the code against them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import polars as pl

from saleslens.core import store
from tests import fixtures, rows

AS_OF = date(2026, 6, 30)
EARLIER = date(2026, 6, 23)  # a second snapshot, so pipeline changes and slips have something to compare

STAGES = rows.stages(["Prospecting", "Proposal", "Closed Won", "Closed Lost"], [0.1, 0.5, 1.0, 0.0])

# rep_id, name, role, team, manager_id, region
_REPS = [
    ("D1", "Dana Director", "Director", "Leadership", None, "HQ"),
    ("M1", "Mia Manager", "Manager", "East 1", "D1", "East"),
    ("R1", "Ann Able", "AE", "East 1", "M1", "East"),
    ("R2", "Bob Best", "AE", "East 1", "M1", "East"),
    ("M3", "Sam Subman", "Manager", "East 2", "M1", "East"),
    ("R4", "Dee Deep", "AE", "East 2", "M3", "East"),
    ("S1", "Sid Seller", "SDR", "East 2", "M3", "East"),
    ("M2", "Max Mgr", "Manager", "West 1", "D1", "West"),
    ("R3", "Cy Cole", "AE", "West 1", "M2", "West"),
    ("R5", "Olly Orphan", "AE", "West 1", "GONE", "West"),
    ("X1", "Xia Loop", "Manager", "Loop", "X2", "North"),
    ("X2", "Xan Loop", "Manager", "Loop", "X1", "North"),
]
REPS = rows.people(_REPS, hire_date="2020-01-01")
REP_IDS = [r[0] for r in _REPS]
NAMES = {r[0]: r[1] for r in _REPS}
TEAMS = sorted({r[3] for r in _REPS})
REGIONS = sorted({r[5] for r in _REPS})

ACCOUNTS = rows.accounts([
    ("A1", "Acme", "SMB", "Tech", "East"), ("A2", "Globex", "Enterprise", "Health", "West"),
    ("A3", "Initech", "Mid-Market", "Finance", "East"),
])
PRODUCTS = rows.PRODUCTS
PRODUCT_IDS = ["P1", "P2"]
SEGMENTS = ["SMB", "Enterprise", "Mid-Market"]
SOURCES = ["Inbound", "Outbound", "Partner", "Event"]


# tests/fixtures.py's seven deals, and five more for the deeper org
# id, owner, account, product, source, created, expected close, close, amount, stage, status
_OPPS = [
    *fixtures.DEAL_ROWS,
    ("O8", "R4", "A3", "P2", "Event", "2026-01-20", None, "2026-03-10", 3000.0, "Closed Won", "won"),
    ("O9", "R5", "A3", "P1", "Outbound", "2026-02-15", "2026-07-31", None, 2500.0, "Proposal", "open"),
    ("O10", "M3", "A3", "P1", "Inbound", "2026-03-05", None, "2026-05-20", 1500.0, "Closed Won", "won"),
    ("O11", "X1", "A2", "P2", "Partner", "2026-04-10", "2026-06-15", None, 700.0, "Prospecting", "open"),
    ("O12", "R4", "A1", "P1", "Inbound", "2026-06-01", "2026-08-15", None, 1200.0, "Proposal", "open"),
]


OPPORTUNITIES = rows.deals(_OPPS)
# A week earlier: O9 was smaller and due sooner, O12 did not exist yet, and O6 was R3's (reassigned to R2 since)
# and expected a month earlier.
_EARLIER_OPPS = [
    ("O9", "R5", "A3", "P1", "Outbound", "2026-02-15", "2026-06-30", None, 2000.0, "Prospecting", "open")
    if o[0] == "O9" else
    ("O6", "R3", "A1", "P1", "Inbound", "2026-05-01", "2026-05-31", None, 1000.0, "Prospecting", "open")
    if o[0] == "O6" else o
    for o in _OPPS if o[0] != "O12"
]
EARLIER_OPPORTUNITIES = rows.deals(_EARLIER_OPPS)


def _monthly(kind: str, owner: str, value: float) -> list[dict]:
    """Monthly bookings targets for Jan-Jun 2026."""
    ends = [31, 28, 31, 30, 31, 30]
    return [
        {"owner_type": kind, "owner_id": owner, "metric": "bookings", "value": value,
         "period_start": date(2026, m, 1), "period_end": date(2026, m, ends[m - 1])}
        for m in range(1, 7)
    ]


TARGETS = pl.DataFrame(
    _monthly("rep", "R1", 1000.0) + _monthly("rep", "R2", 2000.0) + _monthly("rep", "R3", 1500.0)
    + _monthly("rep", "R4", 1200.0) + _monthly("rep", "R5", 900.0) + _monthly("rep", "M3", 500.0)
    + _monthly("team", "East 1", 3500.0) + _monthly("team", "West 1", 2600.0) + _monthly("team", "Loop", 100.0)
)

ACTIVITIES = pl.DataFrame(
    {
        "activity_id": [f"ACT{n}" for n in range(1, 10)],
        "rep_id": ["R1", "R1", "R2", "R3", "R4", "S1", "R5", "M3", "X2"],
        "opportunity_id": ["O1", "O2", "O3", "O4", "O8", None, "O9", "O10", "O11"],
        "account_id": ["A1", "A1", "A2", "A2", "A3", "A3", "A3", "A3", "A2"],
        "type": ["call", "meeting", "demo", "email", "call", "call", "visit", "meeting", "email"],
        "occurred_at": [
            datetime(2026, 1, 12, 10), datetime(2026, 2, 3, 11), datetime(2026, 3, 1, 9),
            datetime(2026, 4, 2, 15), datetime(2026, 2, 2, 10), datetime(2026, 1, 5, 9),
            datetime(2026, 3, 3, 14), datetime(2026, 4, 4, 16), datetime(2026, 5, 5, 12),
        ],
    }
)


def _sc(opp: str, before: str | None, after: str, when: str) -> dict:
    return {"opportunity_id": opp, "from_stage": before, "to_stage": after,
            "changed_at": datetime.fromisoformat(when)}


STAGE_CHANGES = pl.DataFrame(
    [
        _sc("O1", None, "Prospecting", "2026-01-10 09:00"), _sc("O1", "Prospecting", "Proposal", "2026-01-20 09:00"),
        _sc("O1", "Proposal", "Closed Won", "2026-02-10 09:00"),
        _sc("O2", None, "Prospecting", "2026-01-15 09:00"), _sc("O2", "Prospecting", "Closed Lost", "2026-03-20 09:00"),
        _sc("O3", None, "Prospecting", "2026-02-01 09:00"), _sc("O3", "Prospecting", "Proposal", "2026-03-01 09:00"),
        _sc("O3", "Proposal", "Closed Won", "2026-04-15 09:00"),
        _sc("O4", None, "Prospecting", "2026-03-01 09:00"), _sc("O4", "Prospecting", "Closed Won", "2026-05-01 09:00"),
        _sc("O5", None, "Prospecting", "2026-04-01 09:00"), _sc("O5", "Prospecting", "Proposal", "2026-05-01 09:00"),
        _sc("O8", None, "Prospecting", "2026-01-20 09:00"), _sc("O8", "Prospecting", "Proposal", "2026-02-01 09:00"),
        _sc("O8", "Proposal", "Closed Won", "2026-03-10 09:00"),
        _sc("O9", None, "Prospecting", "2026-02-15 09:00"), _sc("O9", "Prospecting", "Proposal", "2026-06-25 09:00"),
        _sc("O10", None, "Prospecting", "2026-03-05 09:00"),
        _sc("O10", "Prospecting", "Closed Won", "2026-05-20 09:00"),
        _sc("O11", None, "Prospecting", "2026-04-10 09:00"),
    ]
)

PAYMENTS = pl.DataFrame(
    {
        "payment_id": ["PAY1", "PAY2", "PAY3", "PAY4"],
        "opportunity_id": ["O1", "O3", "O8", "O4"],
        "invoiced_date": [date(2026, 2, 15), date(2026, 4, 20), date(2026, 3, 15), date(2026, 5, 5)],
        "paid_date": [date(2026, 3, 1), None, date(2026, 4, 1), date(2026, 6, 1)],
        "amount": [1000.0, 6000.0, 3000.0, 2000.0],
    }
)

# L5 was worked by the SDR S1 and became R1's deal O1; L4 has no owner and became R5's O9.
LEADS = pl.DataFrame(
    {
        "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
        "source": ["Event", "Inbound", "Inbound", "Outbound", "Inbound", "Partner"],
        "created_date": [date(2026, 1, 2), date(2026, 2, 2), date(2026, 1, 3), date(2026, 2, 1),
                         date(2026, 1, 4), date(2026, 3, 3)],
        "status": ["converted", "working", "converted", "converted", "converted", "qualified"],
        "owner_id": ["S1", "S1", "R1", None, "S1", "R3"],
        "account_id": ["A3", "A3", "A1", "A3", "A1", "A2"],
        "qualified_date": [date(2026, 1, 10), None, date(2026, 1, 5), date(2026, 2, 10), date(2026, 1, 6),
                           date(2026, 3, 10)],
        "converted_opportunity_id": ["O8", None, "O1", "O9", "O1", None],
    }
)


def tables(earlier: bool = False) -> dict[str, pl.DataFrame]:
    """The snapshot tables (the earlier snapshot differs only in opportunities)."""
    return {
        "stages": STAGES, "reps": REPS, "accounts": ACCOUNTS, "products": PRODUCTS,
        "opportunities": EARLIER_OPPORTUNITIES if earlier else OPPORTUNITIES,
        "targets": TARGETS, "payments": PAYMENTS, "leads": LEADS,
    }


def events() -> dict[str, pl.DataFrame]:
    """The event tables."""
    return {"activities": ACTIVITIES, "stage_changes": STAGE_CHANGES}


def publish(data_dir: Path, snapshot_tables: list[tuple[date, dict[str, pl.DataFrame]]],
            event_tables: dict[str, pl.DataFrame]) -> store.Snapshot:
    """Write events and snapshots (oldest first); the latest snapshot is returned."""
    for name, frame in event_tables.items():
        if frame.height:
            store.write_events(data_dir, name, frame)
    snap = None
    for as_of, tabs in snapshot_tables:
        snap = store.publish_snapshot(data_dir, as_of, tabs, source="access-tests")
    assert snap is not None
    return snap


def build_store(data_dir: Path) -> store.Snapshot:
    """The access dataset as two snapshots (EARLIER, AS_OF) plus the event store."""
    return publish(data_dir, [(EARLIER, tables(earlier=True)), (AS_OF, tables())], events())


# ---------------------------------------------------------------------------------------------------------------
# The oracle: who may see which reps, and the dataset such a viewer sees, computed here without saleslens.core.access.

def reports_of(reps: pl.DataFrame) -> dict[str, set[str]]:
    """Direct reports per person."""
    out: dict[str, set[str]] = {}
    for row in reps.iter_rows(named=True):
        if row["manager_id"] is not None:
            out.setdefault(row["manager_id"], set()).add(row["rep_id"])
    return out


def subtree(reps: pl.DataFrame, top: str) -> set[str]:
    """The person and everyone under them, by growing the set until it stops changing."""
    reports = reports_of(reps)
    seen = {top}
    while True:
        grown = seen | {r for person in seen for r in reports.get(person, set())}
        if grown == seen:
            return seen
        seen = grown


def expected_visible(role: str | None, rep_id: str | None, reps: pl.DataFrame) -> set[str] | None:
    """The reps a user may see (None = every rep), as the issue states it: default deny for anything unknown."""
    if role in ("leader", "analyst", "admin"):
        return None
    if role not in ("rep", "manager") or rep_id not in set(reps["rep_id"].to_list()):
        return set()
    return {rep_id} if role == "rep" else subtree(reps, rep_id)


def restrict(tabs: dict[str, pl.DataFrame], visible: set[str] | None,
             opp_ids: set[str] | None = None) -> dict[str, pl.DataFrame]:
    """The tables as a viewer seeing `visible` reps should see them (None = unchanged).

    Deals, activities, leads they or their deals own, stage changes and payments of their deals, their reps,
    and targets of their reps and their teams; stages, accounts and products are shared reference data.
    `opp_ids` are the viewer's deals (for the event tables, which are stored outside the snapshot).
    """
    if visible is None:
        return dict(tabs)
    ids = sorted(visible)
    out = dict(tabs)
    if "reps" in tabs:
        out["reps"] = tabs["reps"].filter(pl.col("rep_id").is_in(ids))
    if "opportunities" in tabs:
        out["opportunities"] = tabs["opportunities"].filter(pl.col("owner_id").is_in(ids))
        opp_ids = set(out["opportunities"]["opportunity_id"].to_list())
    opps = sorted(opp_ids or set())
    teams = sorted(set(tabs["reps"].filter(pl.col("rep_id").is_in(ids))["team"].drop_nulls().to_list())) \
        if "reps" in tabs else []
    rules = {
        "activities": pl.col("rep_id").is_in(ids),
        "leads": pl.col("owner_id").is_in(ids) | pl.col("converted_opportunity_id").is_in(opps),
        "stage_changes": pl.col("opportunity_id").is_in(opps),
        "payments": pl.col("opportunity_id").is_in(opps),
        "targets": ((pl.col("owner_type") == "rep") & pl.col("owner_id").is_in(ids))
        | ((pl.col("owner_type") == "team") & pl.col("owner_id").is_in(teams)),
    }
    for name, rule in rules.items():
        if name in tabs:
            out[name] = tabs[name].filter(rule.fill_null(False))
    return out


def build_restricted_store(data_dir: Path, visible: set[str] | None) -> store.Snapshot:
    """The access dataset as a viewer seeing `visible` reps should see it, published as a store of its own."""
    latest = restrict(tables(), visible)
    earlier = restrict(tables(earlier=True), visible)
    opp_ids = set(latest["opportunities"]["opportunity_id"].to_list())
    return publish(data_dir, [(EARLIER, earlier), (AS_OF, latest)],
                   restrict(events(), visible, opp_ids) if visible is not None else events())


def users_toml(users: Iterable[dict[str, str]]) -> str:
    """A users file written by hand (not by access.write_users), so the loader is tested on its own."""
    lines = []
    for u in users:
        lines.append("[[user]]")
        lines += [f'{k} = "{v}"' for k, v in u.items()]
        lines.append("")
    return "\n".join(lines)
