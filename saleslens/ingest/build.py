"""Apply a mapping to source files: type every cell, normalise values, link references, check everything.

Nothing here writes to the data directory. `prepare` returns the canonical tables and the import
report, or raises ImportFailed listing the problems (file, row and column where there is one).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from time import perf_counter

import polars as pl

from saleslens.core import schema, settings
from saleslens.ingest import currency, hubspot
from saleslens.ingest import mapping as mp
from saleslens.ingest.errors import ImportFailed, Problem
from saleslens.ingest.parsers import (
    DELIMITER_NAMES,
    clean_key,
    clean_text,
    date_flaw,
    key_of,
    parse_bool,
    parse_dates,
    parse_int,
    parse_money,
    sniff_delimiter,
)
from saleslens.ingest.readers import ROW, Limits, RawTable, ReadError, SourceFile, find

SRC = "__src"
# Fields holding an id (a table's own or a reference): invisible characters are taken out of them.
ID_FIELDS = frozenset({(t.name, c) for t in schema.TABLES.values() for c in t.key if c.endswith("_id")}
                      | set(mp.RELATIONS))
EXAMPLES = 5  # examples kept per reason in the report
Progress = Callable[[float, str], None]


def default_limits() -> Limits:
    """The file size, row, column, cell and unpacked size limits from settings."""
    return Limits(float(settings.get("import_max_mb")), int(settings.get("import_max_rows")),
                  int(settings.get("import_max_columns")), int(settings.get("import_max_cells")),
                  float(settings.get("import_max_unzipped_mb")))


# ----------------------------------------------------------------------------- bookkeeping


@dataclass
class Reason:
    """Rows of one source rejected for one reason (code and column), with the first examples."""

    table: str
    file: str
    code: str
    column: str | None
    count: int = 0
    examples: list[Problem] = field(default_factory=list)


@dataclass
class SourceRun:
    """One mapping source as run: which file, how many rows it read, and what happened to them."""

    index: int
    spec: mp.SourceSpec
    label: str = ""
    raw: RawTable | None = None
    read: int = 0
    skipped: int = 0  # distinct sources: rows without a key
    merged: int = 0  # identical or distinct duplicates folded into one row
    accepted: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> file column(s)
    used: set[str] = field(default_factory=set)  # the file's columns this source reads


class Book:
    """Everything the import noticed: rejected rows, normalised and derived values, links, warnings."""

    def __init__(self) -> None:
        self.reasons: dict[tuple, Reason] = {}
        self.rejected: dict[int, set[int]] = {}
        self.normalised: dict[tuple, int] = {}
        self.derived: list[dict] = []
        self.unlinked: list[dict] = []
        self.warnings: list[Problem] = []
        self.fatal: list[Problem] = []

    def reject(self, run: SourceRun, rows: list[int], code: str, column: str | None,
               values: list[dict] | None = None) -> None:
        """Reject rows of a source for one reason; the first few become examples."""
        if not rows:
            return
        key = (run.spec.table, run.label, code, column)
        reason = self.reasons.setdefault(key, Reason(run.spec.table, run.label, code, column))
        taken = self.rejected.setdefault(run.index, set())
        for i, row in enumerate(rows):
            if row in taken and code != "wrong_field_count":
                continue  # one reason per row is enough to reject it
            taken.add(row)
            reason.count += 1
            if len(reason.examples) < EXAMPLES:
                vals = values[i] if values else {}
                reason.examples.append(Problem(code, vals, file=run.label, row=row, column=column,
                                               table=run.spec.table))

    def normalise(self, table: str, field_name: str, before: str, after: str, count: int) -> None:
        """Count a value the import changed to its canonical spelling."""
        if before != after and count:
            key = (table, field_name, before, after)
            self.normalised[key] = self.normalised.get(key, 0) + count

    def derive(self, table: str, field_name: str, file: str, rule: str, count: int, **values: object) -> None:
        """Count values the import filled in because the file did not give them."""
        if count:
            self.derived.append({"table": table, "field": field_name, "file": file, "rule": rule,
                                 "count": count, "values": {k: str(v) for k, v in values.items()}})

    def rejected_count(self) -> int:
        """Rows rejected in all."""
        return sum(len(v) for v in self.rejected.values())

    def examples(self) -> list[Problem]:
        """Example problems of every reason, in file and row order."""
        out = [p for r in self.reasons.values() for p in r.examples]
        return sorted(out, key=lambda p: (p.file or "", p.row or 0))


def _drop_rejected(frame: pl.DataFrame, book: Book) -> pl.DataFrame:
    """The frame without the rows rejected so far."""
    if not book.rejected or frame.is_empty():
        return frame
    gone = pl.DataFrame(
        [(src, row) for src, rows in book.rejected.items() for row in rows],
        schema=[(SRC, pl.Int64), (ROW, pl.Int64)], orient="row",
    )
    return frame.join(gone, on=[SRC, ROW], how="anti")


# ----------------------------------------------------------------------------- the import


@dataclass
class Prepared:
    """The canonical tables and event history of an import, checked, with its report."""

    mapping: mp.Mapping
    as_of: date
    tables: dict[str, pl.DataFrame]
    events: dict[str, pl.DataFrame]
    report: dict
    # Keys for the snapshot manifest beyond the usual ones: reporting_currency, rates, backfilled.
    manifest: dict = field(default_factory=dict)
    # For the weekly backfill: deals' past states from the export's history (an adapter's), and the rates.
    history: pl.DataFrame | None = None
    rates: currency.Rates | None = None


def prepare(
    files: list[SourceFile],
    mapping: mp.Mapping,
    as_of: date | None = None,
    limits: Limits | None = None,
    max_rejected: int = 0,
    progress: Progress | None = None,
    source_label: str = "",
) -> Prepared:
    """Read, type, normalise, link and check; raise ImportFailed when something blocks the import."""
    started = perf_counter()
    limits = limits or default_limits()
    tell = progress or (lambda f, m: None)
    book = Book()
    if not files:
        raise ImportFailed([Problem("no_files")])
    adapted = _adapt(files, mapping, limits)
    if adapted is not None:
        mapping = dataclasses.replace(mapping, stages=adapted.stages or mapping.stages)
        book.warnings += adapted.warnings
    runs = [SourceRun(i, spec) for i, spec in enumerate(mapping.sources)]
    _read_all(runs, files, mapping, limits, book, tell, adapted.tables if adapted else None)
    frames: dict[str, list[pl.DataFrame]] = {}
    for run in runs:
        if run.raw is None:
            continue
        frame = _transform(run, mapping, book)
        if frame is not None:
            frames.setdefault(run.spec.table, []).append(frame)
    if book.fatal:
        raise ImportFailed(book.fatal + book.examples())
    tell(0.5, "checking values")
    tables = {name: pl.concat(parts, how="vertical") for name, parts in frames.items()}
    for name in schema.CORE_TABLES:
        if name != "stages" and (name not in tables or tables[name].is_empty()):
            labels = ", ".join(dict.fromkeys(r.label for r in runs if r.spec.table == name and r.raw is not None))
            book.fatal.append(Problem("no_rows_for_table", {"table": name}, file=labels or None))
    if book.fatal:
        raise ImportFailed(book.fatal + book.examples())
    by_index = {r.index: r for r in runs}
    tables = _normalise_values(tables, mapping, book, by_index)
    as_of = as_of or _as_of(tables, mapping)
    tables = _fill_as_of(tables, runs, as_of, book)
    tables = {name: _required(frame, name, book, by_index) for name, frame in tables.items()}
    tables = {name: _dedupe(frame, name, book, by_index) for name, frame in tables.items()}
    tell(0.7, "linking references")
    tables = _link(tables, mapping, book, by_index)
    tables = {name: _drop_rejected(frame, book) for name, frame in tables.items()}
    tables = _lead_links(tables, book)
    tables = _break_manager_cycles(tables, book)
    rates = adapted.rates if adapted is not None else _mapping_rates(files, mapping, limits)
    tables, money = _convert_money(tables, mapping, rates, as_of, book)
    entered, entered_notes = _entered_history(runs, tables, mapping)
    if entered is not None:
        tables["stage_changes"] = entered
    _warn(tables, as_of, book)
    for run in runs:
        run.accepted = tables[run.spec.table].filter(pl.col(SRC) == run.index).height if run.raw else 0
    if book.rejected_count() > max_rejected:
        raise ImportFailed(book.examples(), _report_stub(book, runs))
    tables["stages"] = stages_frame(mapping)
    canonical = {name: schema.conform(name, frame.drop([SRC, ROW], strict=False)) for name, frame in tables.items()}
    events = {name: canonical.pop(name) for name in list(canonical) if name in schema.EVENT_TABLES}
    from saleslens.ingest.report import build_report  # here: the report module imports this one

    report = build_report(mapping, as_of, runs, book, canonical, events, source_label,
                          seconds=perf_counter() - started, max_rejected=max_rejected)
    if money:
        report["currency"] = money
    if adapted is not None or entered_notes:
        report["export"] = (adapted.notes if adapted is not None else []) + entered_notes
    tell(0.8, "checked")
    manifest = {"reporting_currency": money["reporting"], "rates": money["rates"]} if money else {}
    history = adapted.history if adapted is not None else None
    if entered is not None and entered.height:  # HubSpot's dates entered: the weekly backfill can use them
        history = hubspot.past_states(entered, canonical["opportunities"])
    return Prepared(mapping, as_of, canonical, events, report, manifest, history, rates)


# ----------------------------------------------------------------------------- adapters and currencies


def _adapt(files: list[SourceFile], mapping: mp.Mapping, limits: Limits):
    """The mapping's adapter run over the files (its tables, stages, rates and notes), or None."""
    if not mapping.adapter:
        return None
    module = importlib.import_module(f"saleslens.ingest.{mapping.adapter}")
    return module.adapt(files, limits)


def _mapping_rates(files: list[SourceFile], mapping: mp.Mapping, limits: Limits) -> currency.Rates | None:
    """Rates from the mapping's [currency] section and its rates file; a bad rates file is fatal."""
    spec = mapping.currency
    if spec is None:
        return None
    table = None
    if spec.file:
        try:
            found = find((spec.file,), None, files, only_one_source=False)
            if found is None:
                raise ReadError(Problem("missing_rates_file", {"file": spec.file}))
            from saleslens.ingest import sandbox  # as in _read_all: a rates file is read under the same limits

            table = sandbox.read(found[0], limits, found[1], mapping.encoding, mapping.delimiter)
        except ReadError as exc:
            raise ImportFailed([exc.problem]) from None
    try:
        return currency.from_spec(spec, table)
    except ValueError as exc:
        raise ImportFailed([Problem("bad_rates_file", {"error": str(exc)}, file=spec.file)]) from None


def _convert_money(tables: dict[str, pl.DataFrame], mapping: mp.Mapping, rates: currency.Rates | None,
                   as_of: date, book: Book) -> tuple[dict[str, pl.DataFrame], dict]:
    """Deal amounts into the reporting currency; deals whose currency has no rate keep no amount, and say so.

    A mapping that says nothing about currencies (no rates, no currency field) leaves amounts as they are.
    """
    opps = tables.get("opportunities")
    if opps is None:
        return tables, {}
    gives = {name for s in mapping.sources_for("opportunities") for name in s.fields}
    pre_converted = "amount_original" in gives
    if rates is None and opps["currency"].null_count() == opps.height:
        if pre_converted:  # the CRM's converted amount where it has one, else the only amount there is
            opps = opps.with_columns(pl.coalesce("amount", "amount_original").alias("amount"),
                                     pl.lit(None, dtype=pl.Float64).alias("amount_original"))
            tables["opportunities"] = opps
        return tables, {}
    opps, money = currency.convert(opps, rates, as_of, pre_converted)
    tables["opportunities"] = opps
    for item in money["missing"]:
        book.warnings.append(Problem(
            "no_rate", {"currency": item["currency"] or "?", "rate": item["rate"] or "-", "deals": item["deals"],
                        "examples": ", ".join(item["examples"]), "reporting": money["reporting"] or "?"},
            table="opportunities",
        ))
    return tables, money


def _entered_history(runs: list[SourceRun], tables: dict[str, pl.DataFrame], mapping: mp.Mapping
                     ) -> tuple[pl.DataFrame | None, list[dict]]:
    """Stage changes from the deals file's "Date entered <stage>" columns (HubSpot), when the mapping reads no
    stage history of its own; with the report's notes on them. None when no such column is there."""
    if mapping.sources_for("stage_changes"):
        return None, []
    moves, notes = [], []
    for run in runs:
        if run.spec.table != "opportunities" or run.raw is None:
            continue
        found = hubspot.entered_columns(run.raw.columns, mapping.stages)
        run.used.update(found.stages, found.unknown)  # read, or named in the report: not "unread"
        if found.unknown:
            notes.append({"code": "entered_unknown", "file": run.label, "count": len(found.unknown),
                          "values": {"columns": ", ".join(found.unknown)}})
        if not found.stages:
            continue
        ids = tables["opportunities"].filter(pl.col(SRC) == run.index).select(ROW, "opportunity_id")
        rows, unreadable = hubspot.stage_moves(run.raw, ids, found, mapping.stages, mapping.day_first)
        moves.append(rows)
        notes.append({"code": "entered_history", "file": run.label, "count": rows.height,
                      "values": {"columns": len(found.stages), "deals": rows["opportunity_id"].n_unique()}})
        if unreadable:
            notes.append({"code": "entered_unreadable", "file": run.label, "count": unreadable, "values": {}})
    if not moves:
        return None, notes
    return pl.concat(moves), notes


def _report_stub(book: Book, runs: list[SourceRun]) -> dict:
    """What a failed import can still report: per-source counts and rejection reasons."""
    from saleslens.ingest.report import reasons_dicts, source_rows

    return {"sources": source_rows(runs, book), "rejected": reasons_dicts(book)}


def stages_frame(mapping: mp.Mapping) -> pl.DataFrame:
    """The mapping's stage list as the canonical stages table."""
    return pl.DataFrame(
        {
            "stage": [s.name for s in mapping.stages],
            "position": [s.position for s in mapping.stages],
            "is_won": [s.won for s in mapping.stages],
            "is_lost": [s.lost for s in mapping.stages],
            "probability": [s.probability for s in mapping.stages],
        },
        schema=schema.TABLES["stages"].polars_schema,
    )


# ----------------------------------------------------------------------------- reading


def _read_all(runs: list[SourceRun], files: list[SourceFile], mapping: mp.Mapping, limits: Limits,
              book: Book, tell: Progress, given: dict[str, RawTable] | None = None) -> None:
    """Find and read the file of every source (each file once); unreadable files are fatal problems.

    An adapter's tables (`given`, by file name) stand in for the files: the adapter has read them already.
    """
    from saleslens.ingest import sandbox  # here: `python -m saleslens.ingest.sandbox` must not find it imported

    patterns = {s.files for s in mapping.sources}
    cache: dict[tuple, RawTable | None] = {}
    for n, run in enumerate(runs):
        spec = run.spec
        if given is not None:
            _take_given(run, given, mapping, runs, files, book)
            continue
        try:
            found = find(spec.files, spec.sheet, files, only_one_source=len(patterns) == 1, limits=limits)
        except ReadError as exc:
            book.fatal.append(exc.problem)
            continue
        if found is None:
            _missing_source(run, mapping, runs, files, book)
            continue
        f, sheet = found
        enc = spec.encoding or mapping.encoding
        delim = spec.delimiter or mapping.delimiter
        key = (f.name, sheet, enc, delim, spec.stop_at_blank)
        tell(0.05 + 0.4 * n / max(len(runs), 1), f"reading {f.name}")
        if key not in cache:
            try:
                cache[key] = sandbox.read(f, limits, sheet, enc, delim, spec.stop_at_blank)
            except ReadError as exc:
                cache[key] = None
                book.fatal.append(exc.problem)
        run.raw = cache[key]
        if run.raw is not None:
            run.label = run.raw.label
            run.read = run.raw.frame.height + len(run.raw.problems)
            for (code, column), found_problems in _by_reason(run.raw.problems).items():
                book.reject(run, [p.row for p in found_problems], code, column, [p.values for p in found_problems])


def _by_reason(problems: list[Problem]) -> dict[tuple[str, str | None], list[Problem]]:
    """A reader's row problems (wrong width, a formula without a value) grouped by code and column."""
    out: dict[tuple[str, str | None], list[Problem]] = {}
    for p in problems:
        out.setdefault((p.code, p.column), []).append(p)
    return out


def _take_given(run: SourceRun, given: dict[str, RawTable], mapping: mp.Mapping, runs: list[SourceRun],
                files: list[SourceFile], book: Book) -> None:
    """A source fed by an adapter's table instead of a file."""
    run.raw = next((given[name] for name in run.spec.files if name in given), None)
    if run.raw is None:
        _missing_source(run, mapping, runs, files, book)
        return
    run.label = run.raw.label
    run.read = run.raw.frame.height + len(run.raw.problems)
    for (code, column), found_problems in _by_reason(run.raw.problems).items():
        book.reject(run, [p.row for p in found_problems], code, column, [p.values for p in found_problems])


def _missing_source(run: SourceRun, mapping: mp.Mapping, runs: list[SourceRun], files: list[SourceFile],
                    book: Book) -> None:
    """A source whose file is not there: fatal for a core table with no other source, else a warning."""
    table = run.spec.table
    run.label = run.spec.label
    given = ", ".join(f.name for f in files)
    values = {"table": table, "patterns": ", ".join(run.spec.files), "given": given}
    others = [r for r in runs if r.spec.table == table and r is not run]
    if table in schema.CORE_TABLES and not others:
        book.fatal.append(Problem("missing_file", values))
    else:
        book.warnings.append(Problem("source_not_found", values))


# ----------------------------------------------------------------------------- typing one source


def _column_lookup(raw: RawTable) -> dict[str, str]:
    """Header names by themselves and by a forgiving key (case, spaces, punctuation)."""
    out = {}
    for c in raw.columns:
        out.setdefault(key_of(c), c)
    out.update({c: c for c in raw.columns})
    return out


def _find_column(name: str, lookup: dict[str, str]) -> str | None:
    return lookup.get(name) or lookup.get(key_of(name))


def _transform(run: SourceRun, mapping: mp.Mapping, book: Book) -> pl.DataFrame | None:
    """One source's rows typed into the canonical columns of its table; bad cells reject their row."""
    raw, spec = run.raw, run.spec
    table = schema.TABLES[spec.table]
    lookup = _column_lookup(raw)
    missing = []
    for name, fs in spec.fields.items():
        for col in fs.source_columns:
            if _find_column(col, lookup) is None and not fs.optional:
                missing.append((name, col))
    if missing and len(raw.columns) == 1 and raw.delimiter:
        # One wide column whose name holds another delimiter: the file is split by something else.
        other = sniff_delimiter(raw.columns[0], prefer=raw.delimiter)
        if other != raw.delimiter:
            book.fatal.append(Problem(
                "wrong_delimiter", {"found": DELIMITER_NAMES[other], "used": DELIMITER_NAMES[raw.delimiter]},
                file=run.label, row=1,
            ))
            return None
    if missing:
        import difflib

        for name, col in missing:
            close = difflib.get_close_matches(col, raw.columns, n=1, cutoff=0.6)
            book.fatal.append(Problem(
                "missing_column_close" if close else "missing_column",
                {"column": col, "field": f"{spec.table}.{name}", "suggestion": close[0] if close else "",
                 "columns": ", ".join(raw.columns[:15]) + (" …" if len(raw.columns) > 15 else "")},
                file=run.label, column=col,
            ))
        return None
    base = raw.frame
    out: dict[str, pl.Series] = {}
    for col in table.columns:
        fs = spec.fields.get(col.name)
        if fs is None or _absent(fs, lookup):
            continue
        columns = [_find_column(c, lookup) for c in fs.source_columns]
        if columns:
            run.columns[col.name] = " + ".join(columns)
            run.used.update(columns)
        text = _field_text(base, fs, columns)
        if (spec.table, col.name) in ID_FIELDS:
            text, changed = clean_key(text)
            book.derive(spec.table, col.name, run.label, "invisible", changed)
        text = _apply_map(text, fs, spec.table, col.name, book)
        if fs.default is not None and fs.default != mp.AS_OF_TOKEN:
            empty = int(text.is_null().sum())
            text = text.fill_null(fs.default)
            book.derive(spec.table, col.name, run.label, "default", empty, value=fs.default)
        out[col.name] = _typed(text, col, fs, mapping, run, base[ROW], book)
    frame = pl.DataFrame(out) if out else pl.DataFrame()
    frame = frame.with_columns(base[ROW], pl.lit(run.index, dtype=pl.Int64).alias(SRC))
    frame = _derive_missing(frame, run, book)
    frame = _complete(frame, spec.table)
    if spec.distinct:
        keyed = pl.all_horizontal(pl.col(k).is_not_null() for k in table.key)
        run.skipped = frame.height - frame.filter(keyed).height
        frame = frame.filter(keyed)
    return frame


def _absent(fs: mp.FieldSpec, lookup: dict[str, str]) -> bool:
    """An optional field whose column this file lacks: it stays empty."""
    return fs.optional and any(_find_column(c, lookup) is None for c in fs.source_columns)


def _field_text(base: pl.DataFrame, fs: mp.FieldSpec, columns: list[str]) -> pl.Series:
    """The raw text feeding a field: one column, several joined, or a constant."""
    if fs.value is not None:
        return pl.Series([fs.value] * base.height, dtype=pl.String)
    if len(columns) == 1:
        return clean_text(base[columns[0]])
    parts = [clean_text(base[c]) for c in columns]
    joined = pl.select(pl.concat_str(parts, separator=fs.join, ignore_nulls=True)).to_series()
    return clean_text(joined)


def _apply_map(text: pl.Series, fs: mp.FieldSpec, table: str, field_name: str, book: Book) -> pl.Series:
    """Replace values by the field's map (exact, then ignoring case and punctuation; '*' for the rest)."""
    if not fs.map:
        return text
    exact = {k: v for k, v in fs.map.items() if k != "*"}
    loose = {key_of(k): v for k, v in exact.items()}
    fallback = fs.map.get("*")
    uniques = text.drop_nulls().unique().to_list()
    replace = {}
    for value in uniques:
        new = exact.get(value) or loose.get(key_of(value)) or fallback
        if new is not None and new != value:
            replace[value] = new
    if not replace:
        return text
    counts = dict(zip(*text.filter(text.is_in(list(replace))).value_counts().to_dict(as_series=False).values(),
                      strict=True))
    for before, after in replace.items():
        book.normalise(table, field_name, before, after, counts.get(before, 0))
    return text.replace(replace)


def _typed(text: pl.Series, col: schema.Column, fs: mp.FieldSpec, mapping: mp.Mapping, run: SourceRun,
           rows: pl.Series, book: Book) -> pl.Series:
    """Parse a field's text to its canonical type; bad cells reject their rows with the value quoted."""
    column = run.columns.get(col.name) or None
    dtype = col.dtype
    if isinstance(dtype, pl.String):
        return text.alias(col.name)
    if isinstance(dtype, pl.Date | pl.Datetime):
        kind = "date" if isinstance(dtype, pl.Date) else "datetime"
        formats = fs.formats or mapping.date_formats
        day_first = fs.day_first if fs.day_first is not None else mapping.day_first
        values, bad, info = parse_dates(text, kind, formats or None, day_first)
        if info.conflict:
            a, b = info.conflict
            book.fatal.append(Problem(
                "mixed_date_order", {"a": text[a], "row_a": rows[a], "b": text[b], "row_b": rows[b]},
                file=run.label, column=column,
            ))
        elif info.ambiguous:
            order = "day/month" if info.order == "day_first" else "month/day"
            book.warnings.append(Problem("ambiguous_dates", {"order": order}, file=run.label, column=column))
        code = "bad_date" if kind == "date" else "bad_datetime"
        bad = _reject_date_flaws(text, bad, info.order != "month_first", col.name, run, column, rows, book)
    elif isinstance(dtype, pl.Float64):
        decimal = fs.decimal or mapping.decimal
        values, bad, money = parse_money(text, decimal)
        if money.reformatted:
            book.derive(run.spec.table, col.name, run.label, "money", money.reformatted,
                        symbols=" ".join(sorted(money.symbols)) or "-", decimal=money.decimal)
        code = "bad_number"
    elif isinstance(dtype, pl.Int64):
        values, bad = parse_int(text)
        code = "bad_integer"
    else:
        values, bad = parse_bool(text)
        code = "bad_flag"
    if bad.any():
        idx = bad.arg_true()
        book.reject(run, rows.gather(idx).to_list(), code, column,
                    [{"value": v, "field": col.name} for v in text.gather(idx).to_list()])
    return values.alias(col.name)


def _reject_date_flaws(text: pl.Series, bad: pl.Series, day_first: bool, field_name: str, run: SourceRun,
                       column: str | None, rows: pl.Series, book: Book) -> pl.Series:
    """Reject the bad dates whose fault can be named ('month 13 does not exist'); the rest stay bad."""
    if not bad.any():
        return bad
    named = bad.to_list()
    by_flaw: dict[str, tuple[list[int], list[dict]]] = {}
    for i in bad.arg_true().to_list():
        flaw, values = date_flaw(text[i], day_first)
        if flaw:
            named[i] = False
            found = by_flaw.setdefault(flaw, ([], []))
            found[0].append(rows[i])
            found[1].append({"value": text[i], "field": field_name, **values})
    for flaw, (flaw_rows, values) in by_flaw.items():
        book.reject(run, flaw_rows, f"date_{flaw}", column, values)
    return pl.Series(named, dtype=pl.Boolean)


def _derive_missing(frame: pl.DataFrame, run: SourceRun, book: Book) -> pl.DataFrame:
    """Fill required fields the mapping leaves out: names from ids, role AE, active true."""
    table = run.spec.table
    for (t, name), how in mp.DERIVED.items():
        if t != table or name in frame.columns or how == "stage":
            continue
        kind, _, arg = how.partition(":")
        if kind == "copy" and arg in frame.columns:
            frame = frame.with_columns(pl.col(arg).alias(name))
            book.derive(table, name, run.label, "copy", frame.height, source=arg)
        elif kind == "value":
            dtype = schema.TABLES[table].polars_schema[name]
            value = arg == "true" if isinstance(dtype, pl.Boolean) else arg
            frame = frame.with_columns(pl.lit(value, dtype=dtype).alias(name))
            book.derive(table, name, run.label, "value", frame.height, value=arg)
    return frame


def _complete(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Every canonical column present (nulls where not mapped), then the bookkeeping columns."""
    spec = schema.TABLES[table]
    cols = [
        (pl.col(c.name) if c.name in frame.columns else pl.lit(None)).cast(c.dtype).alias(c.name)
        for c in spec.columns
    ]
    return frame.select([*cols, pl.col(SRC), pl.col(ROW)])


# ----------------------------------------------------------------------------- whole tables


def _runs_of(frame: pl.DataFrame, mask: pl.Series, by_index: dict[int, SourceRun]) -> dict[int, pl.DataFrame]:
    """The masked rows grouped by the source they came from."""
    picked = frame.filter(mask)
    return {int(src): part for (src,), part in picked.partition_by(SRC, as_dict=True).items()}


def _normalise_values(tables: dict[str, pl.DataFrame], mapping: mp.Mapping, book: Book,
                      by_index: dict[int, SourceRun]) -> dict[str, pl.DataFrame]:
    """Stage names to the stage list, fixed-value fields to their canonical spelling, deal status."""
    lookup = mapping.stage_lookup()
    names = ", ".join(s.name for s in mapping.stages)
    for (table, field_name) in sorted(mp.STAGE_FIELDS):
        if table in tables:
            tables[table] = _canonical_values(tables[table], table, field_name, lookup, "unknown_stage",
                                              {"stages": names}, book, by_index)
    for (table, field_name), allowed in mp.ENUMS.items():
        if table in tables:
            lookup_enum = {key_of(a): a for a in allowed}
            tables[table] = _canonical_values(tables[table], table, field_name, lookup_enum, "unknown_value",
                                              {"allowed": ", ".join(allowed)}, book, by_index)
    if "opportunities" in tables:
        tables["opportunities"] = _status(tables["opportunities"], mapping, book)
    return tables


def _canonical_values(frame: pl.DataFrame, table: str, field_name: str, lookup: dict[str, str], code: str,
                      extra: dict, book: Book, by_index: dict[int, SourceRun]) -> pl.DataFrame:
    """Map each value to its canonical spelling by matching key; unknown values reject their rows."""
    col = frame[field_name]
    uniques = col.drop_nulls().unique().to_list()
    replace, unknown = {}, []
    for value in uniques:
        canon = lookup.get(key_of(value))
        if canon is None:
            unknown.append(value)
        elif canon != value:
            replace[value] = canon
    if replace:
        counts = frame.filter(col.is_in(list(replace)))[field_name].value_counts()
        for before, n in counts.iter_rows():
            book.normalise(table, field_name, before, replace[before], n)
        frame = frame.with_columns(pl.col(field_name).replace(replace))
    if unknown:
        mask = frame[field_name].is_in(unknown)
        for src, part in _runs_of(frame, mask, by_index).items():
            run = by_index[src]
            book.reject(run, part[ROW].to_list(), code, run.columns.get(field_name, field_name),
                        [{"value": v, "field": field_name, **extra} for v in part[field_name].to_list()])
    return frame


def _status(opps: pl.DataFrame, mapping: mp.Mapping, book: Book) -> pl.DataFrame:
    """Deal status from the stage's flags; an open deal's close date is its expected close date."""
    won = [s.name for s in mapping.stages if s.won]
    lost = [s.name for s in mapping.stages if s.lost]
    status = (pl.when(pl.col("stage").is_in(won)).then(pl.lit("won"))
              .when(pl.col("stage").is_in(lost)).then(pl.lit("lost")).otherwise(pl.lit("open")))
    opps = opps.with_columns(status.alias("status"))
    moving = (pl.col("status") == "open") & pl.col("close_date").is_not_null()
    moved = opps.filter(moving & pl.col("expected_close_date").is_null()).height
    if moved:
        book.derive("opportunities", "expected_close_date", "", "open_close_date", moved)
    opps = opps.with_columns(
        pl.when(moving & pl.col("expected_close_date").is_null()).then(pl.col("close_date"))
        .otherwise(pl.col("expected_close_date")).alias("expected_close_date"),
        pl.when(moving).then(None).otherwise(pl.col("close_date")).alias("close_date"),
    )
    return opps


def _as_of(tables: dict[str, pl.DataFrame], mapping: mp.Mapping) -> date:
    """The snapshot date: today, or (as_of = "latest") the last date found in the data."""
    today = date.today()
    if mapping.as_of == "today":
        return today
    found: list[date] = []
    for table, cols in (("opportunities", ("created_date", "close_date")), ("leads", ("created_date",)),
                        ("stage_changes", ("changed_at",)), ("activities", ("occurred_at",))):
        if table in tables:
            for c in cols:
                v = tables[table][c].max()
                if v is not None:
                    found.append(v.date() if isinstance(v, datetime) else v)
    return max(found) if found else today


def _fill_as_of(tables: dict[str, pl.DataFrame], runs: list[SourceRun], as_of: date,
                book: Book) -> dict[str, pl.DataFrame]:
    """Empty cells of fields whose default is "as_of" get the snapshot date."""
    for run in runs:
        if run.raw is None or run.spec.table not in tables:
            continue
        for name, fs in run.spec.fields.items():
            if fs.default != mp.AS_OF_TOKEN:
                continue
            frame = tables[run.spec.table]
            dtype = frame.schema[name]
            value = as_of if isinstance(dtype, pl.Date) else datetime.combine(as_of, datetime.min.time())
            target = (pl.col(SRC) == run.index) & pl.col(name).is_null()
            count = frame.filter(target).height
            tables[run.spec.table] = frame.with_columns(
                pl.when(target).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(name)).alias(name)
            )
            book.derive(run.spec.table, name, run.label, "as_of", count, date=as_of.isoformat())
    return tables


def _required(frame: pl.DataFrame, table: str, book: Book, by_index: dict[int, SourceRun]) -> pl.DataFrame:
    """Reject rows with an empty required field."""
    frame = _drop_rejected(frame, book)
    for col in schema.TABLES[table].required:
        mask = frame[col].is_null()
        if not mask.any():
            continue
        for src, part in _runs_of(frame, mask, by_index).items():
            run = by_index[src]
            book.reject(run, part[ROW].to_list(), "required_missing", run.columns.get(col) or None,
                        [{"field": col}] * part.height)
    return _drop_rejected(frame, book)


def _dedupe(frame: pl.DataFrame, table: str, book: Book, by_index: dict[int, SourceRun]) -> pl.DataFrame:
    """One row per key: identical repeats and rows of distinct sources merge; other repeats are rejected."""
    key = list(schema.TABLES[table].key)
    values = [c for c in frame.columns if c not in (SRC, ROW)]
    frame = frame.with_row_index("__order")
    first_full = frame.unique(values, keep="first", maintain_order=True)
    for src, n in _count_by_src(frame, first_full).items():
        by_index[src].merged += n
    frame = first_full
    distinct_srcs = [i for i, r in by_index.items() if r.spec.distinct and r.spec.table == table]
    dup = frame.select(pl.struct(key).is_duplicated()).to_series()
    if not dup.any():
        return frame.drop("__order")
    first = frame.select(pl.struct(key).is_first_distinct()).to_series()
    later = dup & ~first
    from_distinct = frame[SRC].is_in(distinct_srcs)
    merge = later & from_distinct
    for src, part in _runs_of(frame, merge, by_index).items():
        by_index[src].merged += part.height
    clash = later & ~from_distinct
    if clash.any():
        firsts = frame.filter(first & dup).select([*key, pl.col(ROW).alias("__first_row")])
        rows = frame.filter(clash).join(firsts, on=key, how="left")
        for src, part in _runs_of(rows, pl.Series([True] * rows.height, dtype=pl.Boolean), by_index).items():
            run = by_index[src]
            key_col = run.columns.get(key[0]) or key[0]
            book.reject(run, part[ROW].to_list(), "duplicate_key", key_col,
                        [{"value": " / ".join(str(r[k]) for k in key), "first_row": r["__first_row"]}
                         for r in part.iter_rows(named=True)])
    return frame.filter(~merge).drop("__order")


def _count_by_src(before: pl.DataFrame, after: pl.DataFrame) -> dict[int, int]:
    a = dict(before.group_by(SRC).len().iter_rows())
    b = dict(after.group_by(SRC).len().iter_rows())
    return {int(k): v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}


# ----------------------------------------------------------------------------- references


_NAME_COLUMN = {"reps": "name", "accounts": "name", "products": "name"}
_ORDER = ["reps", "accounts", "products", "opportunities", "leads", "stage_changes", "activities", "payments",
          "targets"]


def _link(tables: dict[str, pl.DataFrame], mapping: mp.Mapping, book: Book,
          by_index: dict[int, SourceRun]) -> dict[str, pl.DataFrame]:
    """Point every reference at a key of its table: exact id, then by a forgiving id or name match."""
    for table in _ORDER:
        if table not in tables:
            continue
        for (child, field_name), parent in mp.RELATIONS.items():
            if child != table:
                continue
            if not _mapped(mapping, child, field_name):
                continue
            parent_frame = _drop_rejected(tables[parent], book) if parent in tables else None
            tables[table] = _link_one(tables[table], child, field_name, parent, parent_frame, mapping, book,
                                      by_index)
        tables[table] = _drop_rejected(tables[table], book)
    return tables


def _mapped(mapping: mp.Mapping, table: str, field_name: str) -> bool:
    return any(field_name in s.fields for s in mapping.sources_for(table))


def _matcher(parent: str, frame: pl.DataFrame | None) -> Callable[[str], tuple[str | None, str]]:
    """A function from a reference value to (key or None, how it matched)."""
    if frame is None or frame.is_empty():
        return lambda v: (None, "")
    key_col = schema.TABLES[parent].key[0]
    ids = frame[key_col].drop_nulls().to_list()
    id_set = set(ids)
    loose: dict[str, set[str]] = {}
    for i in ids:
        loose.setdefault(key_of(i), set()).add(i)
    names: dict[str, set[str]] = {}
    loose_names: dict[str, set[str]] = {}
    if parent in _NAME_COLUMN:
        for i, n in frame.select(key_col, _NAME_COLUMN[parent]).iter_rows():
            if n is not None:
                names.setdefault(n, set()).add(i)
                loose_names.setdefault(key_of(n), set()).add(i)

    def match(value: str) -> tuple[str | None, str]:
        if value in id_set:
            return value, "id"
        for how, table, probe in (("loose_id", loose, key_of(value)), ("name", names, value),
                                  ("loose_name", loose_names, key_of(value))):
            hits = table.get(probe, set())
            if len(hits) == 1:
                return next(iter(hits)), how
            if len(hits) > 1:
                return None, "ambiguous"
        return None, ""

    return match


def _link_one(frame: pl.DataFrame, child: str, field_name: str, parent: str, parent_frame: pl.DataFrame | None,
              mapping: mp.Mapping, book: Book, by_index: dict[int, SourceRun]) -> pl.DataFrame:
    """Resolve one reference column; unlinked values are kept or reject their rows, as the mapping says."""
    col = frame[field_name]
    applies = pl.Series([True] * frame.height, dtype=pl.Boolean)
    if child == "targets":  # team targets name a team, not a rep
        applies = frame["owner_type"] == "rep"
    match = _matcher(parent, parent_frame)
    replace, missing, ambiguous = {}, [], []
    for value in col.filter(applies).drop_nulls().unique().to_list():
        found, how = match(value)
        if found is None:
            (ambiguous if how == "ambiguous" else missing).append(value)
        elif found != value:
            replace[value] = found
    if replace:
        counts = frame.filter(applies & col.is_in(list(replace)))[field_name].value_counts()
        for before, n in counts.iter_rows():
            book.normalise(child, field_name, before, replace[before], n)
        frame = frame.with_columns(
            pl.when(applies).then(pl.col(field_name).replace(replace)).otherwise(pl.col(field_name))
            .alias(field_name)
        )
    bad_values = missing + ambiguous
    bad_mask = applies & frame[field_name].is_in(bad_values)
    empty = int((applies & frame[field_name].is_null()).sum())
    policy = mapping.link_policy(child, field_name)
    counts = frame.filter(bad_mask)[field_name].value_counts(sort=True)
    book.unlinked.append({
        "relation": f"{child}.{field_name} → {parent}",
        "table": child, "field": field_name, "parent": parent,
        "parent_present": parent_frame is not None,
        "rows": int(bad_mask.sum()), "values": len(bad_values), "empty": empty,
        "linked": int((applies & frame[field_name].is_not_null()).sum() - bad_mask.sum()),
        "ambiguous": ambiguous[:EXAMPLES],
        "examples": [{"value": v, "rows": n} for v, n in counts.head(EXAMPLES).iter_rows()],
        "policy": policy,
    })
    if policy == "reject" and bad_mask.any():
        for src, part in _runs_of(frame, bad_mask, by_index).items():
            run = by_index[src]
            book.reject(run, part[ROW].to_list(), "unlinked", run.columns.get(field_name) or field_name,
                        [{"value": v, "field": field_name, "parent": parent} for v in part[field_name].to_list()])
    return frame


# ----------------------------------------------------------------------------- leads and their deals


def _lead_links(tables: dict[str, pl.DataFrame], book: Book) -> dict[str, pl.DataFrame]:
    """Leads and deals linked both ways: a deal naming its lead gives the lead its converted deal, the lead its
    status when the export has none, and the deal its source when empty."""
    opps, leads = tables.get("opportunities"), tables.get("leads")
    if opps is None or leads is None or leads.is_empty():
        return tables
    leads = _converted_from_deals(leads, opps, book)
    linked = pl.col("converted_opportunity_id").is_in(opps["opportunity_id"].implode())
    for rule, status, cond in (("lead_converted", "converted", linked),
                               ("lead_qualified", "qualified", pl.col("qualified_date").is_not_null())):
        fill = pl.col("status").is_null() & cond
        book.derive("leads", "status", "", rule, leads.filter(fill).height)
        leads = leads.with_columns(pl.when(fill).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"))
    tables["leads"] = leads
    sources = leads.select("lead_id", pl.col("source").alias("__lead_source"))
    opps = opps.join(sources, on="lead_id", how="left", maintain_order="left")
    fill = pl.col("source").is_null() & pl.col("__lead_source").is_not_null()
    book.derive("opportunities", "source", "", "lead_source", opps.filter(fill).height)
    tables["opportunities"] = opps.with_columns(
        pl.when(fill).then(pl.col("__lead_source")).otherwise(pl.col("source")).alias("source")
    ).drop("__lead_source")
    return tables


def _converted_from_deals(leads: pl.DataFrame, opps: pl.DataFrame, book: Book) -> pl.DataFrame:
    """Leads without a converted deal get the first deal (by created date, then id) that names them."""
    first = (opps.filter(pl.col("lead_id").is_not_null()).sort("created_date", "opportunity_id")
             .unique("lead_id", keep="first", maintain_order=True)
             .select("lead_id", pl.col("opportunity_id").alias("__deal")))
    leads = leads.join(first, on="lead_id", how="left", maintain_order="left")
    fill = pl.col("converted_opportunity_id").is_null() & pl.col("__deal").is_not_null()
    book.derive("leads", "converted_opportunity_id", "", "deal_lead", leads.filter(fill).height)
    return leads.with_columns(
        pl.when(fill).then(pl.col("__deal")).otherwise(pl.col("converted_opportunity_id"))
        .alias("converted_opportunity_id")
    ).drop("__deal")


# ----------------------------------------------------------------------------- manager cycles


def _break_manager_cycles(tables: dict[str, pl.DataFrame], book: Book) -> dict[str, pl.DataFrame]:
    """Report each circle of managers (A manages A, or A -> B -> A) and break it, so the team tree has a top.

    Walking the circle from its smallest rep_id, the rep whose link leads back to that start closes it and
    loses his manager: the same choice for the same file, whatever the row order.
    """
    reps = tables.get("reps")
    if reps is None or reps.is_empty():
        return tables
    manager = {r: m for r, m in reps.select("rep_id", "manager_id").iter_rows() if m is not None}
    cleared = []
    for cycle in _cycles(manager):
        start = min(cycle)
        walk = [start]
        while manager[walk[-1]] != start:
            walk.append(manager[walk[-1]])
        cleared.append(walk[-1])
        book.warnings.append(Problem("manager_cycle", {"cycle": " → ".join([*walk, start]), "cleared": walk[-1]},
                                     table="reps"))
    if not cleared:
        return tables
    tables["reps"] = reps.with_columns(
        pl.when(pl.col("rep_id").is_in(cleared)).then(None).otherwise(pl.col("manager_id")).alias("manager_id")
    )
    return tables


def _cycles(manager: dict[str, str]) -> list[list[str]]:
    """The circles of a who-manages-whom map (each rep has at most one manager), each once, in id order."""
    done: set[str] = set()
    found = []
    for first in sorted(manager):
        path: dict[str, int] = {}
        node = first
        while node in manager and node not in done and node not in path:
            path[node] = len(path)
            node = manager[node]
        if node in path:  # the walk came back to itself: the circle is the path from that node on
            found.append(list(path)[path[node]:])
        done.update(path)
    return found


# ----------------------------------------------------------------------------- warnings


def _warn(tables: dict[str, pl.DataFrame], as_of: date, book: Book) -> None:
    """Things that are allowed but worth a look: closed deals without a close date, dates after the as-of."""
    opps = tables.get("opportunities")
    if opps is not None and opps.height:
        checks = (
            ("closed_without_date", pl.col("status").is_in(["won", "lost"]) & pl.col("close_date").is_null()),
            ("closed_before_created", pl.col("close_date") < pl.col("created_date")),
            ("negative_amount", pl.col("amount") < 0),
            ("created_after_as_of", pl.col("created_date") > as_of),
        )
        for code, cond in checks:
            n = opps.filter(cond).height
            if n:
                book.warnings.append(Problem(code, {"count": n, "as_of": as_of.isoformat()}, table="opportunities"))
        missing = opps.filter(pl.col("amount").is_null()).height
        if missing:
            book.warnings.append(Problem("missing_amounts", {"count": missing}, table="opportunities"))
    for table, col in (("activities", "occurred_at"), ("stage_changes", "changed_at")):
        frame = tables.get(table)
        if frame is not None and frame.height:
            later = frame.filter(pl.col(col).dt.date() > as_of).height
            if later:
                book.warnings.append(Problem("events_after_as_of", {"count": later, "as_of": as_of.isoformat()},
                                             table=table))
