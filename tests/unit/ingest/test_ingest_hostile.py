"""Hostile import files (issue 14, items 4-6): each is refused or repaired in words, and the store stays as it was.

Every file is generated here in tmp_path. Refusals are checked through the CLI (one line on stderr, exit 2)
or the library (the problem's text), and every one hashes the data directory before and after.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from saleslens import ingest
from saleslens.cli import main
from saleslens.core import store
from saleslens.ingest import ImportFailed
from tests import fixtures
from tests.ingest_cases import TINY_MAPPING, TINY_REPS, tiny_files, tree_state, write

XLSX_MAPPING = TINY_MAPPING.replace('file = "deals.csv"', 'file = "deals.xlsx"')
DEALS_HEADER = ["id", "owner", "stage", "created", "closed", "amount"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory that already serves the tiny snapshot: a refused import must leave it byte for byte."""
    path = tmp_path / "data"
    fixtures.build_store(path)
    return path


def _cli(tmp_path: Path, data_dir: Path, files: dict[str, bytes], mapping: str,
         capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run `saleslens import` on the files; the exit code and stderr."""
    source = write(tmp_path / "export", files)
    (tmp_path / "m.toml").write_text(mapping, encoding="utf-8")
    code = main(["import", str(source), "--mapping", str(tmp_path / "m.toml"), "--data", str(data_dir)])
    return code, capsys.readouterr().err


def _refused_in_one_line(tmp_path: Path, data_dir: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture,
                         mapping: str = TINY_MAPPING) -> str:
    """The CLI refuses in one line with exit 2 and the data directory is unchanged; the line."""
    before = tree_state(data_dir)
    code, err = _cli(tmp_path, data_dir, files, mapping, capsys)
    assert tree_state(data_dir) == before
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert err.startswith("saleslens import: error: "), err
    assert "Traceback" not in err
    return err


def _wide_csv(columns: int) -> bytes:
    """A deals file whose header has this many columns (the real six, then filler) and one data row."""
    header = [*DEALS_HEADER, *(f"x{i}" for i in range(columns - len(DEALS_HEADER)))]
    row = ["D1", "R1", "Won", "2026-01-10", "2026-02-10", "1000", *("" for _ in range(columns - len(DEALS_HEADER)))]
    return (",".join(header) + "\n" + ",".join(row) + "\n").encode()


# ----------------------------------------------------------------------------- item 4: size and shape


def test_a_million_column_csv_is_refused_by_its_header(tmp_path: Path, data_dir: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    """8.5 MB of header: refused on the first 512,000 characters, before any parser builds a column."""
    wide = _wide_csv(1_000_000)
    assert len(wide) > 8_000_000
    err = _refused_in_one_line(tmp_path, data_dir, tiny_files(deals=wide), capsys)
    # 2,000 columns allowed x 256 characters each = 512,000 characters
    assert "deals.csv, row 1: the header line is longer than 512,000 characters (at most 2,000 columns" in err


def test_too_many_columns_are_refused_with_the_count(tmp_path: Path, data_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    """A 3,000-column header fits the character cap but not the column limit; the setting raises the limit."""
    err = _refused_in_one_line(tmp_path, data_dir, tiny_files(deals=_wide_csv(3000)), capsys)
    assert "deals.csv, row 1: the file has 3,000 columns; the limit is 2,000 (setting import_max_columns" in err


def test_too_many_cells_are_refused(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Three data rows of six columns are 18 cells: over a limit of 10."""
    monkeypatch.setenv("SALESLENS_IMPORT_MAX_CELLS", "10")
    err = _refused_in_one_line(tmp_path, data_dir, tiny_files(), capsys)
    assert "deals.csv: the file has 3 data rows of 6 columns, more than 10 cells, the limit" in err


def test_too_many_rows_are_refused_before_polars_reads_them(tmp_path: Path, data_dir: Path,
                                                            capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI says a row refusal in one line too (it was a two-line failure list before)."""
    monkeypatch.setenv("SALESLENS_IMPORT_MAX_ROWS", "2")
    err = _refused_in_one_line(tmp_path, data_dir, tiny_files(), capsys)
    assert "reps.csv: the file has more than 2 data rows, the limit" in err


def test_a_reader_out_of_memory_is_one_message_and_the_process_lives(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the column limits raised, Polars' allocation failure aborts the reading process, not this one."""
    monkeypatch.setenv("SALESLENS_IMPORT_MAX_COLUMNS", "2000000")
    monkeypatch.setenv("SALESLENS_IMPORT_MAX_CELLS", "1000000000")
    monkeypatch.setenv("SALESLENS_IMPORT_MEMORY_MB", "1500")
    err = _refused_in_one_line(tmp_path, data_dir, tiny_files(deals=_wide_csv(1_000_000)), capsys)
    assert "the file deals.csv needed more than 1,500 MB to read; split it" in err
    assert "import_memory_mb" in err
    assert "memory allocation" not in err  # the child's own dying words stay out of the one line


def test_a_read_that_takes_too_long_is_stopped(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """No read finishes in a millisecond (a process must start): the time limit stops it and says so."""
    monkeypatch.setenv("SALESLENS_IMPORT_READ_SECONDS", "0.001")
    err = _refused_in_one_line(tmp_path, data_dir, tiny_files(), capsys)
    assert "reading the file reps.csv took longer than 0.001 seconds and was stopped" in err


def _workbook_bytes(sheets: list[tuple[str, list[list[object]], str]]) -> bytes:
    """An .xlsx with these (title, rows, state) sheets, written by openpyxl (formulas get no saved value)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows, state in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        ws.sheet_state = state
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_sheet_xml(xlsx: bytes, sheet_xml: bytes) -> bytes:
    """The workbook with its first sheet's XML replaced, deflated as Excel does."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else src.read(item.filename)
            dst.writestr(item.filename, data)
    return out.getvalue()


def _sheet_xml(rows: int, unique: bool) -> bytes:
    """A sheet of inline-string rows: all alike, without row numbers (packs about 1,000 to 1), or each different."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    if not unique:
        cells = '<row><c t="inlineStr"><is><t>D</t></is></c><c><v>1</v></c></row>' * rows
    else:
        cells = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>D{r * 7919 % 1000003}</t></is></c>'
                        f'<c r="B{r}"><v>{r * 31 % 997}</v></c></row>' for r in range(1, rows + 1))
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}">'
    return f"{head}<sheetData>{cells}</sheetData></worksheet>".encode()


def test_a_zip_bomb_workbook_is_refused_by_its_ratio(tmp_path: Path, data_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    """A sheet of one repeated row packs far more than any saved spreadsheet; openpyxl never opens it."""
    xml = _sheet_xml(40_000, unique=False)
    bomb = _with_sheet_xml(_workbook_bytes([("Deals", [DEALS_HEADER], "visible")]), xml)
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        part = z.getinfo("xl/worksheets/sheet1.xml")
    assert part.file_size > 200 * part.compress_size and part.file_size > 1024 * 1024
    files = {"reps.csv": TINY_REPS.encode(), "deals.xlsx": bomb}
    err = _refused_in_one_line(tmp_path, data_dir, files, capsys, XLSX_MAPPING)
    assert "deals.xlsx: the workbook part xl/worksheets/sheet1.xml unpacks to" in err
    assert "times its packed size (more than 200 times)" in err


def test_a_workbook_over_the_unzipped_limit_is_refused(tmp_path: Path, data_dir: Path,
                                                       capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The declared unpacked size counts, not the file size: 2 MB of varied rows is over a 1 MB limit."""
    monkeypatch.setenv("SALESLENS_IMPORT_MAX_UNZIPPED_MB", "1")
    xml = _sheet_xml(22_000, unique=True)
    assert len(xml) > 2 * 1024 * 1024
    book = _with_sheet_xml(_workbook_bytes([("Deals", [DEALS_HEADER], "visible")]), xml)
    assert len(book) < 1024 * 1024  # the packed file alone would pass
    files = {"reps.csv": TINY_REPS.encode(), "deals.xlsx": book}
    err = _refused_in_one_line(tmp_path, data_dir, files, capsys, XLSX_MAPPING)
    assert "deals.xlsx: the workbook unpacks to 2 MB; the limit is 1 MB (setting import_max_unzipped_mb" in err


def test_a_too_wide_sheet_is_refused(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """A sheet declaring 2,500 columns: rows are read one column past the limit, and the header is refused."""
    header = [*DEALS_HEADER, *(f"x{i}" for i in range(2500 - len(DEALS_HEADER)))]
    book = _workbook_bytes([("Deals", [header, ["D1", "R1", "Won", "2026-01-10", "2026-02-10", 1000]], "visible")])
    files = {"reps.csv": TINY_REPS.encode(), "deals.xlsx": book}
    err = _refused_in_one_line(tmp_path, data_dir, files, capsys, XLSX_MAPPING)
    assert "deals.xlsx, row 1: the file has more than 2,000 columns; the limit is 2,000" in err


# ----------------------------------------------------------------------------- item 5: Excel


GOOD_ROWS = [DEALS_HEADER, ["D1", "R1", "Won", "2026-01-10", "2026-02-10", 1000],
             ["D2", "R1", "Lost", "2026-01-15", "2026-03-20", 500]]


def test_the_first_visible_sheet_is_read_not_a_hidden_one(tmp_path: Path, data_dir: Path) -> None:
    """A hidden lookup sheet comes first; the deals are on the visible sheet after it."""
    hidden = [DEALS_HEADER, ["H1", "R1", "Won", "2026-01-01", "2026-01-02", 7]]
    book = _workbook_bytes([("Lookup", hidden, "hidden"), ("Deals", GOOD_ROWS, "visible")])
    source = write(tmp_path / "export", {"reps.csv": TINY_REPS.encode(), "deals.xlsx": book})
    snap = ingest.run_import(source, ingest.mapping.parse(XLSX_MAPPING, "x.toml"), data_dir)
    deals = pl.read_parquet(snap.table_path("opportunities")).sort("opportunity_id")
    assert deals["opportunity_id"].to_list() == ["D1", "D2"]
    assert deals["amount"].to_list() == [1000.0, 500.0]


def _formula_book() -> bytes:
    """Deals where D2's amount is a formula saved without its value (openpyxl never computes formulas)."""
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], [*GOOD_ROWS[2][:5], "=250*2"]]
    return _workbook_bytes([("Deals", rows, "visible")])


def test_a_formula_without_a_value_fails_naming_the_cell(tmp_path: Path, data_dir: Path) -> None:
    """Not read as 0 or empty: the row is unreadable and the message names Deals!F3 (amount is column F)."""
    source = write(tmp_path / "export", {"reps.csv": TINY_REPS.encode(), "deals.xlsx": _formula_book()})
    before = tree_state(data_dir)
    latest = store.open_snapshot(data_dir).id
    with pytest.raises(ImportFailed) as caught:
        ingest.run_import(source, ingest.mapping.parse(XLSX_MAPPING, "x.toml"), data_dir)
    assert tree_state(data_dir) == before
    assert store.open_snapshot(data_dir).id == latest
    assert "deals.xlsx, row 3, column amount: the formula in Deals!F3 has no saved value" in str(caught.value)


def test_a_formula_without_a_value_rejects_its_row_when_allowed(tmp_path: Path, data_dir: Path) -> None:
    """With one rejection allowed, D1 is published alone and the report names the cell."""
    source = write(tmp_path / "export", {"reps.csv": TINY_REPS.encode(), "deals.xlsx": _formula_book()})
    snap = ingest.run_import(source, ingest.mapping.parse(XLSX_MAPPING, "x.toml"), data_dir, max_rejected=1)
    deals = pl.read_parquet(snap.table_path("opportunities"))
    assert deals["opportunity_id"].to_list() == ["D1"]
    reason = snap.manifest["import_report"]["rejected"][0]
    assert (reason["code"], reason["column"], reason["count"]) == ("formula_without_value", "amount", 1)
    assert "Deals!F3" in reason["examples"][0]["message"]


# ----------------------------------------------------------------------------- item 6: ids


def test_invisible_characters_in_ids_are_removed_and_counted(tmp_path: Path, data_dir: Path) -> None:
    """'D1' + a zero-width space is D1 (same row: merged), a mid-file BOM and an NBSP do not enter ids."""
    deals = ("id,owner,stage,created,closed,amount\n"
             "D1,R1,Won,2026-01-10,2026-02-10,1000\n"
             "D1\u200b,R1,Won,2026-01-10,2026-02-10,1000\n"  # the same deal, pasted with a zero-width space
             "\ufeffD2,R1\u2060,Lost,2026-01-15,2026-03-20,500\n"  # a BOM where two files were joined; a word joiner
             "D\u00a03,R2,Open,2026-02-01,,2500\n")  # a non-breaking space inside: an ordinary space
    source = write(tmp_path / "export", tiny_files(deals=deals))
    snap = ingest.run_import(source, ingest.mapping.parse(TINY_MAPPING, "t.toml"), data_dir)
    table = pl.read_parquet(snap.table_path("opportunities")).sort("opportunity_id")
    assert table["opportunity_id"].to_list() == ["D 3", "D1", "D2"]
    assert table["owner_id"].to_list() == ["R2", "R1", "R1"]
    derived = {(d["table"], d["field"]): d["count"] for d in snap.manifest["import_report"]["derived"]
               if d["rule"] == "invisible"}
    # ids: D1+ZWSP, BOM+D2, D+NBSP+3 (3 values); owners: R1+WJ (1 value)
    assert derived == {("opportunities", "opportunity_id"): 3, ("opportunities", "owner_id"): 1}


def test_manager_cycles_are_reported_and_broken(tmp_path: Path, data_dir: Path) -> None:
    """M1 manages himself; R1 and R2 manage each other. Each circle is a warning and loses one link."""
    reps = ("id,name,role,manager,hired,active\n"
            "M1,Mia Manager,Manager,M1,2020-01-01,yes\n"
            "R2,Bob Best,AE,R1,2022-07-01,no\n"
            "R1,Ann Able,AE,R2,2021-03-15,yes\n")
    source = write(tmp_path / "export", tiny_files(reps=reps))
    snap = ingest.run_import(source, ingest.mapping.parse(TINY_MAPPING, "t.toml"), data_dir)
    managers = dict(pl.read_parquet(snap.table_path("reps")).select("rep_id", "manager_id").iter_rows())
    # From the smallest id of each circle: M1 -> M1 (M1 closes it); R1 -> R2 -> R1 (R2 closes it)
    assert managers == {"M1": None, "R1": "R2", "R2": None}
    warnings = [w["message"] for w in snap.manifest["import_report"]["warnings"] if w["code"] == "manager_cycle"]
    assert warnings == [
        "the managers go round in a circle (M1 → M1); the manager of M1 was cleared so the team tree has a top"
        " — fix it in the CRM",
        "the managers go round in a circle (R1 → R2 → R1); the manager of R2 was cleared so the team tree has a top"
        " — fix it in the CRM",
    ]
