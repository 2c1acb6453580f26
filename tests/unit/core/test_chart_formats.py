"""Charts write money axes, month names and hovers in the chart's language and the data's currency."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from saleslens.core import charts, i18n


def _trend() -> pl.DataFrame:
    """Three months: bookings 1.0M, 3.5M, 0 against a 2.0M target."""
    months = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    return pl.DataFrame({"month": months, "bookings": [1e6, 3.5e6, 0.0], "target": [2e6] * 3,
                         "cumulative_bookings": [1e6, 4.5e6, 4.5e6], "cumulative_target": [2e6, 4e6, 6e6]})


def test_nice_ticks_cover_the_range_in_round_steps() -> None:
    # 0..3.5M in about five steps: 3.5M / 5 = 0.7M, rounded up to 1M
    assert charts.nice_ticks(0, 3.5e6) == [0, 1e6, 2e6, 3e6, 4e6]
    # -2,000..1,500: 700 a step rounds up to 1,000; starts at -2,000
    assert charts.nice_ticks(-2000, 1500) == [-2000, -1000, 0, 1000, 2000]
    assert charts.nice_ticks(0, 0) == [0]


def test_chinese_money_axis_says_wan_like_the_bars() -> None:
    fig = charts.bookings_vs_target(_trend(), "zh")
    assert list(fig.layout.yaxis.tickvals) == [0, 1e6, 2e6, 3e6, 4e6]
    assert list(fig.layout.yaxis.ticktext) == ["$0", "$100万", "$200万", "$300万", "$400万"]
    assert not fig.layout.yaxis.tickformat  # d3's ~s would write 1M


def test_month_names_follow_the_language() -> None:
    zh = charts.bookings_vs_target(_trend(), "zh")
    assert list(zh.layout.xaxis.ticktext) == ["2026年4月", "2026年5月", "2026年6月"]
    en = charts.bookings_vs_target(_trend(), "en")
    assert list(en.layout.xaxis.ticktext) == ["Apr 2026", "May 2026", "Jun 2026"]
    assert list(en.layout.yaxis.ticktext) == ["$0", "$1M", "$2M", "$3M", "$4M"]


def test_hover_uses_the_data_currency_not_d3_dollar() -> None:
    try:
        i18n.use_currency("EUR")
        fig = charts.bookings_vs_target(_trend(), "en")
    finally:
        i18n.use_currency(None)
    assert fig.data[0].hovertemplate.startswith("€%{y:,.0f}")
    assert list(fig.layout.yaxis.ticktext)[1] == "€1M"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kpi_bars_axis_in_language_units(lang: str) -> None:
    frame = pl.DataFrame({"group_label": ["East", "West"], "bookings": [250_000.0, 1_200_000.0]})
    fig = charts.kpi_by_group_bar(frame, "bookings", "money", "Region", lang)
    # 0..1.2M: 240k a step rounds up to 250k
    assert list(fig.layout.xaxis.tickvals) == [0, 250_000, 500_000, 750_000, 1_000_000, 1_250_000]
    expected = {"en": ["$0", "$250K", "$500K", "$750K", "$1M", "$1.25M"],
                "zh": ["$0", "$25万", "$50万", "$75万", "$100万", "$125万"]}
    assert list(fig.layout.xaxis.ticktext) == expected[lang]


def test_titles_wrap_for_a_phone() -> None:
    # 40 columns a line: words stay whole in English; a Chinese character is two columns and may break anywhere
    assert charts.wrap_title("Win rate by segment with 90% intervals and the overall rate") == (
        "Win rate by segment with 90% intervals<br>and the overall rate")
    assert charts.wrap_title("各阶段队列转化率：本期与上期对比（按创建日期的商机队列）") == (
        "各阶段队列转化率：本期与上期对比（按创建<br>日期的商机队列）")
    assert charts.wrap_title("Short <b>title</b>") == "Short <b>title</b>"


def test_legend_sits_under_the_title() -> None:
    fig = charts.bookings_vs_target(_trend(), "en")
    # the title above the legend row, the legend at the left under it; one title line and the legend in the margin
    assert fig.layout.title.yanchor == "bottom" and fig.layout.title.pad.b == 30 and fig.layout.legend.x == 0
    assert fig.layout.margin.t == 44 + 22
    frame = pl.DataFrame({"group_label": ["East"], "bookings": [1.0]})
    two_lines = charts.kpi_by_group_bar(frame, "bookings", "money", "a long group name for a title to wrap", "en")
    assert two_lines.layout.title.text.count("<br>") == 1
    assert two_lines.layout.title.pad.b == 30 + 22 and two_lines.layout.margin.t == 44 + 2 * 22
