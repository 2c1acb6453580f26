"""Money in a multi-currency dataset: deal lists show each deal's own amount and currency beside the reporting-
currency amount, and pages say which currency money is in and which deals had no rate to convert."""

from __future__ import annotations

import polars as pl

from saleslens.core import i18n
from saleslens.core.context import DataContext
from saleslens.core.i18n import t

ORIGINAL = ("amount_original", "currency")


def has_original(frame: pl.DataFrame) -> bool:
    """Whether any deal of a list carries its own currency (data imported with currencies)."""
    return "currency" in frame.columns and frame["currency"].null_count() < frame.height


def with_original(frame: pl.DataFrame) -> pl.DataFrame:
    """A deal list with its original amount and currency right after `amount` when the data has them, and without
    those columns when it does not (single-currency data shows as it always did)."""
    present = [c for c in ORIGINAL if c in frame.columns]
    if not present:
        return frame
    if not has_original(frame):
        return frame.drop(present)
    rest = [c for c in frame.columns if c not in present]
    at = rest.index("amount") + 1 if "amount" in rest else len(rest)
    return frame.select([*rest[:at], *present, *rest[at:]])


def amounts_caption(lang: str) -> str | None:
    """'Amounts in USD' when the snapshot names a reporting currency; None for data that does not."""
    code = i18n.currency_code()
    return t("money.amounts_in", lang, code=code) if code else None


def amount_label(lang: str) -> str | None:
    """The header of a deal list's converted amount, 'Amount (USD)', or None without a reporting currency."""
    code = i18n.currency_code()
    return t("money.col.amount", lang, code=code) if code else None


def without_rate(ctx: DataContext) -> pl.DataFrame:
    """Per currency, the deals that had no usable rate (currency, deals, amount_original); empty when none."""
    return ctx.run("deals_without_rate_by_currency")


def without_rate_note(frame: pl.DataFrame, lang: str) -> str | None:
    """'2 deals in COP and 1 deal in JPY have no conversion rate and are left out of money figures', or None."""
    if frame.is_empty():
        return None
    parts = [t("money.deals_in", lang, n=i18n.count(n, lang), currency=c)
             for c, n in frame.select("currency", "deals").iter_rows()]
    return t("money.no_rate_note", lang, items=t("money.and", lang).join(parts))
