"""Glossary: every registered KPI with its definition, format and where it is computed (saleslens.kpis.glossary)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from saleslens.core.i18n import t
from saleslens.kpis import glossary
from ui import context, widgets

lang = context.current().lang
st.title(t("glossary.title", lang))
st.write(t("glossary.intro", lang))
widgets.dataframe(pl.DataFrame(glossary.rows(lang)), lang)
