"""Figures of the targets page on literal inputs: what each bar, line and label says."""

from __future__ import annotations

from datetime import date

import polars as pl

from saleslens.core.charts import PALETTE
from saleslens.targets import charts as ch
from saleslens.targets import logic as tg


def _bar_colors(trace: dict) -> list[str]:
    """The colour each bar is drawn in: its own, or its value's end of a two-colour scale."""
    marker = trace["marker"]
    if "colorscale" not in marker:
        return list(marker["color"])
    scale = dict(marker["colorscale"])
    return [scale[v] for v in marker["color"]]


def test_members_gap_chart_greens_ahead_reds_behind_most_behind_at_the_top() -> None:
    table = pl.DataFrame({"group_label": ["Ann", "Bob", "Cy", "Dee"], "gap": [1500.0, -2000.0, None, 0.0],
                          "gap_pct": [0.25, -0.4, None, 0.0]})
    fig = ch.members_gap_chart(table, "Rep", "en").to_plotly_json()
    bars = fig["data"][0]
    # Sorted by gap, largest first (the y axis lists them bottom-up, so the most behind is on top); Cy has no gap.
    assert list(bars["y"]) == ["Ann", "Dee", "Bob"]
    assert _bar_colors(bars) == [PALETTE["good"], PALETTE["good"], PALETTE["bad"]]  # on pace counts as ahead
    assert list(bars["text"]) == ["+$1.5K (25%)", "+$0 (0%)", "−$2.0K (-40%)"]
    assert (bars["marker"]["cmin"], bars["marker"]["cmax"]) == (0, 1)
    # The zero line, and room beyond both bar ends for the labels: 0.45 x (1,500 + 2,000) = 1,575.
    assert fig["layout"]["shapes"][0]["x0"] == 0 and fig["layout"]["shapes"][0]["yref"] == "y domain"
    assert list(fig["layout"]["xaxis"]["range"]) == [-3575.0, 3075.0]
    assert fig["layout"]["height"] == 260  # at least 260 px; 26 px a bar only from 7 bars up


def test_pacing_chart_marks_the_target_and_todays_gap() -> None:
    p = tg.pace(10000.0, 2000.0, 0.3)  # expected 3,000: 1,000 behind
    daily = pl.DataFrame({"day": [date(2026, 4, 10)], "bookings": [2000.0], "cumulative": [2000.0]})
    fig = ch.pacing_chart(daily, tg.expected_curve(None, date(2026, 4, 1), 10000.0), p, date(2026, 5, 12),
                          "en").to_plotly_json()
    layout = fig["layout"]
    assert [s["y0"] for s in layout["shapes"]] == [10000.0]  # the quarter's target across the plot
    assert layout["annotations"][0]["xanchor"] == "left" and layout["annotations"][0]["y"] == 10000.0
    assert "behind" in layout["annotations"][1]["text"].lower()
    gap = fig["data"][-1]
    assert list(gap["y"]) == [3000.0, 2000.0] and gap["line"]["color"] == PALETTE["bad"]


def test_members_gap_chart_keeps_the_extremes_of_a_long_list() -> None:
    """100 reps with gaps -50..49 (x 100): 30 bars, the 15 furthest ahead and the 15 furthest behind."""
    table = pl.DataFrame({"group_label": [f"R{i:03d}" for i in range(100)],
                          "gap": [float((i - 50) * 100) for i in range(100)], "gap_pct": [0.1] * 100})
    fig = ch.members_gap_chart(table, "Rep", "en").to_plotly_json()
    bars = fig["data"][0]
    assert list(bars["y"]) == [f"R{i:03d}" for i in range(99, 84, -1)] + [f"R{i:03d}" for i in range(14, -1, -1)]
    assert "the top 15 and bottom 15 of 100 (all in the table)" in fig["layout"]["title"]["text"].replace("<br>", " ")
    short = ch.members_gap_chart(table.head(30), "Rep", "en").to_plotly_json()
    assert len(short["data"][0]["y"]) == 30 and "bottom" not in short["layout"]["title"]["text"].replace("<br>", " ")


def test_heatmap_shows_the_month_in_progress_uncoloured_on_a_colour_blind_safe_scale() -> None:
    from datetime import date

    table = pl.DataFrame({
        "group_label": ["East", "East"], "period_start": [date(2026, 5, 1), date(2026, 6, 1)],
        "partial": [False, True], "bookings": [1200.0, 0.0], "target": [1000.0, 1000.0], "attainment": [1.2, 0.0],
    })
    fig = ch.heatmap(table, "Team", "en")
    heat = fig.data[0]
    # May is done (120%, coloured); June runs: no colour (z empty) and its 0% said to be so far
    assert list(heat.z[0]) == [1.2, None]
    assert list(heat.text[0]) == ["120%", "0% so far"]
    assert list(heat.x) == ["May 2026", "Jun 2026<br>in progress"]
    colours = [c for _, c in heat.colorscale]
    assert not {"#dc2626", "#15803d", "#16a34a"} & set(colours)  # no red/green pair


def test_activity_target_is_a_legend_entry_not_a_label_on_the_bars() -> None:
    from datetime import date

    weekly = pl.DataFrame({"week": [date(2026, 6, 1), date(2026, 6, 8)], "type": ["call", "call"],
                           "per_rep": [8.0, 11.0]})
    fig = ch.activities_chart(weekly, 40 * 12 / 52, "en")
    line = fig.data[-1]
    assert line.name == "Target 9.2 a week" and list(line.y) == [40 * 12 / 52] * 2  # 480 a year / 52 weeks
    assert not fig.layout.annotations
