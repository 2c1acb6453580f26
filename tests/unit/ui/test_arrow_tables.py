"""widgets.dataframe hands st.dataframe an Arrow table kept by the frame's content (ui/widgets.arrow_table): the
element Streamlit sends is the one a Polars frame gave, and any change of the content is a new table."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from ui import widgets


def same_table_page() -> None:
    """The same table drawn straight from Polars, then twice through the helper (built, then kept)."""
    from datetime import date

    import polars as pl
    import streamlit as st

    from ui import widgets

    frame = pl.DataFrame({"team": ["North", None, "东部"], "rank": [2, None, 10], "amount": [1234.6, None, 5.0],
                          "closed": [date(2026, 1, 2), date(2026, 2, 3), date(2026, 3, 4)], "won": [True, False, None]})
    config = {"amount": widgets.money_column("Amount"), "closed": "Closed"}
    st.dataframe(frame, column_config=config, hide_index=True, width="stretch", placeholder=widgets.MISSING)
    widgets.dataframe(frame, "en", config)
    widgets.dataframe(frame.clone(), "en", config)


@pytest.fixture(autouse=True)
def fresh_tables() -> None:
    widgets._ARROW.clear()
    yield
    widgets._ARROW.clear()


def test_the_element_is_the_one_a_polars_frame_gives() -> None:
    at = AppTest.from_function(same_table_page).run()
    assert not at.exception
    direct, built, kept = (at.dataframe[i].proto for i in range(3))
    assert built == direct and kept == direct
    assert len(widgets._ARROW) == 1


FRAME = pl.DataFrame({"k": ["a", "b"], "v": [1.0, 2.0], "d": [date(2026, 1, 1), date(2026, 1, 2)]})


@pytest.mark.parametrize("other", [
    FRAME.with_columns(pl.Series("v", [1.0, 2.5])),  # a number (a filter, a new publish)
    FRAME.with_columns(pl.Series("k", ["a", "c"])),  # a word (a language, a label)
    FRAME.with_columns(pl.col("v").cast(pl.Float32)),  # a type
    FRAME.rename({"v": "w"}),  # a column
    FRAME.head(1),  # a row
])
def test_any_change_of_content_is_a_new_table(other: pl.DataFrame) -> None:
    options = {"hide_index": True}
    first = widgets.arrow_table(FRAME, options)
    assert widgets.arrow_table(FRAME.clone(), options) is first
    changed = widgets.arrow_table(other, options)
    assert changed is not first
    assert pl.from_arrow(changed).equals(other.with_columns(pl.col(pl.Date).cast(pl.Datetime("ms"))))


@pytest.mark.parametrize("options", [{"hide_index": None}, {"hide_index": True, "on_select": "rerun"},
                                     {"hide_index": True, "lazy": True}])
def test_tables_streamlit_treats_otherwise_go_as_they_are(options: dict) -> None:
    assert widgets.arrow_table(FRAME, options) is FRAME


def test_the_kept_tables_stay_within_their_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond ARROW_KEPT_BYTES the least recently drawn tables go; the newest is always kept."""
    options = {"hide_index": True}
    one = widgets.arrow_table(FRAME, options)
    monkeypatch.setattr(widgets, "ARROW_KEPT_BYTES", one.nbytes * 2)
    widgets.arrow_table(FRAME.with_columns(pl.Series("v", [3.0, 4.0])), options)
    assert len(widgets._ARROW) == 2
    widgets.arrow_table(FRAME.with_columns(pl.Series("v", [5.0, 6.0])), options)
    assert len(widgets._ARROW) == 2  # the first one dropped
    assert widgets.arrow_table(FRAME, options) is not one  # made again
    monkeypatch.setattr(widgets, "ARROW_KEPT_BYTES", 1)
    widgets.arrow_table(FRAME.head(1), options)
    assert len(widgets._ARROW) == 1  # over budget alone: still kept for its own next draw
