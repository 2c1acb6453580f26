"""Widgets for saved work: who may see an item being saved."""

from __future__ import annotations

import streamlit as st

from saleslens.core.db.tables import VISIBILITIES
from saleslens.core.i18n import t


def visibility_choice(key: str, lang: str, default: str = "everyone") -> str:
    """A compact picker of the visibility (private, team, everyone) a save records; returns the choice."""
    if st.session_state.get(key) not in VISIBILITIES:
        st.session_state[key] = default
    return st.selectbox(t("saved.visibility", lang), VISIBILITIES, key=key, help=t("saved.visibility.help", lang),
                        format_func=lambda v: t(f"saved.visibility.{v}", lang))
