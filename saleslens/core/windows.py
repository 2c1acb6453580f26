"""The words for a date window, the same on every page: "Q4 2026 to date, 1 Oct – 2 Dec 2026".

Every tile and chart says which days it covers (issue 16); writing those words once keeps "Q4 2026" or
"the same days of Q3 2026" meaning one window wherever they appear.
"""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_interval, format_skeleton, get_quarter_names

from saleslens.core.i18n import babel_locale, t
from saleslens.core.periods import add_months, quarter_bounds


def span(start: date, end: date, lang: str) -> str:
    """The days from start to end, both included, as the language writes an interval (1 Oct – 30 Nov 2026)."""
    return format_interval(start, end, "yMMMd", locale=babel_locale(lang))


def name(start: date, end: date, lang: str) -> str | None:
    """The calendar name of a whole quarter, year or month (Q4 2026, 2026, Oct 2026); None for other windows."""
    loc = babel_locale(lang)
    if (start, end) == quarter_bounds(start):
        return format_skeleton("yQQQ", start, locale=loc)
    if (start.month, start.day, end) == (1, 1, date(start.year, 12, 31)):
        return format_skeleton("y", start, locale=loc)
    if start.day == 1 and end == add_months(start, 1) - timedelta(days=1):
        return format_skeleton("yMMM", start, locale=loc)
    return None


def running(start: date, end: date, as_of: date) -> bool:
    """Whether the snapshot's day falls inside the window before its last day (the data stop on as_of)."""
    return start <= as_of < end


def label(start: date, end: date, as_of: date, lang: str) -> str:
    """A window for people: its name when it has one, "to date" and the days so far when it is still running."""
    called = name(start, end, lang)
    if running(start, end, as_of):
        days = span(start, as_of, lang)
        return t("window.to_date", lang, name=called, span=days) if called else \
            t("window.to_date_unnamed", lang, span=days)
    days = span(start, end, lang)
    return t("window.named", lang, name=called, span=days) if called else days


def short_quarter(day: date, lang: str) -> str:
    """A quarter short enough for a half-width tile on a phone: Q4 2026, 2026年4季度 (not 2026年第4季度).

    CLDR's abbreviated quarter name ("Q4", "4季度") with the year where the language puts it (window.quarter_short):
    CLDR's own quarter-and-year pattern is the long form in Chinese and did not fit a 390 px tile.
    """
    quarter = get_quarter_names("abbreviated", locale=babel_locale(lang))[(day.month - 1) // 3 + 1]
    return t("window.quarter_short", lang, quarter=quarter, year=str(day.year))


def last_day(start: date, end: date, as_of: date) -> date:
    """The last day a period's data reach: the snapshot's day while it runs, else the period's last day."""
    return as_of if running(start, end, as_of) else end


# What a KPI tile counts, by KPI key: deals created, activities logged, a bookings-over-target share; any other KPI
# counts the deals closed (won or lost) in the window (bookings, win rate, deal size, sales cycle).
TILE_KINDS = {"pipeline_created": "created", "activities": "activities", "attainment": "attainment"}


def tile(key: str, start: date, end: date, as_of: date, lang: str) -> str:
    """The line under a KPI tile of a period: the days its value counts ("Deals closed 1 Oct – 2 Dec 2026")."""
    days = span(start, last_day(start, end, as_of), lang)
    kind = TILE_KINDS.get(key, "closed")
    if kind == "attainment":  # bookings so far against the whole period's target
        return t("window.tile.attainment", lang, span=days, name=name(start, end, lang) or span(start, end, lang))
    return t(f"window.tile.{kind}", lang, span=days)
