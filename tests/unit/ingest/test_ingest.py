"""Readers and value parsers: encodings, delimiters, dates, money, flags; mapping files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from saleslens import ingest
from saleslens.ingest import mapping as mp
from saleslens.ingest import parsers, readers
from tests.ingest_cases import TINY_DEALS, TINY_MAPPING, TINY_REPS, tiny_files, write

LIMITS = readers.Limits(max_mb=10, max_rows=1000)

# ----------------------------------------------------------------------------- encodings

NAMES = "名称,金额\n张伟,100\n李娜,200\n王芳,300\n"


@pytest.mark.parametrize(
    ("data", "expected_text", "expected_encoding"),
    [
        (b"name,amount\nAnn,1\n", "name,amount\nAnn,1\n", "utf-8"),
        ("name,amount\nZoë,1\n".encode("utf-8-sig"), "name,amount\nZoë,1\n", "utf-8-sig"),
        (NAMES.encode("utf-8"), NAMES, "utf-8"),
        (NAMES.encode("utf-8-sig"), NAMES, "utf-8-sig"),
        (NAMES.encode("gbk"), NAMES, "gbk"),
        # 𠀀 (U+20000) exists only in GB18030 (four bytes), not in GBK.
        ((NAMES + "𠀀,400\n").encode("gb18030"), NAMES + "𠀀,400\n", "gb18030"),
        ("name,city\nMüller,Köln\nFrançois,Besançon\n".encode("latin-1"), "name,city\nMüller,Köln\nFrançois,Besançon\n",
         "cp1252"),
        # 0x80 is the euro sign in Windows-1252 (what Excel on Windows writes), a control code in Latin-1.
        ("price\n€5\n".encode("cp1252"), "price\n€5\n", "cp1252"),
        ("a\n\x81\n".encode("latin-1"), "a\n\x81\n", "latin-1"),
        ("name\nAnn\n".encode("utf-16"), "name\nAnn\n", "utf-16"),
    ],
    ids=["utf8", "utf8_bom", "utf8_chinese", "utf8_bom_chinese", "gbk", "gb18030", "latin1_accents", "cp1252_euro",
         "latin1_c1", "utf16"],
)
def test_decode_detects_the_encoding(data: bytes, expected_text: str, expected_encoding: str) -> None:
    """UTF-8 with or without BOM, GBK, GB18030, Latin-1/Windows-1252 and UTF-16 are told apart."""
    text, encoding = parsers.decode(data)
    assert (text, encoding) == (expected_text, expected_encoding)


def test_declared_encoding_wins() -> None:
    """A mapping that names the encoding is obeyed (GBK bytes read as GBK even if they would pass as Latin-1)."""
    assert parsers.decode(NAMES.encode("gbk"), "gb18030") == (NAMES, "gb18030")


@pytest.mark.parametrize(("encoding"), ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_export_imports_in_each_encoding(encoding: str, tmp_path: Path) -> None:
    """The same export saved in each encoding imports to the same Chinese names."""
    # GB18030 differs from GBK only in characters GBK lacks, such as 𠀀 (U+20000): give it one.
    second = "李娜𠀀" if encoding == "gb18030" else "李娜"
    reps = TINY_REPS.replace("Ann Able", "张伟").replace("Bob Best", second)
    files = {"reps.csv": reps.encode(encoding), "deals.csv": TINY_DEALS.encode(encoding)}
    prepared = ingest.build.prepare(readers.files_from_path(write(tmp_path, files)), mp.parse(TINY_MAPPING))
    assert sorted(prepared.tables["reps"]["name"].to_list()) == sorted(["Mia Manager", "张伟", second])
    assert prepared.report["files"][0]["encoding"] == encoding


# ----------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),  # a decimal comma inside a value does not fool it
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('a,b\n"x;y;z",2\n', ","),  # delimiters inside quotes do not count
        ("single\n1\n2\n", ","),
    ],
    ids=["comma", "semicolon", "tab", "pipe", "quoted", "one_column"],
)
def test_sniff_delimiter(text: str, expected: str) -> None:
    """The delimiter that splits every sample line into the same number of fields wins."""
    assert parsers.sniff_delimiter(text) == expected


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_export_imports_with_each_delimiter(delimiter: str, tmp_path: Path) -> None:
    """The tiny export with any common delimiter imports to the same deals."""
    deals = TINY_DEALS.replace('"$1,000.00"', "1000").replace(",", delimiter)
    reps = TINY_REPS.replace(",", delimiter)
    files = readers.files_from_path(write(tmp_path, {"reps.csv": reps.encode(), "deals.csv": deals.encode()}))
    prepared = ingest.build.prepare(files, mp.parse(TINY_MAPPING))
    assert prepared.tables["opportunities"]["amount"].to_list() == [1000.0, 500.0, 2500.0]


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2026-03-04", "2026/03/05"], [date(2026, 3, 4), date(2026, 3, 5)]),
        (["04.03.2026", "05.03.2026"], [date(2026, 3, 4), date(2026, 3, 5)]),
        # 13/03 can only be day first, so 04/03 in the same column is 4 March.
        (["13/03/2026", "04/03/2026"], [date(2026, 3, 13), date(2026, 3, 4)]),
        # 03/13 can only be month first, so 03/04 in the same column is 4 March... as March 4.
        (["03/13/2026", "3/4/2026"], [date(2026, 3, 13), date(2026, 3, 4)]),
        (["4 Mar 2026", "Mar 5, 2026", "6-Mar-2026"], [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]),
        (["2026年3月4日"], [date(2026, 3, 4)]),
        # Two-digit years are years of this century, never the year 26.
        (["15/01/26", "3/4/26"], [date(2026, 1, 15), date(2026, 4, 3)]),
        (["2026-03-04 17:45:00", "2026-03-05T08:00:00Z", "3/6/2026 9:30 AM"],
         [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]),
        (["", "  ", None], [None, None, None]),
    ],
    ids=["iso", "dotted", "day_first", "month_first", "month_names", "chinese", "two_digit_years", "with_times",
         "empty"],
)
def test_parse_dates(values: list[str | None], expected: list[date | None]) -> None:
    """Dates in several formats read to the same days; empty cells are null, not errors."""
    parsed, bad, _ = parsers.parse_dates(pl.Series(values, dtype=pl.String))
    assert parsed.to_list() == expected
    assert not bad.any()


def test_parse_timestamps_keep_the_time() -> None:
    """A datetime field keeps hours and minutes, 12-hour clock included."""
    parsed, bad, _ = parsers.parse_dates(pl.Series(["1/25/2026 2:30 PM", "2026-01-26 08:15"]), "datetime")
    assert parsed.to_list() == [datetime(2026, 1, 25, 14, 30), datetime(2026, 1, 26, 8, 15)]
    assert not bad.any()


def test_ambiguous_dates_follow_the_mapping() -> None:
    """When every date fits both orders, day_first decides; unset, month first with a note."""
    values = pl.Series(["03/04/2026"])
    assert parsers.parse_dates(values, day_first=True)[0].to_list() == [date(2026, 4, 3)]
    parsed, _, info = parsers.parse_dates(values)
    assert parsed.to_list() == [date(2026, 3, 4)] and info.ambiguous


def test_explicit_formats_are_the_only_ones_tried() -> None:
    """A field with formats reads only those: an ISO date in a d/m/Y-only column is bad."""
    parsed, bad, _ = parsers.parse_dates(pl.Series(["04/03/2026", "2026-03-05"]), formats=("%d/%m/%Y",))
    assert parsed.to_list() == [date(2026, 3, 4), None]
    assert bad.to_list() == [False, True]


# ----------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("values", "expected", "decimal"),
    [
        (["$1,234.50", "USD 900", "(120.00)", "-5", "1000"], [1234.5, 900.0, -120.0, -5.0, 1000.0], "."),
        (["1.234,50 €", "12,5", "€ 3"], [1234.5, 12.5, 3.0], ","),
        (["¥12,000", "￥3,500", "RMB 800", "1,000元"], [12000.0, 3500.0, 800.0, 1000.0], "."),
        (["1 234 567,89", "12,00"], [1234567.89, 12.0], ","),
        (["CHF 1'250.00"], [1250.0], "."),
        (["£2,000,000", ""], [2000000.0, None], "."),
    ],
    ids=["us", "euro", "yuan", "spaces", "swiss", "pounds"],
)
def test_parse_money(values: list[str], expected: list[float | None], decimal: str) -> None:
    """Currency symbols and codes, thousands separators and either decimal mark read to the same numbers."""
    parsed, bad, info = parsers.parse_money(pl.Series(values))
    assert parsed.to_list() == expected
    assert not bad.any()
    assert info.decimal == decimal


def test_parse_money_decimal_mark_from_mapping() -> None:
    """'1.234' is one thousand two hundred thirty-four when the mapping says the decimal mark is a comma."""
    assert parsers.parse_money(pl.Series(["1.234"]), ",")[0].to_list() == [1234.0]
    assert parsers.parse_money(pl.Series(["1.234"]), ".")[0].to_list() == [1.234]


@pytest.mark.parametrize("value", ["abc", "12abc", "1.2.3", "$$5", "5%", "1,23,4.00"])
def test_bad_money(value: str) -> None:
    """Text that is not an amount is flagged, not read as a wrong number."""
    parsed, bad, _ = parsers.parse_money(pl.Series([value, "10"]))
    assert bad.to_list() == [True, False]
    assert parsed[0] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Yes", True), ("TRUE", True), ("1", True), ("active", True), ("是", True),
     ("no", False), ("False", False), ("0", False), ("inactive", False), ("", None)],
)
def test_parse_bool(value: str, expected: bool | None) -> None:
    """Flags in the usual spellings."""
    parsed, bad = parsers.parse_bool(pl.Series([value]))
    assert parsed.to_list() == [expected] and not bad.any()


# ----------------------------------------------------------------------------- readers


def test_csv_row_numbers_count_quoted_line_breaks_as_one_row(tmp_path: Path) -> None:
    """A note with a line break inside quotes is one row, so row numbers match what a spreadsheet shows."""
    text = 'id,note\n1,"two\nlines"\n2,plain\n'
    f = readers.files_from_path(write(tmp_path, {"a.csv": text.encode()}))[0]
    table = readers.read(f, LIMITS)
    assert table.frame["__row"].to_list() == [2, 3]
    assert table.frame["note"].to_list() == ["two\nlines", "plain"]


def test_report_footer_is_skipped_when_asked(tmp_path: Path) -> None:
    """stop_at_blank ignores what a report export puts after the first blank row."""
    text = 'id,name\n1,a\n2,b\n\n"Grand Totals (2 records)"\n"Copyright"\n'
    f = readers.files_from_path(write(tmp_path, {"a.csv": text.encode()}))[0]
    table = readers.read(f, LIMITS, stop_at_blank=True)
    assert table.frame.height == 2 and table.footer_rows == 2
    assert len(readers.read(f, LIMITS).problems) == 2  # without it, the footer rows are the wrong width


def test_excel_sheet_matched_by_name(tmp_path: Path) -> None:
    """A workbook whose sheets are named like the mapping's files is read sheet by sheet."""
    from tests.ingest_cases import xlsx

    rows = lambda text: [line.split(",") for line in text.strip().splitlines()]  # noqa: E731
    deals = rows(TINY_DEALS.replace('"$1,000.00"', "1000"))
    book = xlsx({"reps": rows(TINY_REPS), "deals": deals})
    files = readers.files_from_path(write(tmp_path, {"export.xlsx": book}))
    prepared = ingest.build.prepare(files, mp.parse(TINY_MAPPING))
    assert prepared.tables["opportunities"].height == 3
    assert [f["file"] for f in prepared.report["files"]] == ["export.xlsx › reps", "export.xlsx › deals"]


def test_single_file_is_used_whatever_its_name(tmp_path: Path) -> None:
    """A mapping that reads one file takes the one file given, even under another name."""
    one_file = TINY_MAPPING.replace('file = "reps.csv"', 'file = "deals.csv"').replace(
        'rep_id = "id"\nname = "name"\nrole = "role"\nmanager_id = "manager"\nhire_date = "hired"\nactive = "active"',
        'rep_id = "owner"',
    ).replace("[[tables.reps]]", "[[tables.reps]]\ndistinct = true")
    files = readers.files_from_path(write(tmp_path, {"export 2026-06.csv": TINY_DEALS.encode()}))
    prepared = ingest.build.prepare(files, mp.parse(one_file))
    assert sorted(prepared.tables["reps"]["rep_id"].to_list()) == ["R1", "R2"]


# ----------------------------------------------------------------------------- mappings


def test_builtin_profiles_load() -> None:
    """Every shipped profile parses and fills the core tables."""
    assert mp.builtin_names() == ["hubspot", "maven", "salesforce", "salesforce-report"]
    for name in mp.builtin_names():
        m = mp.load(name)
        assert {"stages", "reps", "opportunities"} <= set(m.tables)
        if m.adapter:  # the Salesforce Data Export reads its stage list from the data
            assert m.stages == ()
            continue
        assert sum(s.won for s in m.stages) == 1 and sum(s.lost for s in m.stages) == 1


def test_unknown_mapping_name_lists_the_builtins() -> None:
    """A name that is neither a profile nor a file says what exists."""
    with pytest.raises(ingest.MappingError, match="maven, salesforce"):
        mp.load("zoho")


def test_default_probabilities_are_spread_evenly() -> None:
    """Open stages without a probability get 1/(n+1), 2/(n+1), ...; won 1 and lost 0."""
    text = TINY_MAPPING.replace("probability = 0.5\n", "").replace(
        '[[stages]]\nname = "Won"', '[[stages]]\nname = "Later"\n[[stages]]\nname = "Won"')
    m = mp.parse(text)
    # Two open stages: 1/3 and 2/3, rounded to two places.
    assert [(s.name, s.probability) for s in m.stages] == [("Open", 0.33), ("Later", 0.67), ("Won", 1.0), ("Lost", 0.0)]


def test_value_maps_and_constants(tmp_path: Path) -> None:
    """map translates values (ignoring case), '*' catches the rest, value sets a constant; all are reported."""
    text = TINY_MAPPING.replace(
        'role = "role"', 'role = { column = "role", map = { manager = "Manager", "*" = "SDR" } }'
    )
    reps = TINY_REPS.replace("M1,Mia Manager,Manager", "M1,Mia Manager,MANAGER").replace(",AE,", ",Rep,")
    files = readers.files_from_path(write(tmp_path, tiny_files(reps=reps)))
    prepared = ingest.build.prepare(files, mp.parse(text))
    roles = dict(prepared.tables["reps"].select("rep_id", "role").iter_rows())
    assert roles == {"M1": "Manager", "R1": "SDR", "R2": "SDR"}
    changes = {(n["from"], n["to"]): n["count"] for n in prepared.report["normalised"] if n["field"] == "role"}
    assert changes == {("MANAGER", "Manager"): 1, ("Rep", "SDR"): 2}


@pytest.mark.parametrize(
    "text",
    [
        "id,note\n1,plain\n2,\n3,\"with, comma\"\n",
        "id,note\n1,\"two\nlines\"\n\n2,after a blank row\n",
        "id;note\n1;x\n\n\"Total\";\"2\"\n",  # a footer as wide as the data
        "id,note\n  1 ,  spaced  \n2,\"\"\n",
    ],
    ids=["plain", "line_break_and_blank", "footer", "spaces"],
)
@pytest.mark.parametrize("stop_at_blank", [False, True])
def test_fast_and_exact_csv_paths_agree(text: str, stop_at_blank: bool, tmp_path: Path) -> None:
    """Regular files are parsed by Polars; the result is the one the exact (Python csv) path gives."""
    import csv
    import io

    f = readers.files_from_path(write(tmp_path, {"a.csv": text.encode()}))[0]
    fast = readers.read(f, LIMITS, stop_at_blank=stop_at_blank)
    delimiter = parsers.sniff_delimiter(text)
    records = enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)
    exact = readers._to_table("a.csv", records, LIMITS, stop_at_blank, "utf-8", delimiter)
    clean = lambda frame: frame.with_columns(parsers.clean_text(frame[c]) for c in frame.columns if c != "__row")  # noqa: E731
    assert clean(fast.frame).to_dicts() == clean(exact.frame).to_dicts()
    assert fast.footer_rows == exact.footer_rows
