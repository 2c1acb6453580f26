"""A kept figure handed to st.plotly_chart (saleslens.core.charts.KeptFigure): the same JSON as the figure built
afresh, without copying the figure, and an independent figure as soon as its caller uses it otherwise."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import date

import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools
import polars as pl
import pytest

from saleslens.core import charts, i18n

TREND = pl.DataFrame({"month": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
                      "bookings": [10.0, float("nan"), 20.5], "target": [15.0, None, 15.0],
                      "cumulative_bookings": [10.0, 10.0, 30.5], "cumulative_target": [15.0, 15.0, 30.0]})
GROUPS = pl.DataFrame({"group_label": ["East <b>", "西部"], "bookings": [5.0, 1e16]})


@pytest.fixture(autouse=True)
def fresh_memo() -> None:
    charts.FIGURES.clear()
    yield
    charts.FIGURES.clear()
    i18n.use_currency(None)


def streamlit_spec(fig: go.Figure) -> str:
    """The JSON st.plotly_chart (Streamlit 1.67) sends for a figure: these two calls, in this order."""
    return pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)


CALLS = [
    lambda: charts.bookings_vs_target(TREND, "en"),
    lambda: charts.bookings_vs_target(TREND, "zh", cumulative=True),
    lambda: charts.kpi_by_group_bar(GROUPS, "bookings", "money", "Region", "en"),
    lambda: charts.kpi_by_group_bar(GROUPS, "bookings", "money", "地区", "zh"),
]
BUILDS = [
    lambda: charts.bookings_vs_target.__wrapped__(TREND, "en"),
    lambda: charts.bookings_vs_target.__wrapped__(TREND, "zh", cumulative=True),
    lambda: charts.kpi_by_group_bar.__wrapped__(GROUPS, "bookings", "money", "Region", "en"),
    lambda: charts.kpi_by_group_bar.__wrapped__(GROUPS, "bookings", "money", "地区", "zh"),
]


@pytest.mark.parametrize("n", range(len(CALLS)))
def test_a_kept_figure_draws_the_json_of_a_fresh_build(n: int) -> None:
    """Dates, a NaN, a missing value, markup, Chinese and a large number: the same string Streamlit sends."""
    CALLS[n]()  # built and kept
    kept = CALLS[n]()  # from the memo, not copied yet
    assert isinstance(kept, charts.KeptFigure)
    # As the memo drew before: a copy of the built figure (a copy orders some layout keys otherwise)
    assert streamlit_spec(kept) == streamlit_spec(charts.copy_figure(BUILDS[n]()))
    assert "_data" not in kept.__dict__  # drawn without making the copy: the point of it


def test_the_currency_still_reaches_the_drawn_json() -> None:
    dollars = json.loads(streamlit_spec(charts.bookings_vs_target(TREND, "en")))
    i18n.use_currency("EUR")
    euros = json.loads(streamlit_spec(charts.bookings_vs_target(TREND, "en")))
    assert dollars["data"][0]["hovertemplate"].startswith("$")
    assert euros["data"][0]["hovertemplate"].startswith("€")


def test_a_caller_changing_its_figure_draws_its_change_and_nobody_elses() -> None:
    mine = charts.bookings_vs_target(TREND, "en")
    mine.update_layout(title={"text": "retitled"})  # the review pack retitles its copy
    assert '"retitled"' in streamlit_spec(mine)
    other = charts.bookings_vs_target(TREND, "en")
    assert "retitled" not in streamlit_spec(other)
    assert other.layout.title.text != "retitled"


def test_a_change_through_a_child_object_is_drawn_too() -> None:
    mine = charts.bookings_vs_target(TREND, "en")
    streamlit_spec(mine)  # drawn once untouched
    mine.data[0].marker.color = "#000000"
    assert '"#000000"' in streamlit_spec(mine)
    assert '"#000000"' not in streamlit_spec(charts.bookings_vs_target(TREND, "en"))


def test_reading_a_kept_figure_gives_the_built_values() -> None:
    fig = charts.bookings_vs_target(TREND, "en")
    built = charts.bookings_vs_target.__wrapped__(TREND, "en")
    assert list(fig.data[0].x) == list(built.data[0].x) == TREND["month"].to_list()
    assert fig.layout.title.text == built.layout.title.text
    assert streamlit_spec(fig) == streamlit_spec(charts.copy_figure(built))


@pytest.mark.parametrize("clone", [copy.deepcopy, copy.copy, lambda f: pickle.loads(pickle.dumps(f))])
def test_an_untouched_kept_figure_copies_and_pickles(clone) -> None:
    """The same figure as a clone of the built one (a clone may order the layout's keys otherwise)."""
    fig = charts.kpi_by_group_bar(GROUPS, "bookings", "money", "Region", "en")
    built = charts.kpi_by_group_bar.__wrapped__(GROUPS, "bookings", "money", "Region", "en")
    assert json.loads(streamlit_spec(clone(fig))) == json.loads(streamlit_spec(clone(built)))
    assert streamlit_spec(fig) == streamlit_spec(charts.copy_figure(built))


def test_a_dict_taken_from_an_untouched_figure_is_the_callers_own() -> None:
    """to_dict() of an untouched kept figure gives a fresh dict: changing it changes nothing kept."""
    first = charts.bookings_vs_target(TREND, "en")
    drawn = streamlit_spec(first)
    taken = first.to_dict()
    taken["layout"]["title"]["text"] = "changed"
    taken["layout"]["template"]["layout"]["font"] = {"size": 99}
    taken["data"][0]["y"][0] = -1
    assert streamlit_spec(first) == drawn
    assert streamlit_spec(charts.bookings_vs_target(TREND, "en")) == drawn
