"""Scorecards: ranking with ties, normalisation, weighting, ramp adjustment and small-sample flags.

Pure functions are checked on literal frames; the SQL and the whole chain on tests/scorecard_fixtures.py.
Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from queries import runner as runner_mod
from queries.runner import Runner, Scope
from saleslens.core import access, periods, store
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import definitions as scorecard_defs
from saleslens.rankings import scorecards
from saleslens.rankings.scorecards import Definition
from tests import scorecard_fixtures as F

# ---------------------------------------------------------------- ranking


@pytest.mark.parametrize(
    ("values", "higher", "expected"),
    [
        # Two reps tie on 100: both rank 1, the next is 3 (rank 2 is skipped).
        ([100.0, 100.0, 60.0, 10.0], True, [1, 1, 3, 4]),
        # Lower is better (sales cycle): 30 and 30 tie for 1, 42.5 is 3rd, 63.3 4th.
        ([42.5, 30.0, 63.3, 30.0], False, [3, 1, 4, 1]),
        # No value: unranked, and it does not take a place from anyone.
        ([5.0, None, 7.0], True, [2, None, 1]),
        # Everyone equal: everyone first.
        ([3.0, 3.0, 3.0], True, [1, 1, 1]),
    ],
)
def test_rank_min(values: list, higher: bool, expected: list) -> None:
    """Equal values share the best rank and the next rank is skipped."""
    assert scorecards.rank_min(values, higher) == expected


def test_ranks_are_within_role() -> None:
    """An SDR and an AE with the same score both rank 1: they are not compared with each other."""
    frame = pl.DataFrame({"rep_id": ["a", "b", "c"], "role": ["AE", "AE", "SDR"], "score": [10.0, 20.0, 10.0]})
    ranked = scorecards.with_ranks(frame, "score")
    # AE: b 20 -> 1, a 10 -> 2; SDR: c alone -> 1.
    assert ranked["rank"].to_list() == [2, 1, 1]


def test_rank_change() -> None:
    """Change = previous rank - current rank: positive moved up, new reps have none."""
    now = pl.DataFrame({"rep_id": ["a", "b", "c"], "rank": [1, 2, 3]})
    before = pl.DataFrame({"rep_id": ["a", "b"], "rank": [3, 1]})
    out = scorecards.rank_change(now, before)
    # a: 3 -> 1 = +2; b: 1 -> 2 = -1; c: new.
    assert out["rank_change"].to_list() == [2, -1, None]
    assert out["prev_rank"].to_list() == [3, 1, None]


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("values", "higher", "expected"),
    [
        # n = 3: (peers below + half the other equal peers) / (n - 1) x 100.
        ([10.0, 20.0, 30.0], True, [0.0, 50.0, 100.0]),
        # Ties: 10 and 10 each have 0 below and 1 other equal -> 0.5 / 2 x 100 = 25.
        ([10.0, 10.0, 30.0], True, [25.0, 25.0, 100.0]),
        # Lower is better: the smallest value beats both others.
        ([10.0, 20.0, 30.0], False, [100.0, 50.0, 0.0]),
        # A lone value is the neutral 50; a missing one stays missing.
        ([7.0, None], True, [50.0, None]),
        # n = 4: 2 below -> 2 / 3 x 100 = 66.67.
        ([1.0, 2.0, 3.0, 4.0], True, [0.0, 100 / 3, 200 / 3, 100.0]),
    ],
)
def test_percentile_among(values: list, higher: bool, expected: list) -> None:
    """The share of peers a rep beats, ties counting half, on a 0-100 scale."""
    got = scorecards.percentile_among(values, higher)
    assert [None if g is None else pytest.approx(g) for g in got] == expected


PEERS = pl.DataFrame(
    {
        "rep_id": ["a", "b", "c", "d", "e"],
        "role": ["AE", "AE", "AE", "AE", "SDR"],
        "bookings": [90.0, 50.0, 200.0, 10.0, 0.0],
        "bookings_target": [100.0, None, 100.0, None, None],
        "attainment": [0.9, None, 2.0, None, None],
        "win_rate": [0.5, 0.25, 0.75, 1.0, None],
        "closed_deals": [8, 8, 8, 2, 0],
        "activities": [40, 10, 30, 20, 100],
    },
    schema_overrides={"bookings_target": pl.Float64, "attainment": pl.Float64},
)


def _by_rep(frame: pl.DataFrame, column: str) -> dict:
    return dict(zip(frame["rep_id"].to_list(), frame[column].to_list(), strict=True))


def test_normalise_by_own_target_else_percentile() -> None:
    """Bookings: a and c have targets (attainment, capped at 150%); b and d are ranked among the AEs."""
    out = scorecards.normalise(PEERS, "bookings")
    method, norm = _by_rep(out, "method"), _by_rep(out, "normalised")
    # a: 90 / 100 = 0.9 -> 90. c: 200 / 100 = 2.0, capped at 1.5 -> 150.
    assert (method["a"], norm["a"]) == ("target", pytest.approx(90.0))
    assert (method["c"], norm["c"]) == ("target", pytest.approx(150.0))
    # b and d: percentile among the 4 AEs' bookings (90, 50, 200, 10): b beats d -> 1 / 3 x 100; d beats none.
    assert (method["b"], norm["b"]) == ("percentile", pytest.approx(100 / 3))
    assert (method["d"], norm["d"]) == ("percentile", pytest.approx(0.0))
    # e is the only SDR: a lone peer is the neutral 50 (never compared with the AEs).
    assert (method["e"], norm["e"]) == ("percentile", pytest.approx(50.0))


def test_normalise_flags_small_samples() -> None:
    """Win rate: d won 1.0 from 2 closed deals, fewer than 5 -> flagged, scored 50, out of the others' base."""
    out = scorecards.normalise(PEERS, "win_rate")
    method, norm, flags = _by_rep(out, "method"), _by_rep(out, "normalised"), _by_rep(out, "flagged")
    assert (method["d"], norm["d"], flags["d"]) == ("neutral", 50.0, True)
    # Certain AE rates: a 0.5, b 0.25, c 0.75 (n = 3): a beats b -> 1 / 2 x 100 = 50; b 0; c 100.
    assert norm["a"] == pytest.approx(50.0)
    assert norm["b"] == pytest.approx(0.0)
    assert norm["c"] == pytest.approx(100.0)
    # e has no closed deal at all: no value, left out.
    assert (method["e"], norm["e"]) == ("missing", None)


def test_normalise_attainment_is_capped_attainment() -> None:
    """Attainment is normalised as itself x 100 (capped); without a target it is missing."""
    out = scorecards.normalise(PEERS, "attainment", cap=1.2)
    norm = _by_rep(out, "normalised")
    # a 0.9 -> 90; c 2.0 capped at 1.2 -> 120; b and d have no target -> missing.
    assert norm == {"a": pytest.approx(90.0), "b": None, "c": pytest.approx(120.0), "d": None, "e": None}


@pytest.mark.parametrize(("rating", "expected"), [(1, 0.0), (2, 25.0), (3, 50.0), (4, 75.0), (5, 100.0), (None, None)])
def test_normalise_rating(rating, expected) -> None:
    """Ratings map linearly: 1 -> 0, 3 -> 50, 5 -> 100."""
    assert scorecards.normalise_rating(rating) == expected


@pytest.mark.parametrize(("n", "flag"), [(0, True), (4, True), (5, False), (12, False)])
def test_small_sample_threshold(n: int, flag: bool) -> None:
    """Fewer than 5 closed deals flags a win rate; 5 or more does not."""
    frame = pl.DataFrame({"rep_id": ["x"], "role": ["AE"], "win_rate": [0.5], "closed_deals": [n]})
    assert scorecards.flagged(frame, "win_rate") == [flag]
    assert scorecards.flagged(frame, "win_rate", min_sample=3) == [n < 3]


# ---------------------------------------------------------------- weighting


def test_weighted_score_and_breakdown() -> None:
    """Score = sum of effective weight x normalised; missing KPIs are left out and the weights scale up."""
    definition = Definition("t", "AE", {"bookings": 60, "win_rate": 20, "activities": 20})
    scores, breakdown = scorecards.score(PEERS.filter(pl.col("role") == "AE"), definition)
    s = _by_rep(scores, "score")
    # Activities among the AEs (40, 10, 30, 20), no targets -> a 100, b 0, c 66.67, d 33.33.
    # a: bookings 90 (target), win rate 50, activities 100 -> 0.6 x 90 + 0.2 x 50 + 0.2 x 100 = 54 + 10 + 20 = 84.
    assert s["a"] == pytest.approx(84.0)
    # c: 150 (capped), 100, 66.67 -> 90 + 20 + 13.33 = 123.33.
    assert s["c"] == pytest.approx(90 + 20 + 40 / 3)
    # d: bookings percentile 0, win rate flagged -> 50, activities 33.33 -> 0 + 10 + 6.67 = 16.67.
    assert s["d"] == pytest.approx(10 + 20 / 3)
    a = breakdown.filter(pl.col("rep_id") == "a")
    assert a["kpi"].to_list() == ["bookings", "win_rate", "activities"]
    assert a["effective_weight"].to_list() == pytest.approx([0.6, 0.2, 0.2])
    assert a["contribution"].to_list() == pytest.approx([54.0, 10.0, 20.0])
    assert sum(a["contribution"].to_list()) == pytest.approx(s["a"])
    # Ranks: c 123.3 -> 1, a 84 -> 2, b, d after.
    assert _by_rep(scores, "rank")["c"] == 1
    assert _by_rep(scores, "rank")["a"] == 2


def test_missing_kpi_weight_is_spread_over_the_rest() -> None:
    """e (SDR) has no win rate: its weight goes to the other KPIs in proportion (60 : 20 -> 75% : 25%)."""
    definition = Definition("t", "SDR", {"bookings": 60, "win_rate": 20, "activities": 20})
    scores, breakdown = scorecards.score(PEERS.filter(pl.col("rep_id") == "e"), definition)
    e = breakdown.filter(pl.col("rep_id") == "e")
    # bookings 60 / 80 = 0.75, win rate 0 (missing), activities 20 / 80 = 0.25.
    assert e["effective_weight"].to_list() == pytest.approx([0.75, 0.0, 0.25])
    # A lone SDR is 50 on both: 0.75 x 50 + 0.25 x 50 = 50.
    assert scores["score"].to_list() == pytest.approx([50.0])
    assert scores["kpis_scored"].to_list() == [2]


def test_ratings_carry_a_weight() -> None:
    """A rating with a weight is part of the score: 4 -> 75."""
    definition = Definition("t", "AE", {"activities": 50, scorecards.rating_key("teamwork"): 50})
    frame = PEERS.filter(pl.col("rep_id").is_in(["a", "b"]))
    scores, breakdown = scorecards.score(frame, definition, {"a": {"teamwork": 4}})
    s = _by_rep(scores, "score")
    # a: activities 100 (beats b), teamwork 4 -> 75: 0.5 x 100 + 0.5 x 75 = 87.5.
    assert s["a"] == pytest.approx(87.5)
    # b: activities 0, not rated -> only activities counts: 0.
    assert s["b"] == pytest.approx(0.0)
    assert breakdown.filter(pl.col("rep_id") == "b")["method"].to_list() == ["percentile", "missing"]


def test_default_weights_per_role() -> None:
    """AE, SDR and CSM start from different weights; other roles fall back to the AE weights."""
    ae, sdr, csm = (scorecards.default_definition(r).active_weights() for r in ("AE", "SDR", "CSM"))
    assert ae != sdr != csm
    assert "attainment" in ae and "lead_conversion" in sdr and scorecards.rating_key("customer_satisfaction") in csm
    assert scorecards.default_definition("Manager").active_weights() == ae


# ---------------------------------------------------------------- ramp


def test_ramp_adjust_sums_adjusted_periods() -> None:
    """A3 (hired 1 Jul) has 20,000 a month: 5,000 + 10,000 + 15,000 = 30,000 of a full 60,000."""
    targets = F.TARGETS.filter((pl.col("owner_id").is_in(["A1", "A3"])) & (pl.col("metric") == "bookings")
                               & (pl.col("period_start") >= date(2026, 7, 1))).join(
        F.REPS.select(pl.col("rep_id").alias("owner_id"), "hire_date"), on="owner_id"
    ).rename({"owner_id": "rep_id"})
    out = scorecards.ramp_adjust(targets)
    rows = {r["rep_id"]: r for r in out.iter_rows(named=True)}
    assert rows["A3"]["target"] == pytest.approx(30000.0)
    assert rows["A3"]["target_full"] == pytest.approx(60000.0)
    assert rows["A3"]["ramp_factor"] == pytest.approx(0.5)
    # A1 was hired in 2022: 3 x 30,000 = 90,000, unadjusted.
    assert rows["A1"]["target"] == pytest.approx(90000.0)
    assert rows["A1"]["ramp_factor"] == pytest.approx(1.0)


# ---------------------------------------------------------------- leaderboard


def test_leaderboard_leaves_uncertain_rates_unranked() -> None:
    """By win rate: d's 100% from 2 deals is not ranked; the others rank c, a, b; d comes last."""
    board = scorecards.leaderboard(PEERS.filter(pl.col("role") == "AE"), "win_rate")
    assert board["rep_id"].to_list() == ["c", "a", "b", "d"]
    assert board["rank"].to_list() == [1, 2, 3, None]
    assert board["flagged"].to_list() == [False, False, False, True]


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("2026Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2026-q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2025Q4", (date(2025, 10, 1), date(2025, 12, 31))),
    ],
)
def test_parse_quarter(text: str, bounds: tuple) -> None:
    """Quarters are written like 2026Q3."""
    assert scorecards.parse_quarter(text) == bounds


@pytest.mark.parametrize("bad", ["2026Q5", "Q3 2026", "", "2026-07"])
def test_parse_quarter_rejects(bad: str) -> None:
    """Anything else is a one-line error naming the expected form."""
    with pytest.raises(ValueError, match="2026Q3"):
        scorecards.parse_quarter(bad)


def test_previous_quarter_and_periods() -> None:
    """The quarter before Q1 is Q4 of the year before; periods of equal length go back in time."""
    assert scorecards.previous_quarter("2026Q1") == "2025Q4"
    assert scorecard_data.previous_periods(*F.Q3, 2) == [(date(2026, 1, 1), date(2026, 3, 31)), F.Q2]


# ---------------------------------------------------------------- SQL and the whole chain


@pytest.fixture(params=["derived stored", "derived computed"])
def sc_runner(tmp_path: Path, request: pytest.FixtureRequest) -> Runner:
    """A runner over the scorecard fixture dataset, with the derived tables (rollups) written or computed as views."""
    snap = F.build_store(tmp_path)
    if request.param == "derived stored":
        runner_mod.build_derived(snap)
    runner = Runner(store.open_snapshot(tmp_path))
    yield runner
    runner.close()


# 21 Jun - 30 Sep holds the same closes, creations, activities, moves, leads and targets as 2026Q3 (the last
# June event is A1's call on 20 Jun), but is not whole months: the queries count it from the raw events, Q3
# from the monthly rollups. The same expected values hold for both.
Q3_BY_DAY = (date(2026, 6, 21), date(2026, 9, 30))
PERIODS = pytest.mark.parametrize("period", [F.Q3, Q3_BY_DAY], ids=["whole months", "by day"])


@PERIODS
def test_kpis_by_rep_from_sql(sc_runner: Runner, period: tuple[date, date]) -> None:
    """Per-rep KPIs for 2026Q3, each worked out from tests/scorecard_fixtures.py."""
    k = scorecard_data.kpis(sc_runner, *period)
    rows = {r["rep_id"]: r for r in k.iter_rows(named=True)}
    # X1 left in May: not employed in Q3, so not listed.
    assert "X1" not in rows
    a1, a2, a3, a4 = rows["A1"], rows["A2"], rows["A3"], rows["A4"]
    # A1 won 10,000 + 20,000 + 30,000 + 40,000 = 100,000 from 4 wins, 2 losses -> 4 / 6.
    assert (a1["bookings"], a1["deals_won"], a1["deals_lost"]) == (100000.0, 4, 2)
    assert a1["win_rate"] == pytest.approx(4 / 6)
    # Cycles 30 (1 Jun - 1 Jul), 50 (11 Jun - 31 Jul), 40 (1 Jul - 10 Aug), 50 (10 Jul - 29 Aug) -> 42.5.
    assert a1["cycle_days"] == pytest.approx(42.5)
    # A4: 40 + 60 + 90 = 190 / 3.
    assert a4["cycle_days"] == pytest.approx(190 / 3)
    # New logos: A1 AC1, AC2, AC3 (AC8 was first won in Q2); A2 AC5, AC6 (AC9 in Q2); A3 AC10 once;
    # A4 AC11, AC12 (AC7 in Q2); C1's AC1 win came after A1's.
    assert [rows[r]["new_logos"] for r in ("A1", "A2", "A3", "A4", "C1")] == [3, 2, 1, 2, 0]
    # Pipeline created in Q3, owned: A1 O103-O106 (30,000 + 40,000 + 15,000 + 15,000) + O110 50,000
    # + O111 25,000 = 175,000. Sourced: S1's converted leads O103 30,000 + O104 40,000 + O202 20,000
    # + O403 40,000 = 130,000.
    assert a1["pipeline_created"] == 175000.0
    assert rows["S1"]["pipeline_created"] == 130000.0
    # Activities: A1 4 calls, 4 emails, 2 meetings, 2 demos = 12 on 3 deals -> 4 a deal; the June call is out.
    assert (a1["activities"], a1["calls"], a1["demos"], a1["activities_per_deal"]) == (12, 4, 2, 4.0)
    # Conversion: A1 moves out of open stages in Q3: 5, of which 4 forward (O105 to lost is not) -> 0.8.
    # A2: 6 moves, 3 forward (to lost twice, and O206 back from Proposal to Qualification) -> 0.5.
    assert (a1["stage_exits"], a1["forward_moves"], a1["conversion"]) == (5, 4, 0.8)
    assert (a2["stage_exits"], a2["forward_moves"], a2["conversion"]) == (6, 3, 0.5)
    # Leads: S1 4 of 10 converted; S2 1 of 6.
    assert rows["S1"]["lead_conversion"] == pytest.approx(0.4)
    assert rows["S2"]["lead_conversion"] == pytest.approx(1 / 6)
    # Targets: A1 3 x 30,000 = 90,000 -> 100,000 / 90,000; A3 ramped 30,000 -> 10,000 / 30,000.
    assert a1["attainment"] == pytest.approx(100000 / 90000)
    assert (a3["bookings_target"], a3["bookings_target_full"]) == (30000.0, 60000.0)
    assert a3["attainment"] == pytest.approx(1 / 3)


@PERIODS
def test_conversion_by_stage_from_sql(sc_runner: Runner, period: tuple[date, date]) -> None:
    """A1's moves out of each stage: Prospecting 2 / 2 forward, Qualification 1 / 2, Proposal 1 / 1."""
    by_stage = scorecard_data.conversion_by_stage(sc_runner, *period).filter(pl.col("rep_id") == "A1")
    assert by_stage.select("stage", "exits", "forward").rows() == [
        ("Prospecting", 2, 2), ("Qualification", 2, 1), ("Proposal", 1, 1)]


def test_ae_scores_end_to_end(sc_runner: Runner) -> None:
    """The standard AE scorecard on Q3 (weights 35 attainment, 15 win rate, 10 new logos, 15 pipeline,
    10 activities, 15 conversion), worked out per rep.

    Percentiles among the 4 AEs: pipeline 175k/100k/25k/56k -> A1 100, A2 66.7, A3 0, A4 33.3;
    activities 12/8/3/10 (A1 has a target: 12 / 15 = 80) -> A2 33.3, A3 0, A4 66.7; new logos 3/2/1/2
    (A1 has a target: 3 / 3 = 100) -> A2 and A4 (0.5 + 1) / 3 = 50, A3 0. Win rate and conversion
    among the certain A1, A2, A4 (A3 has 2 closed deals, 2 moves: scored 50): win rate .667/.5/.6 ->
    100, 0, 50; conversion .8/.5/.6 -> 100, 0, 50.
    """
    scored = scorecard_data.scored_with_change(sc_runner, *F.Q3, scorecards.default_definition("AE"))
    s = _by_rep(scored.scores, "score")
    # A1: .35 x 111.1 + .15 x 100 + .10 x 100 + .15 x 100 + .10 x 80 + .15 x 100 = 38.89 + 63 = 101.89.
    assert s["A1"] == pytest.approx(0.35 * 1000 / 9 + 15 + 10 + 15 + 8 + 15)
    # A2: .35 x 66.7 + 0 + .10 x 50 + .15 x 66.7 + .10 x 33.3 + 0 = 23.33 + 5 + 10 + 3.33 = 41.67.
    assert s["A2"] == pytest.approx(0.35 * 200 / 3 + 5 + 10 + 10 / 3)
    # A3: .35 x 33.3 + .15 x 50 + 0 + 0 + 0 + .15 x 50 = 11.67 + 7.5 + 7.5 = 26.67.
    assert s["A3"] == pytest.approx(0.35 * 100 / 3 + 7.5 + 7.5)
    # A4: .35 x 83.3 + .15 x 50 + .10 x 50 + .15 x 33.3 + .10 x 66.7 + .15 x 50 = 60.83.
    assert s["A4"] == pytest.approx(0.35 * 250 / 3 + 7.5 + 5 + 5 + 20 / 3 + 7.5)
    assert _by_rep(scored.scores, "rank") == {"A1": 1, "A4": 2, "A2": 3, "A3": 4}
    # A3 carries two uncertain KPIs (win rate, conversion) and was not employed in Q2: no previous rank.
    assert _by_rep(scored.scores, "flags")["A3"] == 2
    assert _by_rep(scored.scores, "prev_rank")["A3"] is None


def test_leaderboard_by_bookings_with_ties_and_change(sc_runner: Runner) -> None:
    """Q3 bookings: A1 and A4 100,000 tie at 1, A2 60,000 3rd, A3 10,000 4th.

    Q2: A2 50,000 (1), A4 30,000 (2), A1 20,000 (3); A3 was not there. Changes: A1 +2, A4 +1, A2 -2.
    """
    now = scorecard_data.kpis(sc_runner, *F.Q3).filter(pl.col("role") == "AE")
    before = scorecard_data.kpis(sc_runner, *F.Q2).filter(pl.col("role") == "AE")
    board = scorecards.leaderboard(now, "bookings", before)
    rows = {r["rep_id"]: (r["rank"], r["rank_change"]) for r in board.iter_rows(named=True)}
    assert rows == {"A1": (1, 2), "A4": (1, 1), "A2": (3, -2), "A3": (4, None)}


def test_peer_position_and_strengths(sc_runner: Runner) -> None:
    """A2 against the AEs: pipeline created above the median, win rate and conversion at the bottom."""
    kpis = scorecard_data.kpis(sc_runner, *F.Q3).filter(pl.col("role") == "AE")
    pos = scorecards.peer_position(kpis, "A2")
    row = {r["kpi"]: r for r in pos.iter_rows(named=True)}
    # Bookings of the 4 AEs 100k, 60k, 10k, 100k: median (60k + 100k) / 2 = 80k; A2 beats A3 -> 33.3.
    assert row["bookings"]["peer_median"] == 80000.0
    assert row["bookings"]["percentile"] == pytest.approx(100 / 3)
    # A2's target is 90,000 (3 x 30,000).
    assert row["bookings"]["target"] == 90000.0
    strong, weak = scorecards.strengths_weaknesses(pos)
    # Above 50: pipeline created 66.7 only. Below 50, lowest first: conversion 0, win rate 0 (by name),
    # then activities, attainment, bookings at 33.3 (by name).
    assert strong == ["pipeline_created"]
    assert weak == ["conversion", "win_rate", "activities"]


def test_top_quartile_against_the_rest(sc_runner: Runner) -> None:
    """With 4 scored AEs the top quartile is A1 alone; its activity mix and conversions against the rest."""
    scored = scorecard_data.score_period(sc_runner, *F.Q3, scorecards.default_definition("AE"))
    by_stage = scorecard_data.conversion_by_stage(sc_runner, *F.Q3)
    top, cmp = scorecard_data.top_performers(scored, by_stage, 5)
    assert top == {"A1"}
    row = {(r["group"], r["measure"]): r for r in cmp.iter_rows(named=True)}
    # Calls: A1 4 of 12 = 0.333; the rest (6 + 2 + 2) of (8 + 3 + 10) = 10 / 21.
    assert row[("activity_mix", "call")]["top"] == pytest.approx(4 / 12)
    assert row[("activity_mix", "call")]["rest"] == pytest.approx(10 / 21)
    # Activities per deal: A1 4.0; rest A2 2.0, A3 3.0, A4 2.0 -> median 2.0.
    assert (row[("per_rep", "activities_per_deal")]["top"], row[("per_rep", "activities_per_deal")]["rest"]) == (
        4.0, 2.0)
    # Qualification: A1 1 forward of 2; the rest A2 0 of 1 + A4 1 of 2 -> 1 / 3.
    assert row[("stage", "Qualification")]["top"] == pytest.approx(0.5)
    assert row[("stage", "Qualification")]["rest"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(("n", "k"), [(3, 0), (4, 1), (5, 2), (8, 2), (9, 3)])
def test_top_quartile_size(n: int, k: int) -> None:
    """ceil(n / 4) best reps; fewer than 4 scored reps is too few to compare."""
    scores = pl.DataFrame({"rep_id": [str(i) for i in range(n)], "score": [float(i) for i in range(n)]})
    assert len(scorecards.top_quartile(scores)) == k


def test_top_quartile_keeps_ties() -> None:
    """A rep tied with the last of the top quartile is in it too."""
    scores = pl.DataFrame({"rep_id": list("abcd"), "score": [90.0, 90.0, 50.0, 10.0]})
    assert scorecards.top_quartile(scores) == {"a", "b"}


# ---------------------------------------------------------------- saved definitions


ANALYST = access.User("ana", "Ana", "analyst")


def test_definitions_round_trip(tmp_path: Path) -> None:
    """A named definition is saved in the database with its owner and read back the same."""
    d = Definition("AE focus on pipeline", "AE", {"pipeline_created": 50, "attainment": 50}, (0.5,), 4, 1.2)
    scorecard_defs.save(tmp_path, d, who=ANALYST)
    assert [(i.name, i.owner, i.version) for i in scorecard_defs.saved_items(tmp_path)] == [
        ("AE focus on pipeline", "ana", 1)]
    loaded = scorecard_defs.get(tmp_path, "AE focus on pipeline", "AE")
    assert loaded == d and loaded.weights == d.weights
    assert [x.name for x in scorecard_defs.load_all(tmp_path, "SDR")] == []
    assert scorecard_defs.delete(tmp_path, "AE focus on pipeline", who=ANALYST)
    assert scorecard_defs.load_all(tmp_path) == []


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (Definition("", "AE", {"bookings": 1}), "name"),
        (Definition("x", "AE", {"bookings": 0}), "at least one"),
        (Definition("x", "AE", {"bookings": 101}), "0 to 100"),
        (Definition("x", "AE", {"nonsense": 5}), "unknown"),
        (Definition("default:AE", "AE", {"bookings": 5}), "built-in"),
        (Definition("x", "AE", {"bookings": 5}, (1.5,)), "ramp"),
    ],
)
def test_bad_definitions_are_refused(tmp_path: Path, definition: Definition, message: str) -> None:
    """Each bad definition gets a clear message and nothing is written."""
    with pytest.raises(scorecard_defs.DefinitionError, match=message):
        scorecard_defs.save(tmp_path, definition, who=ANALYST)
    assert scorecard_defs.load_all(tmp_path) == []


def test_non_ascii_names_are_distinct(tmp_path: Path) -> None:
    """Chinese names are kept as names, each its own scorecard."""
    scorecard_defs.save(tmp_path, Definition("销售计分卡", "AE", {"bookings": 1}), who=ANALYST)
    scorecard_defs.save(tmp_path, Definition("客户计分卡", "AE", {"bookings": 1}), who=ANALYST)
    assert sorted(d.name for d in scorecard_defs.load_all(tmp_path)) == sorted(["销售计分卡", "客户计分卡"])


# ---------------------------------------------------------------- several periods in one query, row scope


@PERIODS
def test_whole_months_and_days_give_the_same_frame(sc_runner: Runner, period: tuple[date, date]) -> None:
    """The rollup path (Q3) and the raw path (21 Jun - 30 Sep) agree on every column and row."""
    by_month = scorecard_data.kpis(sc_runner, *F.Q3)
    assert scorecard_data.kpis(sc_runner, *period).equals(by_month)
    assert scorecard_data.conversion_by_stage(sc_runner, *period).equals(
        scorecard_data.conversion_by_stage(sc_runner, *F.Q3))


@pytest.mark.parametrize("period", [F.Q3, Q3_BY_DAY, (date(2026, 9, 1), date(2026, 9, 30)),
                                    (date(2025, 9, 1), date(2026, 9, 30))],
                         ids=["quarter", "by day", "month", "thirteen months (raw, shifted by months)"])
def test_periods_in_one_query_match_one_query_each(sc_runner: Runner, period: tuple[date, date]) -> None:
    """$periods = 4 returns the periods of Filters.previous, each with the rows of its own query."""
    many = sc_runner.run("scorecard_kpis_by_rep", start=period[0], end=period[1], periods=4)
    spans = scorecard_data.Window(*period, 4).spans()
    assert sorted(set(many.select("period_start", "period_end").rows())) == spans
    for s, e in spans:
        one = sc_runner.run("scorecard_kpis_by_rep", start=s, end=e)
        assert many.filter(pl.col("period_start") == s).equals(one)
        # and through kpis(): the window's result, narrowed, equals the period on its own
        window = scorecard_data.Window(*period, 4)
        assert scorecard_data.kpis(sc_runner, s, e, within=window).equals(scorecard_data.kpis(sc_runner, s, e))


def test_window_serves_history_and_scores_from_one_query(sc_runner: Runner) -> None:
    """History, score history and the scored period with its change read one KPI query for the window."""
    calls: list[tuple[str, dict]] = []

    class Counting:
        def run(self, name: str, **params: object) -> pl.DataFrame:
            calls.append((name, params))
            return sc_runner.run(name, **params)

    window = scorecard_data.Window(*F.Q3, 4)
    definition = scorecards.default_definition("AE")
    hist = scorecard_data.history(Counting(), *F.Q3, 4, within=window)
    scored = scorecard_data.scored_with_change(Counting(), *F.Q3, definition, within=window)
    scorecard_data.score_history(Counting(), *F.Q3, 4, definition, within=window)
    kpi_calls = {tuple(sorted((k, str(v)) for k, v in p.items())) for n, p in calls if n == "scorecard_kpis_by_rep"}
    assert len(kpi_calls) == 1
    # Same values as without the window: Q3 bookings of A1 100,000; A1 first by score (101.89, see above).
    assert hist.filter((pl.col("rep_id") == "A1") & (pl.col("period_start") == F.Q3[0]))["bookings"].item() == 100000
    assert scored.scores.equals(scorecard_data.scored_with_change(sc_runner, *F.Q3, definition).scores)


@PERIODS
def test_scoped_runner_sees_its_reps_with_the_same_numbers(sc_runner: Runner, period: tuple[date, date]) -> None:
    """A rep who sees only themself gets their own row, equal to the organisation's view of them."""
    everyone = scorecard_data.kpis(sc_runner, *period).filter(pl.col("rep_id") == "A1")
    scoped = Runner(sc_runner.snapshot, Scope("rep:A1", frozenset({"A1"})))
    try:
        mine = scorecard_data.kpis(scoped, *period)
        assert mine["rep_id"].to_list() == ["A1"]
        assert mine.equals(everyone)
        conv = scorecard_data.conversion_by_stage(scoped, *period)
        assert set(conv["rep_id"].to_list()) == {"A1"}
    finally:
        scoped.close()
    nobody = Runner(sc_runner.snapshot, Scope("none", frozenset()))
    try:
        assert scorecard_data.kpis(nobody, *period).is_empty()
    finally:
        nobody.close()


def test_ramp_rows_apply_ramp_factor_to_every_row() -> None:
    """The vectorised ramp equals ramp_factor row by row: hired mid-month, before, after, long ago, no date."""
    hires = [date(2026, 7, 1), date(2026, 7, 15), date(2026, 5, 20), date(2026, 9, 1), date(2020, 1, 1), None,
             date(2026, 6, 30)]
    starts = [date(2026, 7, 1), date(2026, 8, 1), date(2026, 7, 1), date(2026, 7, 1), date(2026, 7, 1),
              date(2026, 7, 1), date(2026, 9, 1)]
    frame = pl.DataFrame({"hire_date": hires, "period_start": starts, "value": [100.0] * len(hires)},
                         schema_overrides={"hire_date": pl.Date})
    # By hand, calendar months with the hire month first: Jul 1 -> Jul month 1; Jul 15 -> Aug 2; May 20 -> Jul 3;
    # Sep 1 -> Jul before the hire, counted as 1; 2020 -> full; no date -> full; Jun 30 -> Sep 4, full.
    assert scorecards.ramp_rows(frame)["factor"].to_list() == [0.25, 0.5, 0.75, 0.25, 1.0, 1.0, 1.0]
    for ramp in (scorecards.DEFAULT_RAMP, (), (0.2, 0.4, 0.6, 0.8)):
        got = scorecards.ramp_rows(frame, ramp)
        expected = [periods.ramp_factor(h, p, ramp) for h, p in zip(hires, starts, strict=True)]
        assert got["factor"].to_list() == expected
        assert got["adjusted"].to_list() == [100.0 * x for x in expected]


# ---------------------------------------------------------------- deals touched across months (rollup vs raw)

# A2 calls on O201 in May, Jul, Aug and Sep; on O202 in Sep; on O203 in May and Sep; and one email on no deal
# in Aug. Only these activities are in this store.
_TOUCHES = [("O201", "2026-05-10"), ("O201", "2026-07-05"), ("O201", "2026-08-05"), ("O201", "2026-09-05"),
            ("O202", "2026-09-10"), ("O203", "2026-05-20"), ("O203", "2026-09-20"), (None, "2026-08-01")]


@pytest.fixture(params=["derived stored", "derived computed"])
def touch_runner(tmp_path: Path, request: pytest.FixtureRequest) -> Runner:
    """The scorecard dataset with A2's activities across months as its only activities."""
    acts = pl.DataFrame({
        "activity_id": [f"T{i}" for i in range(len(_TOUCHES))], "rep_id": ["A2"] * len(_TOUCHES),
        "opportunity_id": [d for d, _ in _TOUCHES], "account_id": [None] * len(_TOUCHES),
        "type": ["call"] * 7 + ["email"],
        "occurred_at": [datetime.fromisoformat(f"{day}T10:00:00") for _, day in _TOUCHES],
    }, schema_overrides={"opportunity_id": pl.String, "account_id": pl.String})
    store.write_events(tmp_path, "activities", acts)
    store.write_events(tmp_path, "stage_changes", F.STAGE_CHANGES)
    snap = store.publish_snapshot(tmp_path, F.AS_OF, F.tables(), source="touch tests")
    if request.param == "derived stored":
        runner_mod.build_derived(snap)
    runner = Runner(store.open_snapshot(tmp_path))
    yield runner
    runner.close()


def test_monthly_rollup_counts_first_touches(touch_runner: Runner) -> None:
    """touch_new_<j>: the month's deals A2 had not touched in the j - 1 months before (13: none in a year)."""
    cols = ", ".join(f"touch_new_{j}" for j in range(1, 13))
    cur = touch_runner._db.cursor()
    try:
        rows = cur.sql(f"select month, activities, deal_activities, [{cols}] from rep_kpis_by_month "
                       "where rep_id = 'A2' and activities > 0 order by month").fetchall()
    finally:
        cur.close()
    assert rows == [
        # May: O201 and O203, both first touches.
        (date(2026, 5, 1), 2, 2, [2] * 12),
        # Jul: O201, last touched 2 months before.
        (date(2026, 7, 1), 1, 1, [1, 1] + [0] * 10),
        # Aug: O201 a month after; the email is on no deal.
        (date(2026, 8, 1), 2, 1, [1] + [0] * 11),
        # Sep: O201 (1 month), O202 (first), O203 (4 months since May).
        (date(2026, 9, 1), 3, 3, [3, 2, 2, 2] + [1] * 8),
    ]


def test_daily_rollups_keep_each_touch_with_the_previous_day(touch_runner: Runner) -> None:
    """rep_deal_touch_days: one row per rep, deal and day with the rep's previous day on the deal;
    rep_kpis_by_day: A2's activities and deal activities per day."""
    d = date.fromisoformat
    cur = touch_runner._db.cursor()
    try:
        touches = cur.sql("select day, prev_day from rep_deal_touch_days where rep_id = 'A2' order by day").fetchall()
        days = cur.sql("select day, activities, deal_activities from rep_kpis_by_day "
                       "where rep_id = 'A2' and activities > 0 order by day").fetchall()
    finally:
        cur.close()
    # O201 10 May, 5 Jul, 5 Aug, 5 Sep; O202 10 Sep; O203 20 May, 20 Sep.
    assert touches == [(d("2026-05-10"), None), (d("2026-05-20"), None), (d("2026-07-05"), d("2026-05-10")),
                       (d("2026-08-05"), d("2026-07-05")), (d("2026-09-05"), d("2026-08-05")),
                       (d("2026-09-10"), None), (d("2026-09-20"), d("2026-05-20"))]
    assert days == [(d("2026-05-10"), 1, 1), (d("2026-05-20"), 1, 1), (d("2026-07-05"), 1, 1),
                    (d("2026-08-01"), 1, 0), (d("2026-08-05"), 1, 1), (d("2026-09-05"), 1, 1),
                    (d("2026-09-10"), 1, 1), (d("2026-09-20"), 1, 1)]


@pytest.mark.parametrize(("period", "expected"), [
    # Q3 and its day-by-day twin: O201 x3, O202, O203 = 5 deal activities on 3 deals.
    (F.Q3, (6, 5 / 3)), (Q3_BY_DAY, (6, 5 / 3)),
    # Aug-Sep and 6 Jul - 30 Sep: O201 x2, O202, O203 = 4 on 3 deals.
    ((date(2026, 8, 1), date(2026, 9, 30)), (5, 4 / 3)), ((date(2026, 7, 6), date(2026, 9, 30)), (5, 4 / 3)),
    # Sep alone: 3 on 3; Q2: O201 and O203 in May, 2 on 2.
    ((date(2026, 9, 1), date(2026, 9, 30)), (3, 1.0)), (F.Q2, (2, 1.0)),
    # Twelve months (the longest the rollup serves) and thirteen (raw): all 8, 7 on 3 deals.
    ((date(2025, 10, 1), date(2026, 9, 30)), (8, 7 / 3)), ((date(2025, 9, 1), date(2026, 9, 30)), (8, 7 / 3)),
])
def test_deals_touched_over_months(touch_runner: Runner, period: tuple[date, date],
                                   expected: tuple[int, float]) -> None:
    """Activities per deal counts each deal once per period, from the rollup (whole months) or the raw log."""
    row = scorecard_data.kpis(touch_runner, *period).filter(pl.col("rep_id") == "A2").row(0, named=True)
    assert (row["activities"], row["activities_per_deal"]) == (expected[0], pytest.approx(expected[1]))
    # The same period read within a window of four gives the same numbers.
    window = scorecard_data.Window(*period, 4)
    again = scorecard_data.kpis(touch_runner, *period, within=window).filter(pl.col("rep_id") == "A2")
    assert again.row(0, named=True) == row


@PERIODS
def test_scoped_rollups_count_only_visible_deals(sc_runner: Runner, period: tuple[date, date]) -> None:
    """Row scope on the rollups: credit and first wins are taken over the deals the viewer may see.

    S1 sourced O103 30,000 and O104 40,000 (A1's), O202 20,000 (A2's) and O403 40,000 (A4's): seeing S1 and
    A1, S1's pipeline is 70,000 (130,000 for everyone). C1 won AC1 after A1 did: for everyone not a new logo,
    but seeing C1 alone it is AC1's first visible win.
    """
    def row(ids: set[str], rep: str) -> dict:
        scoped = Runner(sc_runner.snapshot, Scope("test", frozenset(ids)))
        try:
            frame = scorecard_data.kpis(scoped, *period)
            assert set(frame["rep_id"].to_list()) <= ids
            return frame.filter(pl.col("rep_id") == rep).row(0, named=True)
        finally:
            scoped.close()

    everyone = {r["rep_id"]: r for r in scorecard_data.kpis(sc_runner, *period).iter_rows(named=True)}
    assert (everyone["S1"]["pipeline_created"], everyone["S1"]["deals_created"]) == (130000.0, 4)
    s1 = row({"S1", "A1"}, "S1")
    assert (s1["pipeline_created"], s1["deals_created"]) == (70000.0, 2)
    assert row({"S1", "A1"}, "A1") == everyone["A1"]
    assert everyone["C1"]["new_logos"] == 0
    assert row({"C1"}, "C1")["new_logos"] == 1
