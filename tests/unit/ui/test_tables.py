"""Tables show "–" for a missing cell, never Streamlit's raw "None", through one helper (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import widgets

ROOT = Path(__file__).resolve().parents[3]


def table_page() -> None:
    """A page drawing one table with gaps through the helper (run by AppTest)."""
    from datetime import date

    import polars as pl

    from ui import widgets

    frame = pl.DataFrame({"team": ["North", None, "East"], "rank": [2, None, 10], "amount": [1234.6, None, 5.0],
                          "closed": [date(2026, 1, 2), None, None], "score": [1.5, 2.0, 3.0]})
    widgets.dataframe(frame, "en", {"amount": widgets.money_column("Amount"), "closed": "Closed"})


def test_missing_cells_read_as_a_dash_and_number_columns_stay_numbers() -> None:
    """Issue 16: the missing cells of every column read "–" through st.dataframe's placeholder; a number column
    with a gap keeps its number type (it sorted as text: "10" before "2"); a date column with a gap is written as
    the language writes dates, since Streamlit has no such format."""
    at = AppTest.from_function(table_page).run()
    assert not at.exception
    table = at.dataframe[0]
    assert table.proto.placeholder == "–"
    shown = pl.from_pandas(table.value)
    assert shown["rank"].dtype.is_numeric() and shown["amount"].dtype.is_numeric()
    assert shown["rank"].to_list()[0] == 2 and shown["rank"].to_list()[2] == 10 and shown["rank"][1] is None
    assert shown["closed"].to_list() == ["2 Jan 2026", None, None]
    assert shown["team"].to_list() == ["North", None, "East"]


def test_a_date_column_keeps_its_label_when_written_out() -> None:
    """The text that replaces a date column with gaps keeps the label and help of the column's config."""
    from datetime import date

    frame = pl.DataFrame({"closed": [date(2026, 6, 30), None], "n": [1, None]})
    shown, cfg = widgets.readable(frame, {"closed": st.column_config.DateColumn("Closed", help="when")}, "zh")
    assert shown["closed"].to_list() == ["2026年6月30日", None]
    assert (cfg["closed"]["label"], cfg["closed"]["help"], cfg["closed"]["type_config"]["type"]) == \
        ("Closed", "when", "text")
    assert shown["n"].to_list() == [1, None] and "n" not in cfg


def test_every_table_goes_through_the_helper() -> None:
    """No page or ui helper calls st.dataframe itself (a direct call showed "None" again)."""
    direct = [f"{p.relative_to(ROOT)}:{n}" for folder in ("pages", "ui") for p in sorted((ROOT / folder).glob("*.py"))
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\b(st|tab|c\d|col)\.dataframe\(", line) and p.name != "widgets.py"]
    assert direct == []
