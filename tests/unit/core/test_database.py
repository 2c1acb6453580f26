"""The database of saved work: migrations, versions, refusals at start, the one-time import of earlier files.

Each test that touches a database runs on SQLite and on a real PostgreSQL (tests/database_fixtures.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from saleslens.core import access, db
from saleslens.core.db import items, legacy, tables
from tests.database_fixtures import backend  # noqa: F401 - the fixture, used by name

ADMIN = access.Actor(access.User("root", "Root", "admin"), None)


def test_sqlite_is_the_default_and_lives_in_the_data_directory(tmp_path: Path) -> None:
    assert db.url_for(tmp_path, {}) == f"sqlite:///{tmp_path / 'saleslens.db'}"
    url = "postgresql://ann:pw@db.example:5432/sales"
    assert db.url_for(tmp_path, {"SALESLENS_DATABASE_URL": url}) == "postgresql+psycopg://ann:pw@db.example:5432/sales"


def test_mask_hides_the_password() -> None:
    assert db.mask("postgresql+psycopg://ann:s3cret@db.example/sales") == "postgresql+psycopg://ann:***@db.example/sales"
    assert "s3cret" not in db.mask("not a url ann:s3cret@host")


@pytest.mark.usefixtures("backend")
def test_migrations_create_the_tables_the_library_uses(tmp_path: Path) -> None:
    database = db.get(tmp_path)
    with database.begin() as conn:
        inspector = sa.inspect(conn)
        found = {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}
        assert db.current_revision(conn) == db.head_revision() == "0001"
    for table in tables.metadata.sorted_tables:
        assert found[table.name] == {c.name for c in table.columns}, table.name
    assert "alembic_version" in found


@pytest.mark.usefixtures("backend")
def test_opening_again_migrates_nothing_and_keeps_the_data(tmp_path: Path) -> None:
    items.save(db.get(tmp_path), "scenarios", "Plan A", {"x": 1}, ADMIN)
    db.forget()
    database = db.get(tmp_path)
    assert items.get(database, "scenarios", "Plan A").body == {"x": 1}


def test_the_head_in_code_is_alembics_head() -> None:
    """db.HEAD lets a database already there open without Alembic: it must name the newest migration."""
    assert db.head_revision() == db.HEAD


def _opens_with_alembic(data_dir: Path) -> bool:
    """Open the database of data_dir in a fresh interpreter; whether Alembic got imported on the way."""
    code = ("import sys; from pathlib import Path; from saleslens.core import db; "
            f"db.open_database(Path({str(data_dir)!r})); print('alembic' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    env.pop("SALESLENS_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=True)
    return out.stdout.strip() == "True"


def test_a_database_at_head_opens_without_alembic(tmp_path: Path) -> None:
    """The first open migrates (Alembic); later opens of a server see the head and skip it (about 0.4 s of import)."""
    assert _opens_with_alembic(tmp_path)
    assert not _opens_with_alembic(tmp_path)


@pytest.mark.usefixtures("backend")
def test_a_database_from_a_newer_version_is_refused_with_both_versions(tmp_path: Path) -> None:
    database = db.get(tmp_path)
    with database.begin() as conn:
        conn.execute(sa.text("update alembic_version set version_num = '0099'"))
    db.forget()
    with pytest.raises(db.DatabaseTooNew, match=r"schema version 0099, newer than this Sales Lens .* up to 0001"):
        db.get(tmp_path)


def test_an_unreachable_database_names_the_url_without_the_password(tmp_path: Path) -> None:
    with socket_closed() as port:
        url = f"postgresql+psycopg://ann:s3cret@127.0.0.1:{port}/sales"
        with pytest.raises(db.DatabaseUnavailable) as caught:
            db.open_database(tmp_path, url)
    message = str(caught.value)
    assert "s3cret" not in message and "\n" not in message
    assert f"postgresql+psycopg://ann:***@127.0.0.1:{port}/sales" in message


def test_a_missing_driver_or_bad_url_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(db.DatabaseUnavailable, match="cannot use the database nosuch://"):
        db.open_database(tmp_path, "nosuch://ann:s3cret@host/x")


def socket_closed():
    """A port on 127.0.0.1 with nothing listening."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def closed():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield port

    return closed()


# ---------------------------------------------------------------- versions of saved items


@pytest.mark.usefixtures("backend")
def test_each_save_is_a_new_version_and_an_older_one_is_refused(tmp_path: Path) -> None:
    database = db.get(tmp_path)
    ann = access.Actor(access.User("ann", "Ann", "analyst"), None)
    bob = access.Actor(access.User("bob", "Bob", "admin"), None)
    first = items.save(database, "scorecards", "Fair", {"w": 1}, ann, extra={"role": "AE"})
    assert (first.version, first.owner, first.updated_by) == (1, "ann", "ann")
    second = items.save(database, "scorecards", "Fair", {"w": 2}, bob, expected_version=1, extra={"role": "AE"})
    assert (second.version, second.owner, second.updated_by) == (2, "ann", "bob")  # the owner stays
    with pytest.raises(items.StaleVersion, match=r"changed by bob at .* \(version 2\); reload to see their change"):
        items.save(database, "scorecards", "Fair", {"w": 3}, ann, expected_version=1, extra={"role": "AE"})
    assert items.get(database, "scorecards", "Fair").body == {"w": 2}


@pytest.mark.usefixtures("backend")
def test_a_new_item_over_one_saved_meanwhile_is_refused(tmp_path: Path) -> None:
    database = db.get(tmp_path)
    ann = access.Actor(access.User("ann", "Ann", "analyst"), None)
    items.save(database, "scenarios", "Q1", {"a": 1}, ann)
    taken = r"a scenario named 'Q1' is already saved \(by ann at .*\); choose another name or replace it"
    with pytest.raises(items.StaleVersion, match=taken):
        items.save(database, "scenarios", "Q1", {"a": 2}, ADMIN, expected_version=0)
    assert items.get(database, "scenarios", "Q1").body == {"a": 1}


@pytest.mark.usefixtures("backend")
def test_a_new_item_whose_name_is_taken_between_read_and_write_is_refused_the_same_way(tmp_path: Path) -> None:
    """The other server's row lands after our read and before our insert: the unique name refuses the insert, and
    the user is told the name is taken, as when the read saw it (the race two browsers met in the e2e test)."""
    database = db.get(tmp_path)
    table = tables.scenarios

    def land_theirs_first(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SCENARIOS") and not landed:
            landed.append(True)  # theirs, written on the same transaction just before ours reaches the table
            conn.execute(table.insert().values(name="Q1", owner="bob", owner_team="", visibility="everyone",
                                               version=1, body="{}", created_at="t", updated_at="t", updated_by="bob"))

    landed: list[bool] = []
    sa.event.listen(database.engine, "before_cursor_execute", land_theirs_first)
    try:
        with pytest.raises(items.StaleVersion, match=r"a scenario named 'Q1' is already saved \(by another user "
                                                     r"just now\); choose another name or replace it"):
            items.save(database, "scenarios", "Q1", {"a": 2}, ADMIN, expected_version=0)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", land_theirs_first)
    assert landed == [True]
    assert items.get(database, "scenarios", "Q1") is None  # nothing of the refused save (nor of the stand-in) stays


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(("visibility", "named"), [("everyone", r"by bob at t0"),
                                                    ("private", r"by another user just now")])
def test_the_winner_of_the_race_is_named_when_it_may_be_seen(tmp_path: Path, visibility: str, named: str) -> None:
    """On PostgreSQL the other server's row is committed on its own connection after our read: our insert waits on
    the unique name and fails, and the user is told who took the name, unless theirs is private."""
    database = db.get(tmp_path)
    if not database.is_postgres:
        pytest.skip("SQLite writes one transaction at a time: a row cannot be committed between our read and write")
    table = tables.scenarios

    def land_theirs_first(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SCENARIOS") and not landed:
            landed.append(True)
            with database.engine.connect() as other, other.begin():
                other.execute(table.insert().values(name="Q1", owner="bob", owner_team="", visibility=visibility,
                                                    version=1, body="{}", created_at="t0", updated_at="t0",
                                                    updated_by="bob"))

    ann = access.Actor(access.User("ann", "Ann", "analyst"), None)
    landed: list[bool] = []
    sa.event.listen(database.engine, "before_cursor_execute", land_theirs_first)
    try:
        with pytest.raises(items.StaleVersion, match=rf"a scenario named 'Q1' is already saved \({named}\)"):
            items.save(database, "scenarios", "Q1", {"a": 2}, ann, expected_version=0)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", land_theirs_first)
    assert items.get(database, "scenarios", "Q1").owner == "bob"  # theirs stays, ours is not written


@pytest.mark.usefixtures("backend")
def test_visibility_private_team_everyone(tmp_path: Path) -> None:
    database = db.get(tmp_path)
    ann = access.Actor(access.User("ann", "Ann", "manager", "M1"), frozenset({"M1", "A1"}), team="East")
    east = access.Actor(access.User("eve", "Eve", "rep", "A1"), frozenset({"A1"}), team="East")
    west = access.Actor(access.User("wes", "Wes", "rep", "W1"), frozenset({"W1"}), team="West")
    items.save(database, "scenarios", "mine", {}, ann, visibility="private")
    items.save(database, "scenarios", "ours", {}, ann, visibility="team")
    items.save(database, "scenarios", "all", {}, ann, visibility="everyone")
    names = {who.login: [i.name for i in items.list_items(database, "scenarios", who)]
             for who in (ann, east, west, ADMIN)}
    assert names == {"ann": ["all", "mine", "ours"], "eve": ["all", "ours"], "wes": ["all"],
                     "root": ["all", "mine", "ours"]}
    with pytest.raises(items.VisibilityError):
        items.save(database, "scenarios", "odd", {}, ann, visibility="friends")


@pytest.mark.usefixtures("backend")
def test_every_write_is_in_the_audit_log_with_its_author(tmp_path: Path) -> None:
    database = db.get(tmp_path)
    ann = access.Actor(access.User("ann", "Ann", "analyst"), None)
    items.save(database, "target_sets", "Plan", {}, ann, extra={"rows": b"x"})
    items.delete(database, "target_sets", "Plan", ann)
    access.audit(tmp_path, "bob", "export", "kpis.csv")
    log = [(e["who"], e["action"], e["what"]) for e in access.audit_entries(tmp_path)]
    assert log == [("ann", "save-target-set", "Plan (version 1, everyone)"),
                   ("ann", "delete-target-set", "Plan (version 1, owner ann)"),
                   ("bob", "export", "kpis.csv")]


# ---------------------------------------------------------------- files of earlier versions


def write_earlier_files(data_dir: Path) -> None:
    """What the file-based version left: a rating, a scorecard, a target set, a scenario, audit lines, users."""
    saved = data_dir / "saved"
    (saved / "ratings" / "2026Q3").mkdir(parents=True)
    (saved / "ratings" / "2026Q3" / "A1.json").write_text(json.dumps(
        {"rep_id": "A1", "quarter": "2026Q3", "scores": {"teamwork": 4}, "comment": "Steady",
         "updated_at": "2026-09-30T10:00:00+00:00", "updated_by": ""}), encoding="utf-8")
    (saved / "scorecards").mkdir()
    (saved / "scorecards" / "fair.json").write_text(json.dumps(
        {"name": "Fair", "role": "AE", "weights": {"bookings": 60, "win_rate": 40}, "ramp": [],
         "min_sample": 5, "cap": 2.0, "saved_at": "2026-08-01T09:00:00+00:00"}), encoding="utf-8")
    (saved / "target_sets").mkdir()
    rows = pl.DataFrame({"owner_type": ["team"], "owner_id": ["East"], "metric": ["bookings"],
                         "period_start": [date(2027, 1, 1)], "period_end": [date(2027, 12, 31)],
                         "value": [2_460_000.0]})
    rows.write_parquet(saved / "target_sets" / "east-2027-abc.123.parquet")
    (saved / "target_sets" / "east-2027-abc.json").write_text(json.dumps(
        {"name": "East 2027", "description": "plan", "created_at": "2026-10-01T00:00:00+00:00",
         "updated_at": "2026-10-02T00:00:00+00:00", "rows_file": "east-2027-abc.123.parquet", "rows": 1}),
        encoding="utf-8")
    (saved / "scenarios").mkdir()
    (saved / "scenarios" / "plus-10-abc.json").write_text(json.dumps(
        {"format": "saleslens-scenario", "version": 1, "name": "Plus 10", "saved_at": "2026-11-01T00:00:00+00:00",
         "inputs": {"period": {"start": "2026-10-01", "end": "2026-12-31"}}}), encoding="utf-8")
    (data_dir / "audit").mkdir()
    (data_dir / "audit" / "audit.jsonl").write_text(
        '{"at": "2026-11-01T08:00:00+00:00", "who": "ann", "action": "sign-in", "what": "local"}\n'
        '{"at": "2026-11-01T08:05:00+00:00", "who": "ann", "action": "export", "what": "a.csv"}\n', encoding="utf-8")
    access.write_users(data_dir / "users.toml", [{"login": "Ann", "name": "Ann A", "role": "manager", "rep_id": "M1"}])


@pytest.mark.usefixtures("backend")
def test_earlier_files_are_imported_once_and_kept_as_a_backup(tmp_path: Path) -> None:
    write_earlier_files(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    database = db.get(tmp_path)
    with database.begin() as conn:
        rating = conn.execute(sa.select(tables.ratings)).mappings().one()
        users = conn.execute(sa.select(tables.users)).mappings().all()
    assert (rating["rep_id"], rating["quarter"], rating["version"], json.loads(rating["scores"]),
            rating["comment"], rating["author"]) == ("A1", "2026Q3", 1, {"teamwork": 4}, "Steady",
                                                     legacy.LEGACY_OWNER)
    assert [(u["login"], u["role"], u["rep_id"]) for u in users] == [("ann", "manager", "M1")]
    card = items.get(database, "scorecards", "Fair")
    assert (card.owner, card.visibility, card.version, card.extra["role"]) == (legacy.LEGACY_OWNER, "everyone", 1, "AE")
    assert card.body["weights"] == {"bookings": 60, "win_rate": 40}
    target = items.get(database, "target_sets", "East 2027")
    assert pl.read_parquet(target.extra["rows"])["value"].to_list() == [2_460_000.0]
    assert items.get(database, "scenarios", "Plus 10").body["inputs"]["period"]["start"] == "2026-10-01"
    audit = access.audit_entries(tmp_path)
    assert [(e["who"], e["action"]) for e in audit[:2]] == [("ann", "sign-in"), ("ann", "export")]
    assert audit[2]["action"] == "import-files"
    # The files are all still there, unchanged, each folder with a marker saying it was imported.
    for path, content in before.items():
        assert path.read_bytes() == content
    for folder in ("saved/ratings", "saved/scorecards", "saved/target_sets", "saved/scenarios", "audit"):
        assert (tmp_path / folder / legacy.MARKER).exists(), folder
    # A second start (another process) imports nothing again.
    db.forget()
    database = db.get(tmp_path)
    with database.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.ratings)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.audit_log)).scalar() == 3


@pytest.mark.usefixtures("backend")
def test_a_changed_users_file_is_imported_again(tmp_path: Path) -> None:
    access.write_users(tmp_path / "users.toml", [{"login": "ann", "name": "Ann", "role": "rep", "rep_id": "A1"}])
    assert access.known_users(tmp_path)["ann"].role == "rep"
    access.write_users(tmp_path / "users.toml", [{"login": "ann", "name": "Ann", "role": "manager", "rep_id": "A1"}])
    assert access.known_users(tmp_path)["ann"].role == "manager"
    (tmp_path / "users.toml").unlink()  # the database keeps the users of the last import
    assert access.known_users(tmp_path)["ann"].role == "manager"
