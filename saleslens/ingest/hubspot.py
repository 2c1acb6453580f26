"""HubSpot's stage calculated properties: "Date entered <stage>" columns of a deals export as stage history.

HubSpot keeps, per deal and pipeline stage, the date and time the deal entered it ("Date entered [stage]", with
"Date exited", "Latest time in" and "Cumulative time in" beside it). An export that includes them labels each
column with the stage and its pipeline: `Date entered "Appointment Scheduled (Sales Pipeline)"`. Each filled
cell is one move into that stage; a deal's moves in time order give the stage it came from. HubSpot keeps only
the latest entry into a stage, so a deal that went back and forth shows its last pass only.

Any mapping whose deals file has such columns gets this history (the `hubspot` profile's export does). Amounts,
close dates and forecast categories have no history in the export: the weekly backfill keeps today's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from saleslens.ingest.mapping import StageSpec
from saleslens.ingest.parsers import clean_text, key_of, parse_dates
from saleslens.ingest.readers import ROW, RawTable

ENTERED = re.compile(r"^\s*date\s+entered\s+(?P<label>.+?)\s*$", re.IGNORECASE)
# The pipeline HubSpot adds after the stage label: "Contract Sent (Sales Pipeline)".
PIPELINE = re.compile(r"\s*\([^()]*\)\s*$")
QUOTES = "\"'“”„«»"


@dataclass
class EnteredColumns:
    """The export's "Date entered" columns: each one's stage in the mapping's list, and those naming no stage."""

    stages: dict[str, str] = field(default_factory=dict)  # column -> stage name
    unknown: list[str] = field(default_factory=list)


def entered_columns(columns: list[str], stages: tuple[StageSpec, ...]) -> EnteredColumns:
    """Which columns say when a deal entered a stage, matched to the stage list by name or alias (any case)."""
    lookup = {key_of(name): s.name for s in stages for name in (s.name, *s.aliases)}
    out = EnteredColumns()
    for col in columns:
        found = ENTERED.match(col)
        if found is None:
            continue
        label = found["label"].strip().strip(QUOTES).strip()
        candidates = (label, PIPELINE.sub("", label))
        stage = next((lookup[key_of(c)] for c in candidates if key_of(c) in lookup), None)
        if stage is None:
            out.unknown.append(col)
        else:
            out.stages[col] = stage
    return out


def stage_moves(raw: RawTable, deal_ids: pl.DataFrame, found: EnteredColumns, stages: tuple[StageSpec, ...],
                day_first: bool | None = None) -> tuple[pl.DataFrame, int]:
    """The moves the columns record: opportunity_id, from_stage, to_stage, changed_at, in time order per deal.

    deal_ids: the file's accepted deals (ROW, opportunity_id). Also returns how many filled cells were not a date
    (left out). Two moves at the same moment keep the stage list's order.
    """
    position = {s.name: s.position for s in stages}
    parts, unreadable = [], 0
    for col, stage in found.stages.items():
        text = clean_text(raw.frame[col])
        when, bad, _ = parse_dates(text, "datetime", day_first=day_first)
        unreadable += int(bad.sum())
        parts.append(pl.DataFrame({ROW: raw.frame[ROW], "to_stage": pl.Series([stage] * raw.frame.height,
                                                                               dtype=pl.String),
                                   "changed_at": when}).drop_nulls("changed_at"))
    schema = {"opportunity_id": pl.String, "from_stage": pl.String, "to_stage": pl.String,
              "changed_at": pl.Datetime("us")}
    if not parts:
        return pl.DataFrame(schema=schema), unreadable
    moves = pl.concat(parts).join(deal_ids, on=ROW, how="inner").with_columns(
        pl.col("to_stage").replace_strict(position, default=None, return_dtype=pl.Int64).alias("_pos"))
    moves = moves.sort(["opportunity_id", "changed_at", "_pos"]).with_columns(
        pl.col("to_stage").shift(1).over("opportunity_id").alias("from_stage"))
    return moves.select(list(schema)).cast(schema), unreadable


def past_states(moves: pl.DataFrame, opps: pl.DataFrame) -> pl.DataFrame:
    """The moves as the states the weekly backfill reads (as Salesforce's history gives them): each move puts the
    deal in its stage; amount (in the deal's own currency), close date, forecast category and currency are today's.
    """
    today = opps.select(
        "opportunity_id", pl.coalesce("amount_original", "amount").alias("amount"),
        pl.coalesce("close_date", "expected_close_date").alias("close_date"), "forecast_category", "currency")
    return moves.select("opportunity_id", pl.col("changed_at").alias("at"), pl.col("to_stage").alias("stage")).join(
        today, on="opportunity_id", how="left").sort(["opportunity_id", "at"])
