"""The one new-hire ramp (targets' capacity split and scorecards' ramp-adjusted targets), in calendar months."""

from __future__ import annotations

from datetime import date

import pytest

from saleslens.core import periods

D = date
RAMP = (0.25, 0.5, 0.75)


def test_linear_ramp() -> None:
    """k / (n + 1) for k = 1..n: a 3-month ramp is 25%, 50%, 75%; no ramp months, no ramp."""
    assert periods.linear_ramp(3) == RAMP
    assert periods.linear_ramp(1) == (0.5,)
    assert periods.linear_ramp(0) == ()


@pytest.mark.parametrize(("hire", "month", "factor"), [
    (D(2026, 7, 1), D(2026, 7, 1), 0.25),  # the hire month is month 1
    (D(2026, 7, 1), D(2026, 8, 1), 0.5),
    (D(2026, 7, 1), D(2026, 9, 1), 0.75),
    (D(2026, 7, 1), D(2026, 10, 1), 1.0),  # ramp over
    # Mid-month hires: the hire month counts whole, whatever the day, so the 15th ramps like the 1st.
    (D(2026, 5, 15), D(2026, 5, 1), 0.25),
    (D(2026, 5, 15), D(2026, 6, 1), 0.5),
    (D(2026, 5, 15), D(2026, 7, 1), 0.75),
    (D(2026, 5, 15), D(2026, 8, 1), 1.0),
    (D(2026, 5, 31), D(2026, 6, 1), 0.5),  # one day in May still makes June the second month
    (D(2025, 12, 10), D(2026, 2, 1), 0.75),  # across a year: Dec 1, Jan 2, Feb 3
    (D(2026, 9, 1), D(2026, 7, 1), 0.25),  # a period that starts before the hire: the first month
    (None, D(2026, 7, 1), 1.0),  # no hire date: full target
])
def test_ramp_factor(hire: date | None, month: date, factor: float) -> None:
    """ramp[n - 1] in calendar month n of employment, 1 after the ramp."""
    assert periods.ramp_factor(hire, month, RAMP) == factor


def test_ramp_factor_without_ramp() -> None:
    """An empty ramp means no adjustment, even in the hire month."""
    assert periods.ramp_factor(D(2026, 7, 1), D(2026, 7, 1), ()) == 1.0


def test_longer_ramp() -> None:
    """A 4-step ramp: month 4 still ramps (0.8), month 5 is full."""
    ramp = (0.2, 0.4, 0.6, 0.8)
    assert periods.ramp_factor(D(2026, 3, 20), D(2026, 6, 1), ramp) == 0.8
    assert periods.ramp_factor(D(2026, 3, 20), D(2026, 7, 1), ramp) == 1.0
