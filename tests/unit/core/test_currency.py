"""One money formatter: the data's reporting currency when the snapshot names one, else the setting's symbol."""

from __future__ import annotations

import contextvars

import pytest

from saleslens.core import i18n


def _in_fresh_context(code: str | None, fn, *args):
    """Run fn with the reporting currency set in a context of its own, as one script run or CLI command."""
    def body():
        i18n.use_currency(code)
        return fn(*args)
    return contextvars.Context().run(body)


@pytest.mark.parametrize(
    ("code", "value", "lang", "expected"),
    [
        (None, 1_234_567, "en", "$1.2M"),  # no currency named: the `currency` setting's "$"
        ("USD", 1_234_567, "en", "$1.2M"),
        ("EUR", 2_500, "en", "€2.5K"),
        ("GBP", 999, "en", "£999"),
        ("EUR", 35_000, "zh", "€3.5万"),  # Chinese units, the data's symbol
        ("cop", 1_500_000, "en", "COP\u20091.5M"),  # lower case accepted; no symbol in CLDR: code and thin space
    ],
)
def test_money_follows_the_reporting_currency(code, value, lang, expected) -> None:
    assert _in_fresh_context(code, i18n.money, value, lang) == expected


def test_unset_currency_does_not_leak_between_runs() -> None:
    assert _in_fresh_context("EUR", i18n.currency_symbol) == "€"
    assert _in_fresh_context(None, i18n.currency_symbol) == "$"
    assert _in_fresh_context("  ", i18n.currency_code) is None
