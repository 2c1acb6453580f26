"""All user-facing text goes through `t`; numbers, money and dates are formatted per language.

Catalogs are TOML files named strings*.toml in each feature package of saleslens/, each key a table with one entry
per language, so a feature's strings live together and every key carries every language.
"""

from __future__ import annotations

import math
import tomllib
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path

from babel.numbers import get_currency_symbol

from saleslens.core import settings

LANGUAGES = {"en": "English", "zh": "简体中文"}
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


def money(value: float | None, lang: str = "en", compact: bool = True) -> str:
    """Money for a language: $1.2M in English, $120.0万 in Chinese; full digits when not compact."""
    if _missing(value):
        return "–"
    sym = currency_symbol()
    sign = "-" if value < 0 else ""
    v = abs(float(value))
    if not compact:
        return f"{sign}{sym}{v:,.0f}"
    units = ((1e8, "亿"), (1e4, "万")) if lang == "zh" else ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    for size, unit in units:
        # 999,999 reads $1.0M rather than $1,000.0K; below the smallest unit the digits are shown in full
        if v >= size or (size > units[-1][0] and round(v / size, 1) >= 1):
            return f"{sign}{sym}{v / size:,.1f}{unit}"
    return f"{sign}{sym}{v:,.0f}"


def percent(value: float | None, lang: str = "en", digits: int = 1) -> str:
    """A share (0.25) as a percentage (25.0%)."""
    return "–" if _missing(value) else f"{float(value) * 100:,.{digits}f}%"


def count(value: float | None, lang: str = "en") -> str:
    """A whole number with thousands separators."""
    return "–" if _missing(value) else f"{float(value):,.0f}"


def days(value: float | None, lang: str = "en") -> str:
    """A number of days."""
    if _missing(value):
        return "–"
    return f"{float(value):,.0f} 天" if lang == "zh" else f"{float(value):,.0f} days"


def ratio(value: float | None, lang: str = "en") -> str:
    """A multiple such as pipeline coverage (3.2x)."""
    return "–" if _missing(value) else f"{float(value):,.1f}x"


def day(value: date | None, lang: str = "en") -> str:
    """A date the way the language writes it."""
    if value is None:
        return "–"
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.strftime("%-d %b %Y")


FORMATTERS = {"money": money, "percent": percent, "count": count, "days": days, "ratio": ratio}


def fmt(kind: str, value: object, lang: str = "en") -> str:
    """Format a value by the kind named in a metric definition."""
    return FORMATTERS[kind](value, lang)


def tick_format(kind: str) -> str:
    """A Plotly/d3 axis format for a metric kind, so axes show money and percentages properly."""
    return {"money": "~s", "percent": ".0%", "count": ",d", "days": ",.0f", "ratio": ".1f"}[kind]
