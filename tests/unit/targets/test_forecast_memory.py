"""The forecast's learning rows read in less memory give the same forecast as before, and the Histories it keeps stay
within forecast_cache_mb.

The reference is the query as it was before 2026-12-03 (forecast_points_before.sql, kept beside this file): every
column of the deal on every learning row, sorted by the database. The new path reads only what the model uses, sorts
in Polars and joins the names of today's open deals from forecast_names_by_deal. On the S demo (eight quarters of
weekly snapshots: the model, its backtest and its range all run) both must give identical rows, forecasts and
backtests, for everyone and for a row-scoped viewer (whose deals' hidden rows make the pushes be counted again).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from queries import catalog
from queries.runner import Runner, Scope
from saleslens.core import store
from saleslens.core.filters import Filters
from saleslens.targets import forecast as fm
from tests import support

BEFORE = Path(__file__).with_name("forecast_points_before.sql")
NAMES = ["owner_name", "team", "region", "account_name"]
FIRST = date(2000, 1, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the S demo."""
    return support.demo_copy(tmp_path_factory, "forecast-memory")


@pytest.fixture(scope="module")
def everyone(demo: Path) -> Iterator[Runner]:
    yield from support.open_runner(demo)


@pytest.fixture
def scoped(demo: Path, everyone: Runner) -> Iterator[Runner]:
    """A viewer who sees every rep but one who owned a deal before its owner now: that deal's rows of then are hidden
    from them, so its pushes are counted again over the rows they may see."""
    rows = everyone.run("forecast_points_by_deal", first=FIRST)
    past = rows.filter(pl.col("owner_id") != pl.col("current_owner_id"))["owner_id"]
    assert past.len() > 0  # the S demo moves some deals to another owner
    reps = set(rows["owner_id"].to_list()) | set(rows["current_owner_id"].to_list())
    r = Runner(store.open_snapshot(demo), Scope("test:all-but-one", frozenset(reps - {min(past)})))
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    """Every memo of the forecast module empty before and after each test."""
    memos = (fm._CACHE, fm._BACKTESTS, fm._BY_PRIOR, fm._STAGES, fm._HISTORIES)
    for memo in memos:
        memo.clear()
    yield
    for memo in memos:
        memo.clear()


def _before(runner: Runner, first: date = FIRST) -> pl.DataFrame:
    """The learning rows as the query before read them (all columns, sorted by the database)."""
    sql = catalog.expand(BEFORE.read_text(encoding="utf-8"))
    params = {"first": first, **fm._deal_params(Filters())}
    cur = runner._db.cursor()
    try:
        return cur.sql(sql, params={k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}).pl()
    finally:
        cur.close()


def _old_history(runner: Runner, as_of: date) -> fm.History:
    """The organisation's History built from the query before, as history() built it then."""
    points = _before(runner).filter(pl.col("as_of") <= as_of)
    first = fm._first(as_of)
    days = sorted({s.as_of for s in store.list_snapshots(runner.snapshot.data_dir) if first <= s.as_of <= as_of}
                  | {as_of})
    wins = runner.run("forecast_wins_by_deal", start=fm.add_months(first, -12), end=as_of)
    calendar = fm.calendar_of(days)
    facts = fm.point_facts(points, wins, days).join(calendar.select("as_of", "weeks_left"), on="as_of", how="left")
    return fm.History(fm.label(points), calendar, facts, wins)


@pytest.mark.parametrize("weeks", [None, 20, 0])  # every day, the last 20 weeks, today only
@pytest.mark.parametrize("who", ["everyone", "scoped"])
def test_the_narrow_read_keeps_every_row_and_value(who: str, weeks: int | None, request: pytest.FixtureRequest) -> None:
    runner = request.getfixturevalue(who)
    # the rows before `first` are dropped early now: a recount over them must still see them
    first = FIRST if weeks is None else runner.snapshot.as_of - timedelta(weeks=weeks)
    old = _before(runner, first)
    new = fm._in_order(runner.run("forecast_points_by_deal", first=first), runner.snapshot.as_of)
    assert old.height > 100 and new.height == old.height
    # the same rows in the same order, each value the same (the names and final_amount aside)
    assert_frame_equal(new, old.select(new.columns), check_exact=True)
    # the names of today's open deals are the ones the rows carried
    today = old.filter(pl.col("as_of") == runner.snapshot.as_of)
    joined = fm.with_names(today.drop(NAMES), runner.run("forecast_names_by_deal"))
    assert_frame_equal(joined, today, check_exact=True)
    if who == "scoped" and weeks != 0:  # not vacuous: deals the viewer sees had an owner they may not, lose rows
        everyone = _before(request.getfixturevalue("everyone"), first)
        seen = everyone.filter(pl.col("opportunity_id").is_in(old["opportunity_id"].unique().implode()))
        assert old.height < seen.height


@pytest.mark.parametrize("who", ["everyone", "scoped"])
def test_the_forecast_and_backtest_are_the_ones_read_the_old_way(
        who: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = request.getfixturevalue(who)
    rep = min(runner.run("forecast_wins_by_deal", start=FIRST, end=runner.snapshot.as_of)["owner_id"])
    groups = [Filters(), Filters(reps=(rep,))]
    results = []
    for old_way in (True, False):
        fm._HISTORIES.clear(), fm._CACHE.clear(), fm._BACKTESTS.clear(), fm._BY_PRIOR.clear(), fm._STAGES.clear()
        with monkeypatch.context() as m:
            if old_way:
                m.setattr(fm, "org_history", lambda r, as_of: _old_history(r, as_of))
            results.append([(fm.model_forecast(runner, f), fm.backtest_for(runner, f), fm.stage_table(runner))
                            for f in groups])
    # Equal up to the last bits of a float: the cells are summed in group order, which varies from run to run even
    # the old way (two runs of the old path differ by 3e-16 in a chance)
    close = {"rel_tol": 1e-12, "abs_tol": 1e-12}
    for (a, bt_a, st_a), (b, bt_b, st_b) in zip(*results, strict=True):
        for name in ("errors", "method", "periods", "prior", "no_range"):
            assert getattr(a, name) == getattr(b, name), name
        for name in ("closed", "from_open", "new", "low", "high", "coverage"):
            assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-12), name
        assert (b.season.level, b.season.quarters) == pytest.approx((a.season.level, a.season.quarters), rel=1e-12)
        assert_frame_equal(b.deals, a.deals.drop("final_amount"), **close)
        assert_frame_equal(b.by_owner, a.by_owner, **close)
        assert_frame_equal(bt_b, bt_a, **close)
        assert_frame_equal(st_b.sort("stage"), st_a.sort("stage"), **close)
    org = results[1][0][0]
    # not vacuous: the model ran with a range, and the rep's forecast is a part of the organisation's
    assert org.method == "model" and org.low is not None and 0 < results[1][1][0].expected < org.expected


def test_the_learning_rows_are_kept_once_not_in_the_runners_cache_too(everyone: Runner) -> None:
    everyone.release_memory()
    h = fm.org_history(everyone, everyone.snapshot.as_of)
    assert h.rows.height > 1000
    assert not [k for k in everyone._cache if k[1] == "forecast_points_by_deal"]
    assert everyone._cache_bytes == sum(f.estimated_size() for f in everyone._cache.values())  # still counted right


def _fake(mb: float) -> fm.History:
    """A History of about `mb` MB (its rows; the other frames are empty)."""
    rows = pl.DataFrame({"x": pl.zeros(int(mb * 1024 * 1024 / 8), pl.Float64, eager=True)})
    return fm.History(rows, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())


def test_kept_histories_fit_the_budget_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESLENS_FORECAST_CACHE_MB", "2")
    assert fm.history_bytes(_fake(0.75)) == 786_432  # 0.75 MB of float64: 98,304 values x 8 bytes
    for key in ("a", "b"):
        fm._HISTORIES[(key,)] = _fake(0.75)
        fm.trim_histories(keep=(key,))
    assert list(fm._HISTORIES) == [("a",), ("b",)]  # 1.5 MB: both fit in 2 MB
    fm._HISTORIES[("a",)] = fm._HISTORIES.pop(("a",))  # a used again: b is now the least recently used
    fm._HISTORIES[("c",)] = _fake(0.75)
    fm.trim_histories(keep=("c",))
    assert list(fm._HISTORIES) == [("a",), ("c",)]  # 2.25 MB > 2 MB: b went
    fm._HISTORIES[("d",)] = _fake(3.0)
    fm.trim_histories(keep=("d",))
    assert list(fm._HISTORIES) == [("d",)]  # over the budget alone: kept (it is in use), every other one went


def test_a_history_counts_its_cells_once_made() -> None:
    rows = pl.DataFrame({"period_start": [date(2026, 1, 1)] * 2, "stage": ["A", "B"], "amount": [1.0, 2.0],
                         "won": [True, False]})
    h = fm.History(rows, pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), levels=("stage",))
    before = fm.history_bytes(h)
    assert before == rows.estimated_size()
    cells = h.cells  # made now
    assert cells.height == 2 and fm.history_bytes(h) == before + cells.estimated_size()


def test_org_history_keeps_within_the_budget(everyone: Runner, scoped: Runner,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESLENS_FORECAST_CACHE_MB", "0")
    mine = fm.org_history(everyone, everyone.snapshot.as_of)
    assert fm.org_history(everyone, everyone.snapshot.as_of) is mine  # kept while it is the one in use
    fm.org_history(scoped, scoped.snapshot.as_of)
    assert list(fm._HISTORIES) == [fm._org_key(scoped)]  # a budget of 0: only the one just read stays
    monkeypatch.setenv("SALESLENS_FORECAST_CACHE_MB", "512")
    fm.org_history(everyone, everyone.snapshot.as_of)
    assert list(fm._HISTORIES) == [fm._org_key(scoped), fm._org_key(everyone)]


def test_a_history_is_measured_again_when_used(everyone: Runner, scoped: Runner,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Cells are made after a History is first kept: the next use counts them, so two that fit before may not after."""
    mine = fm.org_history(everyone, everyone.snapshot.as_of)
    theirs = fm.org_history(scoped, scoped.snapshot.as_of)
    assert "cells" not in theirs.__dict__
    budget = fm.history_bytes(mine) + fm.history_bytes(theirs)  # both fit exactly, as first measured
    monkeypatch.setenv("SALESLENS_FORECAST_CACHE_MB", str(budget / 1024 / 1024))
    assert theirs.cells.height > 0  # made now: theirs grew
    assert fm.org_history(scoped, scoped.snapshot.as_of) is theirs
    assert list(fm._HISTORIES) == [fm._org_key(scoped)]  # measured again on use: the other one went


def test_with_too_few_past_quarters_only_todays_rows_are_read_and_nothing_changes(
        everyone: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    # the S demo as a store too young for the model: it would need more past quarters than it has
    monkeypatch.setattr(fm, "MIN_PERIODS", 99)
    as_of = everyone.snapshot.as_of
    rep = min(everyone.run("forecast_wins_by_deal", start=FIRST, end=as_of)["owner_id"])
    groups = [Filters(), Filters(reps=(rep,))]
    results = []
    for old_way in (True, False):
        for memo in (fm._CACHE, fm._BACKTESTS, fm._BY_PRIOR, fm._STAGES, fm._HISTORIES):
            memo.clear()
        with monkeypatch.context() as m:
            if old_way:
                m.setattr(fm, "org_history", lambda r, day: _old_history(r, day))
            results.append([(fm.model_forecast(everyone, f), fm.backtest_for(everyone, f), fm.stage_table(everyone))
                            for f in groups])
        if not old_way:  # not vacuous: the old way read every snapshot day, the new one today's rows only
            assert fm.org_history(everyone, as_of).rows["as_of"].unique().to_list() == [as_of]
            assert _old_history(everyone, as_of).rows["as_of"].n_unique() > 50
    for (a, bt_a, st_a), (b, bt_b, st_b) in zip(*results, strict=True):
        assert (b.method, b.periods, b.no_range, b.low) == (a.method, a.periods, a.no_range, a.low)
        # the fallback although the demo has the past quarters the real MIN_PERIODS asks for
        assert a.method == fm.FALLBACK and a.periods >= 2 and bt_a.is_empty() and bt_b.is_empty()
        assert (b.closed, b.from_open, b.new) == (a.closed, a.from_open, a.new)
        assert_frame_equal(b.deals, a.deals.drop("final_amount"), check_exact=True)
        assert_frame_equal(b.by_owner, a.by_owner, check_exact=True)
        # the stage table of the past quarters (shown by no page without the model) still learns from them
        assert st_a.height > 0
        assert_frame_equal(st_b.sort("stage"), st_a.sort("stage"), rel_tol=1e-12, abs_tol=1e-12)
