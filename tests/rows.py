"""Literal-row builders the test data sets share: each fixture file writes its rows, one tuple a row, and these
turn them into frames with the canonical columns (schema: saleslens/core/schema.py).

Dates are written as ISO text (or None) and become dates here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import polars as pl

DEAL_COLUMNS = ("opportunity_id", "owner_id", "account_id", "product_id", "source", "created_date",
                "expected_close_date", "close_date", "amount", "stage", "status")
PERSON_COLUMNS = ("rep_id", "name", "role", "team", "manager_id", "region")
ACCOUNT_COLUMNS = ("account_id", "name", "segment", "industry", "region")

# The two products most data sets sell.
PRODUCTS = pl.DataFrame(
    {"product_id": ["P1", "P2"], "name": ["Core", "Pro"], "family": ["Suite", "Suite"], "list_price": [1000.0, 5000.0]}
)


def day(value: str | date | None) -> date | None:
    """A date from ISO text; a date or None as it is."""
    return date.fromisoformat(value) if isinstance(value, str) and value else value or None


def frame(columns: Sequence[str], rows: Iterable[Sequence], dates: Iterable[str] = (),
          types: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Rows (tuples in `columns` order) as a frame; the `dates` columns parsed from ISO text."""
    rows = list(rows)
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    for c in dates:
        data[c] = [day(v) for v in data[c]]
    return pl.DataFrame(data, schema_overrides=types)


def deals(rows: Iterable[Sequence]) -> pl.DataFrame:
    """Opportunities from tuples in DEAL_COLUMNS order."""
    return frame(DEAL_COLUMNS, rows, ("created_date", "expected_close_date", "close_date"),
                 {"expected_close_date": pl.Date, "close_date": pl.Date})


def people(rows: Iterable[Sequence], hire_date: str | date | None = None) -> pl.DataFrame:
    """The reps table from (rep_id, name, role, team, manager_id, region[, hire date[, leave date]]) tuples.

    Without a hire date in the row, `hire_date`; active while there is no leave date.
    """
    rows = [(*r[:6], r[6] if len(r) > 6 else hire_date, r[7] if len(r) > 7 else None) for r in rows]
    out = frame((*PERSON_COLUMNS, "hire_date", "leave_date"), rows, ("hire_date", "leave_date"),
                {"leave_date": pl.Date, "manager_id": pl.String})
    return out.with_columns(pl.col("leave_date").is_null().alias("active"))


def accounts(rows: Iterable[Sequence]) -> pl.DataFrame:
    """The accounts table from (account_id, name, segment, industry, region) tuples."""
    return frame(ACCOUNT_COLUMNS, rows)


def stages(names: Sequence[str], probabilities: Sequence[float]) -> pl.DataFrame:
    """A stage list in order: the open stages, then the won stage, then the lost stage (the last two names)."""
    n = len(names)
    return pl.DataFrame({
        "stage": list(names), "position": list(range(1, n + 1)),
        "is_won": [i == n - 2 for i in range(n)], "is_lost": [i == n - 1 for i in range(n)],
        "probability": list(probabilities),
    })
