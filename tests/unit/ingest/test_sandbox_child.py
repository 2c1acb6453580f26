"""The import sandbox's child runs its own module and nothing of the parent's (saleslens/ingest/sandbox.py).

Inside the app Streamlit puts the page script in sys.modules["__main__"]; a multiprocessing child prepared itself
by running that file again as __mp_main__, so every import child re-ran the app's entry script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from saleslens.ingest import sandbox
from saleslens.ingest.readers import Limits, ReadError, SourceFile

DEALS = b"id,owner,amount\nD1,R1,100\nD2,R2,250\n"
LIMITS = Limits(max_mb=10, max_rows=1000)


def _on_disk(path: Path) -> SourceFile:
    return SourceFile(path.name, path.stat().st_size, path.read_bytes, path)


def _entry_script(folder: Path) -> tuple[Path, Path]:
    """A script that, when run, leaves a mark beside itself and then fails, as an app entry outside Streamlit would."""
    script, mark = folder / "app_entry.py", folder / "entry_ran.txt"
    script.write_text("from pathlib import Path\n"
                      "Path(__file__).with_name('entry_ran.txt').write_text('ran')\n"
                      "raise RuntimeError('the entry script ran in the import child')\n", encoding="utf-8")
    return script, mark


def test_the_child_never_runs_the_parents_main_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent whose __main__ is a script file (what Streamlit's script runner sets): the read works, no mark."""
    script, mark = _entry_script(tmp_path)
    main = types.ModuleType("__main__")  # as Streamlit makes it: a fresh module with the script's file, no spec
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    deals = tmp_path / "deals.csv"
    deals.write_bytes(DEALS)
    raw = sandbox.read(_on_disk(deals), LIMITS)
    assert not mark.exists()
    assert raw.frame.height == 2
    assert raw.frame["amount"].to_list() == ["100", "250"]


def test_an_upload_is_read_too_with_a_script_as_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An uploaded file (bytes, no path) goes through the same child."""
    script, mark = _entry_script(tmp_path)
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    raw = sandbox.read(SourceFile("deals.csv", len(DEALS), lambda: DEALS), LIMITS)
    assert not mark.exists()
    assert raw.frame["id"].to_list() == ["D1", "D2"]


def test_a_relative_path_is_read_from_the_parents_working_directory(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`saleslens import exports/` gives relative paths; the child works in its own folder and still finds them."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "deals.csv").write_bytes(DEALS)
    monkeypatch.chdir(tmp_path)
    relative = Path("exports/deals.csv")
    raw = sandbox.read(SourceFile("deals.csv", len(DEALS), relative.read_bytes, relative), LIMITS)
    assert raw.frame.height == 2


def test_a_child_that_cannot_start_is_one_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No interpreter to start: the file's read fails in words, the caller is not crashed."""
    monkeypatch.setattr(sandbox, "child_command", lambda folder: [str(tmp_path / "no-such-python"), str(folder)])
    deals = tmp_path / "deals.csv"
    deals.write_bytes(DEALS)
    with pytest.raises(ReadError) as caught:
        sandbox.read(_on_disk(deals), LIMITS)
    assert caught.value.problem.code == "read_failed"
    assert caught.value.problem.values["file"] == "deals.csv"
    assert "FileNotFoundError" in caught.value.problem.values["error"]


def test_a_thread_that_could_not_start_under_the_cap_is_out_of_memory() -> None:
    """Under the address-space cap Polars may fail to start a thread before any allocation fails: the child dies with
    Rust's WouldBlock panic (seen under load in the hostile-file test); that is the cap, not a broken file. An EAGAIN
    with no panic (a pipe, a process limit) is not."""
    said = ("thread '<unnamed>' panicked\npyo3_runtime.PanicException: called `Result::unwrap()` on an `Err` value: "
            'Os { code: 11, kind: WouldBlock, message: "Resource temporarily unavailable" }\n')
    problem = sandbox._death("deals.csv", 1, said, 1500)
    assert (problem.code, problem.values) == ("read_out_of_memory", {"file": "deals.csv", "mb": "1,500"})
    other = sandbox._death("deals.csv", 1, "ValueError: bad quote at line 3\n", 1500)
    assert (other.code, other.values["error"]) == ("read_failed", "ValueError: bad quote at line 3")
    pipe = sandbox._death("deals.csv", 1, "BlockingIOError: [Errno 11] Resource temporarily unavailable\n", 1500)
    assert pipe.code == "read_failed"


def test_a_child_stopped_by_its_cpu_limit_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's own CPU limit (a backstop should the server die) ends it with SIGXCPU: a time-out, not memory."""
    import signal

    monkeypatch.setenv("SALESLENS_IMPORT_READ_SECONDS", "42")
    problem = sandbox._death("deals.csv", -signal.SIGXCPU, "", 1500)
    assert (problem.code, problem.values) == ("read_timeout", {"file": "deals.csv", "seconds": "42"})
    # never reached before the read timeout, even with every core busy for the whole of it
    assert sandbox.cpu_limit(42) >= 42 * (os.cpu_count() or 1)


def test_the_child_gets_no_secrets_of_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process that parses an untrusted file sees neither the database URL nor object-storage keys."""
    monkeypatch.setenv("SALESLENS_DATABASE_URL", "postgresql://lens:s3cret@db/sales")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "k3y")
    monkeypatch.setenv("POLARS_MAX_THREADS", "2")
    env = sandbox.child_env()
    assert "SALESLENS_DATABASE_URL" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["POLARS_MAX_THREADS"] == "2" and env["PATH"] == os.environ["PATH"]
    assert str(sandbox.PACKAGE_ROOT) in env["PYTHONPATH"].split(os.pathsep)


def test_the_child_limits_its_own_cpu_time(tmp_path: Path) -> None:
    """A child asked to read sets RLIMIT_CPU from the request (checked in a child that reports its limit)."""
    code = ("import json, resource, sys; from pathlib import Path; from saleslens.ingest import sandbox_child as c; "
            "c.limit_memory(4096, 77); print(resource.getrlimit(resource.RLIMIT_CPU)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=sandbox.child_env(), check=True)
    assert out.stdout.strip() == "77"
