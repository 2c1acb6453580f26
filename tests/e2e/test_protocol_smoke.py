"""The protocol load generator's smoke run against a real server on the S demo (bench/protocol.py, bench.load).

Here with the browser tests, which run alone in one process. Beside the unit tests on the other pytest-xdist
worker every step once timed out: not starvation but a deadlock (a Python function inside Polars' thread pool
against st.dataframe's to_pandas, bench/ANALYSIS.md "Server hang under load (2026-12-02)"), which the load only made
likelier. So the health check is asked all along from outside the users' event loop, and a server that stops
answering is diagnosed (thread stacks, socket queues) in the failure message.
"""

from __future__ import annotations

import asyncio
import threading
import time

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


class HealthWatch:
    """Asks /_stcore/health every second from a thread of its own (not the users' event loop, which could be the
    one starving) and, the first time it goes unanswered, keeps the server's diagnosis."""

    def __init__(self, server: support.Server, timeout: float = 10.0) -> None:
        self.server, self.timeout = server, timeout
        self.unanswered: list[str] = []
        self.diagnosis = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="health-watch", daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if not self.server.answers_health(self.timeout):
                self.unanswered.append(f"no answer in {time.monotonic() - started:.1f} s")
                self.diagnosis = self.diagnosis or self.server.diagnose()
            self._stop.wait(1.0)


def test_five_users_for_twenty_seconds_see_every_step_without_error(server: support.Server) -> None:
    """5 users walk Overview, a filter, Funnel, Targets, What-if, a slider, Leaderboard for 20 s: no error, and the
    health check answers throughout."""
    with HealthWatch(server) as health:
        results = asyncio.run(protocol.users([server.url], 5, 20.0, think=0.5))
    errors = [f"{r.page}: {e}" for r in results for e in r.errors]
    if errors and not health.diagnosis:
        health.diagnosis = server.diagnose()
    assert not health.unanswered, f"{health.unanswered[:3]}\n{health.diagnosis}"
    assert not errors, f"{errors[:5]}\n{health.diagnosis}"
    seen = {r.page for r in results}
    assert {"overview", "funnel", "targets", "whatif", "leaderboard"} <= seen, seen  # every page rerun
    assert all(r.seconds > 0 and r.elements > 0 for r in results)
    assert "Traceback" not in server.log()
