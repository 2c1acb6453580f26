"""The database of saved work under test: SQLite in tmp_path, and a real PostgreSQL started here.

`backend` runs a test twice, on SQLite (the default, a file in the data directory) and on PostgreSQL
(Debian's postgresql package: initdb and pg_ctl in a temporary folder, on 127.0.0.1 and a free port, one
fresh database per test). PostgreSQL refuses to run as root, so as root the server runs as the postgres
user. Without PostgreSQL installed the PostgreSQL half is skipped with the reason, except under CI, where
it fails: CI must run it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from saleslens.core import db


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A throwaway PostgreSQL cluster in a temporary folder; stopped and removed at exit."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="saleslens-pg-"))
        self.port = _free_port()
        as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._run([str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync",
                   "-E", "UTF8", "--locale=C"])
        self._run([str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w", "-t", "60",
                   "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} -F", "start"])
        atexit.register(self.stop)

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run([*self.prefix, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL of a database on this server (psycopg 3)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = "t" + uuid.uuid4().hex[:12]
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
        engine.dispose()
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test's database (its connections were closed first)."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        engine.dispose()

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.root.exists():
            subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                            "-w", "stop"], capture_output=True, timeout=60)
            shutil.rmtree(self.root, ignore_errors=True)


_SERVER: list[PgServer] = []


def postgres() -> PgServer:
    """The process's PostgreSQL server, started on first use; skipped (failed under CI) when not installed."""
    if _SERVER:
        return _SERVER[0]
    bin_dir = _bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL half of this test is skipped"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run it")
        pytest.skip(reason)
    _SERVER.append(PgServer(bin_dir))
    return _SERVER[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on SQLite and on a fresh PostgreSQL database; yields the backend's name."""
    db.forget()
    if request.param == "sqlite":
        monkeypatch.delenv("SALESLENS_DATABASE_URL", raising=False)
        yield "sqlite"
        db.forget()
        return
    server = postgres()
    name = server.create_database()
    monkeypatch.setenv("SALESLENS_DATABASE_URL", server.url(name))
    try:
        yield "postgresql"
    finally:
        db.forget()
        server.drop_database(name)
