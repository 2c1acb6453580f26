"""The words for a date window, the same on every page: "Q4 2026 to date, 1 Oct – 2 Dec 2026".

Every tile and chart says which days it covers (issue 16); writing those words once keeps "Q4 2026" or
"the same days of Q3 2026" meaning one window wherever they appear.
"""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_interval, format_skeleton

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
