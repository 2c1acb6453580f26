"""Salesforce Data Export (Setup > Data Export): one CSV per object with API field names, a folder or a .zip.

The `salesforce` mapping profile names this adapter. It reads the object files as they come and does
what a TOML mapping cannot say: rows marked IsDeleted are left out, all-zero ids are empty references,
the polymorphic WhatId links by key prefix, a user's manager comes from the role tree when ManagerId is
empty, activity dates fall back to completion or creation, the stage list is read from the data, and
rates come from CurrencyType and DatedConversionRate. The tables it returns are then mapped, checked and
linked by the ordinary import like any file, with their original row numbers.
"""

from __future__ import annotations

import dataclasses
import io
import re
import statistics
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

import polars as pl

from saleslens.ingest import currency
from saleslens.ingest.errors import ImportFailed, Problem
from saleslens.ingest.mapping import StageSpec
from saleslens.ingest.parsers import clean_text, key_of, parse_bool, parse_dates, parse_money
from saleslens.ingest.readers import ROW, Limits, RawTable, ReadError, SourceFile, check_size

REQUIRED = ("Opportunity.csv", "User.csv")
OBJECTS = (
    "Opportunity.csv", "OpportunityHistory.csv", "User.csv", "UserRole.csv", "Account.csv", "Lead.csv",
    "Task.csv", "Event.csv", "CurrencyType.csv", "DatedConversionRate.csv", "OpportunityStage.csv",
    "OpportunityLineItem.csv", "Product2.csv", "OpportunityFieldHistory.csv", "Period.csv",
)
# Key prefixes of the records a WhatId or WhoId can point at (the first three characters of an id).
PREFIXES = {"006": "opportunity", "001": "account", "00Q": "lead", "003": "contact"}
# Salesforce writes an empty lookup as an all-zero id in some exports: 15 zeros, maybe a 3-letter suffix.
ZERO_ID = r"^0{15}([0-9A-Za-z]{3})?$"


class MissingObjects(ImportFailed):
    """An export without the object files the import needs; told in one line."""

    def text(self, lang: str = "en") -> str:
        """The one problem, without a headline."""
        return self.problems[0].text(lang)


@dataclass
class Adapted:
    """What the adapter hands to the import: tables by file name, stages, rates, and what it did."""

    tables: dict[str, RawTable]
    stages: tuple[StageSpec, ...]
    rates: currency.Rates | None
    notes: list[dict] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    history: pl.DataFrame | None = None  # OpportunityHistory as past states (see past_states), for the backfill


class Notes:
    """Counts of what the adapter changed, per file, for the import report."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, code: str, file: str, count: int, **values: object) -> None:
        """Note something that happened to `count` rows (nothing when zero)."""
        if count:
            self.items.append({"code": code, "file": file, "count": count,
                               "values": {k: str(v) for k, v in values.items()}})


# ----------------------------------------------------------------------------- files


def adapt(files: list[SourceFile], limits: Limits) -> Adapted:
    """Read a Salesforce Data Export into plain tables; raise MissingObjects without Opportunity.csv or User.csv."""
    files = unzip(files)
    by_name: dict[str, list[SourceFile]] = {}
    for f in files:  # a large export comes in several zips; an object may be in more than one
        by_name.setdefault(PurePosixPath(f.name).name.lower(), []).append(f)
    missing = [n for n in REQUIRED if n.lower() not in by_name]
    if missing:
        given = ", ".join(sorted(PurePosixPath(f.name).name for f in files)) or "-"
        raise MissingObjects([Problem("sf_missing_objects", {"missing": ", ".join(missing),
                                                             "needed": ", ".join(REQUIRED), "given": given})])
    notes = Notes()
    raw: dict[str, RawTable] = {}
    for name in OBJECTS:
        parts = by_name.get(name.lower())
        if parts:
            table = _joined([read_object(f, limits, notes) for f in parts])
            raw[name] = _without_deleted(_zero_ids(table, notes), notes)
    history = history_rows(raw["OpportunityHistory.csv"]) if "OpportunityHistory.csv" in raw else None
    fields = field_history(raw["OpportunityFieldHistory.csv"]) if "OpportunityFieldHistory.csv" in raw else None
    covered = set(history["opp"].drop_nulls().to_list()) if history is not None else set()
    field_moves = stage_moves_from_fields(fields, raw["Opportunity.csv"], covered) if fields is not None else None
    if field_moves is not None and field_moves.is_empty():
        field_moves = None
    if fields is not None:
        _field_notes(fields, field_moves, notes)
    if "Period.csv" in raw:
        _period_notes(raw["Period.csv"], notes)
    stages = stage_list(raw, _with_field_stages(history, field_moves), notes)
    tables = {
        "User.csv": users(raw["User.csv"], raw.get("UserRole.csv"), notes),
        "Opportunity.csv": opportunities(raw["Opportunity.csv"], raw.get("OpportunityLineItem.csv")),
    }
    for name in ("Account.csv", "Product2.csv"):
        if name in raw:
            tables[name] = raw[name]
    if "Lead.csv" in raw:
        tables["Lead.csv"] = leads(raw["Lead.csv"])
    if history is not None or field_moves is not None:
        tables["OpportunityHistory.csv"] = _all_moves(raw, history, field_moves, notes)
    for name, kind in (("Task.csv", "task"), ("Event.csv", "event")):
        if name in raw:
            tables[name] = activities(raw[name], kind, notes)
    rates = rates_of(raw.get("CurrencyType.csv"), raw.get("DatedConversionRate.csv"))
    states = [past_states(history)] if history is not None else []
    if field_moves is not None:
        states.append(field_states(field_moves, raw["Opportunity.csv"]))
    return Adapted(tables, stages, rates, notes.items, history=pl.concat(states) if states else None)


def unzip(files: list[SourceFile]) -> list[SourceFile]:
    """The files given, with every .zip among them replaced by the CSV files inside it."""
    out = []
    for f in files:
        if f.suffix != ".zip":
            out.append(f)
            continue
        blob = f.load()
        try:
            with zipfile.ZipFile(io.BytesIO(blob)) as archive:
                members = [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".csv")]
        except zipfile.BadZipFile:
            raise ImportFailed([Problem("bad_zip", file=f.name)]) from None
        # Unpacked only when read: an export holds many objects the import does not use.
        out += [SourceFile(PurePosixPath(i.filename).name, i.file_size, lambda i=i, blob=blob: _member(blob, i))
                for i in members]
    return out


def _member(blob: bytes, info: zipfile.ZipInfo) -> bytes:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return archive.read(info)


def zips_in(folder: Path) -> list[SourceFile]:
    """The .zip files of a folder (Salesforce splits a large export into several), for the CLI to add."""
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".zip")
    return [SourceFile(p.name, p.stat().st_size, p.read_bytes) for p in found]


def _joined(parts: list[RawTable]) -> RawTable:
    """One object's parts as one table; the rows of each later part are numbered on from the one before."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    label = f"{first.label} ({len(parts)} parts)"
    frames, problems, offset = [], [], 0
    for part in parts:
        frames.append(part.frame.with_columns(pl.col(ROW) + offset))
        problems += [dataclasses.replace(p, file=label, row=(p.row or 0) + offset) for p in part.problems]
        offset += max([int(part.frame[ROW].max() or 0)] + [p.row or 0 for p in part.problems])
    return RawTable(label, pl.concat(frames, how="diagonal"), first.encoding, first.delimiter, problems, 0)


def decode(data: bytes) -> tuple[str, str, int]:
    """Text, encoding and replaced characters: UTF-8 (with or without BOM) or Windows-1252, as Salesforce writes.

    The org's export setting decides the encoding for the whole file. Bytes that fit neither become U+FFFD
    and are counted, so a file with a few damaged bytes still imports.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    in_sequences = sum(len(m) for m in re.findall(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                                                   rb"[\xf0-\xf4][\x80-\xbf]{3}", data))
    stray = len(re.findall(rb"[\x80-\xff]", data)) - in_sequences
    # Most high bytes inside well-formed UTF-8 sequences: a UTF-8 file with a few bad bytes.
    encoding = "utf-8" if in_sequences > stray else "cp1252"
    text = data.decode(encoding, errors="replace")
    kept = data.decode(encoding, errors="ignore")
    return text, encoding, text.count("\ufffd") - kept.count("\ufffd")


def read_object(f: SourceFile, limits: Limits, notes: Notes) -> RawTable:
    """One object's CSV as text cells, decoded the Salesforce way; unreadable files stop the import."""
    try:
        check_size(f, limits)  # before unpacking or decoding it
        text, encoding, replaced = decode(f.load())
        utf8 = text.encode("utf-8")
        # In a memory-limited child like every other import file, so a hostile export cannot take the server down.
        from saleslens.ingest import sandbox

        table = sandbox.read(SourceFile(f.name, len(utf8), lambda: utf8), limits, None, "utf-8", ",")
    except ReadError as exc:
        raise ImportFailed([exc.problem]) from None
    notes.add("replaced_characters", f.name, replaced, encoding=encoding)
    table.encoding = encoding
    return table


def _text(table: RawTable, column: str) -> pl.Series:
    """A column's cleaned text (empty cells null), or all null when the file lacks the column."""
    if column in table.frame.columns:
        return clean_text(table.frame[column])
    return pl.Series(column, [None] * table.frame.height, dtype=pl.String)


def _flag(table: RawTable, column: str) -> pl.Series:
    """A true/false column (1/0, true/false); absent or unreadable cells are false."""
    return parse_bool(_text(table, column))[0].fill_null(False)


def _with(table: RawTable, frame: pl.DataFrame) -> RawTable:
    return RawTable(table.label, frame, table.encoding, table.delimiter, table.problems, table.footer_rows)


def _zero_ids(table: RawTable, notes: Notes) -> RawTable:
    """All-zero ids in reference columns (…Id) become empty: they mean 'no record', not a missing one."""
    changes = {}
    for col in table.columns:
        if col.endswith("Id") and col != "Id":
            zero = _text(table, col).str.contains(ZERO_ID).fill_null(False)
            if zero.any():
                notes.add("zero_ids", table.label, int(zero.sum()), column=col)
                changes[col] = pl.when(zero).then(pl.lit("")).otherwise(pl.col(col)).alias(col)
    return _with(table, table.frame.with_columns(changes.values())) if changes else table


def _without_deleted(table: RawTable, notes: Notes) -> RawTable:
    """Rows marked IsDeleted are left out, and counted."""
    deleted = _flag(table, "IsDeleted")
    notes.add("deleted", table.label, int(deleted.sum()))
    return _with(table, table.frame.filter(~deleted)) if deleted.any() else table


# ----------------------------------------------------------------------------- objects


def users(table: RawTable, roles: RawTable | None, notes: Notes) -> RawTable:
    """Users with a name, their role's name, a manager (ManagerId, else the parent role's one holder), a team."""
    ids = _text(table, "Id")
    names = _text(table, "Name")
    if "Name" not in table.frame.columns:
        names = pl.select(pl.concat_str([_text(table, "FirstName"), _text(table, "LastName")], separator=" ",
                                        ignore_nulls=True)).to_series().replace("", None)
    role_ids = _text(table, "UserRoleId")
    role_name, parent = {}, {}
    if roles is not None:
        role_name = dict(zip(_text(roles, "Id").to_list(), _text(roles, "Name").to_list(), strict=True))
        parent = dict(zip(_text(roles, "Id").to_list(), _text(roles, "ParentRoleId").to_list(), strict=True))
    holders: dict[str, list[str]] = {}
    for uid, rid in zip(ids.to_list(), role_ids.to_list(), strict=True):
        if rid:
            holders.setdefault(rid, []).append(uid)
    managers = _text(table, "ManagerId").to_list()
    from_role = 0
    for i, (uid, rid) in enumerate(zip(ids.to_list(), role_ids.to_list(), strict=True)):
        above = holders.get(parent.get(rid) or "", [])
        if not managers[i] and len(above) == 1 and above[0] != uid:
            managers[i] = above[0]
            from_role += 1
    notes.add("manager_from_role", table.label, from_role)
    name_of = dict(zip(ids.to_list(), names.to_list(), strict=True))
    leads_someone = {m for m in managers if m}
    teams = [name_of.get(uid) if uid in leads_someone else name_of.get(m) if m else None
             for uid, m in zip(ids.to_list(), managers, strict=True)]
    frame = table.frame.with_columns(
        names.alias("_Name"),
        pl.Series("_RoleName", [role_name.get(r) for r in role_ids.to_list()], dtype=pl.String),
        pl.Series("ManagerId", managers, dtype=pl.String),
        pl.Series("_Team", teams, dtype=pl.String),
    )
    return _with(table, frame)


def opportunities(table: RawTable, items: RawTable | None) -> RawTable:
    """Opportunities with their main product: the line item with the largest total price."""
    main: dict[str, str] = {}
    if items is not None:
        totals = parse_money(_text(items, "TotalPrice"), ".")[0].fill_null(0.0)
        frame = pl.DataFrame({"opp": _text(items, "OpportunityId"), "product": _text(items, "Product2Id"),
                              "total": totals}).drop_nulls(["opp", "product"])
        best = frame.sort(["opp", "total", "product"], descending=[False, True, False]).unique("opp", keep="first")
        main = dict(best.select("opp", "product").iter_rows())
    products = [main.get(o) for o in _text(table, "Id").to_list()]
    return _with(table, table.frame.with_columns(pl.Series("_Product2Id", products, dtype=pl.String)))


def leads(table: RawTable) -> RawTable:
    """Leads with a status the mapping translates: converted leads say so whatever their Status text."""
    converted = _flag(table, "IsConverted")
    status = pl.select(pl.when(converted).then(pl.lit("Closed - Converted")).otherwise(_text(table, "Status")))
    return _with(table, table.frame.with_columns(status.to_series().alias("_Status")))


def history_rows(table: RawTable) -> pl.DataFrame:
    """OpportunityHistory typed once, in time order per opportunity, for the stage moves, the stage order and the
    backfill."""
    forecast = _text(table, "ForecastCategory")
    return pl.DataFrame({
        ROW: table.frame[ROW], "opp": _text(table, "OpportunityId"), "stage": _text(table, "StageName"),
        "at": parse_dates(_text(table, "CreatedDate"), "datetime")[0], "at_text": _text(table, "CreatedDate"),
        "prob": _percent(table, "Probability"), "forecast_text": forecast,
        "forecast": forecast.str.to_lowercase().str.replace_all(r"[^a-z]", "").replace_strict(
            FORECAST, default=None, return_dtype=pl.String),
        "amount": parse_money(_text(table, "Amount"), ".")[0],
        "close_date": parse_dates(_text(table, "CloseDate"))[0],
        "currency": _text(table, "CurrencyIsoCode").str.to_uppercase(),
    }).sort(["opp", "at", ROW], nulls_last=True)


def stage_moves(table: RawTable, history: pl.DataFrame, notes: Notes) -> RawTable:
    """Stage changes from OpportunityHistory: a row per change of StageName, with the stage it left.

    The history also records amount and close-date edits; rows that keep the stage are not moves.
    """
    rows = history.with_columns(pl.col("stage").shift(1).over("opp").alias("_FromStage"))
    moves = rows.filter(pl.col("_FromStage").is_null() | (pl.col("_FromStage") != pl.col("stage")))
    notes.add("history_not_moves", table.label, rows.height - moves.height)
    frame = moves.select(pl.col("opp").alias("OpportunityId"), "_FromStage", pl.col("stage").alias("StageName"),
                         pl.col("at_text").alias("CreatedDate"), ROW).sort(ROW)
    return _with(table, frame)


def activities(table: RawTable, kind: str, notes: Notes) -> RawTable:
    """Tasks or events: deal and account from WhatId's prefix, a date whatever is filled, a type."""
    what = _text(table, "WhatId")
    prefix = what.str.slice(0, 3)
    opp = pl.select(pl.when(prefix == "006").then(what)).to_series()
    account = pl.select(pl.when(prefix == "001").then(what).otherwise(_text(table, "AccountId"))).to_series()
    account = pl.select(pl.when(account.str.slice(0, 3) == "001").then(account)).to_series()
    others = what.is_not_null() & ~prefix.is_in(["006", "001"])
    notes.add("what_elsewhere", table.label, int(others.sum()),
              kinds=", ".join(sorted({PREFIXES.get(p, p) for p in prefix.filter(others).to_list()})))
    firsts = ("ActivityDate", "CompletedDateTime", "CreatedDate") if kind == "task" else \
        ("ActivityDateTime", "ActivityDate", "StartDateTime", "CreatedDate")
    when = _text(table, firsts[0])
    for fallback in firsts[1:]:
        filled = when.is_null() & _text(table, fallback).is_not_null()
        notes.add("date_from", table.label, int(filled.sum()), column=fallback, instead=firsts[0])
        when = pl.select(pl.when(filled).then(_text(table, fallback)).otherwise(when)).to_series()
    subtype = "TaskSubtype" if kind == "task" else "EventSubtype"
    kind_text = pl.select(pl.coalesce(_text(table, "Type"), _text(table, subtype),
                                      pl.lit("Task" if kind == "task" else "Event"))).to_series()
    frame = table.frame.with_columns(opp.alias("_OpportunityId"), account.alias("_AccountId"),
                                     when.alias("_When"), kind_text.alias("_Type"))
    return _with(table, frame)


# ----------------------------------------------------------------------------- field history and periods


def field_history(table: RawTable) -> pl.DataFrame:
    """OpportunityFieldHistory typed once: a row per change of one field (Field, OldValue, NewValue, CreatedDate),
    in time order per opportunity."""
    return pl.DataFrame({
        ROW: table.frame[ROW], "opp": _text(table, "OpportunityId"), "field": _text(table, "Field"),
        "old": _text(table, "OldValue"), "new": _text(table, "NewValue"),
        "at": parse_dates(_text(table, "CreatedDate"), "datetime")[0], "at_text": _text(table, "CreatedDate"),
    }).sort(["opp", "at", ROW], nulls_last=True)


def stage_moves_from_fields(fields: pl.DataFrame, opps: RawTable, covered: set[str]) -> pl.DataFrame:
    """Stage moves from the StageName rows of deals OpportunityHistory has no row of (`covered` has), in the shape
    stage_moves gives: the deal's creation into the stage its first change left (at its CreatedDate), then each
    change. Rows whose time cannot be read are left out."""
    rows = fields.filter((pl.col("field") == "StageName") & ~pl.col("opp").is_in(list(covered))
                         & pl.col("at").is_not_null() & pl.col("new").is_not_null())
    created = pl.DataFrame({"opp": _text(opps, "Id"), "created_text": _text(opps, "CreatedDate")})
    first = rows.group_by("opp", maintain_order=True).first().filter(pl.col("old").is_not_null()).join(
        created, on="opp", how="inner").filter(pl.col("created_text").is_not_null())
    # The creation move has no row of its own: it carries the row of the change that first says the stage.
    start = first.select("opp", pl.lit(None, dtype=pl.String).alias("_FromStage"), pl.col("old").alias("StageName"),
                         pl.col("created_text").alias("CreatedDate"), ROW)
    moves = rows.select("opp", pl.col("old").alias("_FromStage"), pl.col("new").alias("StageName"),
                        pl.col("at_text").alias("CreatedDate"), ROW)
    return pl.concat([start, moves]).rename({"opp": "OpportunityId"}).sort(["OpportunityId", ROW, "_FromStage"],
                                                                          nulls_last=False)


def _with_field_stages(history: pl.DataFrame | None, moves: pl.DataFrame | None) -> pl.DataFrame | None:
    """The history as stage_list reads it, with the field history's stages in it too (none dropped)."""
    if moves is None:
        return history
    extra = moves.select(
        pl.col(ROW), pl.col("OpportunityId").alias("opp"), pl.col("StageName").alias("stage"),
        parse_dates(moves["CreatedDate"], "datetime")[0].alias("at"), pl.col("CreatedDate").alias("at_text"),
        pl.lit(None, dtype=pl.Float64).alias("prob"), pl.lit(None, dtype=pl.String).alias("forecast_text"),
        pl.lit(None, dtype=pl.String).alias("forecast"), pl.lit(None, dtype=pl.Float64).alias("amount"),
        pl.lit(None, dtype=pl.Date).alias("close_date"), pl.lit(None, dtype=pl.String).alias("currency"))
    return extra if history is None else pl.concat([history, extra.select(history.columns)])


def _all_moves(raw: dict[str, RawTable], history: pl.DataFrame | None, field_moves: pl.DataFrame | None,
               notes: Notes) -> RawTable:
    """The stage moves the import reads: OpportunityHistory's, then the field history's for the other deals, whose
    rows are numbered on after OpportunityHistory's (as the parts of a split object are)."""
    if history is None:
        table = raw["OpportunityFieldHistory.csv"]
        return _with(table, field_moves)
    moves = stage_moves(raw["OpportunityHistory.csv"], history, notes)
    if field_moves is None:
        return moves
    offset = max(int(moves.frame[ROW].max() or 0), max([p.row or 0 for p in moves.problems], default=0))
    frame = pl.concat([moves.frame, field_moves.with_columns(pl.col(ROW) + offset).select(moves.frame.columns)])
    label = f"{moves.label} + OpportunityFieldHistory.csv"
    return RawTable(label, frame, moves.encoding, moves.delimiter, moves.problems, 0)


def field_states(moves: pl.DataFrame, opps: RawTable) -> pl.DataFrame:
    """The field history's stage moves as past states for the backfill (as past_states gives OpportunityHistory's):
    the stage is the move's, amount, close date, forecast category and currency are the deal's today."""
    today = pl.DataFrame({
        "opportunity_id": _text(opps, "Id"), "amount": parse_money(_text(opps, "Amount"), ".")[0],
        "close_date": parse_dates(_text(opps, "CloseDate"))[0],
        "forecast_category": _text(opps, "ForecastCategoryName").str.to_lowercase().str.replace_all(r"[^a-z]", "")
        .replace_strict(FORECAST, default=None, return_dtype=pl.String),
        "currency": _text(opps, "CurrencyIsoCode").str.to_uppercase(),
    })
    states = moves.select(pl.col("OpportunityId").alias("opportunity_id"),
                          parse_dates(moves["CreatedDate"], "datetime")[0].alias("at"),
                          pl.col("StageName").alias("stage"))
    return states.drop_nulls("at").join(today, on="opportunity_id", how="left").select(
        "opportunity_id", "at", "stage", "amount", "close_date", "forecast_category", "currency")


def _field_notes(fields: pl.DataFrame, moves: pl.DataFrame | None, notes: Notes) -> None:
    """What the report says about OpportunityFieldHistory: stage moves taken, and the close-date and amount changes
    it records (reported only: the schema keeps no close-date or amount history; pushes come from snapshots)."""
    label = "OpportunityFieldHistory.csv"
    if moves is not None:
        notes.add("field_history_stages", label, moves.height, deals=moves["OpportunityId"].n_unique())
    closes = fields.filter(pl.col("field") == "CloseDate")
    old_day, new_day = parse_dates(closes["old"])[0], parse_dates(closes["new"])[0]
    pushed = int((new_day > old_day).fill_null(False).sum())
    notes.add("field_history_close_dates", label, closes.height, pushed=pushed)
    notes.add("field_history_amounts", label, fields.filter(pl.col("field") == "Amount").height)


def _period_notes(table: RawTable, notes: Notes) -> None:
    """Period.csv in the report: how many fiscal periods of which types, and the day fiscal years start on."""
    types = _text(table, "Type")
    starts = parse_dates(_text(table, "StartDate"))[0]
    years = starts.filter(types.str.to_lowercase() == "year").drop_nulls().sort()
    counts = types.drop_nulls().value_counts(sort=True)
    kinds = ", ".join(f"{kind} {n}" for kind, n in counts.iter_rows())
    start = years[-1].strftime("%d %B").lstrip("0") if years.len() else "-"
    notes.add("periods", "Period.csv", table.frame.height, types=kinds or "-", start=start)


# History's ForecastCategory values (the API names) -> the canonical forecast categories.
FORECAST = {"pipeline": "pipeline", "bestcase": "best_case", "mostlikely": "best_case", "forecast": "commit",
            "commit": "commit", "closed": "commit", "omitted": "omitted"}


def past_states(history: pl.DataFrame) -> pl.DataFrame:
    """The history as the state each row put a deal in from its CreatedDate on: stage, amount (in the deal's
    currency, CurrencyIsoCode in multi-currency orgs), close date and forecast category. Rows whose time cannot be
    read are left out."""
    return history.drop_nulls(["opp", "at", "stage"]).select(
        pl.col("opp").alias("opportunity_id"), "at", "stage", "amount", "close_date",
        pl.col("forecast").alias("forecast_category"), "currency")


# ----------------------------------------------------------------------------- stages


@dataclass
class _Stage:
    name: str
    order: float
    won: bool
    lost: bool
    probability: float | None


def stage_list(raw: dict[str, RawTable], history: pl.DataFrame | None, notes: Notes) -> tuple[StageSpec, ...]:
    """The ordered stage list: OpportunityStage when exported, else read from the deals and their history.

    Stages used by deals or history but missing from the list are added (and noted), never dropped.
    """
    listed = _listed_stages(raw["OpportunityStage.csv"]) if "OpportunityStage.csv" in raw else []
    seen = _seen_stages(raw["Opportunity.csv"], history)
    known = {key_of(s.name) for s in listed}
    added = [s for s in seen if key_of(s.name) not in known]
    if listed:
        for s in added:
            notes.add("stage_added", "OpportunityStage.csv", 1, stage=s.name)
    stages = listed + added
    if not any(s.won for s in stages):
        stages.append(_Stage("Closed Won", 1e9, True, False, 1.0))
        notes.add("stage_outcome_added", "", 1, stage="Closed Won")
    if not any(s.lost for s in stages):
        stages.append(_Stage("Closed Lost", 1e9, False, True, 0.0))
        notes.add("stage_outcome_added", "", 1, stage="Closed Lost")
    ordered = sorted(stages, key=lambda s: (s.won or s.lost, s.lost, s.order))
    return tuple(_spec(s, i) for i, s in enumerate(ordered, start=1))


def _spec(stage: _Stage, position: int) -> StageSpec:
    if stage.won or stage.lost:
        return StageSpec(stage.name, position, 1.0 if stage.won else 0.0, stage.won, stage.lost)
    prob = stage.probability
    return StageSpec(stage.name, position, 0.5 if prob is None else prob, derived_probability=prob is None)


def _percent(table: RawTable, column: str) -> pl.Series:
    """A 0-100 percentage column as 0-1 values."""
    return (parse_money(_text(table, column), ".")[0] / 100).clip(0.0, 1.0)


def _listed_stages(table: RawTable) -> list[_Stage]:
    """OpportunityStage rows: MasterLabel (the value deals store), SortOrder, IsClosed, IsWon, DefaultProbability."""
    names = _text(table, "MasterLabel")
    if names.null_count() == len(names):
        names = _text(table, "ApiName")
    order = parse_money(_text(table, "SortOrder"), ".")[0].to_list()
    closed, won = _flag(table, "IsClosed").to_list(), _flag(table, "IsWon").to_list()
    probs = _percent(table, "DefaultProbability").to_list()
    out, seen = [], set()
    for i, name in enumerate(names.to_list()):
        if name and key_of(name) not in seen:
            seen.add(key_of(name))
            sort = order[i] if order[i] is not None else float(i)
            out.append(_Stage(name, sort, won[i], closed[i] and not won[i], probs[i]))
    return out


def _seen_stages(opps: RawTable, history: pl.DataFrame | None) -> list[_Stage]:
    """Stages as the deals and the history use them, ordered by StageSortOrder when exported, else by
    typical probability, then by where they come in each deal's history."""
    deals = pl.DataFrame({"stage": _text(opps, "StageName"), "sort": parse_money(_text(opps, "StageSortOrder"),
                                                                                 ".")[0],
                          "closed": _flag(opps, "IsClosed"), "won": _flag(opps, "IsWon"),
                          "prob": _percent(opps, "Probability")})
    stats = deals.drop_nulls("stage").group_by("stage", maintain_order=True).agg(
        pl.col("sort").min(), pl.col("closed").mean(), pl.col("won").mean(), pl.col("prob").drop_nulls())
    seen = {name: {"sort": sort, "closed": closed, "won": won, "prob": probs, "rank": None, "forecast": None}
            for name, sort, closed, won, probs in stats.iter_rows()}
    if history is not None:
        _history_stages(history, seen)
    out = []
    for first_seen, (name, r) in enumerate(seen.items()):
        prob = statistics.median(r["prob"]) if r["prob"] else None
        if r["closed"] is None:  # only in history: Salesforce records a closed stage at 100 % or 0 %
            won, lost = prob == 1.0 and r["forecast"] == "Closed", prob == 0.0 and r["forecast"] == "Omitted"
        else:  # most deals in the stage say so
            won = r["won"] > 0.5
            lost = not won and r["closed"] > 0.5
        rank = r["rank"] if r["rank"] is not None else 1e6
        by_probability = (prob if prob is not None else 0.5) * 1e6 + rank + first_seen / 1e3
        out.append(_Stage(name, r["sort"] if r["sort"] is not None else by_probability, won, lost, prob))
    return out


def _history_stages(history: pl.DataFrame, seen: dict[str, dict]) -> None:
    """Add the history's stages, their probabilities and their mean place in each deal's sequence of stages."""
    ordered = history.filter(pl.col("stage").is_not_null())
    # Each deal's sequence of stages (repeats in a row folded), and each stage's place in it from 0 to 1.
    seq = ordered.filter(pl.col("stage") != pl.col("stage").shift(1).over("opp").fill_null(""))
    seq = seq.with_columns(
        (pl.int_range(pl.len()).over("opp") / (pl.len().over("opp") - 1).clip(lower_bound=1)).alias("rank"))
    ranks = dict(seq.group_by("stage").agg(pl.col("rank").mean()).iter_rows())
    stats = ordered.group_by("stage", maintain_order=True).agg(pl.col("prob").drop_nulls(),
                                                               pl.col("forecast_text").first())
    for stage, probs, forecast in stats.iter_rows():
        r = seen.setdefault(stage, {"sort": None, "closed": None, "won": None, "prob": [], "rank": None,
                                    "forecast": None})
        r["prob"] = r["prob"] + probs
        r["forecast"] = r["forecast"] or forecast
        r["rank"] = ranks.get(stage)


# ----------------------------------------------------------------------------- currencies


def rates_of(types: RawTable | None, dated: RawTable | None) -> currency.Rates | None:
    """Rates from CurrencyType (and DatedConversionRate when it has rows); None for a single-currency org."""
    if types is None and (dated is None or dated.frame.is_empty()):
        return None
    reporting, fixed = None, {}
    if types is not None:
        codes = _text(types, "IsoCode").str.to_uppercase().to_list()
        rates = parse_money(_text(types, "ConversionRate"), ".")[0].to_list()
        corporate = _flag(types, "IsCorporate").to_list()
        for code, rate, corp in zip(codes, rates, corporate, strict=True):
            if code:
                if rate is not None:
                    fixed[code] = rate
                if corp:
                    reporting = code
    periods: dict[str, list[currency.Period]] = {}
    if dated is not None and not dated.frame.is_empty():
        starts = parse_dates(_text(dated, "StartDate"))[0].to_list()
        ends = parse_dates(_text(dated, "NextStartDate"))[0].to_list()
        codes = _text(dated, "IsoCode").str.to_uppercase().to_list()
        rates = parse_money(_text(dated, "ConversionRate"), ".")[0].to_list()
        for code, start, end, rate in zip(codes, starts, ends, rates, strict=True):
            if code and rate is not None:
                periods.setdefault(code, []).append(currency.Period(start or date.min, end, rate))
        periods = {c: sorted(p, key=lambda x: x.start) for c, p in periods.items()}
    source = ", ".join(n for n, t in (("CurrencyType.csv", types), ("DatedConversionRate.csv", dated)) if t)
    return currency.Rates(reporting, fixed, periods, source)
