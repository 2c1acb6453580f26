"""saleslens.targets.forecast: the one forecast, on literal rows and on the literal store of tests/targets_fixtures.py.

Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.cli import main as cli_main
from saleslens.core import i18n, store
from saleslens.core.filters import Filters
from saleslens.rankings import review
from saleslens.targets import data as td
from saleslens.targets import forecast as fm
from saleslens.targets import load as tl
from saleslens.whatif import load as wl
from tests import support
from tests import targets_fixtures as fx

D = date
Q2 = (D(2026, 4, 1), D(2026, 6, 30))


# ---------------------------------------------------------------- learning on literal rows


def _train(rows: list[tuple[str, str, float, bool]]) -> pl.DataFrame:
    """Learning rows: stage, owner_id, amount, won."""
    return pl.DataFrame(rows, schema={"stage": pl.String, "owner_id": pl.String, "amount": pl.Float64,
                                      "won": pl.Boolean}, orient="row")


TRAIN = _train([
    ("A", "X", 100.0, True), ("A", "X", 100.0, True), ("A", "X", 100.0, False),
    ("A", "Y", 100.0, False),
    ("B", "X", 100.0, False), ("B", "X", 100.0, False),
])


def test_fit_shrinks_each_cell_toward_its_parent() -> None:
    model = fm.fit(TRAIN, levels=("stage", "owner_id"), prior=2.0)
    # Equal amounts: every row weighs 1. Overall 2 wins of 6 rows = 1/3.
    assert model.root == pytest.approx(1 / 3)
    stage = {r["stage"]: r["p"] for r in model.tables[0].iter_rows(named=True)}
    # A: (2 wins + 2 x 1/3) / (4 rows + 2) = 4/9; B: (0 + 2/3) / (2 + 2) = 1/6.
    assert stage["A"] == pytest.approx(4 / 9) and stage["B"] == pytest.approx(1 / 6)
    owner = {(r["stage"], r["owner_id"]): r["p"] for r in model.tables[1].iter_rows(named=True)}
    # (A, X): (2 + 2 x 4/9) / (3 + 2) = 26/45; (A, Y): (0 + 8/9) / (1 + 2) = 8/27; (B, X): (0 + 1/3) / 4 = 1/12.
    assert owner[("A", "X")] == pytest.approx(26 / 45)
    assert owner[("A", "Y")] == pytest.approx(8 / 27)
    assert owner[("B", "X")] == pytest.approx(1 / 12)


def test_predict_uses_the_deepest_cell_seen_and_the_parent_otherwise() -> None:
    model = fm.fit(TRAIN, levels=("stage", "owner_id"), prior=2.0)
    rows = pl.DataFrame({"stage": ["A", "A", "C"], "owner_id": ["X", "Z", "X"]})
    p = fm.predict(model, rows)["probability"].to_list()
    # A/X learned; a new owner Z in A gets stage A's 4/9; an unknown stage C gets the overall 1/3.
    assert p == pytest.approx([26 / 45, 4 / 9, 1 / 3])


def test_fit_learns_by_value() -> None:
    # A 300 win and a 100 loss: weights 1.5 and 0.5 (amount / mean 200). With no shrinkage the rate is the
    # share of value won, 300 / 400 = 0.75, not the share of deals (0.5).
    model = fm.fit(_train([("A", "X", 300.0, True), ("A", "X", 100.0, False)]), levels=("stage",), prior=0.0)
    assert model.tables[0]["p"][0] == pytest.approx(0.75)
    assert model.tables[0]["n"][0] == pytest.approx(2.0)


def test_fit_by_count_counts_each_deal_once() -> None:
    # The same two rows counted: one win of two deals, 0.5 whatever their amounts, and n = 2 deals.
    rows = _train([("A", "X", 300.0, True), ("A", "X", 100.0, False)])
    model = fm.fit(rows, levels=("stage",), prior=0.0, weighting=fm.COUNT)
    assert model.tables[0]["p"][0] == pytest.approx(0.5) and model.tables[0]["n"][0] == pytest.approx(2.0)
    # Shrunk (k = 2) toward the overall rate, which is the cell's own here: still 0.5; a second stage B with one lost
    # deal of 1,000 moves the overall rate by count to 1/3, not by value to 300/1,400.
    both = fm.fit(_train([("A", "X", 300.0, True), ("A", "X", 100.0, False), ("B", "X", 1000.0, False)]),
                  levels=("stage",), prior=2.0, weighting=fm.COUNT)
    assert both.root == pytest.approx(1 / 3)
    rates = dict(both.tables[0].select("stage", "p").iter_rows())
    # A: (1 + 2 x 1/3) / (2 + 2) = 5/12; B: (0 + 2/3) / (1 + 2) = 2/9
    assert rates == {"A": pytest.approx(5 / 12), "B": pytest.approx(2 / 9)}


def test_a_fit_on_some_periods_sums_their_cells() -> None:
    train = pl.DataFrame({
        "period_start": [D(2026, 1, 1), D(2026, 1, 1), D(2026, 4, 1), D(2026, 4, 1)],
        "stage": ["A", "A", "A", "B"], "amount": [300.0, 100.0, 200.0, 400.0], "won": [True, False, True, False],
    })
    cells = fm.cells_of(train, levels=("stage",))
    # Q1 only: mean 200, A's weights 1.5 (won) and 0.5 -> p = (1.5 + 1 x 0.75) / (2 + 1) = 0.75 (root 0.75).
    q1 = fm.fit_cells(cells.filter(pl.col("period_start") == D(2026, 1, 1)), ("stage",), prior=1.0)
    assert q1.tables[0]["p"].to_list() == [pytest.approx(0.75)] and q1.rows == 2 and q1.periods == 1
    # Both quarters: mean 250; A weighs 1.2 + 0.4 + 0.8 = 2.4 with 2.0 won, B 1.6 with none; root 2.0 / 4.0 = 0.5;
    # A: (2.0 + 0.5) / (2.4 + 1) = 25/34, B: (0 + 0.5) / (1.6 + 1) = 5/26 -- the same as fitting the rows.
    both = {r["stage"]: r["p"] for r in fm.fit_cells(cells, ("stage",), prior=1.0).tables[0].iter_rows(named=True)}
    assert both == {"A": pytest.approx(25 / 34), "B": pytest.approx(5 / 26)}
    direct = {r["stage"]: r["p"] for r in fm.fit(train, ("stage",), prior=1.0).tables[0].iter_rows(named=True)}
    assert direct == both


def test_k_is_chosen_on_earlier_quarters_only() -> None:
    def bt(errors: dict[date, float]) -> pl.DataFrame:
        return pl.DataFrame({"period_start": list(errors), "actual": [100.0] * len(errors),
                             "forecast": [100.0 * (1 + e) for e in errors.values()]})
    q2, q3, q4, q1 = D(2025, 4, 1), D(2025, 7, 1), D(2025, 10, 1), D(2026, 1, 1)
    # k = 5 erred 10% and 10% in Q2-Q3 and 40% in Q4; k = 80 erred 20%, 20% and 0%.
    runs = {5.0: bt({q2: 0.1, q3: -0.1, q4: 0.4}), 80.0: bt({q2: 0.2, q3: 0.2, q4: 0.0})}
    # Before Q4 only Q2 and Q3 count: k = 5 (10% < 20%); Q4's own error never decides Q4's k.
    assert fm.choose_prior(runs, q4) == 5.0
    # Before Q1 2026: k = 5 averages 20%, k = 80 13.3%: k = 80.
    assert fm.choose_prior(runs, q1) == 80.0
    # Before Q3 a single backtested quarter is too little to choose on: the default.
    assert fm.choose_prior(runs, q3) == fm.PRIOR


def test_the_weighting_is_chosen_with_k_on_earlier_quarters_only() -> None:
    def bt(errors: dict[date, float]) -> pl.DataFrame:
        return pl.DataFrame({"period_start": list(errors), "actual": [100.0] * len(errors),
                             "forecast": [100.0 * (1 + e) for e in errors.values()]})
    q2, q3, q4, q1 = D(2025, 4, 1), D(2025, 7, 1), D(2025, 10, 1), D(2026, 1, 1)
    value20, count5 = fm.Fit(fm.VALUE, 20.0), fm.Fit(fm.COUNT, 5.0)
    # by value (k 20) erred 5%, 5%, 30%; by count (k 5) 10%, 10%, 0%
    runs = {value20: bt({q2: 0.05, q3: -0.05, q4: 0.3}), count5: bt({q2: 0.1, q3: 0.1, q4: 0.0})}
    assert fm.choose_prior(runs, q4, fm.DEFAULT_FIT) == value20  # before Q4: 5% against 10%
    assert fm.choose_prior(runs, q1, fm.DEFAULT_FIT) == count5  # before Q1 2026: 13.3% against 6.7%
    assert fm.choose_prior(runs, q3, fm.DEFAULT_FIT) == fm.DEFAULT_FIT  # one quarter: too little to choose on
    # every candidate the backtest tries: both weightings with each k, the default among them
    assert set(fm.FITS) == {fm.Fit(w, k) for w in (fm.VALUE, fm.COUNT) for k in fm.PRIORS}
    assert fm.DEFAULT_FIT in fm.FITS and fm.Fit(fm.VALUE, fm.PRIOR) == fm.DEFAULT_FIT


def _cells(rows: list[tuple[date, float, float]]) -> pl.DataFrame:
    """Learning cells of one stage, A, each row an average deal of amount 1: period_start, rows, rows won (the value
    and value won are the same numbers)."""
    frame = pl.DataFrame(rows, schema={"period_start": pl.Date, "rows": pl.Float64, "won_rows": pl.Float64},
                         orient="row")
    return frame.with_columns(pl.lit("A").alias("stage"), pl.col("rows").alias("value"),
                              pl.col("won_rows").alias("won_value"))


def _weeks(counts: dict[date, int]) -> pl.DataFrame:
    """A calendar with this many snapshot days in each quarter (only the count matters to season_of)."""
    return pl.DataFrame({"period_start": [q for q, n in counts.items() for _ in range(n)]},
                        schema={"period_start": pl.Date})


Q2_25, Q3_25, Q4_25, Q2_26 = D(2025, 4, 1), D(2025, 7, 1), D(2025, 10, 1), D(2026, 4, 1)


def test_the_season_is_what_the_model_missed_in_the_same_quarter_a_year_before() -> None:
    # Q3 and Q4 2025 won 4 of 10 each; Q2 2025 (the same quarter of the year as Q2 2026) won 6 of 10. Q2 2026 itself
    # (10 of 10 so far) must not count: it is the quarter forecast.
    cells = _cells([(Q2_25, 10, 6), (Q3_25, 10, 4), (Q4_25, 10, 4), (Q2_26, 10, 10)])
    whole = fm.season_of(cells, ("stage",), _weeks({Q2_25: 13, Q3_25: 13, Q4_25: 13}), Q2_26)
    # Q2 2025 held out: a model fit on Q3 and Q4 alone gives A 8 / 20 = 0.4 (one stage: its rate is the overall
    # rate whatever k), so it expected 10 x 0.4 = 4 and 6 were won: ratio 1.5. One whole quarter seen: weight 1/2.
    assert whole.ratio == pytest.approx(1.5) and whole.quarters == pytest.approx(1.0)
    assert whole.weight == pytest.approx(0.5) and whole.level == pytest.approx(1.5 ** 0.5)  # 1.2247
    # Seen for 4 weekly snapshots only: 4/13 of a quarter, weight (4/13) / (4/13 + 1) = 4/17.
    part = fm.season_of(cells, ("stage",), _weeks({Q2_25: 4, Q3_25: 13, Q4_25: 13}), Q2_26)
    assert part.quarters == pytest.approx(4 / 13) and part.level == pytest.approx(1.5 ** (4 / 17))
    # Q4 2025 has no earlier Q4: no level. Nor has a quarter whose only earlier same quarter is alone before it.
    assert fm.season_of(cells, ("stage",), _weeks({Q2_25: 13}), Q4_25).level == 1.0
    assert fm.season_of(cells.filter(pl.col("period_start") == Q2_25), ("stage",), _weeks({Q2_25: 13}),
                        Q2_26).level == 1.0


def test_the_season_pools_the_same_quarters_of_earlier_years() -> None:
    q2_24 = D(2024, 4, 1)
    cells = _cells([(q2_24, 10, 2), (Q2_25, 10, 6), (Q3_25, 10, 4), (Q4_25, 10, 4)])
    out = fm.season_of(cells, ("stage",), _weeks({q2_24: 13, Q2_25: 13, Q3_25: 13, Q4_25: 13}), Q2_26)
    # Q2 2025 held out: the others won 2 + 4 + 4 of 30, so it expected 10/3 and won 6. Q2 2024 held out: the others
    # won 14 of 30, expected 14/3, won 2. Pooled: (6 + 2) / (10/3 + 14/3) = 1 (the mean of the two ratios, 1.8 and
    # 3/7, would be 1.11). Two quarters seen: weight 2/3, and the level 1.
    assert out.ratio == pytest.approx(1.0) and out.weight == pytest.approx(2 / 3) and out.level == pytest.approx(1.0)


def test_the_season_scales_each_open_deals_chance_at_most_to_one() -> None:
    deals = pl.DataFrame({"amount": [100.0, 200.0, 50.0], "probability": [0.5, 0.9, 0.0]})
    # 0.5 x 1.2 = 0.6; 0.9 x 1.2 = 1.08, kept at 1; 0 stays 0. Open deals' part: 60 + 200 + 0 = 260.
    out = fm.with_season(deals, 1.2)
    assert out["probability"].to_list() == pytest.approx([0.6, 1.0, 0.0])
    assert float((out["amount"] * out["probability"]).sum()) == pytest.approx(260.0)
    assert fm.with_season(deals, 1.0)["probability"].to_list() == [0.5, 0.9, 0.0]


def test_another_k_keeps_each_quarters_level(tmp_path: Path) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))  # one snapshot: past weeks rebuilt from stage history
    r = Runner(store.open_snapshot(tmp_path))
    try:
        h = fm.history(r, Filters(), fx.AS_OF)
    finally:
        r.close()
    args = (h.rows, h.rows, h.calendar, h.facts, h.wins, Q2[0])
    level = {p: fm.Season(0.64, 1.0) for p in h.calendar["period_start"].unique().to_list()}  # 0.64 ** 0.5 = 0.8
    plain = fm.backtest(*args, prior=20.0, cells=h.cells, levels=h.levels, ranges=False, seasons={})
    run = {k: fm.backtest(*args, prior=k, cells=h.cells, levels=h.levels, ranges=False, seasons=level)
           for k in (20.0, 5.0)}
    assert plain.height and plain["season"].to_list() == [1.0] * plain.height
    # every chance x 0.8 (under 1 it never meets the cap of 1): each day's open deals' part is the plain one's x 0.8
    assert run[20.0]["season"].to_list() == pytest.approx([0.8] * plain.height)
    assert run[20.0]["from_open"].to_list() == pytest.approx((plain["from_open"] * 0.8).to_list())
    assert run[20.0]["from_open"].sum() > 0  # there were open deals to scale
    # another k redoes the model's part with the same level, as a run with that k made it
    redone = fm.with_prior(run[20.0], h.cells, h.rows, h.levels, 5.0)
    assert redone["forecast"].to_list() == pytest.approx(run[5.0]["forecast"].to_list())


def test_label_is_won_within_the_rows_quarter() -> None:
    points = pl.DataFrame({
        "as_of": [D(2026, 2, 10)] * 4, "opportunity_id": ["a", "b", "c", "d"], "owner_id": ["X"] * 4,
        "stage": ["A"] * 4, "created_date": [D(2026, 1, 1)] * 4, "expected_close_date": [D(2026, 3, 1)] * 4,
        "pushes": [0, 1, 2, 3], "segment": [None, "SMB", "SMB", "SMB"], "amount": [1.0] * 4,
        "final_status": ["won", "won", "lost", "open"],
        "final_close_date": [D(2026, 3, 31), D(2026, 4, 1), D(2026, 3, 5), None],
    })
    out = fm.label(points)
    # Q1 ends 31 Mar: a won on its last day counts; b won a day later does not; lost and open do not.
    assert out["won"].to_list() == [True, False, False, False]
    assert out["period_end"][0] == D(2026, 3, 31)
    assert out["pushed"].to_list() == ["0", "1", "2+", "2+"]
    assert out["close"][0] == "due" and out["horizon"][0] == "<=9w"  # 49 days = 7 weeks left: the 6-9 bucket
    assert out["segment"][0] == fm.NONE


def test_features_bucket_weeks_left_age_and_close_date() -> None:
    rows = pl.DataFrame({
        "as_of": [D(2026, 3, 10)] * 4, "period_end": [D(2026, 3, 31)] * 4,
        "created_date": [D(2026, 3, 1), D(2026, 1, 1), D(2025, 10, 1), D(2025, 1, 1)],
        "expected_close_date": [None, D(2026, 3, 1), D(2026, 3, 20), D(2026, 5, 1)],
        "pushes": [0, 0, 0, 0], "stage": ["A"] * 4, "segment": ["S"] * 4, "owner_id": ["X"] * 4,
    })
    out = fm.add_features(rows)
    # 21 days left = 3 weeks: the 3-5 bucket; ages 9, 68, 160 and 433 days.
    assert out["horizon"].unique().to_list() == ["<=5w"]
    assert out["age"].to_list() == ["<=30d", "<=90d", "<=180d", ">180d"]
    assert out["close"].to_list() == ["none", "overdue", "due", "later"]


# ---------------------------------------------------------------- new business, range and backtest table


def test_point_facts_split_closed_and_new_business_per_owner() -> None:
    day = D(2026, 2, 10)
    points = pl.DataFrame({"as_of": [day], "opportunity_id": ["A"]})
    wins = pl.DataFrame({
        "opportunity_id": ["A", "B", "C", "E"], "owner_id": ["X", "X", "Y", "Y"],
        "close_date": [D(2026, 3, 1), D(2026, 1, 20), D(2026, 3, 20), D(2026, 4, 5)],
        "amount": [100.0, 50.0, 70.0, 30.0],
    })
    facts = {r["owner_id"]: r for r in fm.point_facts(points, wins, [day]).iter_rows(named=True)}
    # X: B closed before the day (50); A was open that day, so it is not new. Y: C was not open -> new 70;
    # E closes in Q2, outside the day's quarter.
    assert (facts["X"]["closed"], facts["X"]["new"]) == (50.0, 0.0)
    assert (facts["Y"]["closed"], facts["Y"]["new"]) == (0.0, 70.0)


def test_new_business_is_the_mean_over_past_periods_at_the_nearest_week() -> None:
    d1, d2, d3 = D(2025, 8, 19), D(2025, 9, 16), D(2025, 11, 25)
    calendar = pl.DataFrame({"as_of": [d1, d2, d3], "period_start": [D(2025, 7, 1)] * 2 + [D(2025, 10, 1)],
                             "weeks_left": [6, 2, 5]})
    facts = pl.DataFrame({"as_of": [d1, d2, d3], "owner_id": ["X", "X", "Y"], "new": [100.0, 10.0, 40.0]})
    out = dict(fm.new_business(facts, calendar, [D(2025, 7, 1), D(2025, 10, 1)], 6).iter_rows())
    # Six weeks out: Q3 uses d1 (exactly 6), Q4 d3 (5, the nearest). X 100 / 2 periods, Y 40 / 2.
    assert out == {"X": 50.0, "Y": 20.0}
    # Scaled by growth: every owner by the same factor, so they still add up to the group.
    scaled = dict(fm.new_business(facts, calendar, [D(2025, 7, 1), D(2025, 10, 1)], 6, 1.5).iter_rows())
    assert scaled == {"X": pytest.approx(75.0), "Y": pytest.approx(30.0)}


def test_young_pipeline_is_the_open_value_created_within_91_days() -> None:
    d, later = D(2026, 4, 10), D(2026, 4, 17)  # 91 days before 10 April: 9 January
    rows = pl.DataFrame({"as_of": [d, d, d, later],
                         "created_date": [D(2026, 4, 1), D(2026, 1, 9), D(2026, 1, 10), D(2026, 1, 10)],
                         "amount": [100.0, 1000.0, 50.0, 70.0]})
    # 10 April: 100 + 50 (the deal made on 9 January is 91 days old, no longer young); 17 April: the 10 January deal
    # is 97 days old, so that day has no young pipeline (no row).
    assert dict(fm.young_pipeline(rows).iter_rows()) == {d: pytest.approx(150.0)}


def test_new_business_grows_with_the_young_pipeline_within_bounds() -> None:
    q1, q2 = D(2026, 1, 1), D(2026, 4, 1)
    # six weeks out of Q1 (17 Feb, 42 days to 31 Mar) and Q2 (19 May, 42 days to 30 Jun); 24 Feb is five weeks out
    feb17, feb24, may19, today = D(2026, 2, 17), D(2026, 2, 24), D(2026, 5, 19), D(2026, 8, 19)
    calendar = fm.calendar_of([feb17, feb24, may19, today])
    def young(now: float | None) -> pl.DataFrame:
        days = {feb17: 100.0, feb24: 500.0, may19: 300.0} | ({today: now} if now is not None else {})
        return pl.DataFrame({"as_of": list(days), "young": list(days.values())})
    # The same days new_business averages (17 Feb and 19 May): mean young 200; today 360: x 1.8
    assert fm.growth(young(360.0), calendar, [q1, q2], 6, today) == pytest.approx(1.8)
    # at most x 2 and at least x 0.5, also when no deal was made in the last 91 days (no row for today)
    assert fm.growth(young(1000.0), calendar, [q1, q2], 6, today) == pytest.approx(2.0)
    assert fm.growth(young(20.0), calendar, [q1, q2], 6, today) == pytest.approx(0.5)
    assert fm.growth(young(None), calendar, [q1, q2], 6, today) == pytest.approx(0.5)
    # nothing to compare with: no past days, or past days without young pipeline: the past mean stands (x 1)
    assert fm.growth(young(360.0), calendar, [], 6, today) == 1.0
    nothing_before = young(360.0).with_columns(pl.when(pl.col("as_of") == today).then(pl.col("young"))
                                               .otherwise(0.0).alias("young"))
    assert fm.growth(nothing_before, calendar, [q1, q2], 6, today) == 1.0


def _past(rows: list[tuple[date, int, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"period_start": pl.Date, "weeks_left": pl.Int64, "forecast": pl.Float64,
                                      "actual": pl.Float64}, orient="row")


def test_range_pools_neighbouring_weeks_only_when_the_same_week_has_too_few_errors() -> None:
    p1, p2, p3, now = D(2025, 7, 1), D(2025, 10, 1), D(2026, 1, 1), D(2026, 4, 1)
    past = _past([
        (p1, 5, 100.0, 110.0), (p1, 6, 100.0, 95.0), (p1, 7, 100.0, 102.0), (p1, 8, 100.0, 150.0),
        (p2, 5, 100.0, 80.0), (p2, 6, 100.0, 110.0), (p2, 7, 100.0, 100.0),
        (p3, 5, 100.0, 105.0), (p3, 6, 100.0, 75.0), (p3, 7, 100.0, 115.0),
        (now, 6, 100.0, 400.0),  # the period forecast: never its own error
    ])
    low, high, n = fm.error_range(200.0, past, 6, now)
    # Week 6 alone: 3 errors, rank ceil(4 x 0.8) = 4 > 3: too few. Weeks 5-7: 9 errors (week 8's +0.5 is two weeks
    # off and not needed): |e| 0, 0.02, 0.05, 0.05, 0.10, 0.10, 0.15, 0.20, 0.25; rank ceil(10 x 0.8) = 8: p2's -0.20.
    # Range 200 x 0.80 to 200 x 1.20.
    assert n == 9
    assert (low, high) == (pytest.approx(160.0), pytest.approx(240.0))
    # With 170 closed already the low end is 170: what has closed won stays booked.
    assert fm.error_range(200.0, past, 6, now, closed=170.0)[:2] == (pytest.approx(170.0), pytest.approx(240.0))


def test_the_conformal_radius_is_an_order_statistic_of_absolute_errors() -> None:
    errors = [0.05 * i * (-1) ** i for i in range(1, 20)]  # 19 errors, |e| = 0.05 .. 0.95, signs alternating
    # The range's level, 0.8: n = 19: rank ceil(20 x 0.8) = 16: the 16th smallest |error|, 0.80.
    assert fm.conformal_radius(errors) == pytest.approx(0.80)
    # n = 8: rank ceil(9 x 0.8) = 8: the largest, 0.40; n = 3: rank ceil(4 x 0.8) = 4 is beyond 3, no radius.
    assert fm.conformal_radius(errors[:8]) == pytest.approx(0.40)
    assert fm.conformal_radius(errors[:3]) is None
    # A 90% level: n = 19: rank 18, 0.90; n = 9: rank 9, the largest; n = 8: rank 9 is beyond 8.
    assert fm.conformal_radius(errors, 0.9) == pytest.approx(0.90)
    assert fm.conformal_radius(errors[:9], 0.9) == pytest.approx(0.45)
    assert fm.conformal_radius(errors[:8], 0.9) is None


def test_no_range_from_a_single_past_period() -> None:
    past = _past([(D(2026, 1, 1), 6, 100.0, 110.0), (D(2026, 1, 1), 5, 100.0, 120.0)])
    assert fm.error_range(200.0, past, 6, D(2026, 4, 1)) == (None, None, 0)


def test_no_range_when_even_the_pooled_weeks_have_too_few_errors() -> None:
    past = _past([(D(2025, 10, 1), 6, 100.0, 110.0), (D(2026, 1, 1), 6, 100.0, 90.0),
                  (D(2026, 1, 1), 3, 100.0, 90.0)])
    # Two periods, but within two weeks of week 6 only 2 errors (rank 3 needed); week 3 is too far to pool.
    assert fm.error_range(200.0, past, 6, D(2026, 4, 1)) == (None, None, 2)


def test_summary_reports_mape_bias_and_coverage_beside_the_baselines() -> None:
    bt = pl.DataFrame({
        "period_start": [D(2025, 10, 1), D(2026, 1, 1)], "weeks_left": [6, 6], "forecast": [110.0, 80.0],
        "actual": [100.0, 100.0], "commit": [50.0, 60.0], "weighted": [100.0, 100.0], "last_year": [None, 120.0],
        "in_range": [None, True],
    }, schema_overrides={"last_year": pl.Float64})
    row = fm.summary(bt).row(0, named=True)
    # Errors +10% and -20%: MAPE 15%, bias -5%. Commit -50%, -40%: 45%. Weighted exact: 0. Last year +20%.
    assert row["periods"] == 2
    assert row["model_mape"] == pytest.approx(0.15) and row["model_bias"] == pytest.approx(-0.05)
    assert row["commit_mape"] == pytest.approx(0.45) and row["weighted_mape"] == pytest.approx(0.0)
    assert row["last_year_mape"] == pytest.approx(0.2)
    assert (row["coverage"], row["ranges"]) == (1.0, 1)  # one range given, and it held
    assert row["beats_baselines"] is False  # the weighted pipeline was exact


def test_with_ranges_uses_only_earlier_periods() -> None:
    q3, q4, q1 = D(2025, 7, 1), D(2025, 10, 1), D(2026, 1, 1)
    weeks = [4, 5, 6, 7, 8]
    # Q3 errors: -0.1 at week 4, else 0; Q4: +0.2 at week 8, else +0.05; Q1 one row at week 6, 50% high.
    q3_actual = [90.0, 100.0, 100.0, 100.0, 100.0]
    q4_actual = [105.0, 105.0, 105.0, 105.0, 120.0]
    bt = pl.DataFrame({"period_start": [q3] * 5 + [q4] * 5 + [q1], "weeks_left": weeks + weeks + [6],
                       "forecast": [100.0] * 11, "actual": q3_actual + q4_actual + [150.0]})
    out = fm.with_ranges(bt)
    # Q3 and Q4 have fewer than two earlier periods: no range (Q1's error is later, never used for them).
    assert out["low"].to_list()[:10] == [None] * 10
    # Q1, week 6: 2 errors at week 6 are too few (rank ceil(3 x 0.8) = 3); within a week 6 errors (Q3's three 0 and
    # Q4's three +0.05; Q4's +0.2 at week 8 is two weeks off), rank ceil(7 x 0.8) = 6: the largest, 0.05. Range 95 to
    # 105; 150 is out.
    assert out["low"][10] == pytest.approx(95.0) and out["high"][10] == pytest.approx(105.0)
    assert out["in_range"].to_list() == [None] * 10 + [False]


def test_the_noise_floor_is_the_error_of_exactly_right_chances() -> None:
    amounts, chances = pl.Series([100.0, 200.0, 300.0]), pl.Series([0.5, 1.0, 0.0])
    # Only the 100 at 50% is uncertain: variance 100^2 x 0.5 x 0.5 = 2,500, spread 50 (the sure win and the sure
    # loss add nothing).
    assert fm.outcome_spread(amounts, chances) == pytest.approx(50.0)
    # The 100 books 0 or 100 with equal chance: the expected 50 is off by 50 either way, E|error| = 50; the normal
    # of spread 50 says sqrt(2 / pi) x 50 = 39.89. Over a forecast of 1,000: 3.99%.
    assert fm.noise_floor(1000.0, 50.0) == pytest.approx(0.0398942, rel=1e-5)
    assert fm.noise_floor(0.0, 50.0) is None


def test_summary_puts_the_noise_floor_beside_the_models_mape() -> None:
    bt = pl.DataFrame({
        "period_start": [D(2025, 10, 1), D(2026, 1, 1)], "weeks_left": [6, 6], "forecast": [110.0, 80.0],
        "actual": [100.0, 100.0], "commit": [50.0, 60.0], "weighted": [100.0, 100.0], "last_year": [None, 120.0],
        "in_range": [None, True], "noise_floor": [0.04, 0.08],
    }, schema_overrides={"last_year": pl.Float64})
    out = fm.summary(bt)
    assert out.columns[:5] == ["weeks_left", "periods", "model_mape", "model_bias", "noise_floor_mape"]
    assert out["noise_floor_mape"][0] == pytest.approx(0.06)  # the mean of 4% and 8%


def test_manager_gap_sets_the_model_beside_the_reps_call() -> None:
    owners = pl.DataFrame({"owner_id": ["R1", "R2"], "closed": [100.0, 0.0], "from_open": [50.0, 30.0],
                           "new": [0.0, 0.0], "forecast": [150.0, 30.0]})
    deals = pl.DataFrame({
        "current_owner_id": ["R1", "R1", "R2"], "forecast_category": ["commit", "best_case", "commit"],
        "amount": [80.0, 40.0, 200.0], "expected_close_date": [D(2026, 5, 1), D(2026, 6, 1), D(2026, 8, 1)],
        "period_start": [Q2[0]] * 3, "period_end": [Q2[1]] * 3,
    })
    people = pl.DataFrame({"rep_id": ["R1", "R2", "M1"], "manager_id": ["M1", "M1", None],
                           "name": ["Ann", "Bob", "Mia"]})
    row = fm.manager_gap(owners, deals, people).row(0, named=True)
    # R2's commit closes in August, outside Q2: the call is 100 closed + 80 commit = 180, + 40 best case = 220.
    assert row["manager"] == "Mia" and row["forecast"] == 180.0
    assert (row["commit_call"], row["best_case_call"], row["gap"]) == (180.0, 220.0, 0.0)


# ---------------------------------------------------------------- the fixture store: fallback and one number


# The fixture store, built once for the module, and a runner on its latest snapshot.
data_dir, runner = support.store_fixtures("forecast", fx.build_store)


def test_with_one_past_quarter_the_fallback_is_named_and_shows_no_range(runner: Runner) -> None:
    out = fm.model_forecast(runner, Filters(period="custom"))
    # Snapshots: two in Q1, one in Q2 -> one past quarter, fewer than two: the stage-default fallback.
    # Closed in Q2: W6 1,500 + W7 1,500. Open and due: O1 Proposal 2,000 x .5, O2 Negotiation 1,000 x .8,
    # O3 Prospecting 4,000 x .1, O5 (no date) Prospecting 500 x .1; O4 is due in July: 0.
    assert (out.method, out.periods) == (fm.FALLBACK, 1)
    assert out.closed == 3000.0 and out.from_open == pytest.approx(2250.0) and out.new == 0.0
    assert out.expected == pytest.approx(5250.0)
    assert (out.low, out.high, out.coverage) == (None, None, None)
    owners = dict(out.by_owner.select("owner_id", "forecast").iter_rows())
    # R1 1,500 + 1,000; R2 1,500 + 800 + 50; R3 400; R4 nothing due.
    assert owners == {"R1": pytest.approx(2500.0), "R2": pytest.approx(2350.0), "R3": pytest.approx(400.0),
                      "R4": 0.0}


def test_the_cli_prints_the_quarters_level(data_dir: Path, runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    fallback = fm.model_forecast(runner, Filters(period="custom"))
    # one earlier same quarter seen whole, where the model had expected 2/3 of what was won: ratio 1.5, level 1.5^(1/2)
    monkeypatch.setattr(fm, "model_forecast", lambda *a, **k: replace(fallback, method="model",
                                                                       season=fm.Season(1.5, 1.0)))
    assert cli_main(["forecast", "--data", str(data_dir), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)[0]
    assert (out["season_ratio"], out["season_quarters"]) == (1.5, 1.0)
    assert out["season_level"] == pytest.approx(1.2247449)


def test_the_cli_says_when_the_model_has_too_few_errors_for_a_range(
        data_dir: Path, runner: Runner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fallback = fm.model_forecast(runner, Filters(period="custom"))
    # The fixture has too little history for the model: stand in its outcome with the model's name and no range.
    modelled = replace(fallback, method="model", errors=3)
    monkeypatch.setattr(fm, "model_forecast", lambda *args, **kwargs: modelled)
    assert cli_main(["forecast", "--data", str(data_dir), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["low"] is None
    assert "too few past errors at this point of the quarter for an honest range (3 within 2 weeks)" in captured.err


def test_no_backtest_without_three_past_quarters(runner: Runner) -> None:
    assert td.accuracy(runner, Filters(period="custom")).is_empty()


class _Ctx:
    """A DataContext without Streamlit."""

    def __init__(self, data_dir: Path, runner: Runner, filters: Filters) -> None:
        self.data_dir, self.runner, self.snapshot, self.filters, self.lang = data_dir, runner, runner.snapshot, \
            filters, "en"

    def run(self, name: str, **params: object) -> pl.DataFrame:
        return self.runner.run(name, **params)

    def run_many(self, calls: list) -> list[pl.DataFrame]:
        return [self.run(n, **p) for n, p in calls]


def test_page_cli_whatif_and_review_show_the_same_forecast(data_dir: Path, runner: Runner,
                                                            capsys: pytest.CaptureFixture) -> None:
    one = fm.model_forecast(runner, Filters(period="custom", teams=("North",)))
    # Team North: R1 2,500 + R2 2,350 + R3 400 = 5,250 (Dee is in Solo).
    assert one.expected == pytest.approx(5250.0)
    page = tl.load(_Ctx(data_dir, runner, Filters(period="custom", teams=("North",))), tl.TargetsChoices())
    assert page is not None and page.fc.forecast.expected == pytest.approx(one.expected)
    assert cli_main(["forecast", "--data", str(data_dir), "--team", "North", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["forecast"] == pytest.approx(one.expected) and printed[0]["method"] == fm.FALLBACK
    ctx = _Ctx(data_dir, runner, Filters(period="custom", start=Q2[0], end=Q2[1], teams=("North",)))
    setup = wl.load_setup(ctx)
    assert setup is not None
    baseline = setup.base["bookings"].sum() + setup.base["weighted_pipeline"].sum()
    assert baseline == pytest.approx(one.expected)
    line = review._forecast_line(runner, fx.AS_OF, *Q2, "en", teams=("North",))
    assert line and i18n.money(one.expected, "en") in line[0]


@pytest.mark.parametrize(("ratio", "quarters", "level"), [
    (None, 0.0, 1.0),  # no earlier same quarter: no level
    (1.44, 1.0, 1.2),  # 1.44 ** (1/2)
    (0.0, 2.0, 0.25 ** (2 / 3)),  # won nothing: bounded to 1/4 (it used to be 1, no scaling at all)
    (0.001, 2.0, 0.25 ** (2 / 3)),  # almost nothing: the same bound, not 0.01
    (9.0, 1.0, 2.0),  # one large win in a thin quarter: 4 ** (1/2), not 3
])
def test_the_quarter_of_year_level_is_bounded(ratio: float | None, quarters: float, level: float) -> None:
    assert fm.Season(ratio, quarters).level == pytest.approx(level)
