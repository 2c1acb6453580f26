"""The shared filters: period and org/deal filters, to and from URL query parameters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from saleslens.core.periods import add_months, quarter_start

PERIODS = ("this_quarter", "last_quarter", "this_year", "last_year", "last_12_months", "all_time", "custom")
LIST_FILTERS = ("regions", "teams", "reps", "products", "segments", "sources")
# Short URL names, so a shared link stays readable.
URL_NAMES = {
    "regions": "region", "teams": "team", "reps": "rep", "products": "product",
    "segments": "segment", "sources": "source",
}


class FilterError(ValueError):
    """A filter value that cannot be used, told in one line."""


def period_bounds(preset: str, today: date) -> tuple[date | None, date | None]:
    """Start and end of a preset period relative to a day (the snapshot date)."""
    q = quarter_start(today)
    bounds = {
        "this_quarter": (q, add_months(q, 3) - timedelta(days=1)),
        "last_quarter": (add_months(q, -3), q - timedelta(days=1)),
        "this_year": (date(today.year, 1, 1), date(today.year, 12, 31)),
        "last_year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        "last_12_months": (add_months(today, -11), today),
        "all_time": (None, None),
    }
    if preset not in bounds:
        raise FilterError(f"unknown period '{preset}' (one of {', '.join(PERIODS)})")
    return bounds[preset]


@dataclass(frozen=True)
class Filters:
    """What the viewer filtered on: a period and lists of values (empty list = all)."""

    period: str = "this_quarter"
    start: date | None = None
    end: date | None = None
    regions: tuple[str, ...] = field(default=())
    teams: tuple[str, ...] = field(default=())
    reps: tuple[str, ...] = field(default=())
    products: tuple[str, ...] = field(default=())
    segments: tuple[str, ...] = field(default=())
    sources: tuple[str, ...] = field(default=())

    def params(self) -> dict[str, object]:
        """The bound parameters shared by the page queries."""
        out: dict[str, object] = {"start": self.start, "end": self.end}
        out.update({name: list(getattr(self, name)) for name in LIST_FILTERS})
        return out

    def org_params(self) -> dict[str, object]:
        """Only the org filters (region, team, rep), for queries that do not take deal filters."""
        return {name: list(getattr(self, name)) for name in ("regions", "teams", "reps")}

    def previous(self) -> Filters:
        """The same filters over the period of equal length just before this one."""
        if self.start is None or self.end is None:
            return self
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            start = add_months(self.start, -months)
            return replace(self, period="custom", start=start, end=self.start - timedelta(days=1))
        length = self.end - self.start
        end = self.start - timedelta(days=1)
        return replace(self, period="custom", start=end - length, end=end)

    def compared(self, as_of: date) -> tuple[Filters, Filters]:
        """This period and the previous one, cut to the same number of elapsed days when this one is running.

        A quarter half-way through is compared with the first half of the previous quarter, not all of it,
        so a change in bookings is not just the days that have not happened yet.
        """
        prev = self.previous()
        if self.start is None or self.end is None or not (self.start <= as_of < self.end):
            return self, prev
        elapsed = as_of - self.start
        return replace(self, end=as_of), replace(prev, end=min(prev.start + elapsed, prev.end))

    def tile_periods(self, as_of: date) -> dict[str, Filters]:
        """The periods behind the Overview's tiles: this one, its days so far when it is running, the same
        elapsed days of the previous one, and the whole previous one (for its attainment against its target)."""
        current, prev = self.compared(as_of)
        periods = {"now": self}
        if current.end != self.end:
            periods["so_far"] = current
        if self.start:
            periods["before"] = prev
            if prev.end != self.previous().end:
                periods["full_before"] = self.previous()
        return periods

    def to_query(self) -> dict[str, str]:
        """URL query parameters for a shareable link (only what differs from the default)."""
        out = {"period": self.period}
        if self.period == "custom":
            out["start"] = self.start.isoformat() if self.start else ""
            out["end"] = self.end.isoformat() if self.end else ""
        for name in LIST_FILTERS:
            values = getattr(self, name)
            if values:
                out[URL_NAMES[name]] = ",".join(values)
        return out


# Dates a link may name: wide enough for any CRM history, narrow enough that the previous period and the day after
# the end stay representable (date.min and date.max overflow as soon as a page compares periods).
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def _date(value: str, name: str) -> date | None:
    """A date from the link, or a FilterError that names the parameter and what is wrong."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"'{name}' must be a date like 2026-07-01, not '{value}'") from None
    if not EARLIEST <= day <= LATEST:
        raise FilterError(f"'{name}' must be between {EARLIEST} and {LATEST}, not '{value}'")
    return day


def from_query(query: dict[str, str], today: date) -> Filters:
    """Filters from URL query parameters; a bad value raises FilterError naming the parameter."""
    period = query.get("period", "this_quarter") or "this_quarter"
    if period not in PERIODS:
        raise FilterError(f"unknown period '{period}' (one of {', '.join(PERIODS)})")
    if period == "custom":
        start, end = _date(query.get("start", ""), "start"), _date(query.get("end", ""), "end")
        if start and end and start > end:
            raise FilterError(f"the period starts ({start}) after it ends ({end})")
    else:
        start, end = period_bounds(period, today)
    lists = {
        name: tuple(v for v in query.get(URL_NAMES[name], "").split(",") if v.strip())
        for name in LIST_FILTERS
    }
    return Filters(period=period, start=start, end=end, **lists)
