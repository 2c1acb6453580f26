"""Value parsers: text encodings, CSV delimiters, dates in several formats, money, numbers, flags.

Column parsers are vectorised over Polars string Series. Each returns the parsed values and a mask
of the cells that were not empty but could not be read, so the caller can name every bad cell.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import polars as pl

# ----------------------------------------------------------------------------- encodings

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gbk", "gb18030", "latin-1", "cp1252", "utf-16")


class DecodeError(ValueError):
    """Bytes that are not text in the expected encoding; `row` is the 1-based line of the first bad byte."""

    def __init__(self, code: str, row: int | None = None, encoding: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.row = row
        self.encoding = encoding


def _row_of(data: bytes, offset: int) -> int:
    """The 1-based line a byte offset falls on."""
    return data.count(b"\n", 0, offset) + 1


def _gb2312_share(data: bytes) -> float:
    """Share of multi-byte characters that are common GB2312 Chinese (or its punctuation).

    Latin-1 text with accents also decodes as GB18030, but its byte pairs (an accented letter then an
    ASCII letter) fall outside the GB2312 area, while real Chinese text is almost all inside it.
    """
    pairs = common = 0
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        nxt = data[i + 1] if i + 1 < n else 0
        if 0x30 <= nxt <= 0x39:  # a four-byte GB18030 sequence (rare characters): no evidence either way
            i += 4
            continue
        pairs += 1
        if (0xA1 <= b <= 0xF7) and (0xA1 <= nxt <= 0xFE):
            common += 1
        i += 2
    return common / pairs if pairs else 0.0


def decode(data: bytes, declared: str = "auto") -> tuple[str, str]:
    """Bytes to text: the declared encoding, or detected (UTF-8 with or without BOM, GBK/GB18030, Latin-1)."""
    if declared and declared != "auto":
        return _decode_declared(data, declared)
    if data.startswith(b"\xef\xbb\xbf"):
        return _decode_declared(data[3:], "utf-8", label="utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_declared(data, "utf-16")
    if b"\x00" in data[:4096]:
        raise DecodeError("binary_file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # Mostly valid UTF-8 with a few bad bytes is a damaged file, not another encoding: say where.
        valid_multibyte = len(re.findall(rb"[\xc2-\xf4][\x80-\xbf]+", data[: exc.start]))
        if valid_multibyte >= 3:
            raise DecodeError("mixed_encoding", _row_of(data, exc.start), "utf-8") from None
    try:
        text = data.decode("gb18030")
        if _gb2312_share(data) >= 0.9:
            try:
                data.decode("gbk")
                return text, "gbk"
            except UnicodeDecodeError:
                return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _decode_declared(data: bytes, encoding: str, label: str | None = None) -> tuple[str, str]:
    """Decode with one encoding; a failure names the line of the first bad byte."""
    try:
        text = data.decode(encoding)
    except LookupError:
        raise DecodeError("unknown_encoding", None, encoding) from None
    except UnicodeDecodeError as exc:
        raise DecodeError("bad_encoding", _row_of(data, exc.start), encoding) from None
    return text.lstrip("\ufeff"), label or encoding


# ----------------------------------------------------------------------------- delimiters

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def sniff_delimiter(text: str, prefer: str = ",") -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields, most fields winning."""
    sample_lines = [line for line in text.splitlines()[:50] if line.strip()][:20]
    if not sample_lines:
        return prefer
    sample = "\n".join(sample_lines)
    best, best_score = prefer, (0, 0)
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delim) if r]
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        header = counts[0]
        consistent = sum(1 for c in counts if c == header) / len(counts)
        score = (round(consistent, 1), header)
        if score > best_score or (score == best_score and delim == prefer):
            best, best_score = delim, score
    return best


# ----------------------------------------------------------------------------- text

_SPACE = "\u00a0\u2007\u202f\u3000"


def clean_text(s: pl.Series) -> pl.Series:
    """Trimmed text; empty cells become null."""
    out = s.cast(pl.String).str.strip_chars(" \t\r\n" + _SPACE)
    return out.replace("", None)


# Unicode format characters: zero-width space and joiners, word joiner, byte-order mark, soft hyphen, direction
# marks. They print as nothing, so 'D1' and 'D1' + U+200B look the same to a person but not to a join.
_INVISIBLE = r"\p{Cf}"


def clean_key(s: pl.Series) -> tuple[pl.Series, int]:
    """Ids without invisible characters (removed), non-breaking spaces made spaces, trimmed; and how many changed."""
    text = clean_text(s)
    out = clean_text(text.str.replace_all(_INVISIBLE, "").str.replace_all(f"[{_SPACE}]", " "))
    changed = int((text.is_not_null() & (out.is_null() | (out != text))).fill_null(False).sum())
    return out.alias(s.name), changed


def key_of(text: str) -> str:
    """A matching key: lower case, only letters and digits ('GTX Pro' and 'GTXPro' -> 'gtxpro')."""
    return re.sub(r"[^\w]|_", "", text.lower())


# ----------------------------------------------------------------------------- dates

ISO_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%M:%S%z", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
)
_NUMERIC_TAILS = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
DAY_FIRST_FORMATS = (*(f"%d{sep}%m{sep}%Y{tail}" for sep in "/-" for tail in _NUMERIC_TAILS), "%d/%m/%y")
# Dotted dates (04.03.2026) are day first wherever they are written.
DOTTED_FORMATS = (*(f"%d.%m.%Y{tail}" for tail in _NUMERIC_TAILS[:3]), "%d.%m.%y")
MONTH_FIRST_FORMATS = (*(f"%m{sep}%d{sep}%Y{tail}" for sep in "/-" for tail in _NUMERIC_TAILS), "%m/%d/%y")
TEXT_MONTH_FORMATS = (
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%d %b %Y %H:%M",
)
_DMY = re.compile(r"^\s*(\d{1,2})[/\-](\d{1,2})[/\-](\d{2,4})")


@dataclass
class DateInfo:
    """How a date column was read: the day/month order chosen and why."""

    order: str = ""  # "day_first", "month_first" or "" when no numeric d/m dates were seen
    ambiguous: bool = False  # every numeric date fitted both orders; the mapping's default decided
    conflict: tuple[int, int] | None = None  # positions of a day-first and a month-first example


def date_order(s: pl.Series, day_first: bool | None) -> DateInfo:
    """Decide whether numeric dates like 03/04/2024 are day-first or month-first, from the values."""
    parts = s.str.extract_groups(_DMY.pattern)
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    seen = first.is_not_null()
    if not seen.any():
        return DateInfo()
    day_evidence = (first > 12).fill_null(False)
    month_evidence = (second > 12).fill_null(False)
    if day_evidence.any() and month_evidence.any():
        return DateInfo("day_first", conflict=(int(day_evidence.arg_true()[0]), int(month_evidence.arg_true()[0])))
    if day_evidence.any():
        return DateInfo("day_first")
    if month_evidence.any():
        return DateInfo("month_first")
    return DateInfo("day_first" if day_first else "month_first", ambiguous=day_first is None)


def parse_dates(
    s: pl.Series, kind: str = "date", formats: tuple[str, ...] | None = None, day_first: bool | None = None
) -> tuple[pl.Series, pl.Series, DateInfo]:
    """Dates (kind 'date') or timestamps ('datetime') from text in any of several formats.

    Returns the values, a mask of non-empty cells that are not a date, and how d/m order was chosen.
    """
    text = clean_text(s)
    info = DateInfo()
    if formats:
        candidates = tuple(formats)
    else:
        info = date_order(text, day_first)
        numeric = DAY_FIRST_FORMATS if info.order == "day_first" else MONTH_FIRST_FORMATS
        candidates = ISO_FORMATS + numeric + DOTTED_FORMATS + TEXT_MONTH_FORMATS
    dtype = pl.Date() if kind == "date" else pl.Datetime("us")
    out = pl.Series(s.name, [None] * len(text), dtype=dtype)
    remaining = text.is_not_null()
    for fmt in candidates:
        if not remaining.any():
            break
        try:
            parsed = _strptime(text, fmt, dtype)
        except pl.exceptions.PolarsError:
            continue
        # A four-digit-year format also reads '24' as the year 24; such years are no match, so '%y' gets its turn.
        hit = remaining & parsed.is_not_null() & (parsed.dt.year() >= 1000).fill_null(False)
        if hit.any():
            out = pl.select(pl.when(hit).then(parsed).otherwise(out)).to_series().alias(s.name)
            remaining = remaining & ~hit
    return out, remaining, info


def _strptime(text: pl.Series, fmt: str, dtype: pl.DataType) -> pl.Series:
    """One format over a column, lenient: cells that do not fit become null."""
    has_zone = "%z" in fmt
    if isinstance(dtype, pl.Date) and not has_zone:
        return text.str.strptime(pl.Date, fmt, strict=False, exact=True)
    parsed = text.str.strptime(pl.Datetime("us", "UTC") if has_zone else pl.Datetime("us"), fmt,
                               strict=False, exact=True)
    if has_zone:
        parsed = parsed.dt.replace_time_zone(None)
    return parsed.dt.date() if isinstance(dtype, pl.Date) else parsed


# ----------------------------------------------------------------------------- money and numbers

CURRENCY = r"(?:US\$|HK\$|NT\$|A\$|C\$|R\$|RMB|CNY|USD|EUR|GBP|JPY|HKD|CHF|AUD|CAD|INR|[$€£¥￥₹₩₽¢元])"
_MONEY = re.compile(
    rf"^\(?\s*[-+]?\s*{CURRENCY}?\s*[-+]?\s*(?P<num>\d[\d.,'\s\u00a0\u202f]*)\s*{CURRENCY}?\s*\)?\s*-?$"
)


@dataclass
class MoneyInfo:
    """How a money column was read."""

    decimal: str = "."
    symbols: set[str] = field(default_factory=set)
    reformatted: int = 0  # cells that were not already plain numbers


def _decimal_vote(nums: pl.Series) -> str:
    """Which of '.' and ',' is the decimal separator in a column of number texts."""
    both = nums.filter(nums.str.contains(r"\.") & nums.str.contains(","))
    if both.len():
        last_comma = (both.str.find(r",\d*$").is_not_null()).sum()
        return "," if last_comma > both.len() / 2 else "."
    comma_decimal = nums.str.contains(r"^\d+,(\d{1,2}|\d{4,})$") | nums.str.contains(r"\..*\.")
    return "," if comma_decimal.any() else "."


def parse_money(s: pl.Series, decimal: str = "auto") -> tuple[pl.Series, pl.Series, MoneyInfo]:
    """Amounts from text with currency symbols or codes, thousands separators and either decimal mark.

    '$1,234.50', '1.234,50 €', '¥12,000', 'USD 900', '(120.00)' (negative) all read; anything else is bad.
    """
    text = clean_text(s)
    present = text.is_not_null()
    shape_ok = text.str.contains(_MONEY.pattern).fill_null(False)
    nums = text.str.extract(_MONEY.pattern, 1).str.replace_all(r"[\s'\u00a0\u202f]", "")
    dec = _decimal_vote(nums.drop_nulls()) if decimal == "auto" else decimal
    thou = "," if dec == "." else "."
    d, th = re.escape(dec), re.escape(thou)
    well_formed = nums.str.contains(rf"^(\d{{1,3}}({th}\d{{3}})+|\d+)({d}\d+)?$").fill_null(False)
    plain = nums.str.replace_all(thou, "", literal=True).str.replace(dec, ".", literal=True)
    values = plain.cast(pl.Float64, strict=False)
    negative = (text.str.starts_with("(") & text.str.ends_with(")")) | text.str.contains("-")
    values = pl.select(pl.when(negative.fill_null(False)).then(-values).otherwise(values)).to_series()
    good = shape_ok & well_formed & values.is_not_null()
    bad = present & ~good
    values = pl.select(pl.when(good).then(values).otherwise(None)).to_series().alias(s.name)
    symbols = set(text.filter(good).str.extract_all(CURRENCY).explode().drop_nulls().unique().to_list())
    reformatted = int((good & ~text.str.contains(r"^-?\d+(\.\d+)?$").fill_null(False)).sum())
    return values, bad, MoneyInfo(dec, symbols, reformatted)


def parse_int(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Whole numbers (thousands separators allowed); other non-empty cells are bad."""
    values, bad, _ = parse_money(s, ".")
    whole = values.is_not_null() & (values == values.round(0))
    bad = bad | (values.is_not_null() & ~whole)
    out = pl.select(pl.when(whole).then(values).otherwise(None)).to_series().cast(pl.Int64).alias(s.name)
    return out, bad.fill_null(False)


TRUE_WORDS = ("true", "t", "yes", "y", "1", "active", "x", "是", "真")
FALSE_WORDS = ("false", "f", "no", "n", "0", "inactive", "否", "假")


def parse_bool(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Flags from true/false, yes/no, 1/0, active/inactive (any case); other non-empty cells are bad."""
    text = clean_text(s).str.to_lowercase()
    is_true = text.is_in(TRUE_WORDS)
    is_false = text.is_in(FALSE_WORDS)
    out = pl.select(pl.when(is_true).then(True).when(is_false).then(False).otherwise(None)).to_series()
    bad = text.is_not_null() & ~is_true & ~is_false
    return out.alias(s.name), bad.fill_null(False)
