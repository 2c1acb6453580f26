"""Leaderboard figures on literal inputs: a long list keeps its two ends, the order stays best at the top."""

from __future__ import annotations

import polars as pl

from saleslens.rankings import charts as lbc

N = 100


def _board() -> pl.DataFrame:
    """100 reps ranked 1..100 by bookings 100,000 .. 1,000 (best first, as scorecards.leaderboard sorts)."""
    return pl.DataFrame({
        "rep_id": [f"R{i:03d}" for i in range(1, N + 1)], "name": [f"Rep {i}" for i in range(1, N + 1)],
        "rank": list(range(1, N + 1)), "value": [float((N + 1 - i) * 1000) for i in range(1, N + 1)],
        "flagged": [False] * N,
    })


def test_ranking_of_a_long_list_shows_the_top_and_bottom_15() -> None:
    fig = lbc.kpi_ranking(_board(), "bookings", "en").to_plotly_json()
    labels = list(fig["data"][0]["y"])
    # bars are listed bottom-up: the worst shown (#100) first, the best (#1) last, so #1 is at the top
    assert labels == [f"#{r} Rep {r}" for r in range(100, 85, -1)] + [f"#{r} Rep {r}" for r in range(15, 0, -1)]
    title = fig["layout"]["title"]["text"].replace("<br>", " ")  # long titles wrap for phones
    assert title.endswith("the top 15 and bottom 15 of 100 (all in the table)")


def test_ranking_of_a_short_list_shows_everyone() -> None:
    fig = lbc.kpi_ranking(_board().head(30), "bookings", "en").to_plotly_json()
    assert list(fig["data"][0]["y"]) == [f"#{r} Rep {r}" for r in range(30, 0, -1)]
    assert "bottom" not in fig["layout"]["title"]["text"].replace("<br>", " ")


def test_score_stack_of_a_long_list_shows_the_highest_and_lowest_scores() -> None:
    board = _board()
    scores = board.select("rep_id", "name", "rank", score=pl.col("value") / 1000)
    breakdown = scores.select("rep_id", kpi=pl.lit("bookings"), contribution=pl.col("score"))
    figure = lbc.score_stack(scores, breakdown, "en")
    fig = figure.to_plotly_json()
    assert list(figure.data[0].y) == [f"#{r} Rep {r}" for r in range(100, 85, -1)] + \
        [f"#{r} Rep {r}" for r in range(15, 0, -1)]
    assert list(figure.data[0].x)[-1] == 100.0  # the best score, at the top
    assert "the top 15 and bottom 15 of 100" in fig["layout"]["title"]["text"].replace("<br>", " ")
