"""Glossary: every KPI with its written definition, read from saleslens.kpis.registry."""

from __future__ import annotations

import polars as pl
import streamlit as st

from saleslens.core.i18n import t
from saleslens.kpis.registry import METRICS
from ui import context

lang = context.current().lang
st.title(t("glossary.title", lang))
st.write(t("glossary.intro", lang))
rows = [
    {
        t("glossary.metric", lang): t(m.label_key, lang),
        t("glossary.definition", lang): t(m.definition_key, lang),
        t("glossary.format", lang): t(f"format.{m.format}", lang),
        t("glossary.better", lang): t("glossary.higher" if m.higher_is_better else "glossary.lower", lang),
    }
    for m in METRICS.values()
]
st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
