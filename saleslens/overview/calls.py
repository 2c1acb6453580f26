"""What the Overview asks for: the named-query calls of its tiles, trend and group table (one list for the page,
the warm start and the benchmark)."""

from __future__ import annotations

from datetime import date

from saleslens.core.context import Call
from saleslens.core.filters import Filters, add_months
from saleslens.kpis.registry import GROUP_BY

DEFAULT_GROUP = next(g for g in GROUP_BY if g != "org")


def trend_window(f: Filters, as_of: date) -> tuple[date, date]:
    """The trend covers at least the last 12 months up to the period's end, so a quarter shows its context."""
    end = f.end or as_of
    return (min(f.start, add_months(end, -11)) if f.start else add_months(end, -23)), end


def header_calls(f: Filters, as_of: date) -> tuple[list[str], list[Call]]:
    """The tile periods' names, and the calls: organisation KPIs for each period, then the monthly trend."""
    periods = f.tile_periods(as_of)
    start, end = trend_window(f, as_of)
    trend = {"start": start, "end": end, **{k: v for k, v in f.params().items() if k not in ("start", "end")}}
    calls = [("kpis_by_group", {"by": "org", **p.params()}) for p in periods.values()]
    return list(periods), [*calls, ("bookings_by_month", trend)]


def group_call(f: Filters, by: str = DEFAULT_GROUP) -> Call:
    """The KPIs for each group of one dimension, for the chart and table under the trend."""
    return "kpis_by_group", {"by": by, **f.params()}
