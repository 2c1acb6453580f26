"""The warm start opens the latest snapshot's shared runner and caches the first view's queries, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from queries import runner as runner_module
from saleslens import warmup
from tests import fixtures


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: the warm-up has not run and no runner is open."""
    monkeypatch.setattr(warmup, "_done", False)
    monkeypatch.setattr(runner_module, "_RUNNERS", type(runner_module._RUNNERS)())


def test_warm_caches_the_sidebar_and_overview_queries(tmp_path: Path, fresh: None) -> None:
    fixtures.build_store(tmp_path)
    assert warmup.warm(tmp_path) > 0
    r = runner_module.runner_for(tmp_path)  # the runner a viewer who sees everyone gets
    cached = {(key[1], dict(key[2]).get("by")) for key in r._cache}
    # the filter lists, the four tile periods and the region table (kpis_by_group), the trend
    assert cached == {("filter_options_by_dimension", None), ("kpis_by_group", "org"),
                      ("kpis_by_group", "region"), ("bookings_by_month", None)}
    calls = warmup.overview_calls(r.snapshot.as_of)
    assert all(r.run(name, **params) is r.run(name, **params) for name, params in calls)
    assert len(r._cache) == 1 + len(calls)  # every call of the first view was already there
    assert warmup.warm(tmp_path) == 0.0  # once per process


def test_warm_on_an_empty_or_broken_data_directory_does_nothing(tmp_path: Path, fresh: None) -> None:
    assert warmup.warm(tmp_path) == 0.0
    warmup._done = False
    (tmp_path / "snapshots" / "2026-01-01").mkdir(parents=True)  # a snapshot folder with no manifest
    assert warmup.warm(tmp_path) == 0.0  # logged, never raised: the page tells the user


def test_only_the_server_freezes_the_heap(tmp_path: Path, fresh: None) -> None:
    """warm() leaves the garbage collector alone; the server's warm_then_freeze() (serve.py) freezes the heap."""
    import gc
    import sys

    fixtures.build_store(tmp_path)
    assert gc.get_freeze_count() == 0
    try:
        assert warmup.warm(tmp_path) > 0
        assert gc.get_freeze_count() == 0
        warmup._done = False
        warmup.warm_then_freeze(tmp_path, freeze_after=0.0)
        # the libraries and every page's feature module: tens of thousands of objects no collection rescans
        assert gc.get_freeze_count() > 10_000
        assert all(name in sys.modules for name in warmup.FEATURE_MODULES)
    finally:
        gc.unfreeze()


def test_a_first_visitor_waits_for_the_runner_the_warm_start_opens(tmp_path: Path, fresh: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """While the warm start opens the latest snapshot's unscoped runner, a visitor who would get it waits (instead
    of opening a second one and running the same queries); a scoped visitor, or one after it, does not wait."""
    import threading
    import time

    from saleslens.core import store

    fixtures.build_store(tmp_path)
    snap = store.open_snapshot(tmp_path)
    monkeypatch.setattr(warmup, "_WARMING", {})
    opened = threading.Event()
    release = threading.Event()
    original = runner_module.shared_runner

    def slow_open(*args: object, **kwargs: object) -> object:
        opened.set()
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(runner_module, "shared_runner", slow_open)
    warm = threading.Thread(target=warmup.warm, args=(tmp_path,))
    warm.start()
    assert opened.wait(10)
    assert warmup.wait_for_runner(snap, "reps:[\"R1\"]", timeout=0.01) is False  # another scope: no wait
    waited: list[float] = []
    visitor = threading.Thread(target=lambda: waited.append(warmup.wait_for_runner(snap, "all", timeout=10)))
    visitor.start()
    time.sleep(0.2)
    assert visitor.is_alive()  # still waiting for the warm start
    release.set()
    visitor.join(10)
    warm.join(30)
    assert waited == [True]
    assert warmup.wait_for_runner(snap, "all", timeout=0.01) is False  # done: nothing to wait for
    r = original(snap)
    assert any(key[1] == "filter_options_by_dimension" for key in r._cache)  # the visitor finds the queries run


def test_a_stuck_warm_start_costs_one_wait_not_one_per_run(tmp_path: Path, fresh: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm start that never finishes makes one visitor wait its timeout; the next runs go on without waiting
    (otherwise every rerun of every session would wait again, 30 s each)."""
    import threading
    import time

    from saleslens.core import store

    fixtures.build_store(tmp_path)
    snap = store.open_snapshot(tmp_path)
    stuck = threading.Event()  # never set: the warm start is still opening this runner
    monkeypatch.setattr(warmup, "_WARMING", {(str(snap.root), snap.manifest.get("created_at")): stuck})
    t0 = time.perf_counter()
    assert warmup.wait_for_runner(snap, "all", timeout=0.3) is True
    assert time.perf_counter() - t0 >= 0.3
    t1 = time.perf_counter()
    assert warmup.wait_for_runner(snap, "all", timeout=0.3) is False
    assert time.perf_counter() - t1 < 0.1
