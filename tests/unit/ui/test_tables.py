"""Tables show "–" for a missing cell, never Streamlit's raw "None", through one helper (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import streamlit as st

from ui import widgets

ROOT = Path(__file__).resolve().parents[3]


def test_missing_cells_read_as_a_dash_in_the_column_format() -> None:
    """Text gets the dash; a number column with a gap becomes text in its format (money $1,235, 25.0%, rank 2);
    a complete number column stays a number with its config; a sparkline list column is left alone."""
    frame = pl.DataFrame({"team": ["North", None], "rank": [2, None], "amount": [1234.6, None],
                          "rate": [0.25, None], "closed": [None, None], "score": [1.5, 2.0],
                          "trend": [[1.0], []]}, schema_overrides={"closed": pl.Date})
    config = {"amount": widgets.money_column("Amount"), "rank": st.column_config.NumberColumn("Rank", help="why"),
              "rate": st.column_config.NumberColumn("Rate", format="percent"), "score": "Score"}
    shown, cfg = widgets.readable(frame, config, "en")
    assert shown["team"].to_list() == ["North", "–"]
    assert shown["rank"].to_list() == ["2", "–"]
    assert shown["amount"].to_list() == ["$1,235", "–"]
    assert shown["rate"].to_list() == ["25.0%", "–"]
    assert shown["closed"].to_list() == ["–", "–"]
    assert shown["score"].to_list() == [1.5, 2.0] and cfg["score"] == "Score"
    assert shown["trend"].to_list() == [[1.0], []]
    # The converted columns keep their label and help, shown as text aligned like numbers.
    assert (cfg["rank"]["label"], cfg["rank"]["help"], cfg["rank"]["type_config"]["type"]) == ("Rank", "why", "text")
    assert cfg["rank"]["alignment"] == "right"


def test_every_table_goes_through_the_helper() -> None:
    """No page or ui helper calls st.dataframe itself (a direct call showed "None" again)."""
    direct = [f"{p.relative_to(ROOT)}:{n}" for folder in ("pages", "ui") for p in sorted((ROOT / folder).glob("*.py"))
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\b(st|tab|c\d|col)\.dataframe\(", line) and p.name != "widgets.py"]
    assert direct == []
