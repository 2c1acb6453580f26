"""The S demo and a runner over it, built once per test module of the benchmark tests that need them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from queries.runner import Runner
from saleslens.core import store
from tests import support


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S demo (built once per run, copied here) for the module that asks for it."""
    return support.demo_copy(tmp_path_factory, "bench_s")


@pytest.fixture(scope="module")
def runner(demo: Path) -> Iterator[Runner]:
    """A runner over the latest S snapshot."""
    r = Runner(store.open_snapshot(demo))
    yield r
    r.close()
