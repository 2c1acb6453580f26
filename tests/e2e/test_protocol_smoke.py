"""The protocol load generator's smoke run against a real server on the S demo (bench/protocol.py, bench.load).

Here with the browser tests, which run alone in one process: run beside the unit tests on the other pytest-xdist
worker, the server and its five users starved on two cores and every step timed out.
"""

from __future__ import annotations

import asyncio

import pytest

from bench import protocol
from tests import support

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A real `streamlit run serve.py` over the S demo."""
    data = support.demo_copy(tmp_path_factory, "protocol_s")
    srv = support.Server({"SALESLENS_DATA": str(data), "SALESLENS_AUTO_DEMO": "0"}, data / "server.log")
    try:
        srv.wait_healthy()
        asyncio.run(protocol.walk_once(srv.url))  # a server that has drawn every page once, as bench.load warms it
        yield srv
    finally:
        srv.stop()


def test_five_users_for_twenty_seconds_see_every_step_without_error(server: support.Server) -> None:
    """5 users walk Overview, a filter, Funnel, Targets, What-if, a slider, Leaderboard for 20 s: no error."""
    results = asyncio.run(protocol.users([server.url], 5, 20.0, think=0.5))
    errors = [f"{r.page}: {e}" for r in results for e in r.errors]
    assert not errors, errors[:5]
    seen = {r.page for r in results}
    assert {"overview", "funnel", "targets", "whatif", "leaderboard"} <= seen, seen  # every page rerun
    assert all(r.seconds > 0 and r.elements > 0 for r in results)
    assert "Traceback" not in server.log()
