"""The query runner: result cache, row scope (default deny), and concurrent use from threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from queries import catalog
from queries.runner import Runner, Scope, runner_for
from saleslens.core import store
from tests import fixtures

H1 = {"start": date(2026, 1, 1), "end": date(2026, 6, 30)}


def test_same_call_returns_the_cached_frame(tiny: Runner) -> None:
    first = tiny.run("kpis_by_group", by="region", **H1)
    assert tiny.run("kpis_by_group", by="region", **H1) is first
    # The same values written differently (strings, keyword order) are the same call once bound.
    assert tiny.run("kpis_by_group", end="2026-06-30", start="2026-01-01", by="region") is first
    assert tiny.run("kpis_by_group", by="team", **H1) is not first
    assert tiny.run("kpis_by_group", by="region", regions=["East"], **H1) is not first


def test_cache_key_names_snapshot_query_params_and_scope(tiny: Runner) -> None:
    tiny.run("kpis_by_group", by="rep")
    (key,) = list(tiny._cache)
    snapshot_id, name, params, scope_key = key
    assert (snapshot_id, name, scope_key) == (tiny.snapshot.id, "kpis_by_group", "all")
    assert dict(params)["by"] == "rep"


def test_cache_is_bounded(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESLENS_CACHE_ENTRIES", "2")
    runner = Runner(store.open_snapshot(tiny_dir))
    try:
        for by in ("org", "region", "team"):
            runner.run("kpis_by_group", by=by)
        assert len(runner._cache) == 2
        assert {dict(k[2])["by"] for k in runner._cache} == {"region", "team"}  # the oldest went first
    finally:
        runner.close()


def _second_snapshot(data_dir: Path) -> store.Snapshot:
    """A later snapshot of the same day in which O1 was lost instead of won."""
    opps = fixtures.OPPORTUNITIES.with_columns(
        stage=pl.when(pl.col("opportunity_id") == "O1").then(pl.lit("Closed Lost")).otherwise(pl.col("stage")),
        status=pl.when(pl.col("opportunity_id") == "O1").then(pl.lit("lost")).otherwise(pl.col("status")),
    )
    return fixtures.build_store(data_dir, opportunities=opps)


def test_runner_for_keys_on_snapshot_and_scope(tiny_dir: Path) -> None:
    first = runner_for(tiny_dir)
    assert runner_for(tiny_dir) is first
    second = _second_snapshot(tiny_dir)
    assert second.id == "2026-06-30-2"
    latest = runner_for(tiny_dir)  # the latest is now the second snapshot
    assert latest is not first and latest.snapshot.id == second.id
    assert runner_for(tiny_dir, "2026-06-30") is first
    # Bookings all time: 9000 in the first snapshot; 9000 - O1 1000 = 8000 in the second.
    assert first.run("kpis_by_group")["bookings"].to_list() == [9000.0]
    assert latest.run("kpis_by_group")["bookings"].to_list() == [8000.0]
    r1 = runner_for(tiny_dir, "2026-06-30", Scope("r1", frozenset({"R1"})))
    assert r1 is not first
    # R1's deals: O1 won 1000; O2 and O7 lost.
    assert r1.run("kpis_by_group")["bookings"].to_list() == [1000.0]
    assert first.run("kpis_by_group")["bookings"].to_list() == [9000.0]


def _run_every_query(runner: Runner) -> dict[str, pl.DataFrame]:
    """Every named query of the foundation with sample parameters."""
    return {
        "kpis_org": runner.run("kpis_by_group", by="org", **H1),
        "kpis_rep": runner.run("kpis_by_group", by="rep", **H1),
        "kpis_manager": runner.run("kpis_by_group", by="manager", **H1),
        "kpis_source": runner.run("kpis_by_group", by="source", **H1),
        "months": runner.run("bookings_by_month", **H1),
        "options": runner.run("filter_options_by_dimension"),
        "bounds": runner.run("period_bounds_by_snapshot"),
    }


def test_empty_scope_sees_nothing(tiny_dir: Path) -> None:
    runner = Runner(store.open_snapshot(tiny_dir), Scope("nobody", frozenset()))
    try:
        out = _run_every_query(runner)
        for name in ("kpis_org", "kpis_rep", "kpis_manager", "kpis_source"):
            assert out[name].height == 0, name
        assert out["months"]["bookings"].to_list() == [0.0] * 6
        assert out["months"]["target"].to_list() == [None] * 6
        # Only the unscoped reference lists (products, account segments) remain; no rep, team, region or source.
        assert set(out["options"]["dimension"].to_list()) <= {"product", "segment"}
        assert out["bounds"].rows() == [(None, None, None, 0)]
    finally:
        runner.close()


def test_scope_of_one_rep_sees_only_that_rep(tiny_dir: Path) -> None:
    runner = Runner(store.open_snapshot(tiny_dir), Scope("r1", frozenset({"R1"})))
    try:
        out = _run_every_query(runner)
        # R1 over H1: O1 won 1000; O2, O7 lost; target 6 x 1000; activities X1, X2.
        org = out["kpis_org"].row(0, named=True)
        assert (org["bookings"], org["target"], org["deals_won"], org["deals_lost"], org["activities"]) == (
            1000.0, 6000.0, 1, 2, 2,
        )
        assert out["kpis_rep"]["group_key"].to_list() == ["R1"]
        # The manager's name still labels R1's group even though M1's own row is out of scope.
        assert out["kpis_manager"].select("group_key", "group_label").rows() == [("M1", "Mia Manager")]
        assert out["kpis_source"]["group_key"].to_list() == ["Inbound", "Outbound"]
        assert out["months"]["target"].to_list() == [1000.0] * 6
        assert out["months"]["bookings"].to_list() == [0.0, 1000.0, 0.0, 0.0, 0.0, 0.0]
        options = out["options"]
        assert options.filter(pl.col("dimension") == "rep")["value"].to_list() == ["R1"]
        assert options.filter(pl.col("dimension") == "region")["value"].to_list() == ["East"]
        assert options.filter(pl.col("dimension") == "source")["value"].to_list() == ["Inbound", "Outbound"]
        # R1's deals: created 01-10 .. 05-05; last close 06-01 (O7); no open deal so no expected date.
        assert out["bounds"].rows() == [(date(2026, 1, 10), date(2026, 6, 1), None, 3)]
        # Asking for another rep's rows through a filter cannot widen the scope.
        assert runner.run("kpis_by_group", by="rep", reps=["R2", "R3"]).height == 0
    finally:
        runner.close()


def test_scope_of_two_reps(tiny_dir: Path) -> None:
    """R2 and R3: bookings O3 6000 + O4 2000; targets 12000 + 10500."""
    runner = Runner(store.open_snapshot(tiny_dir), Scope("r2r3", frozenset({"R2", "R3"})))
    try:
        frame = runner.run("kpis_by_group", by="rep", **H1)
        assert frame.select("group_key", "bookings", "target").rows() == [
            ("R2", 6000.0, 12000.0), ("R3", 2000.0, 10500.0),
        ]
    finally:
        runner.close()


def test_concurrent_queries_equal_serial_ones(tiny_dir: Path) -> None:
    """Many distinct (uncached) queries from several threads give the same frames as one thread."""
    snap = store.open_snapshot(tiny_dir)
    calls = [
        ("kpis_by_group", {"by": by, "start": date(2026, 1, 1), "end": date(2026, 6, 30)})
        for by in ("org", "region", "team", "manager", "rep", "product", "segment", "source")
    ] + [("bookings_by_month", {"start": date(2026, m, 1), "end": date(2026, 8, 31)}) for m in (1, 3, 5, 6)]
    serial_runner = Runner(snap)
    threaded_runner = Runner(snap)
    try:
        serial = [serial_runner.run(name, **params) for name, params in calls]
        with ThreadPoolExecutor(max_workers=8) as pool:
            threaded = list(pool.map(lambda c: threaded_runner.run(c[0], **c[1]), calls))
    finally:
        serial_runner.close()
        threaded_runner.close()
    for (name, params), a, b in zip(calls, serial, threaded, strict=True):
        assert a.equals(b), (name, params)


def test_unknown_query_and_parameter_fail_before_running(tiny: Runner) -> None:
    with pytest.raises(catalog.QueryError, match="unknown query 'nope'"):
        tiny.run("nope")
    with pytest.raises(catalog.QueryError, match="has no parameter 'region'"):
        tiny.run("kpis_by_group", region=["East"])
    with pytest.raises(catalog.QueryError, match="needs parameter 'start'"):
        tiny.run("bookings_by_month", end=date(2026, 6, 30))


def test_run_many_returns_frames_in_call_order_and_shares_the_cache(tiny: Runner) -> None:
    calls = [("kpis_by_group", {"by": by, **H1}) for by in ("org", "region", "team", "rep")]
    frames = tiny.run_many(calls)
    for (name, params), frame in zip(calls, frames, strict=True):
        assert tiny.run(name, **params) is frame  # each result cached under its own call


def test_run_many_raises_the_failing_call_s_error(tiny: Runner) -> None:
    with pytest.raises(catalog.QueryError, match="nope"):
        tiny.run_many([("kpis_by_group", {"by": "org"}), ("kpis_by_group", {"nope": 1})])
