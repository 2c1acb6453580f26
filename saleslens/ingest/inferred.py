"""Stage history for exports that carry none: moves inferred by comparing the previous snapshot with the new import.

A plain opportunity export each week says where each deal is, not how it got there. When the import brings no
stage changes and the data directory's latest snapshot came from the same mapping and is older, every deal whose
stage differs between the two gets one inferred move (from its stage then to its stage now), marked
`inferred = true`. The move is dated, at midnight:
- at the deal's close date when it is now won or lost and that date falls in the interval (the CRM says when), else
- at the middle day of the interval: the days after the previous snapshot up to the new one, the later middle day
  when their number is even (a week from Sunday to Sunday: the Thursday).
Deals that are new, or gone, have no move: there is nothing to compare. A deal that moved and came back in between
shows no move either; that is what snapshots cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from saleslens.core import schema, store

RULE = "close_date_else_middle_day"


@dataclass(frozen=True)
class Inference:
    """The moves inferred for one import and what the report says about them."""

    rows: pl.DataFrame  # canonical stage_changes rows, inferred = true
    previous: str  # id of the snapshot compared with
    previous_as_of: date
    middle: date  # the day moves without a close date in the interval are dated at

    def summary(self) -> dict:
        """The report's 'inferred' entry: how many moves, against which snapshot, dated how."""
        return {"count": self.rows.height, "previous": self.previous, "previous_as_of": self.previous_as_of.isoformat(),
                "middle": self.middle.isoformat(), "rule": RULE}


def middle_day(previous: date, as_of: date) -> date:
    """The middle of the days after `previous` up to `as_of` (the later one of two middles)."""
    return previous + timedelta(days=(as_of - previous).days // 2 + 1)


def infer(before: pl.DataFrame, now: pl.DataFrame, stages: pl.DataFrame, previous: date, as_of: date) -> pl.DataFrame:
    """The inferred moves between two states of the deals.

    before: opportunity_id, stage (the previous snapshot); now: opportunity_id, stage, close_date (the import);
    stages: stage, is_won, is_lost (the import's stage list). Returns canonical stage_changes rows.
    """
    closed = stages.filter(pl.col("is_won") | pl.col("is_lost"))["stage"].to_list()
    moved = now.select("opportunity_id", "stage", "close_date").join(
        before.select("opportunity_id", pl.col("stage").alias("from_stage")), on="opportunity_id", how="inner",
    ).filter(pl.col("stage") != pl.col("from_stage"))
    in_interval = pl.col("close_date").is_between(previous + timedelta(days=1), as_of)
    day = pl.when(pl.col("stage").is_in(closed) & in_interval).then(pl.col("close_date")).otherwise(
        pl.lit(middle_day(previous, as_of)))
    rows = moved.select(
        "opportunity_id", "from_stage", pl.col("stage").alias("to_stage"),
        day.cast(pl.Datetime("us")).alias("changed_at"), pl.lit(True).alias("inferred"),
    ).sort("opportunity_id")
    return schema.conform("stage_changes", rows)


def has_history(events: dict[str, pl.DataFrame]) -> bool:
    """Whether the import brings stage changes of its own."""
    frame = events.get("stage_changes")
    return frame is not None and frame.height > 0


def for_import(tables: dict[str, pl.DataFrame], events: dict[str, pl.DataFrame], mapping_name: str, as_of: date,
               data_dir: Path) -> Inference | None:
    """The moves to infer for an import without stage history, against the latest snapshot of the same mapping;
    None when the import has history, there is no such snapshot, or it is not older than the import."""
    if has_history(events) or not data_dir.exists():
        return None
    snaps = store.list_snapshots(data_dir)
    previous = snaps[-1] if snaps else None
    if previous is None or previous.manifest.get("source") != f"import:{mapping_name}" or previous.as_of >= as_of:
        return None
    path = previous.table_path("opportunities")
    if path is None:
        return None
    before = pl.read_parquet(path, columns=["opportunity_id", "stage"], glob=False)
    rows = infer(before, tables["opportunities"], tables["stages"], previous.as_of, as_of)
    return Inference(rows, previous.id, previous.as_of, middle_day(previous.as_of, as_of))
