"""Exports: text a spreadsheet would run as a formula is neutralised; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import openpyxl
import polars as pl
import pytest

from saleslens.core import export

PAYLOADS = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']
SAFE = ["Acme", "Ann Able", "销售", "", "1+1", "a=b", "east-west"]


def _frame() -> pl.DataFrame:
    n = len(PAYLOADS)
    return pl.DataFrame({
        "payload": PAYLOADS,
        "safe": SAFE,
        "amount": [-5.0, -1234.5, 0.0, 7.25, -0.5, 3.0, -2.0][:n],
        "count": [-1, 0, 1, 2, -3, 4, 5][:n],
        "maybe": [None, "=2", "ok", None, "-x", "fine", "@me"][:n],
    })


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM, so spreadsheet programs read UTF-8
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_csv_neutralises_formulas() -> None:
    rows = _csv_rows(export.to_csv(_frame()))
    assert [r["payload"] for r in rows] == ["'" + p for p in PAYLOADS]
    assert [r["safe"] for r in rows] == SAFE
    assert [r["maybe"] for r in rows] == ["", "'=2", "ok", "", "'-x", "fine", "'@me"]


def test_csv_keeps_negative_numbers_numeric() -> None:
    rows = _csv_rows(export.to_csv(_frame()))
    assert [r["amount"] for r in rows] == ["-5.0", "-1234.5", "0.0", "7.25", "-0.5", "3.0", "-2.0"]
    assert [r["count"] for r in rows] == ["-1", "0", "1", "2", "-3", "4", "5"]


def _sheet(data: bytes, name: str = "kpis") -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book[name]
    for row in sheet.iter_rows():
        for cell in row:
            # openpyxl leaves the OOXML escape of a carriage return as it is in the file
            if isinstance(cell.value, str) and "_x000D_" in cell.value:
                cell.value = cell.value.replace("_x000D_", "\r")
    return [tuple(cell for cell in row) for row in sheet.iter_rows()]


def test_excel_neutralises_formulas() -> None:
    rows = _sheet(export.to_excel({"kpis": _frame()}))
    header, body = rows[0], rows[1:]
    assert [c.value for c in header] == ["payload", "safe", "amount", "count", "maybe"]
    for cell, payload in zip([r[0] for r in body], PAYLOADS, strict=True):
        assert cell.data_type == "s", f"{payload!r} was written as {cell.data_type}"
        assert isinstance(cell.value, str) and cell.value.startswith("'"), cell.value
        assert cell.value == "'" + payload
    for row in body:
        for cell in row:
            assert cell.data_type != "f", f"formula in {cell.coordinate}: {cell.value!r}"


def test_excel_keeps_negative_numbers_numeric() -> None:
    body = _sheet(export.to_excel({"kpis": _frame()}))[1:]
    assert [r[2].value for r in body] == [-5.0, -1234.5, 0.0, 7.25, -0.5, 3.0, -2.0]
    assert [r[3].value for r in body] == [-1, 0, 1, 2, -3, 4, 5]
    assert all(r[2].data_type == "n" and r[3].data_type == "n" for r in body)


def test_excel_one_sheet_per_frame_with_names_cut_to_31_characters() -> None:
    long = "kpis_by_group_for_every_region_and_team"
    book = openpyxl.load_workbook(io.BytesIO(export.to_excel({"a": _frame(), long: _frame().head(1)})))
    assert book.sheetnames == ["a", long[:31]]


@pytest.mark.parametrize("dtype", [pl.Categorical, pl.Enum(PAYLOADS)])
def test_categorical_text_is_neutralised_too(dtype: pl.DataType) -> None:
    frame = pl.DataFrame({"payload": PAYLOADS}).with_columns(pl.col("payload").cast(dtype))
    assert [r["payload"] for r in _csv_rows(export.to_csv(frame))] == ["'" + p for p in PAYLOADS]
    body = _sheet(export.to_excel({"kpis": frame}))[1:]
    assert [r[0].value for r in body] == ["'" + p for p in PAYLOADS]


def test_empty_frame_exports() -> None:
    frame = pl.DataFrame(schema={"name": pl.String, "amount": pl.Float64})
    assert _csv_rows(export.to_csv(frame)) == []
    assert [c.value for c in _sheet(export.to_excel({"kpis": frame}))[0]] == ["name", "amount"]
