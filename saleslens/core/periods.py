"""Calendar arithmetic every feature shares: quarters and months, written once."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl


def quarter_start(day: date) -> date:
    """First day of the quarter a day is in."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before) the month of a day."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_bounds(day: date) -> tuple[date, date]:
    """First and last day of the quarter a day is in."""
    start = quarter_start(day)
    return start, add_months(start, 3) - timedelta(days=1)


def month_start(day: date) -> date:
    """The first day of the month a day is in."""
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of the month a day is in."""
    return add_months(day, 1) - timedelta(days=1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from the month of `start` to the month of `end`, inclusive."""
    out, m = [], month_start(start)
    while m <= end:
        out.append(m)
        m = add_months(m, 1)
    return out


# ---------------------------------------------------------------- new-hire ramp
# One rule for targets (capacity split) and scorecards (ramp-adjusted targets), in whole calendar months:
# the month a rep is hired in is their first month, whatever the day. Targets are set per calendar month
# and employment is counted in whole months elsewhere (months_employed), so a day-level rule would only
# move a rep between two monthly targets; and a tenure-anniversary rule gave a rep hired on the 2nd one
# ramp month more than one hired on the 1st.

RAMP_MONTHS = 3  # months a new hire needs to reach a full target or full capacity


def linear_ramp(months: int) -> tuple[float, ...]:
    """The even ramp over `months` months: 1/(months+1), 2/(months+1), ... (25%, 50%, 75% for 3)."""
    return tuple(k / (months + 1) for k in range(1, months + 1))


def employment_month(hire: date, month: date) -> int:
    """Which calendar month of employment a month is: the hire month is 1; 0 or less before it."""
    return (month.year - hire.year) * 12 + month.month - hire.month + 1


def ramp_factor(hire: date | None, month: date, ramp: tuple[float, ...]) -> float:
    """Share of a full month's target a rep carries: ramp[n-1] in employment month n, 1 after the ramp."""
    if hire is None or not ramp:
        return 1.0
    n = max(employment_month(hire, month), 1)  # a period that starts before the hire counts as the hire month
    return float(ramp[n - 1]) if n <= len(ramp) else 1.0


def ramp_factor_expr(hire: pl.Expr, month: pl.Expr, ramp: tuple[float, ...]) -> pl.Expr:
    """ramp_factor as a Polars expression over columns (the same rule, for many rows at once)."""
    if not ramp:
        return pl.lit(1.0, dtype=pl.Float64)
    n = ((month.dt.year() - hire.dt.year()) * 12 + month.dt.month().cast(pl.Int32)
         - hire.dt.month().cast(pl.Int32) + 1).clip(lower_bound=1)
    factor = n.replace_strict({i + 1: float(r) for i, r in enumerate(ramp)}, default=1.0, return_dtype=pl.Float64)
    return pl.when(hire.is_null()).then(pl.lit(1.0, dtype=pl.Float64)).otherwise(factor)
