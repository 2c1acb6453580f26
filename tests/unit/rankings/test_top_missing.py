"""Top performers: a missing median says why (issue 16 item 2), on literal rep rows."""

from __future__ import annotations

import polars as pl

from saleslens.rankings import load as rl

# Three reps: A won 2 deals at $10,000 average, B won 1 at $4,000, C won none (no average deal size).
KPIS = pl.DataFrame({"rep_id": ["A", "B", "C"], "avg_deal_size": [10_000.0, 4_000.0, None],
                     "deals_won": [2, 1, 0], "activities_per_deal": [None, None, None]})


def test_values_from_too_few_deals_say_so() -> None:
    """A and B have a deal size, but from fewer than 5 deals won each: the median leaves them out."""
    assert rl.missing_reason(KPIS, "avg_deal_size", {"A", "B"}, 5, "en") == \
        "no data: each rep here has fewer than 5 deals won"


def test_no_won_deal_at_all_says_so() -> None:
    """C alone has no deal size: none won."""
    assert rl.missing_reason(KPIS, "avg_deal_size", {"C"}, 5, "en") == "no data: 0 deals won"
    assert rl.missing_reason(KPIS, "avg_deal_size", {"C"}, 5, "zh") == "无数据：0 笔赢单"


def test_a_measure_without_sample_has_no_value() -> None:
    """Activities per deal rests on no sample column; nobody has one."""
    assert rl.missing_reason(KPIS, "activities_per_deal", {"A", "B", "C"}, 5, "en") == \
        "no data: no rep here has a value"


def test_the_table_shows_the_reason_not_a_dash() -> None:
    """The rest's deal size is missing: its cell reads the reason; the difference stays a dash; a value shows."""
    comparison = pl.DataFrame({"group": ["per_rep", "per_rep"], "measure": ["avg_deal_size", "activities"],
                               "format": ["money", "count"], "top": [50_000.0, 12.0], "rest": [None, 10.0]})
    table = rl.per_rep_table(comparison, ("Top", "Rest"), "en",
                             {"avg_deal_size": ("", "no data: 0 deals won")})
    assert table["Rest"].to_list() == ["no data: 0 deals won", "10"]
    assert table["Difference"].to_list() == ["–", "+20%"]
