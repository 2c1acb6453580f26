"""Shared filters: preset periods, the previous period, URL round trips and bad values."""

from __future__ import annotations

from datetime import date

import pytest

from saleslens.core.filters import PERIODS, FilterError, Filters, add_months, from_query, period_bounds, quarter_start

D = date

# (today, preset, start, end), worked out on a calendar.
BOUNDS = [
    # mid-quarter: 15 May 2026 is in Q2
    (D(2026, 5, 15), "this_quarter", D(2026, 4, 1), D(2026, 6, 30)),
    (D(2026, 5, 15), "last_quarter", D(2026, 1, 1), D(2026, 3, 31)),
    (D(2026, 5, 15), "this_year", D(2026, 1, 1), D(2026, 12, 31)),
    (D(2026, 5, 15), "last_year", D(2025, 1, 1), D(2025, 12, 31)),
    (D(2026, 5, 15), "last_12_months", D(2025, 6, 1), D(2026, 5, 15)),  # 11 whole months before May, then May
    (D(2026, 5, 15), "all_time", None, None),
    # first day of a year (and of a quarter): the last quarter is in the previous year
    (D(2026, 1, 1), "this_quarter", D(2026, 1, 1), D(2026, 3, 31)),
    (D(2026, 1, 1), "last_quarter", D(2025, 10, 1), D(2025, 12, 31)),
    (D(2026, 1, 1), "this_year", D(2026, 1, 1), D(2026, 12, 31)),
    (D(2026, 1, 1), "last_12_months", D(2025, 2, 1), D(2026, 1, 1)),
    # last day of a quarter
    (D(2026, 3, 31), "this_quarter", D(2026, 1, 1), D(2026, 3, 31)),
    (D(2026, 3, 31), "last_quarter", D(2025, 10, 1), D(2025, 12, 31)),
    (D(2026, 3, 31), "last_12_months", D(2025, 4, 1), D(2026, 3, 31)),
    (D(2026, 7, 1), "last_quarter", D(2026, 4, 1), D(2026, 6, 30)),
    # last day of a year
    (D(2026, 12, 31), "this_quarter", D(2026, 10, 1), D(2026, 12, 31)),
    (D(2026, 12, 31), "last_quarter", D(2026, 7, 1), D(2026, 9, 30)),
    (D(2026, 12, 31), "this_year", D(2026, 1, 1), D(2026, 12, 31)),
    (D(2026, 12, 31), "last_year", D(2025, 1, 1), D(2025, 12, 31)),
    (D(2026, 12, 31), "last_12_months", D(2026, 1, 1), D(2026, 12, 31)),
    # a leap day
    (D(2024, 2, 29), "this_quarter", D(2024, 1, 1), D(2024, 3, 31)),
    (D(2024, 2, 29), "last_quarter", D(2023, 10, 1), D(2023, 12, 31)),
    (D(2024, 2, 29), "last_12_months", D(2023, 3, 1), D(2024, 2, 29)),
]


@pytest.mark.parametrize(("today", "preset", "start", "end"), BOUNDS)
def test_period_bounds(today: date, preset: str, start: date | None, end: date | None) -> None:
    assert period_bounds(preset, today) == (start, end)


def test_every_preset_but_custom_has_bounds() -> None:
    for preset in PERIODS:
        if preset == "custom":
            continue
        start, end = period_bounds(preset, D(2026, 5, 15))
        assert (start is None) == (end is None)
        assert start is None or start <= end


@pytest.mark.parametrize(
    ("day", "quarter", "months", "moved"),
    [
        (D(2026, 2, 14), D(2026, 1, 1), -1, D(2026, 1, 1)),
        (D(2026, 12, 31), D(2026, 10, 1), 1, D(2027, 1, 1)),
        (D(2026, 1, 31), D(2026, 1, 1), -13, D(2024, 12, 1)),
        (D(2026, 6, 30), D(2026, 4, 1), 0, D(2026, 6, 1)),
    ],
)
def test_quarter_start_and_add_months(day: date, quarter: date, months: int, moved: date) -> None:
    assert quarter_start(day) == quarter
    assert add_months(day, months) == moved


PREVIOUS = [
    # month-aligned ranges step back by whole months
    (D(2026, 4, 1), D(2026, 6, 30), D(2026, 1, 1), D(2026, 3, 31)),
    (D(2026, 1, 1), D(2026, 12, 31), D(2025, 1, 1), D(2025, 12, 31)),
    (D(2026, 3, 1), D(2026, 3, 31), D(2026, 2, 1), D(2026, 2, 28)),  # 31 days back to a 28-day month
    (D(2026, 2, 1), D(2026, 2, 28), D(2026, 1, 1), D(2026, 1, 31)),
    (D(2024, 3, 1), D(2024, 3, 31), D(2024, 2, 1), D(2024, 2, 29)),
    (D(2025, 6, 1), D(2026, 5, 31), D(2024, 6, 1), D(2025, 5, 31)),
    # other ranges step back by the same number of days
    (D(2026, 5, 10), D(2026, 5, 19), D(2026, 4, 30), D(2026, 5, 9)),  # 10 days
    (D(2026, 3, 15), D(2026, 4, 14), D(2026, 2, 12), D(2026, 3, 14)),  # 31 days: Feb 12-28 is 17, Mar 1-14 is 14
    (D(2026, 5, 15), D(2026, 5, 15), D(2026, 5, 14), D(2026, 5, 14)),  # one day
    (D(2026, 5, 1), D(2026, 5, 1), D(2026, 4, 30), D(2026, 4, 30)),  # one day on the 1st is not a whole month
    # last 12 months on 15 May: 2025-06-01 .. 2026-05-15 is 334 + 15 = 349 days; the 349 days before end 05-31
    (D(2025, 6, 1), D(2026, 5, 15), D(2024, 6, 17), D(2025, 5, 31)),
]


@pytest.mark.parametrize(("start", "end", "prev_start", "prev_end"), PREVIOUS)
def test_previous(start: date, end: date, prev_start: date, prev_end: date) -> None:
    f = Filters(period="this_quarter", start=start, end=end, regions=("East",), sources=("Inbound",))
    prev = f.previous()
    assert (prev.start, prev.end) == (prev_start, prev_end)
    assert prev.period == "custom"
    assert (prev.regions, prev.sources) == (("East",), ("Inbound",))  # the other filters are kept
    assert (prev.end - prev.start) == (end - start) or start.day == 1


def test_previous_of_all_time_is_itself() -> None:
    f = Filters(period="all_time")
    assert f.previous() is f


def test_params() -> None:
    f = Filters(period="custom", start=D(2026, 1, 1), end=D(2026, 1, 31), regions=("East",), reps=("R1", "R2"))
    assert f.params() == {
        "start": D(2026, 1, 1), "end": D(2026, 1, 31), "regions": ["East"], "teams": [], "reps": ["R1", "R2"],
        "products": [], "segments": [], "sources": [],
    }
    assert f.org_params() == {"regions": ["East"], "teams": [], "reps": ["R1", "R2"]}


ROUND_TRIPS = [
    (
        Filters(period="custom", start=D(2026, 2, 1), end=D(2026, 3, 15), regions=("East", "West"), reps=("R1",)),
        {"period": "custom", "start": "2026-02-01", "end": "2026-03-15", "region": "East,West", "rep": "R1"},
    ),
    (
        Filters(period="last_quarter", start=D(2026, 1, 1), end=D(2026, 3, 31), sources=("Inbound",),
                products=("P1", "P2"), segments=("SMB",), teams=("East 1",)),
        {"period": "last_quarter", "source": "Inbound", "product": "P1,P2", "segment": "SMB", "team": "East 1"},
    ),
    (Filters(period="all_time"), {"period": "all_time"}),
    (Filters(period="custom"), {"period": "custom", "start": "", "end": ""}),
]


@pytest.mark.parametrize(("filters", "query"), ROUND_TRIPS)
def test_url_round_trip(filters: Filters, query: dict[str, str]) -> None:
    assert filters.to_query() == query
    assert from_query(query, D(2026, 5, 15)) == filters


def test_from_query_defaults_and_tidies_lists() -> None:
    today = D(2026, 5, 15)
    assert from_query({}, today) == Filters(period="this_quarter", start=D(2026, 4, 1), end=D(2026, 6, 30))
    assert from_query({"period": ""}, today).period == "this_quarter"
    f = from_query({"period": "this_year", "region": "East,,West,", "start": "2020-01-01"}, today)
    assert f.regions == ("East", "West")
    assert (f.start, f.end) == (D(2026, 1, 1), D(2026, 12, 31))  # a preset ignores start and end in the link


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "decade"}, "unknown period 'decade' (one of this_quarter, last_quarter, this_year, last_year, "
                               "last_12_months, all_time, custom)"),
        ({"period": "custom", "start": "2026-13-01"}, "'start' must be a date like 2026-07-01, not '2026-13-01'"),
        ({"period": "custom", "end": "tomorrow"}, "'end' must be a date like 2026-07-01, not 'tomorrow'"),
        ({"period": "custom", "start": "2026-05-01", "end": "2026-04-01"},
         "the period starts (2026-05-01) after it ends (2026-04-01)"),
        # Dates at the ends of the calendar: the previous period or the day after the end cannot be computed.
        ({"period": "custom", "end": "0001-01-01"},
         "'end' must be between 1900-01-01 and 2199-12-31, not '0001-01-01'"),
        ({"period": "custom", "start": "0001-01-01", "end": "0001-03-31"},
         "'start' must be between 1900-01-01 and 2199-12-31, not '0001-01-01'"),
        ({"period": "custom", "end": "9999-12-31"},
         "'end' must be between 1900-01-01 and 2199-12-31, not '9999-12-31'"),
    ],
)
def test_bad_values(query: dict[str, str], message: str) -> None:
    with pytest.raises(FilterError) as exc:
        from_query(query, D(2026, 5, 15))
    assert str(exc.value) == message


def test_period_bounds_rejects_unknown_preset() -> None:
    with pytest.raises(FilterError, match="unknown period 'fortnight'"):
        period_bounds("fortnight", D(2026, 5, 15))


COMPARED_CASES = [
    # A running quarter: 1 Oct -> 22 Nov is 52 days in; the previous quarter is cut 52 days after 1 Jul = 22 Aug.
    (("2026-10-01", "2026-12-31"), "2026-11-22", ("2026-10-01", "2026-11-22"), ("2026-07-01", "2026-08-22")),
    # A finished quarter is compared whole with the whole previous one.
    (("2026-07-01", "2026-09-30"), "2026-11-22", ("2026-07-01", "2026-09-30"), ("2026-04-01", "2026-06-30")),
    # The first day of a period: zero days elapsed on both sides.
    (("2026-10-01", "2026-12-31"), "2026-10-01", ("2026-10-01", "2026-10-01"), ("2026-07-01", "2026-07-01")),
]


@pytest.mark.parametrize(("period", "as_of", "current", "previous"), COMPARED_CASES)
def test_compared_cuts_a_running_period_to_the_same_elapsed_days(period, as_of, current, previous) -> None:
    """compared() gives like-for-like spans for the Overview's change figures."""
    f = Filters(period="custom", start=date.fromisoformat(period[0]), end=date.fromisoformat(period[1]))
    now, before = f.compared(date.fromisoformat(as_of))
    assert (now.start.isoformat(), now.end.isoformat()) == current
    assert (before.start.isoformat(), before.end.isoformat()) == previous


def test_compared_leaves_all_time_alone() -> None:
    """All time has no previous period and nothing to cut."""
    f = Filters(period="all_time")
    assert f.compared(date(2026, 11, 22)) == (f, f)


D = date


@pytest.mark.parametrize(
    ("start", "end", "as_of", "expected"),
    [
        # a running quarter: the days so far, the same days of the previous quarter, and all of it
        (D(2026, 4, 1), D(2026, 6, 30), D(2026, 5, 10),
         {"now": (D(2026, 4, 1), D(2026, 6, 30)), "so_far": (D(2026, 4, 1), D(2026, 5, 10)),
          "before": (D(2026, 1, 1), D(2026, 2, 9)), "full_before": (D(2026, 1, 1), D(2026, 3, 31))}),
        # a finished quarter: itself and the whole previous one
        (D(2026, 1, 1), D(2026, 3, 31), D(2026, 5, 10),
         {"now": (D(2026, 1, 1), D(2026, 3, 31)), "before": (D(2025, 10, 1), D(2025, 12, 31))}),
        # all time: nothing to compare with
        (None, None, D(2026, 5, 10), {"now": (None, None)}),
    ],
)
def test_tile_periods(start: date | None, end: date | None, as_of: date, expected: dict) -> None:
    f = Filters(period="custom", start=start, end=end, regions=("East",))
    periods = f.tile_periods(as_of)
    assert {name: (p.start, p.end) for name, p in periods.items()} == expected
    assert all(p.regions == ("East",) for p in periods.values())  # the other filters stay
