"""forecast_history written by appending at each publish (queries/derived/append/) holds the same rows, in the
same order, as the whole computation over every snapshot (queries/derived/forecast_history.sql); it falls back to
the whole computation when the previous file cannot be appended to (a back-filled earlier day)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries import runner
from queries.runner import Database, Scope, derived_file
from saleslens.core import store
from tests import targets_fixtures as fx

D = date
# O2 (open from 2026-03-10 until it closes after AS_OF) has its expected close date moved at each snapshot:
# later (a push), earlier (no push), later again (a push). O5 has none until the last snapshot.
O2_CLOSE = {D(2026, 3, 18): D(2026, 4, 30), D(2026, 4, 1): D(2026, 5, 15), D(2026, 4, 15): D(2026, 5, 10),
            fx.AS_OF: D(2026, 5, 30)}
DAYS = tuple(O2_CLOSE)


def _deals(day: date) -> pl.DataFrame:
    """The fixture's deals at a day, O2's expected close date as above."""
    deals = fx.opportunities_as_of(day)
    return deals.with_columns(
        pl.when(pl.col("opportunity_id") == "O2").then(pl.lit(O2_CLOSE[day]))
        .otherwise(pl.col("expected_close_date")).alias("expected_close_date"))


def _publish(data_dir: Path, day: date) -> store.Snapshot:
    return store.publish_snapshot(
        data_dir, day, {"stages": fx.STAGES, "reps": fx.REPS, "accounts": fx.ACCOUNTS, "products": fx.PRODUCTS,
                        "opportunities": _deals(day), "targets": fx.TARGETS},
        source="tests", derive=lambda snap: runner.build_derived(snap, ["forecast_history"]))


def _whole(snap: store.Snapshot) -> pl.DataFrame:
    """forecast_history computed whole from every snapshot (a database that never reads stored files)."""
    db = Database(snap, Scope.everyone(), serving=False)
    try:
        return db.cursor().sql("select * from raw_forecast_history").pl()
    finally:
        db.close()


def _stored(snap: store.Snapshot) -> pl.DataFrame:
    return pl.read_parquet(derived_file(snap, "forecast_history"))


@pytest.fixture
def appended(monkeypatch: pytest.MonkeyPatch) -> list[Path | None]:
    """What each publish appended to: the previous file, or None (computed whole)."""
    seen: list[Path | None] = []
    real = runner._append_from

    def spy(*args: object) -> Path | None:
        seen.append(real(*args))  # type: ignore[arg-type]
        return seen[-1]

    monkeypatch.setattr(runner, "_append_from", spy)
    return seen


def test_each_publish_appends_and_gives_the_rows_of_the_whole_computation(
        tmp_path: Path, appended: list[Path | None]) -> None:
    snaps = [_publish(tmp_path, day) for day in DAYS]
    # The first snapshot has nothing to append to; each later one appends to the one before it.
    assert appended[0] is None
    assert appended[1:] == [derived_file(s, "forecast_history") for s in snaps[:-1]]
    for snap in snaps:
        assert _stored(snap).equals(_whole(snap))
    last = _stored(snaps[-1])
    o2 = last.filter(pl.col("opportunity_id") == "O2").sort("as_of")
    # O2: 04-30, then 05-15 (later: 1 push), 05-10 (earlier: still 1), 05-30 (later: 2).
    assert o2["pushes"].to_list() == [0, 1, 1, 2]
    # Rows: open deals per snapshot. 03-18: W5 (won 03-25), W6, W7, O2, L4 (from 03-15) = 5;
    # 04-01: W6, W7, O1, O2, L4 = 5; 04-15: W7, O1, O2, O3, L4 = 5; 05-12: O1, O2, O3, O4, O5 = 5.
    assert last.group_by("as_of").len().sort("as_of")["len"].to_list() == [5, 5, 5, 5]


def test_a_back_filled_earlier_day_makes_the_next_publish_compute_whole(
        tmp_path: Path, appended: list[Path | None]) -> None:
    _publish(tmp_path, D(2026, 3, 18))
    _publish(tmp_path, D(2026, 4, 15))
    _publish(tmp_path, D(2026, 4, 1))  # back-filled: an earlier day than the latest
    latest = _publish(tmp_path, fx.AS_OF)
    # The back-filled day is not after the latest: whole. The next publish: the latest file (04-15's) lacks the
    # back-filled 04-01, so it cannot be appended to: whole again.
    assert appended == [None, derived_file(store.list_snapshots(tmp_path)[0], "forecast_history"), None, None]
    assert _stored(latest).equals(_whole(latest))
    assert _stored(latest)["as_of"].unique().sort().to_list() == list(DAYS)
