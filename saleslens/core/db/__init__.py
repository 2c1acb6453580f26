"""The database of saved work: SQLAlchemy Core over SQLite (default) or PostgreSQL, schema by Alembic migrations.

`get(data_dir)` is the one entry point: it opens the database (an embedded SQLite file in the data directory,
or SALESLENS_DATABASE_URL), brings its schema to this version's head once per process, and imports the files
of earlier versions (data/saved, data/audit, users.toml) once. Every failure is a DatabaseError told in one
line with the URL's password masked, so neither a page nor a log ever shows a credential.
"""

from __future__ import annotations

import fcntl
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from saleslens.core import settings

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_FILE = "saleslens.db"
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 7_318_201  # advisory lock id: one server migrates at a time


class DatabaseError(RuntimeError):
    """The database cannot be used; the message is one line and names the (masked) URL."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or opened."""


class DatabaseTooNew(DatabaseError):
    """The database was migrated by a newer Sales Lens than this one."""


@dataclass(frozen=True)
class Database:
    """An open, migrated database: its engine and the (masked) URL for messages."""

    engine: sa.Engine
    url: str
    data_dir: Path

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection in a transaction, committed on success and rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL (else SQLite)."""
        return self.engine.dialect.name == "postgresql"


def url_for(data_dir: Path, environ: dict[str, str] | None = None) -> str:
    """SALESLENS_DATABASE_URL when set, else the SQLite file in the data directory."""
    url = settings.get("database_url", environ)
    if not url:
        from saleslens.core import store

        if store.remote_for(Path(data_dir)) is not None:
            # A SQLite file in a server's local mirror would give each server its own saved work.
            raise DatabaseUnavailable(
                f"the snapshot store {store.where(Path(data_dir))} is on object storage, shared by several servers, "
                "so saved work needs a shared database too: set SALESLENS_DATABASE_URL (a postgresql:// URL)")
        return f"sqlite:///{Path(data_dir) / SQLITE_FILE}"
    if url.startswith(("postgresql://", "postgres://")):  # the psycopg 3 driver, whatever the URL names
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def mask(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: hide whatever sits between a user's colon and the @
        return re.sub(r":[^:@/\s]*@", ":***@", url)


def _reason(exc: BaseException, url: str) -> str:
    """The first line of a driver error, with the password taken out in case the driver echoed it."""
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    try:
        password = sa.make_url(url).password
    except Exception:
        password = None
    return text.replace(str(password), "***") if password else text


def _engine(url: str) -> sa.Engine:
    """A pooled engine; SQLite waits for a busy file and writes through a WAL journal."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("pragma journal_mode=wal")
            cur.execute("pragma foreign_keys=on")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


# The newest migration's revision (tests/unit/core/test_database.py checks it is Alembic's head). A database already
# there is opened without importing Alembic, which costs about 0.4 s of every server's first page.
HEAD = "0001"


def alembic_config(conn: sa.Connection | None) -> Config:
    """An Alembic config built in code: the migrations shipped in this package, run on `conn`."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest schema version this Sales Lens knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None)).get_current_head() or ""


def current_revision(conn: sa.Connection) -> str | None:
    """The schema version the database is at (None when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def stored_revision(conn: sa.Connection) -> str | None:
    """The version in Alembic's own table, read with plain SQL (None without the table or a row)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("select version_num from alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def migrate(conn: sa.Connection, url: str) -> None:
    """Bring the schema to head; refuse a database from a newer version, naming both versions."""
    if stored_revision(conn) == HEAD:
        return  # already there: nothing for Alembic to do
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(conn)
    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    current = current_revision(conn)
    if current is not None and current not in known:
        raise DatabaseTooNew(
            f"the database {mask(url)} is at schema version {current}, newer than this Sales Lens "
            f"(it knows versions up to {script.get_current_head()}); update Sales Lens to use it")
    command.upgrade(cfg, "head")


@contextmanager
def _migration_lock(engine: sa.Engine, data_dir: Path) -> Iterator[sa.Connection]:
    """One process at a time migrates and imports: a PostgreSQL advisory lock, or a lock file beside SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            yield conn
        return
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(data_dir) / f".{SQLITE_FILE}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_OPEN: dict[tuple[str, str], Database] = {}
_LOCK = threading.Lock()


def open_database(data_dir: Path, url: str | None = None) -> Database:
    """Open and migrate the database, importing earlier versions' files once; DatabaseError when it cannot."""
    data_dir = Path(data_dir)
    url = url or url_for(data_dir)
    try:
        engine = _engine(url)
    except Exception as exc:  # a malformed URL or a missing driver
        raise DatabaseUnavailable(f"cannot use the database {mask(url)}: {_reason(exc, url)}") from None
    try:
        with _migration_lock(engine, data_dir) as conn:
            migrate(conn, url)
        from saleslens.core.db import legacy  # here: it reads the features' old file formats

        with _migration_lock(engine, data_dir) as conn:
            counts = legacy.import_files(conn, data_dir)
        legacy.write_markers(data_dir, counts)  # after the commit: a marker never claims an import that rolled back
    except DatabaseError:
        engine.dispose()
        raise
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open the database {mask(url)}: {_reason(exc, url)}") from None
    return Database(engine, mask(url), data_dir)


def get(data_dir: Path) -> Database:
    """The process's database for a data directory: opened, migrated and imported once, then shared."""
    data_dir = Path(data_dir).resolve()
    key = (url_for(data_dir), str(data_dir))
    with _LOCK:
        if key not in _OPEN:
            _OPEN[key] = open_database(data_dir, key[0])
        return _OPEN[key]


def forget(data_dir: Path | None = None) -> None:
    """Close cached databases (of one data directory, or all): tests and a changed URL start afresh."""
    with _LOCK:
        for key in [k for k in _OPEN if data_dir is None or k[1] == str(Path(data_dir).resolve())]:
            _OPEN.pop(key).engine.dispose()
