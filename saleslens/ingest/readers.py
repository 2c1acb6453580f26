"""Readers: CSV (any common encoding and delimiter) and Excel sheets into frames of text, row numbers kept.

Every cell is read as text; typing happens later, column by column, so each bad cell can be named.
Row numbers are the ones a spreadsheet shows: the header is row 1 (or wherever it is), data starts after.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from saleslens.ingest.errors import Problem
from saleslens.ingest.parsers import DELIMITER_NAMES, DecodeError, decode, sniff_delimiter

TEXT_EXT = (".csv", ".tsv", ".txt")
EXCEL_EXT = (".xlsx", ".xlsm")
READABLE = TEXT_EXT + EXCEL_EXT
LISTED = (*READABLE, ".xls")  # listed so an old workbook gets a clear message instead of being ignored
ROW = "__row"  # the spreadsheet row number of each data row
MB = 1024 * 1024

csv.field_size_limit(16 * MB)  # long notes fields are legal; the file size limit bounds the whole
# A header line may hold this many characters per allowed column; longer is no header a person wrote.
HEADER_CHARS_PER_COLUMN = 256
# A workbook part that unpacks to more than this many times its packed size is a zip bomb, not data:
# real sheets pack 5 to 20 times, a sheet of one repeated row about 1,000 times.
MAX_ZIP_RATIO = 200
RATIO_FROM_BYTES = MB  # small parts may pack better; they cannot do harm
# Problems that refuse a whole file before or while reading it (here or in the reading process): the CLI
# says them in one line, as it does its other refusals.
REFUSALS = frozenset({
    "file_too_large", "too_many_rows", "too_many_columns", "header_too_large", "too_many_cells",
    "unzipped_too_large", "zip_bomb", "read_out_of_memory", "read_timeout", "read_failed",
})


class ReadError(Exception):
    """A file that cannot be read at all; carries the problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class SourceFile:
    """One input file: its name, size, and how to get its bytes (from disk or an upload)."""

    name: str
    size: int
    load: Callable[[], bytes] = field(repr=False, compare=False)
    path: Path | None = field(default=None, compare=False)  # on disk: a reading process can open it itself

    @property
    def suffix(self) -> str:
        """The lower-case extension, with the dot."""
        return Path(self.name).suffix.lower()

    @property
    def is_excel(self) -> bool:
        """Whether it is an Excel workbook."""
        return self.suffix in EXCEL_EXT


def files_from_path(path: Path) -> list[SourceFile]:
    """The readable files of a folder (not recursive), or the one file given."""
    path = Path(path).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in LISTED)
    elif path.is_file():
        found = [path]
    else:
        raise ReadError(Problem("no_source", {"path": str(path)}))
    return [SourceFile(p.name, p.stat().st_size, p.read_bytes, p.resolve()) for p in found]


def files_from_uploads(items: Iterable[tuple[str, bytes]]) -> list[SourceFile]:
    """Uploaded files (name and bytes) as source files."""
    return [SourceFile(name, len(data), lambda data=data: data) for name, data in items]


@dataclass
class RawTable:
    """The text cells of one file or sheet, with the row numbers and how the file was read."""

    label: str
    frame: pl.DataFrame
    encoding: str | None = None
    delimiter: str | None = None
    problems: list[Problem] = field(default_factory=list)  # rows left out (wrong number of fields)
    footer_rows: int = 0  # rows after the first blank row that stop_at_blank skipped

    @property
    def columns(self) -> list[str]:
        """The header, in file order."""
        return [c for c in self.frame.columns if c != ROW]

    def describe(self) -> dict:
        """A JSON-ready line for the report's file list."""
        return {
            "file": self.label, "rows": self.frame.height, "columns": self.columns, "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES.get(self.delimiter or "", None), "footer_rows_skipped": self.footer_rows,
        }


@dataclass(frozen=True)
class Limits:
    """Most bytes, data rows, columns and cells one file may have, and most unpacked bytes of a workbook."""

    max_mb: float
    max_rows: int
    max_columns: int = 2000
    max_cells: int = 100_000_000
    max_unzipped_mb: float = 1000.0

    @property
    def header_chars(self) -> int:
        """The longest header line read before the file is refused."""
        return self.max_columns * HEADER_CHARS_PER_COLUMN


# ----------------------------------------------------------------------------- finding files


def sheet_names(f: SourceFile, limits: Limits | None = None) -> list[str]:
    """The sheets of a workbook, in order."""
    book = _workbook(f, f.load(), limits or Limits(f.size / MB + 1, 0))
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _workbook(f: SourceFile, data: bytes, limits: Limits):
    """The workbook opened read-only with cached values, after its packed parts were checked."""
    import openpyxl  # imported here: only Excel sources need it

    try:
        check_unzipped(f.name, data, limits)
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReadError(Problem("bad_workbook", {"error": type(exc).__name__}, file=f.name)) from None


def check_unzipped(name: str, data: bytes, limits: Limits) -> None:
    """Refuse a workbook whose parts unpack to too much, or far more than they pack (a zip bomb), before opening it.

    The sizes are the ones the zip directory declares; Python's zip reader never inflates a part past its
    declared size, so openpyxl cannot be made to read more than was checked here.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = z.infolist()
    total = sum(p.file_size for p in parts)
    if total > limits.max_unzipped_mb * MB:
        raise ReadError(Problem("unzipped_too_large", {"size": f"{total / MB:,.0f}",
                                                       "limit": f"{limits.max_unzipped_mb:g}"}, file=name))
    for p in parts:
        if p.file_size > RATIO_FROM_BYTES and p.file_size > MAX_ZIP_RATIO * max(p.compress_size, 1):
            ratio = p.file_size // max(p.compress_size, 1)
            raise ReadError(Problem("zip_bomb", {"part": p.filename, "ratio": f"{ratio:,}", "limit": MAX_ZIP_RATIO},
                                    file=name))


def find(patterns: tuple[str, ...], sheet: str | None, files: list[SourceFile],
         only_one_source: bool, limits: Limits | None = None) -> tuple[SourceFile, str | None] | None:
    """The file (and sheet) a mapping source names: by file name, by sheet name, or the only file given."""
    for pattern in patterns:
        for f in files:
            if fnmatch.fnmatch(f.name.lower(), pattern.lower()):
                return f, sheet
    for pattern in patterns:
        stem = Path(pattern).stem.lower()
        for f in files:
            if f.is_excel:
                for name in sheet_names(f, limits):
                    if fnmatch.fnmatch(name.lower(), stem):
                        return f, name
    if only_one_source and len(files) == 1:
        return files[0], sheet
    return None


# ----------------------------------------------------------------------------- reading


def check_size(f: SourceFile, limits: Limits) -> None:
    """Refuse a file over the size limit before reading it."""
    if f.size > limits.max_mb * MB:
        raise ReadError(Problem(
            "file_too_large", {"size": f"{f.size / MB:,.1f}", "limit": f"{limits.max_mb:g}"}, file=f.name
        ))


def read(f: SourceFile, limits: Limits, sheet: str | None = None, encoding: str = "auto",
         delimiter: str = "auto", stop_at_blank: bool = False) -> RawTable:
    """Read a CSV file or an Excel sheet into a RawTable of text."""
    check_size(f, limits)
    if f.suffix == ".xls":
        raise ReadError(Problem("old_excel", file=f.name))
    if f.is_excel:
        return _read_sheet(f, sheet, limits, stop_at_blank)
    return _read_csv(f, limits, encoding, delimiter, stop_at_blank)


def _read_csv(f: SourceFile, limits: Limits, encoding: str, delimiter: str, stop_at_blank: bool) -> RawTable:
    data = f.load()
    try:
        text, used = decode(data, encoding)
    except DecodeError as exc:
        raise ReadError(Problem(exc.code, {"encoding": exc.encoding}, file=f.name, row=exc.row)) from None
    del data
    head = _header_line(text, f.name, limits)
    if delimiter == "auto":
        delimiter = sniff_delimiter(text, prefer="\t" if f.suffix == ".tsv" else ",")
    _check_header_width(head, delimiter, f.name, limits)
    # First pass (Python's csv, strict): quoting errors and the number of fields of every record.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        widths = [len(record) for record in reader]
    except csv.Error as exc:
        raise ReadError(Problem("bad_quoting", {"error": str(exc)}, file=f.name, row=reader.line_num)) from None
    _check_shape(f.name, widths, limits)
    fast = _fast_table(f.name, text, widths, limits, stop_at_blank, used, delimiter)
    if fast is not None:
        return fast
    # Irregular files (rows of another width, blank lines before the header) take the slow, exact path.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    # enumerate counts records, so a quoted line break inside a cell does not shift the row numbers
    return _to_table(f.name, enumerate(reader, start=1), limits, stop_at_blank, used, delimiter)


def _header_line(text: str, label: str, limits: Limits) -> tuple[str, int]:
    """The first non-blank line and its line number, read no further than the header limit allows."""
    start, number, cap = 0, 1, limits.header_chars
    while start < len(text):
        end = text.find("\n", start, start + cap + 1)
        if end < 0 and len(text) - start > cap:
            raise ReadError(Problem("header_too_large", {"limit": f"{cap:,}", "columns": f"{limits.max_columns:,}"},
                                    file=label, row=number))
        line = text[start:] if end < 0 else text[start:end]
        if line.strip():
            return line, number
        start, number = (len(text), number) if end < 0 else (end + 1, number + 1)
    return "", number


def _check_header_width(head: tuple[str, int], delimiter: str, label: str, limits: Limits) -> None:
    """Refuse a header with more columns than allowed, before any parser builds them."""
    line, number = head
    fields = next(csv.reader([line], delimiter=delimiter), [])
    while fields and not fields[-1].strip():
        fields.pop()  # trailing empty header cells are trimmed later: they do not count
    _check_columns(len(fields), label, number, limits)


def _check_columns(count: int, label: str, row: int | None, limits: Limits) -> None:
    if count > limits.max_columns:
        raise ReadError(Problem("too_many_columns", {"count": f"{count:,}", "limit": f"{limits.max_columns:,}"},
                                file=label, row=row))


def _check_shape(label: str, widths: list[int], limits: Limits) -> None:
    """Columns, rows and cells of a CSV file from its field counts, before Polars builds a frame."""
    widest = max(widths, default=0)
    if widest > limits.max_columns:
        _check_columns(widest, label, widths.index(widest) + 1, limits)
    records = [w for w in widths if w]
    if not records:
        return
    rows = len(records) - 1  # blank lines and the header are not data rows
    if rows > limits.max_rows:
        raise ReadError(Problem("too_many_rows", {"limit": f"{limits.max_rows:,}"}, file=label))
    _check_cells(rows, records[0], label, limits)


def _check_cells(rows: int, width: int, label: str, limits: Limits) -> None:
    if rows * width > limits.max_cells:
        raise ReadError(Problem("too_many_cells", {"rows": f"{rows:,}", "columns": f"{width:,}",
                                                   "limit": f"{limits.max_cells:,}"}, file=label))


def _fast_table(label: str, text: str, widths: list[int], limits: Limits, stop_at_blank: bool,
                encoding: str, delimiter: str) -> RawTable | None:
    """A regular CSV parsed by Polars (fast); None when the file is irregular or the parsers disagree."""
    if not widths or widths[0] < 1:
        return None
    width = widths[0]
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), has_header=False, separator=delimiter,
                            infer_schema=False, raise_if_empty=False, truncate_ragged_lines=True)
    except Exception:  # Polars rejects what Python's csv read: let the exact path explain
        return None
    if frame.height != len(widths) or frame.width != width:
        return None
    cells = [pl.col(c).fill_null("").str.strip_chars() for c in frame.columns]
    empty = frame.select(pl.concat_str(cells) == "").to_series()
    regular = pl.Series(widths) == width
    if not (regular | empty).all():
        return None
    header = _header(["" if v is None else v for v in frame.row(0)], label, 1)
    if len(header) != width:  # trailing empty header cells: let the exact path trim them
        return None
    frame = frame.with_columns(pl.Series(ROW, range(1, frame.height + 1), dtype=pl.Int64))
    keep = ~empty
    keep[0] = False  # the header
    footer = 0
    if stop_at_blank and empty.slice(1).any():
        first_blank = int(empty.slice(1).arg_true()[0]) + 1
        footer = int((~empty.slice(first_blank)).sum())
        keep = keep & (pl.Series(range(frame.height)) < first_blank)
    frame = frame.filter(keep)
    if frame.height > limits.max_rows:
        raise ReadError(Problem("too_many_rows", {"limit": f"{limits.max_rows:,}"}, file=label))
    frame.columns = [*header, ROW]
    return RawTable(label, frame, encoding, delimiter, [], footer)


def _read_sheet(f: SourceFile, sheet: str | None, limits: Limits, stop_at_blank: bool) -> RawTable:
    data = f.load()
    book = _workbook(f, data, limits)
    try:
        ws = _pick_sheet(book, sheet, f.name)
        gaps = _formulas_without_value(data, ws._worksheet_path)
        del data
        # openpyxl pads every row to the width the sheet declares; when that is past the limit, rows stop one
        # column past it: enough to see the sheet is too wide, never 16,384 cells a row. (Without a declared
        # width rows are as long as their cells, which the sheet's size and the reader's memory limit bound.)
        width = ws.max_column
        wide = width is not None and width > limits.max_columns
        cells = ws.iter_rows(values_only=True, max_col=limits.max_columns + 1 if wide else None)
        rows = ((i, [_cell(v) for v in row]) for i, row in enumerate(cells, start=1))
        label = f"{f.name} › {ws.title}" if len(book.sheetnames) > 1 or sheet else f.name
        unreadable = {row: [(col, f"{ws.title}!{ref}") for col, ref in found] for row, found in gaps.items()}
        try:
            return _to_table(label, rows, limits, stop_at_blank, None, None, unreadable)
        except ReadError as exc:
            if wide and exc.problem.code == "too_many_columns":  # the count seen was cut at the limit
                exc.problem.values["count"] = f"more than {limits.max_columns:,}"
            raise
    finally:
        book.close()


def _pick_sheet(book, sheet: str | None, label: str):
    """The sheet the mapping names, else the first one a person sees (hidden sheets hold lookups, not data)."""
    if sheet is None:
        visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        return (visible or book.worksheets)[0]
    matches = [n for n in book.sheetnames if n.lower() == sheet.lower()]
    if not matches:
        raise ReadError(Problem("no_sheet", {"sheet": sheet, "sheets": ", ".join(book.sheetnames)}, file=label))
    return book[matches[0]]


def _formulas_without_value(data: bytes, part: str) -> dict[int, list[tuple[int, str]]]:
    """Formula cells saved without a computed value, by row: (0-based column, 'C7').

    openpyxl gives such a cell as empty, the same as a blank cell, so the sheet's XML is scanned for them.
    """
    from xml.etree.ElementTree import iterparse

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    found: dict[int, list[tuple[int, str]]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        name = part.lstrip("/")
        if not _has_formulas(z, name):  # most exports hold none: skip the slower cell-by-cell scan
            return found
        row, col, holder = 0, -1, None
        with z.open(name) as stream:
            for event, el in iterparse(stream, events=("start", "end")):
                if event == "start":
                    if el.tag == ns + "row":
                        row, col = int(el.get("r") or row + 1), -1
                    elif el.tag == ns + "sheetData":
                        holder = el
                    continue
                if el.tag == ns + "c":
                    ref = el.get("r")
                    col = _column_index(ref) if ref else col + 1
                    value = el.find(ns + "v")
                    if el.find(ns + "f") is not None and (value is None or not (value.text or "")):
                        found.setdefault(row, []).append((col, ref or f"{_column_letters(col)}{row}"))
                elif el.tag == ns + "row" and holder is not None:
                    holder.clear()  # keep no finished rows: memory stays flat however long the sheet
    return found


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s/>]")


def _has_formulas(z: zipfile.ZipFile, name: str) -> bool:
    """Whether a sheet's XML holds any formula element, read in chunks (a tag may straddle two)."""
    tail = b""
    with z.open(name) as stream:
        while chunk := stream.read(MB):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def _column_index(ref: str) -> int:
    """'C7' -> 2."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


def _column_letters(index: int) -> str:
    """2 -> 'C'."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _cell(value: object) -> str:
    """An Excel cell as text: dates as ISO, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _to_table(label: str, rows: Iterable[tuple[int, list[str]]], limits: Limits, stop_at_blank: bool,
              encoding: str | None, delimiter: str | None,
              unreadable: dict[int, list[tuple[int, str]]] | None = None) -> RawTable:
    """Header, data rows of the right width, and a problem for each row of the wrong width or an unreadable cell."""
    header: list[str] | None = None
    width = 0
    data: list[list[str]] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    footer = 0
    blank_seen = False
    max_rows = limits.max_rows
    unreadable = unreadable or {}
    for n, record in rows:
        if header is not None and n in unreadable and not blank_seen:  # may look empty: its only cell has no value
            problems += _unreadable(unreadable[n], header, label, n)
            continue
        if not "".join(record).strip():  # an empty row
            blank_seen = blank_seen or (stop_at_blank and header is not None)
            continue
        if header is None:
            header = _header(record, label, n)
            width = len(header)
            _check_columns(width, label, n, limits)
            continue
        if blank_seen:
            footer += 1
            continue
        if len(record) != width:
            fitted = _fit(record, width, excel=delimiter is None)
            if fitted is None:
                problems.append(Problem("wrong_field_count", {"found": len(record), "expected": width},
                                        file=label, row=n))
                continue
            record = fitted
        data.append(record)
        numbers.append(n)
        if len(data) > max_rows:
            raise ReadError(Problem("too_many_rows", {"limit": f"{max_rows:,}"}, file=label))
        _check_cells(len(data), width, label, limits)
    if header is None:
        raise ReadError(Problem("empty_file", file=label))
    columns = list(zip(*data, strict=True)) if data else [() for _ in header]
    frame = pl.DataFrame([pl.Series(h, col, dtype=pl.String) for h, col in zip(header, columns, strict=True)])
    frame = frame.with_columns(pl.Series(ROW, numbers, dtype=pl.Int64))
    return RawTable(label, frame, encoding, delimiter, problems, footer)


def _unreadable(cells: list[tuple[int, str]], header: list[str], label: str, row: int) -> list[Problem]:
    """One problem per row: the first formula cell of it that has no value, named like 'Sheet1!C7'."""
    col, ref = min(cells)
    column = header[col] if col < len(header) else None
    return [Problem("formula_without_value", {"cell": ref}, file=label, row=row, column=column)]


def _fit(record: list[str], width: int, excel: bool) -> list[str] | None:
    """A row of the wrong width made right when only empty cells differ, else None."""
    trimmed = list(record)
    while len(trimmed) > width and not trimmed[-1].strip():
        trimmed.pop()  # trailing empty cells some tools add
    if excel and len(trimmed) < width:  # Excel rows end at their last cell
        trimmed += [""] * (width - len(trimmed))
    return trimmed if len(trimmed) == width else None


def _header(record: list[str], label: str, row: int) -> list[str]:
    """Column names: trimmed, blanks named by position; a repeated name is an error."""
    names = [c.strip().lstrip("\ufeff") or f"column {i}" for i, c in enumerate(record, start=1)]
    while names and names[-1].startswith("column ") and not record[len(names) - 1].strip():
        names.pop()  # trailing empty header cells from spreadsheet tools
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name.lower() in seen:
            raise ReadError(Problem("duplicate_header", {"name": name, "first": seen[name.lower()], "second": i},
                                    file=label, row=row, column=name))
        seen[name.lower()] = i
    if ROW in seen:
        raise ReadError(Problem("reserved_header", {"name": ROW}, file=label, row=row, column=ROW))
    return names
