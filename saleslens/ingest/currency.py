"""Money in many currencies: rates into the dataset's reporting currency, and deal amounts converted at import.

A rate is how many units of a currency make one unit of the reporting currency (Salesforce's
CurrencyType.ConversionRate works this way), so reporting amount = original amount / rate. Dated rates
are in force from their start day until the next start day of the same currency, as in Salesforce's
advanced currency management; a day no dated rate covers falls back to the fixed rate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from saleslens.ingest.mapping import CurrencySpec
from saleslens.ingest.parsers import clean_text, key_of, parse_dates, parse_money
from saleslens.ingest.readers import RawTable

EXAMPLES = 5  # deal ids listed per currency without a rate


@dataclass(frozen=True)
class Period:
    """One dated rate: in force from start (inclusive) to end (exclusive; None = open-ended)."""

    start: date
    end: date | None
    rate: float


@dataclass
class Rates:
    """Conversion rates into one reporting currency, fixed and dated, and where they came from."""

    reporting: str | None
    fixed: dict[str, float] = field(default_factory=dict)
    dated: dict[str, list[Period]] = field(default_factory=dict)
    source: str = ""

    def rate(self, code: str, day: date) -> float | None:
        """Units of `code` per reporting unit on a day; None when no rate is known."""
        if code == self.reporting:
            return 1.0
        for period in self.dated.get(code, ()):
            if period.start <= day and (period.end is None or day < period.end):
                return period.rate
        return self.fixed.get(code)

    def to_dict(self) -> dict:
        """A JSON-ready record of the rates, for the snapshot manifest."""
        return {
            "reporting": self.reporting,
            "source": self.source,
            "fixed": dict(sorted(self.fixed.items())),
            "dated": {code: [{"start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None,
                              "rate": p.rate} for p in periods]
                      for code, periods in sorted(self.dated.items())},
        }


def periods_from_starts(rows: list[tuple[str, date, float]]) -> dict[str, list[Period]]:
    """Dated rates given by start day only: each runs until the next start of the same currency."""
    out: dict[str, list[Period]] = {}
    for code in sorted({r[0] for r in rows}):
        mine = sorted((start, rate) for c, start, rate in rows if c == code)
        out[code] = [Period(start, mine[i + 1][0] if i + 1 < len(mine) else None, rate)
                     for i, (start, rate) in enumerate(mine)]
    return out


def from_spec(spec: CurrencySpec, table: RawTable | None = None) -> Rates:
    """Rates from a mapping's [currency] section, and its rates file when there is one."""
    fixed = dict(spec.rates)
    starts = [(d.currency, d.start, d.rate) for d in spec.dated]
    source = "mapping"
    if table is not None:
        file_fixed, file_starts = _rates_file(table)
        fixed.update(file_fixed)
        starts += file_starts
        source = table.label
    return Rates(spec.reporting, fixed, periods_from_starts(starts), source)


def _rates_file(table: RawTable) -> tuple[dict[str, float], list[tuple[str, date, float]]]:
    """A rates file's rows: currency and rate, with a start day for dated ones (columns matched loosely)."""
    cols = {key_of(c): c for c in table.columns}
    code_col = cols.get("currency") or cols.get("isocode") or cols.get("code")
    rate_col = cols.get("rate") or cols.get("conversionrate")
    start_col = cols.get("start") or cols.get("startdate")
    if code_col is None or rate_col is None:
        raise ValueError(f"{table.label}: a rates file needs the columns currency and rate (and start for dated "
                         f"rates); it has {', '.join(table.columns)}")
    codes = clean_text(table.frame[code_col]).str.to_uppercase()
    rates, _, _ = parse_money(table.frame[rate_col], ".")
    starts = parse_dates(table.frame[start_col])[0] if start_col else pl.Series([None] * table.frame.height)
    fixed: dict[str, float] = {}
    dated: list[tuple[str, date, float]] = []
    for code, rate, start in zip(codes.to_list(), rates.to_list(), starts.to_list(), strict=True):
        if code is None or rate is None:
            continue
        if start is None:
            fixed[code] = rate
        else:
            dated.append((code, start, rate))
    return fixed, dated


def convert(opps: pl.DataFrame, rates: Rates | None, as_of: date, pre_converted: bool) -> tuple[pl.DataFrame, dict]:
    """Deal amounts into the reporting currency; the summary lists every currency without a usable rate.

    `amount` comes in as the amount in the deal's currency, unless the mapping also gave `amount_original`
    (`pre_converted`): then a non-empty `amount` is already the CRM's converted amount and is kept.
    Closed deals convert at the rate of their close date, open ones at the snapshot date's.
    """
    reporting = rates.reporting if rates else None
    if not pre_converted:
        opps = opps.with_columns(pl.col("amount").alias("amount_original"))
    codes = clean_text(opps["currency"]).str.to_uppercase()
    if reporting is None:  # one currency on every deal is the reporting currency by itself
        present = codes.drop_nulls().unique().to_list()
        reporting = present[0] if len(present) == 1 else None
    codes = codes.fill_null(reporting) if reporting else codes
    closed = opps["status"].is_in(["won", "lost"]) & opps["close_date"].is_not_null()
    days = pl.select(pl.when(closed).then(opps["close_date"]).otherwise(pl.lit(as_of))).to_series()
    table = dataclasses.replace(rates, reporting=reporting) if rates else Rates(reporting)
    lookup = {(c, d): table.rate(c, d) for c, d in zip(codes.to_list(), days.to_list(), strict=True)
              if c is not None}
    rate_list = [lookup.get((c, d)) if c is not None else None
                 for c, d in zip(codes.to_list(), days.to_list(), strict=True)]
    rate = pl.Series("__rate", rate_list, dtype=pl.Float64)
    usable = rate.is_not_null() & (rate > 0).fill_null(False)
    keep = opps["amount"].is_not_null() if pre_converted else pl.Series([False] * opps.height)
    converted = pl.select(
        pl.when(keep).then(opps["amount"])
        .when(usable).then(opps["amount_original"] / rate)
        .otherwise(None)
    ).to_series()
    opps = opps.with_columns(codes.alias("currency"), converted.alias("amount"))
    stuck = opps["amount_original"].is_not_null() & ~keep & ~usable
    return opps, _summary(opps, stuck, rate, table, keep, usable)


def _summary(opps: pl.DataFrame, stuck: pl.Series, rate: pl.Series, rates: Rates, keep: pl.Series,
             usable: pl.Series) -> dict:
    """What the conversion did: deals per currency, and the currencies that had no usable rate."""
    frame = opps.select("opportunity_id", "currency").with_columns(rate.alias("rate"), stuck.alias("stuck"))
    per_currency = dict(frame.filter(pl.col("currency").is_not_null()).group_by("currency").len().sort("currency")
                        .iter_rows())
    missing = []
    for (code,), part in sorted(frame.filter(pl.col("stuck")).partition_by("currency", as_dict=True).items(),
                                key=lambda kv: str(kv[0][0])):
        bad_rates = sorted({r for r in part["rate"].to_list() if r is not None})
        missing.append({"currency": code or "", "rate": ", ".join(f"{r:g}" for r in bad_rates) or None,
                        "deals": part.height, "examples": part["opportunity_id"].head(EXAMPLES).to_list()})
    foreign = (opps["currency"] != rates.reporting).fill_null(False) if rates.reporting else \
        opps["currency"].is_not_null()
    converted = int((usable & ~keep & opps["amount_original"].is_not_null() & foreign).sum())
    return {"reporting": rates.reporting, "deals_per_currency": per_currency, "converted": converted,
            "kept_from_crm": int(keep.sum()), "missing": missing, "rates": rates.to_dict()}
