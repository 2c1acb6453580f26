"""All user-facing text goes through `t`; numbers, money and dates are formatted per language.

Catalogs are TOML files named strings*.toml in each feature package of saleslens/, each key a table with one entry
per language, so a feature's strings live together and every key carries every language.
"""

from __future__ import annotations

import math
import re
import tomllib
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import (  # _get_compact_format: CLDR's unit choice, pinned babel==2.19.0
    _get_compact_format,
    format_decimal,
    format_percent,
    get_currency_symbol,
)
from babel.units import format_unit

from saleslens.core import settings

LANGUAGES = {"en": "English", "zh": "简体中文"}
# The CLDR locale behind each language: numbers, money units (K/M or 万/亿), dates, month names and plurals come from
# Babel's data for it, so a new language is one entry here plus its texts. International English (en_001) writes
# "30 Jun 2026" and $1.2M.
BABEL_LOCALES = {"en": "en_001", "zh": "zh_Hans_CN"}
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def locale_files() -> list[Path]:
    """Every feature's string catalog: saleslens/<feature>/strings*.toml."""
    return sorted(PACKAGE_DIR.glob("*/strings*.toml"))


@cache
def catalog() -> dict[str, dict[str, str]]:
    """Every key with its text per language, merged from all locale files."""
    merged: dict[str, dict[str, str]] = {}
    for path in locale_files():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, texts in _flatten(data).items():
            if key in merged:
                raise ValueError(f"{path.name}: key {key} is defined twice")
            merged[key] = texts
    return merged


def _flatten(data: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    """Nested TOML tables to dotted keys; a table whose values are all strings is one entry."""
    out: dict[str, dict[str, str]] = {}
    texts = {k: v for k, v in data.items() if isinstance(v, str)}
    if texts:
        out[prefix.rstrip(".")] = texts
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
    return out


def t(key: str, lang: str | None = None, **values: object) -> str:
    """The text of a key in a language, with {placeholders} filled; English, then the key, as fallback."""
    lang = lang or settings.get("language")
    texts = catalog().get(key)
    if texts is None:
        return key
    text = texts.get(lang) or texts.get("en") or key
    return text.format(**values) if values else text


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# The reporting currency (ISO 4217 code) of the data being shown, set once per script run or CLI command from the
# snapshot's manifest; unset, money carries the `currency` setting's symbol (single-currency data as before).
_REPORTING_CURRENCY: ContextVar[str | None] = ContextVar("saleslens_reporting_currency", default=None)


def use_currency(code: str | None) -> None:
    """Format money in this reporting currency (an ISO code such as USD) from now on in this run."""
    _REPORTING_CURRENCY.set(code.strip().upper() if code and code.strip() else None)


def currency_code() -> str | None:
    """The reporting currency's ISO code, or None when the data does not name one."""
    return _REPORTING_CURRENCY.get()


def currency_symbol() -> str:
    """The one money prefix every formatter, axis and table uses: the data's currency, else the setting."""
    code = _REPORTING_CURRENCY.get()
    if code is None:
        return settings.get("currency")
    # CLDR's English symbol ($, €, £, CN¥); a code without one (COP, PEN) is written as the code and a thin space.
    symbol = get_currency_symbol(code, locale="en")
    return f"{symbol}\u2009" if symbol.isalpha() else symbol


@cache
def babel_locale(lang: str) -> str:
    """The CLDR locale a language formats numbers and dates with (one Babel does not know formats as English)."""
    name = BABEL_LOCALES.get(lang, lang or "en_001")
    try:
        Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return "en_001"
    return name


def _compact(value: float, lang: str, decimals: str = "0") -> str:
    """A non-negative number in the language's short units (1.2M, 123.5万); below the first unit, grouped digits."""
    loc = Locale.parse(babel_locale(lang))
    # CLDR's unit and divisor for this magnitude (999,999 carries up to 1.0M), written with one decimal always so
    # that a column of amounts lines up ("$2.0K", not Babel's trimmed "$2K").
    scaled, found = _get_compact_format(value, loc.compact_decimal_formats["short"], loc, len(decimals))
    pattern = getattr(found, "pattern", found) or ""
    if "0" not in pattern or pattern.strip("0") == "":
        # No unit below the first step (CLDR writes Chinese 9999 bare): grouped digits, as everywhere else.
        return format_decimal(round(value), locale=loc)
    digits = "#,##0." + decimals if decimals else "#,##0"
    return format_decimal(scaled, re.sub(r"0+", digits, pattern, count=1), locale=loc)


def money(value: float | None, lang: str = "en", compact: bool = True) -> str:
    """Money for a language: $1.2M in English, $123.5万 in Chinese (CLDR's units); full digits when not compact."""
    if _missing(value):
        return "–"
    sign = "-" if value < 0 else ""
    v = abs(float(value))
    number = _compact(v, lang) if compact else format_decimal(round(v), locale=babel_locale(lang))
    return f"{sign}{currency_symbol()}{number}"


def money_short(value: float | None, lang: str = "en") -> str:
    """Money for a metric tile: at most three significant digits before the unit ($170万, $2,934万, $1.2M, $353K),
    so a row of tiles never cuts a number; a decimal only while the unit's number is below 100."""
    if _missing(value):
        return "–"
    v = abs(float(value))
    loc = Locale.parse(babel_locale(lang))
    scaled, _ = _get_compact_format(v, loc.compact_decimal_formats["short"], loc, 1)
    number = _compact(v, lang, "0" if abs(scaled) < 100 else "")
    return f"{'-' if value < 0 else ''}{currency_symbol()}{number}"


def money_tick(value: float, lang: str = "en") -> str:
    """Money for an axis tick at a round value: compact, exact to two decimals, no trailing zeros ($2M, $1.25M)."""
    if _missing(value):
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_symbol()}{_compact(abs(float(value)), lang, '##')}"


def percent(value: float | None, lang: str = "en", digits: int = 1) -> str:
    """A share (0.25) as a percentage (25.0%)."""
    if _missing(value):
        return "–"
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return format_percent(float(value), pattern, locale=babel_locale(lang))


def count(value: float | None, lang: str = "en") -> str:
    """A whole number with the language's thousands separators."""
    return "–" if _missing(value) else format_decimal(round(float(value)), locale=babel_locale(lang))


def days(value: float | None, lang: str = "en") -> str:
    """A number of days, with the language's plural (1 day, 2 days, 2天)."""
    if _missing(value):
        return "–"
    return format_unit(round(float(value)), "duration-day", length="long", format="#,##0", locale=babel_locale(lang))


def number(value: float | None, lang: str = "en", digits: int = 1) -> str:
    """A plain number with the language's separators and a fixed number of decimals (12.3)."""
    if _missing(value):
        return "–"
    return format_decimal(float(value), "#,##0" + ("." + "0" * digits if digits else ""), locale=babel_locale(lang))


def ratio(value: float | None, lang: str = "en") -> str:
    """A multiple such as pipeline coverage (3.2x)."""
    return "–" if _missing(value) else format_decimal(float(value), "#,##0.0", locale=babel_locale(lang)) + "x"


def day(value: date | None, lang: str = "en") -> str:
    """A date the way the language writes it (30 Jun 2026, 2026年6月30日)."""
    if value is None:
        return "–"
    return format_skeleton("yMMMd", value, locale=babel_locale(lang))


def month(value: date | None, lang: str = "en") -> str:
    """A month the way the language writes it (Jun 2026, 2026年6月)."""
    if value is None:
        return "–"
    return format_skeleton("yMMM", value, locale=babel_locale(lang))


def short_day(value: date | None, lang: str = "en") -> str:
    """A day of the year without the year (30 Jun, 6月30日), for dense axes."""
    if value is None:
        return "–"
    return format_skeleton("MMMd", value, locale=babel_locale(lang))


def plural(n: int, one: str, other: str, lang: str = "en") -> str:
    """The word form CLDR's plural rule picks for n in the language (Chinese has one form)."""
    rule = Locale.parse(babel_locale(lang)).plural_form
    return one if rule(n) == "one" else other


FORMATTERS = {"money": money, "percent": percent, "count": count, "days": days, "ratio": ratio}


def fmt(kind: str, value: object, lang: str = "en") -> str:
    """Format a value by the kind named in a metric definition."""
    return FORMATTERS[kind](value, lang)


def fmt_short(kind: str, value: object, lang: str = "en") -> str:
    """A value for a metric tile: money with at most three significant digits, other kinds as fmt."""
    return money_short(value, lang) if kind == "money" else fmt(kind, value, lang)


def tick_format(kind: str) -> str:
    """A Plotly/d3 axis format for a metric kind, so axes show money and percentages properly."""
    return {"money": "~s", "percent": ".0%", "count": ",d", "days": ",.0f", "ratio": ".1f"}[kind]
