"""Sentences about a number of things, in the singular for exactly one ('1 deal', not '1 deals')."""

from __future__ import annotations

from saleslens.core.i18n import t


def plural(key: str, n: int, lang: str, **values: object) -> str:
    """The key's '.one' text when n is 1, else its '.other' text (Chinese gives both the same words)."""
    return t(f"{key}.one" if n == 1 else f"{key}.other", lang, **values)
