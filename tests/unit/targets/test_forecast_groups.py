"""A group's forecast taken from the organisation's history in memory (forecast.subset) is the one read from the
group's own queries, as before: the same forecast, parts, range, coverage, deals and backtest, on the S demo, for
the organisation, a region, a team, a rep, a deal filter and a row-scoped viewer.

The reference is the old path, kept here: every group's History read with its own filtered queries, no History
kept between calls (the code before 2026-12-02, `history(runner, f, ...)` per group).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from queries.runner import Runner, Scope
from saleslens.core import store
from saleslens.core.filters import Filters
from saleslens.targets import forecast as fm
from tests import support
from tests import targets_fixtures as fx


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the S demo: eight quarters of weekly snapshots, so the model, its backtest and ranges all run."""
    return support.demo_copy(tmp_path_factory, "forecast-groups")


@pytest.fixture(scope="module")
def everyone(demo: Path) -> Iterator[Runner]:
    yield from support.open_runner(demo)


def _old_history(runner: fm.RunsQueries, f: Filters, as_of: date, source: str | None = None) -> fm.History:
    """The old path: the group's learning rows and won deals from its own filtered queries, labelled again."""
    source = source or fm.learns_from(runner.snapshot, as_of)
    first = fm._first(as_of)
    params = fm._deal_params(f)
    if source == fm.STAGE_HISTORY:
        points = runner.run("forecast_rebuilt_by_deal", first=first, as_of=as_of, **params)
        oldest = points["as_of"].min() if points.height else as_of
        days = [d for d in fm.rebuilt_days(as_of) if d >= oldest]
    else:
        points = runner.run("forecast_points_by_deal", first=first, **params).filter(pl.col("as_of") <= as_of)
        days = [s.as_of for s in store.list_snapshots(runner.snapshot.data_dir) if first <= s.as_of <= as_of]
        days = sorted(set(days) | {as_of})
    wins = runner.run("forecast_wins_by_deal", start=fm.add_months(first, -12), end=as_of, **params)
    calendar = fm.calendar_of(days)
    facts = fm.point_facts(points, wins, days).join(calendar.select("as_of", "weeks_left"), on="as_of", how="left")
    levels = fm.REBUILT_LEVELS if source == fm.STAGE_HISTORY else fm.LEVELS
    return fm.History(fm.label(points), calendar, facts, wins, source, levels)


def _forget() -> None:
    """Empty every memo of the forecast module, so the next call computes from the store."""
    for memo in (fm._CACHE, fm._BACKTESTS, fm._BY_PRIOR, fm._STAGES, fm._HISTORIES):
        memo.clear()


def _both(runner: Runner, f: Filters, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple]:
    """(outcome, backtest) by the old path, then by the new one, each from empty memos."""
    _forget()
    with monkeypatch.context() as m:
        m.setattr(fm, "org_history", lambda r, as_of: _old_history(r, Filters(), as_of))
        m.setattr(fm, "group_history", lambda r, g, org, as_of: org if not any(fm._deal_params(g).values())
                  else _old_history(r, g, as_of, org.source))
        old = fm.model_forecast(runner, f), fm.backtest_for(runner, f)
    _forget()
    new = fm.model_forecast(runner, f), fm.backtest_for(runner, f)
    _forget()
    return old, new


def _same(old: tuple[fm.Outcome, pl.DataFrame], new: tuple[fm.Outcome, pl.DataFrame]) -> None:
    (a, bt_a), (b, bt_b) = old, new
    for name in ("as_of", "period_start", "period_end", "method", "periods", "errors", "learned_from", "prior",
                 "no_range"):
        assert getattr(a, name) == getattr(b, name), name
    # the quarter-of-year level: the same sums, added in another order
    assert (b.season.level, b.season.quarters) == pytest.approx((a.season.level, a.season.quarters), rel=1e-12)
    for name in ("closed", "from_open", "new", "expected", "low", "high", "coverage"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        assert x is None or y == pytest.approx(x, rel=1e-12, abs=1e-9), name
    assert_frame_equal(a.deals, b.deals)
    assert_frame_equal(a.by_owner, b.by_owner)
    assert_frame_equal(bt_a, bt_b)


def _values(runner: Runner) -> dict[str, str]:
    """A region, a team, a rep and a segment of the demo's deals (the first of each by name)."""
    deals = runner.run("forecast_wins_by_deal", start=date(2000, 1, 1), end=runner.snapshot.as_of)
    points = runner.run("forecast_points_by_deal", first=date(2000, 1, 1))
    names = runner.run("forecast_names_by_deal")  # the open deals' owner, team and region
    assert deals.height and points.height and names.height
    return {"region": min(names["region"].drop_nulls()), "team": min(names["team"].drop_nulls()),
            "rep": min(deals["owner_id"].drop_nulls()), "segment": min(points["segment"].drop_nulls())}


def test_every_group_gets_the_same_forecast_from_the_organisations_history(
        everyone: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    v = _values(everyone)
    groups = [Filters(), Filters(regions=(v["region"],)), Filters(teams=(v["team"],)), Filters(reps=(v["rep"],)),
              Filters(segments=(v["segment"],)), Filters(teams=(v["team"],), segments=(v["segment"],))]
    old, new = zip(*(_both(everyone, f, monkeypatch) for f in groups), strict=True)
    for a, b in zip(old, new, strict=True):
        _same(a, b)
    org, *_ = old
    # not a vacuous comparison: on S the model runs with a range and a backtest of several quarters
    assert org[0].method == "model" and org[0].low is not None and org[1]["period_start"].n_unique() >= 2
    # and the groups are smaller than the organisation (else the filter was not applied)
    assert all(0 < o[0].expected < org[0].expected for o in old[1:])


def test_a_row_scoped_viewer_gets_the_same_forecast_and_only_their_rows(
        demo: Path, everyone: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    v = _values(everyone)
    team = everyone.run("forecast_points_by_deal", first=date(2000, 1, 1), teams=[v["team"]])
    reps = frozenset(team["current_owner_id"].unique().to_list())
    scoped = Runner(store.open_snapshot(demo), Scope("test:team", reps))
    try:
        for f in (Filters(), Filters(reps=(min(reps),))):
            old, new = _both(scoped, f, monkeypatch)
            _same(old, new)
            assert set(new[0].deals["current_owner_id"].to_list()) <= reps
        # the viewer's organisation is their scope: the whole organisation's forecast is not theirs
        mine = fm.model_forecast(scoped, Filters())
        assert fm.org_history(scoped, scoped.snapshot.as_of).rows["current_owner_id"].is_in(list(reps)).all()
        assert mine.expected < fm.model_forecast(everyone, Filters()).expected
    finally:
        scoped.close()
        _forget()


def test_the_organisations_history_is_read_once_per_snapshot_and_scope(everyone: Runner) -> None:
    _forget()
    as_of = everyone.snapshot.as_of
    first = fm.org_history(everyone, as_of)
    assert fm.org_history(everyone, as_of) is first  # kept
    scoped = Runner(everyone.snapshot, Scope("nobody", frozenset()))
    try:
        assert fm.org_history(scoped, as_of) is not first  # another scope: its own
        assert fm.org_history(scoped, as_of).rows.is_empty()  # default deny: no row of anyone
    finally:
        scoped.close()
        _forget()


def test_the_tile_says_why_there_is_no_range() -> None:
    day = date(2026, 5, 1)
    out = fm.Outcome(day, day, day, 0.0, 0.0, 0.0, "model", 4, no_range=fm.FEW_ERRORS)
    assert out.no_range_key == "targets.tile.no_range_errors"
    assert fm.Outcome(day, day, day, 0.0, 0.0, 0.0, fm.FALLBACK, 1, no_range=fm.FEW_PERIODS).no_range_key == \
        "targets.tile.no_range"
    from saleslens.core.i18n import t  # every reason has its text in both languages
    for key in fm.NO_RANGE_KEYS.values():
        assert t(key, "en") != key and t(key, "zh") != key and t(key, "zh") != t(key, "en")


def test_the_models_outcome_names_its_missing_range(everyone: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _forget()
    # the conformal rule finding too few errors (stood in): the model's outcome says so, not "too few quarters"
    monkeypatch.setattr(fm, "error_range", lambda *args, **kwargs: (None, None, 3))
    out = fm.model_forecast(everyone, Filters())
    assert (out.method, out.low, out.errors, out.no_range) == ("model", None, 3, fm.FEW_ERRORS)
    _forget()


def test_a_group_of_a_store_rebuilt_from_stage_history_gets_the_same_forecast(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))  # one snapshot with stage history: past weeks rebuilt
    r = Runner(store.open_snapshot(tmp_path))
    try:
        # each rep and team: a group's rebuilt weeks start at its own first open deal, as its own query's did
        groups = [Filters(reps=(rep,)) for rep in fx.REPS["rep_id"].to_list()] + \
            [Filters(teams=(team,)) for team in fx.REPS["team"].drop_nulls().unique().sort().to_list()]
        for f in groups:
            old, new = _both(r, f, monkeypatch)
            _same(old, new)
        assert old[0].learned_from == fm.STAGE_HISTORY and old[0].method == "model"
    finally:
        r.close()
        _forget()


def _candidates_by_hand(deals: pl.DataFrame, first: date, as_of: date) -> int:
    """forecast_rebuilt_rows_by_snapshot's count by another route: each past Tuesday in turn, the deals created by
    then and not closed by then, plus today's open deals."""
    n = int((deals["status"] == "open").sum())
    day = as_of - timedelta(days=7)
    while day >= first:
        made = deals.filter(pl.col("created_date") <= day)
        n += made.filter((pl.col("status") == "open") | (pl.col("close_date") > day)).height
        day -= timedelta(days=7)
    return n


def test_the_rebuilt_history_is_counted_before_it_is_built(tmp_path: Path) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))
    r = Runner(store.open_snapshot(tmp_path))
    try:
        first = date(2026, 4, 1)
        counted = r.run("forecast_rebuilt_rows_by_snapshot", first=first, as_of=fx.AS_OF)["learning_rows"][0]
        deals = pl.read_parquet(store.open_snapshot(tmp_path).table_path("opportunities"))
        assert counted == _candidates_by_hand(deals, first, fx.AS_OF)
        built = r.run("forecast_rebuilt_by_deal", first=first, as_of=fx.AS_OF).height
        assert counted >= built  # an upper bound: candidates that history had already closed are dropped
    finally:
        r.close()


def test_a_rebuilt_history_over_the_limit_falls_back_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fx.build_store(tmp_path, dates=(fx.AS_OF,))
    r = Runner(store.open_snapshot(tmp_path))
    try:
        _forget()
        assert fm.model_forecast(r, Filters()).method == "model"  # under the default limit it learns
        _forget()
        monkeypatch.setenv("SALESLENS_FORECAST_MAX_LEARNING_ROWS", "10")
        out = fm.model_forecast(r, Filters())
        assert (out.method, out.no_range, out.low, out.periods) == (fm.FALLBACK, fm.TOO_LARGE, None, 0)
        assert out.no_range_key == "targets.tile.no_range_large"
        # today's open deals are still forecast: the same deals as the model's, weighed by stage probabilities
        assert out.deals.height == fm.org_history(r, fx.AS_OF).rows.filter(pl.col("as_of") == fx.AS_OF).height > 0
    finally:
        r.close()
        _forget()
