"""The usual way with Polars instead of pandas: load the tables into memory at start, filter and group per change.

Polars eager, with the data loaded into memory the same way as bench/baseline_pandas.py (the snapshot's tables,
the deals joined once, the activities up to the snapshot date), then the Overview's computations
(queries/kpis_by_group.sql and queries/bookings_by_month.sql) and the same figures and downloads as the page.
`python -m bench.baseline_polars --data DIR` prints its timings and peak memory as JSON, as the pandas one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from bench.baseline_pandas import (
    DEAL_KEY,
    DEAL_LABEL,
    PEOPLE_KEY,
    PEOPLE_LABEL,
    SNAPSHOT_TABLES,
    measure_pages,
    overview_page,
)
from bench.common import json_main
from saleslens.core import store
from saleslens.core.filters import Filters

FAR_PAST, FAR_FUTURE = date(1900, 1, 1), date(2262, 1, 1)
COLUMNS = ["group_key", "group_label", "bookings", "target", "attainment", "deals_won", "deals_lost", "win_rate",
           "avg_deal_size", "cycle_days", "open_deals", "open_pipeline", "weighted_pipeline", "pipeline_coverage",
           "activities"]


@dataclass
class Data:
    """Everything kept in memory: the joined deals, people, targets and activities, as Polars frames."""

    as_of: date
    deals: pl.DataFrame
    people: pl.DataFrame
    targets: pl.DataFrame
    activities: pl.DataFrame


def load(data_dir: Path, snapshot_id: str | None = None) -> Data:
    """Read the snapshot's tables and the activities up to its date, and join the deals once."""
    snap = store.open_snapshot(data_dir, snapshot_id)
    t = {name: pl.read_parquet(snap.table_path(name)) for name in SNAPSHOT_TABLES}
    files = snap.event_files("activities")  # exactly the history batches the snapshot was published with
    acts = pl.concat([pl.read_parquet(p, columns=["rep_id", "occurred_at"]) for p in files], how="vertical_relaxed") \
        if files else pl.DataFrame(schema={"rep_id": pl.String, "occurred_at": pl.Datetime("us")})
    acts = acts.filter(pl.col("occurred_at").dt.date() <= snap.as_of)
    reps = t["reps"]
    managers = reps.select(pl.col("rep_id").alias("manager_id"), pl.col("name").alias("manager_name"))
    people = reps.join(managers, on="manager_id", how="left")
    owners = people.select(pl.col("rep_id").alias("owner_id"), pl.col("name").alias("owner_name"),
                           pl.col("role").alias("owner_role"), "team", "region", "manager_id", "manager_name")
    accounts = t["accounts"].rename({"name": "account_name", "region": "account_region"})
    products = t["products"].select("product_id", pl.col("name").alias("product_name"),
                                    pl.col("family").alias("product_family"))
    stages = t["stages"].select("stage", pl.col("position").alias("stage_position"),
                                pl.col("probability").alias("stage_probability"))
    deals = (t["opportunities"].join(owners, on="owner_id", how="left").join(accounts, on="account_id", how="left")
             .join(products, on="product_id", how="left").join(stages, on="stage", how="left"))
    return Data(snap.as_of, deals, people, t["targets"], acts)


def _bounds(f: Filters) -> tuple[date, date]:
    return f.start or FAR_PAST, f.end or FAR_FUTURE


def _isin(col: str, values: tuple[str, ...]) -> pl.Expr:
    """True where the column is in the chosen values, or everywhere when none are chosen."""
    return pl.col(col).is_in(list(values)) if values else pl.lit(True)


def _people(data: Data, f: Filters) -> pl.DataFrame:
    return data.people.filter(_isin("region", f.regions) & _isin("team", f.teams) & _isin("rep_id", f.reps))


def _deals(data: Data, f: Filters) -> pl.DataFrame:
    return data.deals.filter(_isin("region", f.regions) & _isin("team", f.teams) & _isin("owner_id", f.reps)
                             & _isin("product_id", f.products) & _isin("segment", f.segments)
                             & _isin("source", f.sources))


def _keyed(frame: pl.DataFrame, key: str | None, label: str | None) -> pl.DataFrame:
    """The frame with group_key and group_label columns for a dimension (one group for the organisation)."""
    if key is None:
        return frame.with_columns(group_key=pl.lit("org"), group_label=pl.lit("All"))
    return frame.with_columns(group_key=pl.col(key).fill_null("(none)"), group_label=pl.col(label))


def kpis_by_group(data: Data, f: Filters, by: str) -> pl.DataFrame:
    """queries/kpis_by_group.sql in Polars: the canonical KPIs per group of one dimension."""
    start, end = _bounds(f)
    deals = _keyed(_deals(data, f), DEAL_KEY[by], DEAL_LABEL[by])
    closed = deals.filter(pl.col("status").is_in(["won", "lost"]) & pl.col("close_date").is_between(start, end))
    parts = [closed.group_by("group_key").agg(
        bookings=pl.col("amount").filter(pl.col("status") == "won").sum(),
        deals_won=(pl.col("status") == "won").sum().cast(pl.Int64),
        deals_lost=(pl.col("status") == "lost").sum().cast(pl.Int64),
        cycle_days=(pl.col("close_date") - pl.col("created_date")).dt.total_days()
        .filter(pl.col("status") == "won").mean())]
    due = pl.col("expected_close_date").fill_null(end)
    parts.append(deals.filter((pl.col("status") == "open") & due.is_between(start, end)).group_by("group_key").agg(
        open_pipeline=pl.col("amount").sum(), weighted_pipeline=(pl.col("amount") * pl.col("stage_probability")).sum(),
        open_deals=pl.len().cast(pl.Int64)))
    labels = [deals.select("group_key", "group_label")]
    org_dim = by in PEOPLE_KEY
    if org_dim:
        people = _keyed(_people(data, f), PEOPLE_KEY[by], PEOPLE_LABEL[by]).select("rep_id", "group_key",
                                                                                  "group_label")
        t = data.targets.filter((pl.col("owner_type") == "rep") & (pl.col("metric") == "bookings")
                                & pl.col("period_start").is_between(start, end))
        t = t.join(people, left_on="owner_id", right_on="rep_id")
        parts.append(t.group_by("group_key").agg(target=pl.col("value").sum()))
        a = data.activities.filter(pl.col("occurred_at").dt.date().is_between(start, end))
        a = a.select("rep_id").join(people, on="rep_id")
        parts.append(a.group_by("group_key").agg(activities=pl.len().cast(pl.Int64)))
        labels += [t.select("group_key", "group_label"), a.select("group_key", "group_label")]
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on="group_key", how="full", coalesce=True)
    label = pl.concat(labels).unique("group_key", keep="first", maintain_order=True)
    if not org_dim:
        out = out.with_columns(target=pl.lit(None, pl.Float64), activities=pl.lit(None, pl.Int64))
    out = out.with_columns(
        pl.col("bookings").fill_null(0.0), pl.col("deals_won", "deals_lost", "open_deals").fill_null(0),
        pl.col("open_pipeline", "weighted_pipeline").fill_null(0.0),
        pl.col("activities").fill_null(0) if org_dim else pl.col("activities"),
    )
    target = pl.when(pl.col("target") != 0).then(pl.col("target"))
    decided = pl.col("deals_won") + pl.col("deals_lost")
    remaining = (pl.col("target") - pl.col("bookings")).clip(lower_bound=0)
    out = out.with_columns(
        attainment=pl.col("bookings") / target,
        win_rate=pl.col("deals_won") / pl.when(decided != 0).then(decided),
        avg_deal_size=pl.col("bookings") / pl.when(pl.col("deals_won") != 0).then(pl.col("deals_won")),
        pipeline_coverage=pl.col("open_pipeline") / pl.when(remaining != 0).then(remaining),
    ).join(label, on="group_key", how="left").with_columns(pl.col("group_label").fill_null("(none)"))
    return out.sort(["bookings", "group_label"], descending=[True, False], maintain_order=True).select(COLUMNS)


def bookings_by_month(data: Data, f: Filters, start: date, end: date) -> pl.DataFrame:
    """queries/bookings_by_month.sql in Polars: bookings and target per month with running totals."""
    m_start = start.replace(day=1)
    months = pl.DataFrame({"month": pl.date_range(m_start, end.replace(day=1), "1mo", eager=True)})
    deals = _deals(data, f)
    won = deals.filter((pl.col("status") == "won") & pl.col("close_date").is_between(m_start, end))
    by_month = won.group_by(month=pl.col("close_date").dt.truncate("1mo")).agg(
        bookings=pl.col("amount").sum(), deals_won=pl.len().cast(pl.Int64))
    rep_ids = _people(data, f)["rep_id"]
    t = data.targets.filter((pl.col("owner_type") == "rep") & (pl.col("metric") == "bookings")
                            & pl.col("period_start").is_between(m_start, end)
                            & pl.col("owner_id").is_in(rep_ids.implode()))
    target = t.group_by(month=pl.col("period_start").dt.truncate("1mo")).agg(target=pl.col("value").sum())
    out = months.join(by_month, on="month", how="left").join(target, on="month", how="left").with_columns(
        pl.col("bookings").fill_null(0.0), pl.col("deals_won").fill_null(0))
    return out.with_columns(
        attainment=pl.col("bookings") / pl.when(pl.col("target") != 0).then(pl.col("target")),
        cumulative_bookings=pl.col("bookings").cum_sum(),
        # like SQL sum() over: null until the first target, then the running total
        cumulative_target=pl.when(pl.col("target").is_not_null().cum_max()).then(pl.col("target").cum_sum()),
    ).select("month", "bookings", "deals_won", "target", "attainment", "cumulative_bookings", "cumulative_target")


def overview(data: Data, f: Filters, lang: str = "en") -> list:
    """The Overview page with Polars: the same numbers, figures and downloads as bench.pages.overview."""
    return overview_page(data, f, lang, kpis_by_group, bookings_by_month)


PAGES = {"overview": overview}


def measure(data_dir: Path, rounds: int) -> dict:
    """Load once, then time each page for every filter change, `rounds` times; with peak memory."""
    return measure_pages(load, PAGES, lambda data: {"deals": data.deals.height, "activities": data.activities.height},
                         data_dir, rounds)


def main(argv: list[str] | None = None) -> int:
    """Measure the Polars baseline in this process and print the result as JSON."""
    return json_main(__doc__.splitlines()[0], measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
