"""Weekly backfill: one snapshot per past week, rebuilt from the deals' own history, then the export itself.

"Pipeline changes between two snapshots" and the forecast-accuracy replay need snapshots from the past;
an export that carries its history (Salesforce's OpportunityHistory) gives them from the first import.
Each week's snapshot holds the deals created by that week's end (Sunday), each in the state its latest
history row on or before that day put it in: stage, amount, close date and forecast category. Owners,
accounts and products are today's; such snapshots say `backfilled: true` in their manifest.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from saleslens.core import store
from saleslens.ingest import currency, publish
from saleslens.ingest.build import Prepared, Progress

BACKFILL_CHOICES = ("weekly",)


class BackfillError(ValueError):
    """An import that cannot be backfilled, told in one line."""


def week_ends(first: date, as_of: date) -> list[date]:
    """The Sundays from the week of `first` to the last one before `as_of`, oldest first."""
    last = as_of - timedelta(days=(as_of.weekday() - 6) % 7 or 7)
    start = first + timedelta(days=(6 - first.weekday()) % 7)
    out = []
    day = last
    while day >= start:
        out.append(day)
        day -= timedelta(days=7)
    return out[::-1]


def first_day(prepared: Prepared) -> date:
    """The earliest day the export knows a deal: its first creation or history row."""
    days = [prepared.tables["opportunities"]["created_date"].min()]
    if prepared.history is not None and prepared.history.height:
        days.append(prepared.history["at"].min().date())
    return min(d for d in days if d is not None)


def _states(history: pl.DataFrame, day: date) -> pl.DataFrame:
    """Per deal, the history row in force at the end of a day (or its first row, for deals created earlier than
    their history starts)."""
    end = datetime.combine(day, time.max)
    before = history.filter(pl.col("at") <= end).group_by("opportunity_id", maintain_order=True).last()
    first = history.group_by("opportunity_id", maintain_order=True).first()
    return pl.concat([before, first.join(before, on="opportunity_id", how="anti")]).drop("at")


def opportunities_at(prepared: Prepared, day: date) -> pl.DataFrame:
    """The deals as they stood at the end of a day: created by then, in the state their history says."""
    opps = prepared.tables["opportunities"].filter(pl.col("created_date") <= day)
    stages = prepared.tables["stages"]
    won = stages.filter("is_won")["stage"].to_list()
    lost = stages.filter("is_lost")["stage"].to_list()
    state = _states(prepared.history, day).rename(
        {"stage": "h_stage", "amount": "h_amount", "close_date": "h_close", "forecast_category": "h_forecast",
         "currency": "h_currency"})
    df = opps.join(state, on="opportunity_id", how="left").with_columns(
        pl.col("h_stage").is_not_null().alias("h_known"))
    status = (pl.when(pl.col("h_stage").is_in(won)).then(pl.lit("won"))
              .when(pl.col("h_stage").is_in(lost)).then(pl.lit("lost")).otherwise(pl.lit("open")))
    known = pl.col("h_known")
    df = df.with_columns(
        pl.when(known).then(pl.col("h_stage")).otherwise(pl.col("stage")).alias("stage"),
        pl.when(known).then(status).otherwise(pl.col("status")).alias("status"),
        # The deal's own-currency amount: converted again below at the rate of that week.
        pl.when(known).then(pl.col("h_amount")).otherwise(pl.coalesce("amount_original", "amount")).alias("amount"),
        pl.when(known).then(pl.col("h_forecast")).otherwise(pl.col("forecast_category")).alias("forecast_category"),
        pl.coalesce("h_currency", "currency").alias("currency"),
    )
    df = df.with_columns(
        pl.when(known & (pl.col("status") != "open")).then(pl.col("h_close"))
        .when(known).then(None).otherwise(pl.col("close_date")).alias("close_date"),
        pl.when(known & (pl.col("status") == "open")).then(pl.col("h_close"))
        .when(known).then(None).otherwise(pl.col("expected_close_date")).alias("expected_close_date"),
    ).drop("h_stage", "h_amount", "h_close", "h_forecast", "h_currency", "h_known")
    if "reporting_currency" in prepared.manifest:
        df, _ = currency.convert(df, prepared.rates, day, pre_converted=False)
    return df.select(prepared.tables["opportunities"].columns)


def tables_at(prepared: Prepared, day: date) -> dict[str, pl.DataFrame]:
    """Every snapshot table at the end of a day: deals and leads as they were then, the rest as exported."""
    tables = dict(prepared.tables)
    tables["opportunities"] = opportunities_at(prepared, day)
    if "leads" in tables:
        tables["leads"] = tables["leads"].filter(pl.col("created_date") <= day)
    return tables


def publish_weekly(prepared: Prepared, data_dir: Path, progress: Progress | None = None) -> list[store.Snapshot]:
    """Publish one backfilled snapshot per past week (weeks already in the data directory are kept as they are),
    then the export's own snapshot, last."""
    from queries.runner import build_derived  # DuckDB only when publishing

    if prepared.history is None or prepared.history.is_empty():
        raise BackfillError("--backfill weekly needs the deals' history: a Salesforce Data Export with "
                            "OpportunityHistory.csv (--mapping salesforce), or a HubSpot deals export with "
                            "\"Date entered\" columns (--mapping hubspot)")
    tell = progress or (lambda f, m: None)
    data_dir.mkdir(parents=True, exist_ok=True)
    out = []
    with store.import_lock(data_dir, timeout=store.LOCK_WAIT_SECONDS):  # the weeks and the export: one import
        have = {s.as_of for s in store.list_snapshots(data_dir)}
        days = [d for d in week_ends(first_day(prepared), prepared.as_of) if d not in have]
        for n, day in enumerate(days):
            tell(0.8 * n / max(len(days), 1), f"backfilling {day.isoformat()}")
            report = {"backfilled": True, "mapping": prepared.mapping.name, "as_of": day.isoformat(),
                      "source": prepared.report.get("source", ""), "export_as_of": prepared.as_of.isoformat()}
            # The history is the first week's batch (each week sees it up to its day); later ones add none.
            out.append(store.publish_snapshot(
                data_dir, day, tables_at(prepared, day), source=f"import:{prepared.mapping.name}", report=report,
                derive=build_derived, events=prepared.events if n == 0 else None,
                extra={**prepared.manifest, "backfilled": True},
            ))
        out.append(publish.publish(prepared, data_dir, progress))
    return out
