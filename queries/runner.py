"""The query runner: the only module that imports duckdb.

One in-memory DuckDB database per (snapshot, row scope) holds the base views; every query runs on
its own cursor, so threads never share a connection; results are cached by snapshot, query,
parameters and scope.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, time
from pathlib import Path
from time import monotonic

import duckdb
import polars as pl

from queries import catalog
from saleslens.core import schema, settings, store


@dataclass(frozen=True)
class Scope:
    """Which reps' rows a viewer may see: None means every rep; an empty set means none (default deny)."""

    key: str
    rep_ids: frozenset[str] | None

    @classmethod
    def everyone(cls) -> Scope:
        """The scope that sees all rows (until access control narrows it)."""
        return cls("all", None)


def _literal(text: str) -> str:
    """A SQL string literal; used only for paths from the store, never for user input."""
    return "'" + text.replace("'", "''") + "'"


_SQL_TYPES = {
    pl.String: "varchar", pl.Date: "date", pl.Datetime: "timestamp", pl.Float64: "double",
    pl.Int64: "bigint", pl.Boolean: "boolean",
}


def _nulls(columns: list[schema.Column]) -> list[str]:
    """Typed empty values for some schema columns, as SELECT items."""
    return [f"cast(null as {_SQL_TYPES[type(c.dtype)]}) as {c.name}" for c in columns]


def _empty_select(table: str) -> str:
    """A typed zero-row SELECT for a table the dataset does not have."""
    return f"select {', '.join(_nulls(schema.TABLES[table].columns))} where false"


def _source(snap: store.Snapshot, table: str) -> str:
    """The SELECT behind a raw base view: the snapshot's file, the event store, or an empty table."""
    spec = schema.TABLES[table]
    if spec.event_time:
        # Exactly the history batches the snapshot was published with: a later import never changes its answers.
        files = snap.event_files(table)
        if not files:
            return _empty_select(table)
        limit = datetime.combine(snap.as_of, time.max).isoformat(sep=" ")
        # Batches written before an optional column joined the schema (stage_changes.inferred) lack it: read by
        # name, and add it empty when no batch has it.
        have = {c for f in files for c in store.parquet_columns(Path(f))}
        return (
            f"{_select_all(spec, have)} "
            f"from read_parquet([{', '.join(_literal(f) for f in files)}], union_by_name = true) "
            f"where {spec.event_time} <= timestamp {_literal(limit)}"
        )
    path = snap.table_path(table)
    if not path:
        return _empty_select(table)
    # A snapshot published before an optional column joined the schema (opportunities.currency, amount_original)
    # lacks it: the view still has it, empty.
    return f"{_select_all(spec, set(store.parquet_columns(path)))} from read_parquet({_literal(str(path))})"


def _select_all(spec: schema.Table, have: set[str]) -> str:
    """`select *` and, typed and empty, the schema columns the files lack, so every query can name every column.

    View DDL cannot take bound parameters; what is spliced in is the schema's own column names and types, never
    data or user input (file paths go through _literal).
    """
    fill = _nulls([c for c in spec.columns if c.name not in have])
    return "select *" + "".join(", " + item for item in fill)


_HISTORY_COLUMNS = "opportunity_id, owner_id, stage, status, expected_close_date, close_date, amount, forecast_category"


def _history_source(snap: store.Snapshot) -> str:
    """The deals of every published snapshot up to this one, each row tagged with its snapshot (data health)."""
    parts = []
    for s in store.list_snapshots(snap.data_dir):
        path = s.table_path("opportunities")
        if path is not None:
            parts.append(
                f"select {_literal(s.id)} as snapshot_id, cast({_literal(s.as_of.isoformat())} as date) "
                f"as snapshot_as_of, {_HISTORY_COLUMNS} from read_parquet({_literal(str(path))})"
            )
        if s.id == snap.id:
            break
    if not parts:
        return f"select cast(null as varchar) as snapshot_id, cast(null as date) as snapshot_as_of, " \
               f"{_HISTORY_COLUMNS} from ({_empty_select('opportunities')})"
    return " union all ".join(parts)


# Row scope, applied once here: every page query reads these views and cannot reach other rows. For a viewer
# who sees everyone the views are plain (no per-row test), so DuckDB can push filters into the Parquet scans;
# otherwise a semi-join on the scope's reps.
_IN_SCOPE = "{col} in (select rep_id from scope_reps)"
_VISIBLE_DEAL = "{col} in (select opportunity_id from opportunities)"
_SCOPED_FILTERS = {
    "reps": _IN_SCOPE.format(col="rep_id"),
    "opportunities": _IN_SCOPE.format(col="owner_id"),
    "activities": _IN_SCOPE.format(col="rep_id"),
    "leads": _IN_SCOPE.format(col="owner_id") + " or " + _VISIBLE_DEAL.format(col="converted_opportunity_id"),
    "stage_changes": _VISIBLE_DEAL.format(col="opportunity_id"),
    "payments": _VISIBLE_DEAL.format(col="opportunity_id"),
    "targets": "(owner_type = 'rep' and owner_id in (select rep_id from reps)) "
    "or (owner_type = 'team' and owner_id in (select team from reps))",
}
_UNSCOPED = ("stages", "accounts", "products")


def _scoped(source: str, where: str | None, everyone: bool) -> str:
    """`select * from source`, limited by the scope predicate unless the viewer sees everyone (or it has none)."""
    return f"select * from {source}" + ("" if everyone or not where else f" where {where}")


# Deals joined to their owner, account, product and stage: the view most page queries start from.
_DEALS_TEMPLATE = """
select o.*,
       r.name as owner_name, r.role as owner_role, r.team, r.region, r.manager_id,
       m.name as manager_name,
       a.name as account_name, a.segment, a.industry, a.region as account_region,
       p.name as product_name, p.family as product_family,
       s.position as stage_position, s.probability as stage_probability
from {opportunities} o
left join {reps} r on r.rep_id = o.owner_id
left join {reps} m on m.rep_id = r.manager_id
left join {accounts} a on a.account_id = o.account_id
left join {products} p on p.product_id = o.product_id
left join {stages} s on s.stage = o.stage
"""

# A query that declares this parameter compares two snapshots: it runs on a database that also has the
# `*_before` views of the compare snapshot (default: the snapshot just before the runner's own).
COMPARE_PARAM = "compare"
_BEFORE_TABLES = ("opportunities", "reps", "accounts", "products", "stages")
_BEFORE_VIEWS = {
    "deals_before": _DEALS_TEMPLATE.format(
        opportunities="opportunities_before", reps="raw_before_reps", accounts="raw_before_accounts",
        products="raw_before_products", stages="raw_before_stages",
    ),
}


# Tables derived from a snapshot once, at publish time (rollups): one SELECT per file in queries/derived/, over the
# raw (unscoped) views. The runner reads the stored Parquet when it is there and computes the same SELECT as a
# view when it is not (a snapshot published before the file existed), so results never depend on which.
DERIVED_DIR = Path(__file__).parent / "derived"
_SCOPE_LINE = re.compile(r"^--\s*scope:\s*(\w+)\s+by\s+(rep|opportunity)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Derived:
    """A derived table: its name, its SELECT and the column that ties its rows to a rep or a deal."""

    name: str
    sql: str
    scope_column: str
    scope_kind: str
    order_by: str = ""  # applied when the table is written, so its row groups prune; a view need not sort
    # A fingerprint of the definition (and of the derived tables it reads): part of the stored file's name, so a
    # file written by an older definition is never read, only recomputed
    version: str = ""

    def file_name(self) -> str:
        """The stored file's name: the table's name and its definition's fingerprint."""
        return f"{self.name}-{self.version}.parquet"

    def scope_filter(self) -> str:
        """The row-scope predicate: the rep's rows, or the rows of deals the viewer may see."""
        return (_IN_SCOPE if self.scope_kind == "rep" else _VISIBLE_DEAL).format(col=self.scope_column)


# The deals joined to their owner, manager, account, product and stage, stored once per snapshot: the `deals`
# view then reads one file with no joins, sorted so the close-date and status filters skip row groups.
DEAL_FACTS = Derived(
    "deal_facts",
    "-- purpose: the deals view, stored\n-- grain: one row per opportunity\n"
    + _DEALS_TEMPLATE.format(opportunities="raw_opportunities", reps="raw_reps", accounts="raw_accounts",
                             products="raw_products", stages="raw_stages"),
    "owner_id", "rep", "status, close_date, expected_close_date, created_date, opportunity_id",
)


def derived_tables() -> list[Derived]:
    """The derived tables: the stored deals, then the files in name order (a later one may read an earlier
    one's raw_ view)."""
    tables = [DEAL_FACTS]
    for path in sorted(DERIVED_DIR.glob("*.sql")):
        sql = catalog.expand(path.read_text(encoding="utf-8"), path.name)  # shared fragments, as in queries
        match = _SCOPE_LINE.search(sql)
        if match is None:
            raise catalog.QueryError(f"{path.name}: the header needs a line '-- scope: <column> by rep|opportunity'")
        tables.append(Derived(path.stem, sql.strip().rstrip(";"), match.group(1), match.group(2)))
    out: list[Derived] = []
    for d in tables:
        reads = [e.version for e in out if re.search(rf"\braw_{e.name}\b", d.sql)]
        # the shared macros are part of the definition: a changed formula must not read an older file
        digest = hashlib.sha256("\n".join([d.sql, d.order_by, *reads, catalog.macros_sql()]).encode("utf-8"))
        digest = digest.hexdigest()[:12]
        out.append(replace(d, version=digest))
    return out


# A derived table over every snapshot up to this one (forecast_history) can also be written by appending:
# derived/append/<name>.sql selects the same rows from the previous snapshot's stored file and this snapshot's
# own tables, so publishing the n-th weekly snapshot reads one file instead of n snapshots (a backfill of two years
# is O(n) reads, not O(n^2)). Its text is not part of the table's version: it is another way to the same rows
# (tests/unit/targets/test_forecast_history.py checks them against the whole computation).
APPEND = "append"


def _append_from(snap: store.Snapshot, d: Derived, con: duckdb.DuckDBPyConnection) -> Path | None:
    """The previous snapshot's file of d when it holds exactly the snapshots the whole computation reads besides
    this one; None otherwise (compute whole).

    The whole computation reads the published snapshots listed before this one (all of them while it is being
    published). Appending gives the same rows only when this snapshot's day is after all of theirs, their days are
    distinct, and the last one's file holds every one of their days: a snapshot back-filled after it was written
    (an earlier day published later), or one without open deals, makes the file miss a day, and then d is
    computed whole.
    """
    listed = store.list_snapshots(snap.data_dir)
    ids = [s.id for s in listed]
    before = listed[: ids.index(snap.id)] if snap.id in ids else listed
    days = [s.as_of for s in before]
    if not before or max(days) >= snap.as_of or len(set(days)) != len(days):
        return None
    path = before[-1].root / store.DERIVED / d.file_name()
    if not path.exists():
        return None
    held = con.execute("select distinct as_of from read_parquet(?)", [str(path)]).fetchall()
    return path if {row[0] for row in held} == set(days) else None


def derived_file(snap: store.Snapshot, name: str) -> Path:
    """Where the snapshot keeps the current definition of a derived table (the file may not exist)."""
    for d in derived_tables():
        if d.name == name:
            return snap.root / store.DERIVED / d.file_name()
    raise catalog.QueryError(f"unknown derived table {name}")


class Database:
    """An in-memory DuckDB database with the base views of one snapshot and one row scope."""

    def __init__(
        self, snap: store.Snapshot, scope: Scope, compare: store.Snapshot | None = None, *, serving: bool = True
    ) -> None:
        self.snapshot = snap
        self.scope = scope
        self.compare = compare
        # serving=False: a database that writes the derived tables (computed, not read back) and is not locked.
        self._serving = serving
        self.closed = False
        self.retired = False  # to close once the queries running on it end (Runner._retire)
        self._con = duckdb.connect(
            ":memory:",
            config={
                "threads": int(settings.get("duckdb_threads")),
                "memory_limit": settings.get("duckdb_memory_limit"),
                # Serving never installs or loads extensions: Parquet is built in.
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                # Snapshot files and history batches never change (legacy event files are replaced whole and
                # the cache checks them): keeping their blocks in memory saves re-reading them at every query.
                "cache_local_files": True,
                # Give freed memory back to the system after a query, not at the next one: a big read (the
                # forecast's learning rows at L) otherwise leaves hundreds of MB resident for good.
                "allocator_background_threads": True,
            },
        )
        self._create_views()
        if serving:
            self._lock_down()

    def _lock_down(self) -> None:
        """No file access outside the data directory, no extension installs, and no config change after setup."""
        con = self._con
        data_dir = self.snapshot.data_dir.resolve()
        # DuckDB creates the spill folder only if a query outgrows memory_limit, so reading changes nothing.
        con.execute("set temp_directory = $dir", {"dir": str(self.snapshot.data_dir / ".spill")})
        # Only the folders the views read (and the spill folder): users.toml, the audit log and saved work in
        # the same data directory stay out of reach of any query.
        readable = [f"{data_dir / folder}/" for folder in (store.SNAPSHOTS, store.EVENTS, ".spill")]
        con.execute("set allowed_directories = $dirs", {"dirs": readable})
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")

    def _create_views(self) -> None:
        con = self._con
        # Parquet footers read once, not at every query's bind (a Parquet setting, so set here, not at connect).
        con.execute("set parquet_metadata_cache = true")
        # The shared formulas (win_rate, ...) before the views that call them; the lockdown comes after.
        con.execute(catalog.macros_sql())
        everyone = self.scope.rep_ids is None
        con.execute("create table scope_reps as select unnest(cast($ids as varchar[])) as rep_id",
                    {"ids": sorted(self.scope.rep_ids or [])})
        for table in schema.TABLES:
            con.execute(f"create view raw_{table} as {_source(self.snapshot, table)}")
        for table in (*_SCOPED_FILTERS, *_UNSCOPED):
            con.execute(f"create view {table} as {_scoped(f'raw_{table}', _SCOPED_FILTERS.get(table), everyone)}")
        # Deals as every earlier snapshot saw them (same row scope), for changes across weekly snapshots.
        con.execute(f"create view raw_opportunity_history as {_history_source(self.snapshot)}")
        con.execute("create view opportunity_history as "
                    + _scoped("raw_opportunity_history", _VISIBLE_DEAL.format(col="opportunity_id"), everyone))
        con.execute(
            "create table snapshot_info as select cast($id as varchar) as snapshot_id, cast($as_of as date) as as_of,"
            " cast($cid as varchar) as compare_id, cast($cas as date) as compare_as_of",
            {"id": self.snapshot.id, "as_of": self.snapshot.as_of,
             "cid": self.compare.id if self.compare else None,
             "cas": self.compare.as_of if self.compare else None},
        )
        self._create_derived_views(everyone)
        con.execute("create view deals as select * from deal_facts")
        # The compare snapshot's tables, with the same row scope; empty when there is none to compare with.
        for table in _BEFORE_TABLES:
            path = self.compare.table_path(table) if self.compare else None
            source = f"select * from read_parquet({_literal(str(path))})" if path else _empty_select(table)
            con.execute(f"create view raw_before_{table} as {source}")
        # Like the snapshot's own views: its deals and reps within the scope, its accounts whole (lookups for
        # filters on the compare snapshot's deals).
        for table in ("opportunities", "reps", "accounts"):
            con.execute(f"create view {table}_before as "
                        + _scoped(f"raw_before_{table}", _SCOPED_FILTERS.get(table), everyone))
        for view, select in _BEFORE_VIEWS.items():
            con.execute(f"create view {view} as {select}")

    def _create_derived_views(self, everyone: bool) -> None:
        """raw_<name> over the stored derived table (or its SELECT), and <name> limited to the row scope."""
        con = self._con
        for d in derived_tables():
            path = self.snapshot.root / store.DERIVED / d.file_name()
            source = f"select * from read_parquet({_literal(str(path))})" \
                if self._serving and path.exists() else d.sql
            con.execute(f"create view raw_{d.name} as {source}")
            con.execute(f"create view {d.name} as {_scoped(f'raw_{d.name}', d.scope_filter(), everyone)}")

    def write_derived(self, folder: Path, names: list[str] | None = None,
                      on_step: Callable[[str], None] | None = None) -> dict[str, int]:
        """Compute the derived tables (default all) into folder/<name>-<version>.parquet, each file written in one
        rename; files of a table's older definitions are removed. on_step is told each table written."""
        folder.mkdir(parents=True, exist_ok=True)
        counts = {}
        for d in derived_tables():
            if names is not None and d.name not in names:
                continue
            tmp = folder / f".{d.name}.{uuid.uuid4().hex}.tmp"
            source = self._append_source(d) or f"select * from raw_{d.name}"
            try:
                # COPY answers with the number of rows written
                written = self._con.execute(
                    f"copy ({source}{' order by ' + d.order_by if d.order_by else ''}) "
                    f"to {_literal(str(tmp))} "
                    "(format parquet, row_group_size 50000)"
                ).fetchone()
                os.replace(tmp, folder / d.file_name())
            finally:
                tmp.unlink(missing_ok=True)
            counts[d.name] = int(written[0]) if written else 0
            if on_step is not None:
                on_step(f"derived table {d.name}")
        # Files of older definitions of the tables just written go; a full rebuild also drops the files of tables
        # no longer defined. A file is named <table>-<fingerprint> (table names have no '-').
        current = {d.file_name() for d in derived_tables()}
        for stale in folder.glob("*.parquet"):
            if stale.name not in current and (names is None or stale.stem.split("-")[0] in counts):
                stale.unlink(missing_ok=True)
        return counts

    def _append_source(self, d: Derived) -> str | None:
        """The SELECT that writes d by appending this snapshot's rows to the previous snapshot's file
        (derived/append/<name>.sql over the view previous_<name>), when it has one and that file can be used;
        None: compute d whole."""
        path = DERIVED_DIR / APPEND / f"{d.name}.sql"
        if not path.exists():
            return None
        previous = _append_from(self.snapshot, d, self._con)
        if previous is None:
            return None
        # A view's DDL takes no bound parameters: the name is a derived table's own, the path goes through _literal.
        self._con.execute(f"create or replace view previous_{d.name} as "
                          f"select * from read_parquet({_literal(str(previous))})")
        return catalog.expand(path.read_text(encoding="utf-8"), path.name).strip().rstrip(";")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on this database, for one query on one thread."""
        return self._con.cursor()

    def close(self) -> None:
        """Close the database."""
        self.closed = True
        self._con.close()


# What an open database costs beyond what DuckDB reports (its catalog, views, connection): measured as the growth
# of a process's resident memory per runner opened on the S demo (6-10 MB).
DATABASE_BASE_BYTES = 8 * 1024 * 1024
_MEASURE_EVERY_SECONDS = 5.0


class Runner:
    """Runs named queries for one snapshot and scope, returning Polars frames, with a bounded cache.

    Its databases may be closed to free memory (release_memory) whenever no query runs on them; the next query
    opens them again, so a page holding a runner never finds it closed.
    """

    def __init__(self, snap: store.Snapshot, scope: Scope | None = None) -> None:
        self.snapshot = snap
        self.scope = scope or Scope.everyone()
        self._lock = threading.Lock()
        self._main: Database | None = Database(snap, self.scope)
        self._compare_dbs: OrderedDict[str | None, Database] = OrderedDict()
        self._cache: OrderedDict[tuple, pl.DataFrame] = OrderedDict()
        self._cache_bytes = 0
        self._db_bytes = 0  # what DuckDB reported after the last query, beyond DATABASE_BASE_BYTES per database
        self._measured_at = -_MEASURE_EVERY_SECONDS
        self._busy: dict[int, int] = {}  # id(database) -> queries running on it now
        self._max = int(settings.get("cache_entries"))
        # Set by the registry: told when the runner's memory grows (a new result, a database opened again).
        self.on_grow: Callable[[Runner], None] | None = None

    @property
    def _db(self) -> Database:
        """The snapshot's database, opened again if it was closed to free memory."""
        with self._lock:
            if self._main is not None:
                return self._main
        db = Database(self.snapshot, self.scope)
        with self._lock:
            spare, chosen = (db, self._main) if self._main is not None else (None, db)
            self._main = chosen
        if spare is not None:  # another thread opened it meanwhile
            spare.close()
        self._grew()
        return chosen

    def run(self, name: str, **params: object) -> pl.DataFrame:
        """Run a named query with bound parameters; the same call returns the cached frame."""
        query = catalog.get(name)
        bound = catalog.bind(query, params)
        key = (self.snapshot.id, name, _freeze(bound), self.scope.key)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        with self._using(bound) as db:
            cur = db.cursor()
            try:
                frame = cur.sql(query.sql, params=bound).pl()
                used = self._measure(cur)
            except duckdb.Error as exc:
                # One line for the user; the SQL engine's own message names what went wrong.
                raise catalog.QueryError(f"query {name} failed: {str(exc).splitlines()[0]}") from None
            finally:
                cur.close()
        with self._lock:
            self._db_bytes = self._db_bytes if used is None else used
            if key not in self._cache:
                self._cache_bytes += frame.estimated_size()
            self._cache[key] = frame
            while len(self._cache) > self._max:
                self._cache_bytes -= self._cache.popitem(last=False)[1].estimated_size()
        self._grew()
        return frame

    def forget(self, name: str, **params: object) -> None:
        """Drop one call's cached result: its caller keeps what it needs within its own budget (the forecast's
        learning rows, forecast_cache_mb), so a copy here would only hold the memory twice."""
        key = (self.snapshot.id, name, _freeze(catalog.bind(catalog.get(name), params)), self.scope.key)
        with self._lock:
            frame = self._cache.pop(key, None)
            if frame is not None:
                self._cache_bytes -= frame.estimated_size()

    def _measure(self, cur: duckdb.DuckDBPyConnection) -> int | None:
        """DuckDB's memory in use, asked at most every few seconds (the question costs a few milliseconds)."""
        now = monotonic()
        if now - self._measured_at < _MEASURE_EVERY_SECONDS:
            return None
        self._measured_at = now
        row = cur.execute("select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory()").fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def _using(self, bound: dict[str, object]) -> Iterator[Database]:
        """The database a query runs on, marked busy until the query is done, so nothing closes it meanwhile."""
        while True:
            db = self._compare_db(bound[COMPARE_PARAM]) if COMPARE_PARAM in bound else self._db
            with self._lock:
                if db.closed:  # released between being found and being marked: find (or open) it again
                    continue
                self._busy[id(db)] = self._busy.get(id(db), 0) + 1
            break
        try:
            yield db
        finally:
            with self._lock:
                self._busy[id(db)] -= 1
                if not self._busy[id(db)]:
                    del self._busy[id(db)]
                    if db.retired:
                        db.close()

    def _retire(self, db: Database) -> None:
        """Close a database now if no query runs on it, else when its last query ends. Call with the lock held."""
        db.retired = True
        if id(db) not in self._busy:
            db.close()

    def _grew(self) -> None:
        """Tell the registry the runner holds more memory now."""
        if self.on_grow is not None:
            self.on_grow(self)

    def run_many(self, calls: list[tuple[str, dict[str, object]]]) -> list[pl.DataFrame]:
        """Run several named queries at once, in order of the calls; a page's independent queries overlap.

        Each query already uses DuckDB's threads, but binding and planning (a good share of a short query) run
        on one, so two queries side by side finish sooner than one after the other.
        """
        return side_by_side(self.run, calls)

    def _compare_db(self, compare_id: str | None) -> Database:
        """The database that also holds the compare snapshot's `*_before` views (a few are kept open)."""
        with self._lock:
            if compare_id in self._compare_dbs:
                self._compare_dbs.move_to_end(compare_id)
                return self._compare_dbs[compare_id]
        if compare_id is None:
            ids = [s.id for s in store.list_snapshots(self.snapshot.data_dir)]  # oldest first
            at = ids.index(self.snapshot.id) if self.snapshot.id in ids else 0
            compare = store.open_snapshot(self.snapshot.data_dir, ids[at - 1]) if at > 0 else None
        else:
            compare = store.open_snapshot(self.snapshot.data_dir, compare_id)
        db = Database(self.snapshot, self.scope, compare)
        with self._lock:
            if compare_id in self._compare_dbs:  # another thread made it meanwhile
                db.close()
                return self._compare_dbs[compare_id]
            self._compare_dbs[compare_id] = db
            while len(self._compare_dbs) > 4:
                self._retire(self._compare_dbs.popitem(last=False)[1])  # a query may still be running on it
        self._grew()
        return db

    def memory_bytes(self) -> int:
        """An estimate of the memory the runner holds: its cached results and its open databases."""
        with self._lock:
            dbs = (self._main is not None) + len(self._compare_dbs)
            return self._cache_bytes + (self._db_bytes + DATABASE_BASE_BYTES * dbs if dbs else 0)

    @property
    def busy(self) -> bool:
        """Whether a query runs on one of the runner's databases now."""
        with self._lock:
            return bool(self._busy)

    @property
    def is_open(self) -> bool:
        """Whether the runner holds an open database."""
        with self._lock:
            return self._main is not None or bool(self._compare_dbs)

    def release_memory(self) -> None:
        """Close the databases and drop the cached results; queries running now finish first, later ones reopen."""
        with self._lock:
            for db in [*([self._main] if self._main else []), *self._compare_dbs.values()]:
                self._retire(db)
            self._main = None
            self._compare_dbs.clear()
            self._cache.clear()
            self._cache_bytes = self._db_bytes = 0

    def close(self) -> None:
        """Close the underlying databases (a later query opens them again)."""
        self.release_memory()


# Shared by every runner of the process: at most this many queries of one page run side by side; more would
# only compete for the same cores.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="saleslens-query")


def side_by_side(run: Callable[..., pl.DataFrame], calls: list[tuple[str, dict[str, object]]]) -> list[pl.DataFrame]:
    """Call run(name, **params) for each call on the shared pool; results in the order of the calls."""
    if len(calls) <= 1:
        return [run(name, **params) for name, params in calls]
    futures = [_POOL.submit(run, name, **params) for name, params in calls]
    return [f.result() for f in futures]


def _freeze(values: dict[str, object]) -> tuple:
    """A hashable, order-independent form of bound parameters for the cache key."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


def build_derived(snap: store.Snapshot, names: list[str] | None = None,
                  on_step: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write the snapshot's derived tables (default all) into its folder; returns their row counts.

    store.publish_snapshot's `derive` hook, and `saleslens derive` for snapshots published before a derived
    table existed.
    """
    known = {d.name for d in derived_tables()}
    unknown = sorted(set(names or []) - known)
    if unknown:
        raise catalog.QueryError(f"unknown derived table {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    # Under the import lock (re-entrant: a publish holds it already), so no clean-up takes a file being written.
    with store.import_lock(snap.data_dir, timeout=store.LOCK_WAIT_SECONDS):
        db = Database(snap, Scope.everyone(), serving=False)
        try:
            return db.write_derived(snap.root / store.DERIVED, names, on_step)
        finally:
            db.close()


class Registry:
    """The one owner of the shared runners: one per snapshot and scope, its memory bounded by runner_cache_mb.

    Beyond the budget, the least recently used runners with no query running are released (databases closed,
    cached results dropped); the Runner object stays, so whoever holds it keeps using it and it opens again on
    its next query. No other cache may hold runners, so no one else ever closes them.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._open: OrderedDict[tuple, Runner] = OrderedDict()  # runners holding memory, least recently used first
        self._known: weakref.WeakValueDictionary[tuple, Runner] = weakref.WeakValueDictionary()

    def get(self, snap: store.Snapshot, scope: Scope) -> Runner:
        """The runner of a snapshot and scope: the one already known (open or not), or a new one."""
        key = (str(snap.root), snap.manifest.get("created_at"), scope.key)
        with self._lock:
            runner = self._known.get(key)
        if runner is None:
            fresh = Runner(snap, scope)  # opened outside the lock: other viewers' runners stay reachable meanwhile
            with self._lock:
                runner = self._known.get(key)
                if runner is None:
                    runner, fresh = fresh, None
                    runner.on_grow = functools.partial(self._grew, key)
                    self._known[key] = runner
            if fresh is not None:  # another thread made it meanwhile
                fresh.close()
        with self._lock:
            self._open[key] = runner
            self._open.move_to_end(key)
        self._trim(keep=key)
        return runner

    def values(self) -> list[Runner]:
        """The runners holding memory now, least recently used first."""
        with self._lock:
            return list(self._open.values())

    def open_bytes(self) -> int:
        """The memory the open runners hold (their estimate)."""
        return sum(r.memory_bytes() for r in self.values())

    def _grew(self, key: tuple, runner: Runner) -> None:
        """A runner's memory grew (a new result or a database opened again): count it, then keep to the budget."""
        with self._lock:
            self._open[key] = runner
            self._open.move_to_end(key)
        self._trim(keep=key)

    def _trim(self, keep: tuple) -> None:
        """Release the least recently used idle runners until the open ones fit the budget (never `keep`)."""
        budget = float(settings.get("runner_cache_mb")) * 1024 * 1024
        with self._lock:
            sizes = {k: r.memory_bytes() for k, r in self._open.items()}
            total = sum(sizes.values())
            for k, r in list(self._open.items()):
                if total <= budget:
                    break
                if k == keep or r.busy:
                    continue
                r.release_memory()
                del self._open[k]
                total -= sizes[k]
            for k in [k for k, r in self._open.items() if not r.is_open and k != keep]:
                del self._open[k]  # released by their holder (close()): nothing to count


_RUNNERS = Registry()


def runner_for(data_dir: Path, snapshot_id: str | None = None, scope: Scope | None = None) -> Runner:
    """The shared runner for a snapshot (default the latest) and scope."""
    return shared_runner(store.open_snapshot(data_dir, snapshot_id), scope)


def shared_runner(snap: store.Snapshot, scope: Scope | None = None) -> Runner:
    """The shared runner for an opened snapshot and a scope (from the one registry)."""
    return _RUNNERS.get(snap, scope or Scope.everyone())
