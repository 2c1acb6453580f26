"""Tables to CSV and Excel bytes, with spreadsheet formula injection neutralised."""

from __future__ import annotations

import io

import polars as pl

from saleslens.core import pymap

# A text cell starting with one of these is run as a formula by spreadsheet programs; some (Excel with East Asian
# input, LibreOffice) also read the full-width forms ＝ ＋ － ＠ (U+FF1D, U+FF0B, U+FF0D, U+FF20) as the operator.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _neutralise(value: str | None) -> str | None:
    """Prefix a quote to text a spreadsheet would run as a formula; other text is unchanged."""
    if value is None or not value.startswith(_FORMULA_START):
        return value
    return "'" + value


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell neutralised; numbers (negative ones too) stay numbers."""
    # Categorical and Enum columns are text too (DuckDB ENUMs arrive as such): cast them before the check.
    text_cols = [c for c, dt in frame.schema.items() if dt == pl.String or isinstance(dt, pl.Categorical | pl.Enum)]
    # On this thread, not with map_elements: a Python function inside Polars' pool can deadlock the server (pymap).
    return frame.with_columns(pymap.map_values(frame[c].cast(pl.String), _neutralise, pl.String) for c in text_cols)


def to_csv(frame: pl.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM so spreadsheet programs read non-ASCII names right)."""
    return b"\xef\xbb\xbf" + safe_frame(frame).write_csv().encode("utf-8")


def to_excel(frames: dict[str, pl.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame; text is written as text, never as a formula."""
    buffer = io.BytesIO()
    import xlsxwriter  # imported here: only exports need it

    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False}) as book:
        for name, frame in frames.items():
            safe_frame(frame).write_excel(book, worksheet=name[:31], autofit=True)
    return buffer.getvalue()
