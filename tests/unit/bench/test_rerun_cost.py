"""Rerun-cost fixes must not change what pages show: the figures' JSON is the same as before."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
import pytest
from plotly.subplots import make_subplots

from saleslens.core import charts, i18n


def old_base_layout(fig: go.Figure, title: str, x_title: str, y_title: str, y_kind: str = "count") -> go.Figure:
    """base_layout as it was (wrapped title, legend under it): one layout update, then two validated axis updates."""
    text = charts.wrap_title(title)
    lines = text.count("<br>") + 1
    fig.update_layout(title={"text": text, "x": 0, "xanchor": "left", "yref": "paper", "y": 1, "yanchor": "bottom",
                             "pad": {"b": 30 + charts.TITLE_LINE * (lines - 1)}},
                      margin={"l": 60, "r": 20, "t": 44 + charts.TITLE_LINE * lines, "b": 50},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
                      height=380, hovermode="x unified")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, tickformat=i18n.tick_format(y_kind), rangemode="tozero")
    if y_kind == "money":
        fig.update_yaxes(tickprefix=i18n.currency_symbol())
    return fig


TREND = pl.DataFrame({"month": [date(2026, 1, 1), date(2026, 2, 1)], "bookings": [10.0, 20.0],
                      "target": [15.0, None], "cumulative_bookings": [10.0, 30.0], "cumulative_target": [15.0, 15.0]})
GROUPS = pl.DataFrame({"group_label": ["East", "West"], "bookings": [5.0, 7.0]})


def _figures() -> list[go.Figure]:
    return [charts.bookings_vs_target(TREND, "en"), charts.bookings_vs_target(TREND, "zh", cumulative=True),
            charts.kpi_by_group_bar(GROUPS, "bookings", "money", "Region", "en")]


def test_chart_functions_draw_the_same_json(monkeypatch: pytest.MonkeyPatch) -> None:
    charts.FIGURES.clear()
    new = [f.to_plotly_json() for f in _figures()]
    monkeypatch.setattr(charts, "base_layout", old_base_layout)
    charts.FIGURES.clear()  # else the figures kept from the first build come back (saleslens.core.charts.memoized)
    assert new == [f.to_plotly_json() for f in _figures()]


@pytest.mark.parametrize("kind", ["count", "money", "percent"])
def test_subplots_take_the_general_path(kind: str) -> None:
    """With two x axes, every axis gets the titles and formats, as update_xaxes did."""
    def figure() -> go.Figure:
        fig = make_subplots(rows=1, cols=2)
        fig.add_bar(x=[1, 2], y=[3, 4], row=1, col=1)
        fig.add_bar(x=[1, 2], y=[5, 6], row=1, col=2)
        return fig

    new = charts.base_layout(figure(), "T", "x", "y", kind).to_plotly_json()
    assert new == old_base_layout(figure(), "T", "x", "y", kind).to_plotly_json()
    assert new["layout"]["xaxis2"]["title"]["text"] == "x" and new["layout"]["yaxis2"]["rangemode"] == "tozero"
