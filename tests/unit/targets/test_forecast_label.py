"""The forecast bar says what it shows: an 80% range only when there is one (issue 16)."""

from __future__ import annotations

import polars as pl

from saleslens.targets import charts
from saleslens.targets.logic import Forecast


def test_a_forecast_without_a_range_says_so() -> None:
    """The fallback gives low = high = the forecast (100 + 50): no "80% range" label, no bracket."""
    fig = charts.forecast_chart(Forecast(100.0, 50.0, 80.0, 2, 150.0, 150.0), pl.DataFrame(), None, "en")
    assert list(fig.data[0].y)[1] == "Forecast (no range)"
    assert len(fig.data) == 1


def test_a_forecast_with_a_range_names_it() -> None:
    """The model's range 120 – 170 around 150: the label names it and the bracket spans it."""
    fig = charts.forecast_chart(Forecast(100.0, 50.0, 80.0, 2, 120.0, 170.0), pl.DataFrame(), None, "zh")
    assert list(fig.data[0].y)[1] == "预测（80% 区间）"
    assert list(fig.data[1].x) == [120.0, 170.0]
