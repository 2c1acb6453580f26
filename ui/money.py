"""Deal tables in a multi-currency dataset: headers that say the currency, and the notes about it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from saleslens.core import money
from saleslens.core.context import DataContext
from saleslens.core.i18n import t
from ui import widgets


def deal_columns(config: dict, frame: pl.DataFrame, lang: str) -> dict:
    """A table's column config with 'Amount (USD)' for the converted amount, and the original amount and currency
    labelled, when the data has them."""
    label = money.amount_label(lang)
    if label and "amount" in frame.columns:
        config["amount"] = st.column_config.NumberColumn(label, format=widgets.money_format())
    if "amount_original" in frame.columns:
        # Each row in its own currency: no symbol, plain grouped digits.
        config["amount_original"] = st.column_config.NumberColumn(t("money.col.amount_original", lang),
                                                                  format="localized")
    if "currency" in frame.columns:
        config["currency"] = st.column_config.TextColumn(t("money.col.currency", lang))
    return config


def notes(ctx: DataContext) -> None:
    """'Amounts in USD' when the snapshot names its currency, and a warning when some deals had no rate."""
    caption = money.amounts_caption(ctx.lang)
    if caption:
        st.caption(caption)
    note = money.without_rate_note(money.without_rate(ctx), ctx.lang)
    if note:
        st.warning(note, icon=":material/currency_exchange:")
