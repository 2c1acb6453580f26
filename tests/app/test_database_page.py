"""At start, a database that cannot be used gets one clear page: which URL (password masked) and why."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from saleslens.core import db
from tests import fixtures, support
from tests.support import use_data


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_app() -> AppTest:
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=120)
    at.run()
    return at


def test_an_unreachable_database_is_one_page_without_the_password(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fixtures.build_store(tmp_path)
    use_data(monkeypatch, tmp_path)
    port = closed_port()
    monkeypatch.setenv("SALESLENS_DATABASE_URL", f"postgresql://ann:s3cret@127.0.0.1:{port}/sales")
    db.forget()
    at = run_app()
    assert not at.exception
    assert [t.value for t in at.title] == ["The database of saved work cannot be used"]
    shown = " ".join(e.value for e in at.error)
    assert f"postgresql+psycopg://ann:***@127.0.0.1:{port}/sales" in shown
    assert "s3cret" not in shown and "Traceback" not in shown
    everything = " ".join(str(getattr(e, "value", "")) for e in at.main)
    assert "s3cret" not in everything


def test_a_database_from_a_newer_version_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixtures.build_store(tmp_path)
    use_data(monkeypatch, tmp_path)
    monkeypatch.delenv("SALESLENS_DATABASE_URL", raising=False)
    with db.get(tmp_path).begin() as conn:
        conn.execute(sa.text("update alembic_version set version_num = '0042'"))
    db.forget()
    at = run_app()
    assert not at.exception
    assert "schema version 0042, newer than this Sales Lens (it knows versions up to 0001)" in " ".join(
        e.value for e in at.error)
    db.forget()
