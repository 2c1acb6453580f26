"""Calendar arithmetic every feature shares: quarters and months, written once."""

from __future__ import annotations

from datetime import date, timedelta


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
