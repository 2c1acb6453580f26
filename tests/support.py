"""Helpers shared by the tests: a fixture store and its runner, the page list, the demo, a real server, Chromium."""

from __future__ import annotations

import ast
import fcntl
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

from queries.runner import Runner
from saleslens.core import store

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboard.py"
SERVE = ROOT / "serve.py"  # dashboard.py behind an st.App with a warm start
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEMO_AS_OF = date(2026, 6, 30)
DEMO_SEED = 7


def open_runner(data_dir: Path) -> Iterator[Runner]:
    """A runner on the latest snapshot of data_dir, closed afterwards (`yield from` it in a fixture)."""
    runner = Runner(store.open_snapshot(data_dir))
    yield runner
    runner.close()


def sql_rows(runner: Runner, sql: str) -> list[tuple]:
    """The rows of a SQL statement on the runner's connection (a cursor of its own, closed afterwards)."""
    cur = runner._db.cursor()
    try:
        return cur.sql(sql).fetchall()
    finally:
        cur.close()


def built_store(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """A fresh directory named after name, holding the store that build writes."""
    path = tmp_path_factory.mktemp(name)
    build(path)
    return path


def store_fixtures(name: str, build: Callable[[Path], object]) -> tuple[Any, Any]:
    """Module-scoped `data_dir` (the store build writes) and `runner` fixtures; assign both to those names."""

    @pytest.fixture(scope="module")
    def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return built_store(tmp_path_factory, name, build)

    @pytest.fixture(scope="module")
    def runner(data_dir: Path) -> Iterator[Runner]:
        yield from open_runner(data_dir)

    return data_dir, runner


def texts(elements) -> str:
    """The text of some AppTest elements (errors, warnings, markdown), joined for substring checks."""
    return "\n".join(str(e.value) for e in elements)


def assert_clean(at: AppTest) -> None:
    """No exception and no error box: the AppTest run rendered."""
    assert not at.exception, texts(at.exception)
    assert not at.error, texts(at.error)


def switch_tab(at: AppTest, label: str, key: str) -> AppTest:
    """Switch a page's tab radio (only the open tab computes, so its content appears after the rerun)."""
    at.session_state[key] = label
    at.run()
    assert_clean(at)
    return at


def planned_pages() -> list[tuple[str, str, str, str]]:
    """dashboard.PAGES, read from the source: importing dashboard.py would run the app."""
    tree = ast.parse(DASHBOARD.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES" for t in node.targets):
            return [tuple(p) for p in ast.literal_eval(node.value)]
    raise AssertionError("dashboard.py has no PAGES list")


def existing_pages() -> list[tuple[str, str, str, str]]:
    """The planned pages whose file exists: the ones the app shows."""
    return [p for p in planned_pages() if (ROOT / p[0]).exists()]


def demo_module(wait: float = 60.0):
    """saleslens.demo, polling a while in case it is being written (it must expose build())."""
    deadline = time.monotonic() + wait
    while True:
        try:
            module = importlib.reload(sys.modules["saleslens.demo"]) if "saleslens.demo" in sys.modules \
                else importlib.import_module("saleslens.demo")
            if hasattr(module, "build"):
                return module
            problem: Exception = AttributeError("saleslens.demo has no build()")
        except Exception as exc:  # a half-written file raises SyntaxError, ImportError, ...
            problem = exc
        if time.monotonic() > deadline:
            raise RuntimeError(f"saleslens.demo is not usable: {problem}") from problem
        time.sleep(2)


def build_demo(data_dir: Path, size: str = "S") -> list:
    """The demo dataset of a size, with a fixed seed and as-of date so runs are repeatable."""
    return demo_module().build(data_dir, size, seed=DEMO_SEED, as_of=DEMO_AS_OF)


def demo_copy(tmp_path_factory: pytest.TempPathFactory, name: str, size: str = "S") -> Path:
    """A fresh directory named after name holding the demo of a size: built once per test run, copied here.

    Building the S demo takes many seconds and several test modules need one; a copy of the same build is the
    same bytes (fixed seed and as-of date, no absolute paths inside), and each caller may write to its own.
    """
    path = tmp_path_factory.mktemp(name)
    shutil.copytree(_built_demo(tmp_path_factory, size), path, dirs_exist_ok=True)
    return path


def _built_demo(tmp_path_factory: pytest.TempPathFactory, size: str) -> Path:
    """The run's one build of the demo of a size, never handed to a test itself (only copied)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest-xdist: the workers' temporary folders share a parent
        root = root.parent
    built, complete = root / f"demo-{size}-built", root / f"demo-{size}.complete"
    with (root / f"demo-{size}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the others wait for it and copy
        if not complete.exists():
            shutil.rmtree(built, ignore_errors=True)  # a build cut short by a failure
            built.mkdir()
            build_demo(built, size)
            complete.touch()
    return built


def use_data(monkeypatch, data_dir: Path) -> Path:
    """Point the app (settings are read at call time) at a data directory, with the first-start demo off."""
    monkeypatch.setenv("SALESLENS_DATA", str(data_dir))
    monkeypatch.setenv("SALESLENS_AUTO_DEMO", "0")
    monkeypatch.delenv("SALESLENS_LANGUAGE", raising=False)
    return data_dir


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real `streamlit run serve.py` (the README's command) on a free port, with its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, entry: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log: IO[str] = log_path.open("w")
        cmd = [sys.executable, "-m", "streamlit", "run", str(entry or SERVE), "--server.headless", "true",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false",
               # No file watcher: a "source file changed" notice would look like a running script to settle(),
               # and nothing is edited under a test server anyway.
               "--server.fileWatcherType", "none"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 60) -> None:
        """Block until /_stcore/health answers ok; fail with the server log if it exits or hangs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s:\n{self.log()}")

    def log(self, tail: int = 3000) -> str:
        """The last part of the server output, for failure messages."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]

    def answers_health(self, timeout: float = 10.0) -> bool:
        """Whether /_stcore/health answers ok within timeout: the server's event loop is running."""
        try:
            with urllib.request.urlopen(self.url + "/_stcore/health", timeout=timeout) as r:
                return r.read().strip() == b"ok"
        except OSError:
            return False

    def diagnose(self) -> str:
        """Why a server stopped answering: every thread's stack (serve.py's SIGUSR1 handler writes them to the log,
        py-spy adds the native frames when installed) and its sockets' queues (Recv-Q on the listening socket is
        the accept backlog)."""
        parts = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        for cmd in ([spy, "dump", "--native", "--pid", str(self.proc.pid)],
                    ["ss", "-tni", f"( sport = :{self.port} )"], ["ss", "-lnt", f"sport = :{self.port}"]):
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
                parts.append(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                parts.append(f"$ {' '.join(cmd)}: {exc}")
        return "\n".join(parts) + "\n--- server log (end) ---\n" + self.log(30000)

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop) and close its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def settle(page, wait_ms: int = 500, timeout: float = 60) -> None:
    """Wait until the page shows its title and Streamlit has stopped running the script, then a little more.

    The status widget ("Running...") shows only once the script runs, and a rerun can follow right
    after, so the page counts as settled when the widget has stayed away for three checks in a row.
    """
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout * 1000)
    page.locator("[data-testid='stMain'] h1, [data-testid='stException']").first.wait_for(timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        quiet = quiet + 1 if page.locator("[data-testid='stStatusWidget']").count() == 0 else 0
        page.wait_for_timeout(200)
    page.wait_for_timeout(wait_ms)
