"""The usual way, for comparison: load the tables into pandas at start, filter and group in memory per change.

Implements the Overview's computations (queries/kpis_by_group.sql and queries/bookings_by_month.sql) with
pandas, then builds the same figures and downloads as the page, so the two sides do the same work.
Run alone (`python -m bench.baseline_pandas --data DIR`) it prints its timings and peak memory as JSON,
which is how bench.run measures it: in its own process, so the two peaks never mix.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from bench.common import json_main
from saleslens.core import charts, store
from saleslens.core.filters import Filters, add_months
from saleslens.kpis.registry import GROUP_BY, METRICS

SNAPSHOT_TABLES = ("opportunities", "reps", "accounts", "products", "stages", "targets")
FAR_PAST, FAR_FUTURE = pd.Timestamp("1900-01-01"), pd.Timestamp("2262-01-01")
# Which column of the joined deals (and of the people) each Overview dimension groups by.
DEAL_KEY = {"org": None, "region": "region", "team": "team", "manager": "manager_id", "rep": "owner_id",
            "product": "product_id", "segment": "segment", "source": "source"}
DEAL_LABEL = {"org": None, "region": "region", "team": "team", "manager": "manager_name", "rep": "owner_name",
              "product": "product_name", "segment": "segment", "source": "source"}
PEOPLE_KEY = {"org": None, "region": "region", "team": "team", "manager": "manager_id", "rep": "rep_id"}
PEOPLE_LABEL = {"org": None, "region": "region", "team": "team", "manager": "manager_name", "rep": "name"}


@dataclass
class Data:
    """Everything the usual dashboard keeps in memory: the joined deals, people, targets and activities."""

    as_of: date
    deals: pd.DataFrame
    people: pd.DataFrame
    targets: pd.DataFrame
    activities: pd.DataFrame


def _dates(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Date columns as datetime64, as one does right after reading, so comparisons are vectorised."""
    for col in cols:
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col])
    return frame


def load(data_dir: Path, snapshot_id: str | None = None) -> Data:
    """Read the snapshot's tables and the activities up to its date, and join the deals once."""
    snap = store.open_snapshot(data_dir, snapshot_id)
    t = {name: pd.read_parquet(snap.table_path(name)) for name in SNAPSHOT_TABLES}
    files = snap.event_files("activities")  # exactly its batches' files
    acts = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True) if files else pd.DataFrame(
        {"rep_id": pd.Series(dtype=str), "occurred_at": pd.Series(dtype="datetime64[us]")})
    acts = acts[acts["occurred_at"] < pd.Timestamp(snap.as_of + timedelta(days=1))].reset_index(drop=True)
    opps = _dates(t["opportunities"], ["created_date", "expected_close_date", "close_date"])
    reps = _dates(t["reps"], ["hire_date", "leave_date"])
    managers = reps[["rep_id", "name"]].rename(columns={"rep_id": "manager_id", "name": "manager_name"})
    people = reps.merge(managers, on="manager_id", how="left")
    owners = people[["rep_id", "name", "role", "team", "region", "manager_id", "manager_name"]].rename(
        columns={"rep_id": "owner_id", "name": "owner_name", "role": "owner_role"})
    accounts = t["accounts"].rename(columns={"name": "account_name", "region": "account_region"})
    products = t["products"][["product_id", "name", "family"]].rename(
        columns={"name": "product_name", "family": "product_family"})
    stages = t["stages"][["stage", "position", "probability"]].rename(
        columns={"position": "stage_position", "probability": "stage_probability"})
    deals = (opps.merge(owners, on="owner_id", how="left").merge(accounts, on="account_id", how="left")
             .merge(products, on="product_id", how="left").merge(stages, on="stage", how="left"))
    targets = _dates(t["targets"], ["period_start", "period_end"])
    return Data(snap.as_of, deals, people, targets, acts)


def _bounds(f: Filters) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f.start) if f.start else FAR_PAST
    end = pd.Timestamp(f.end) if f.end else FAR_FUTURE
    return start, end


def _isin(frame: pd.DataFrame, col: str, values: tuple[str, ...]) -> pd.Series:
    """True where the column is in the chosen values, or everywhere when none are chosen."""
    return frame[col].isin(values) if values else pd.Series(True, index=frame.index)


def _people(data: Data, f: Filters) -> pd.DataFrame:
    p = data.people
    return p[_isin(p, "region", f.regions) & _isin(p, "team", f.teams) & _isin(p, "rep_id", f.reps)]


def _deals(data: Data, f: Filters) -> pd.DataFrame:
    d = data.deals
    mask = (_isin(d, "region", f.regions) & _isin(d, "team", f.teams) & _isin(d, "owner_id", f.reps)
            & _isin(d, "product_id", f.products) & _isin(d, "segment", f.segments) & _isin(d, "source", f.sources))
    return d[mask]


def _keyed(frame: pd.DataFrame, key: str | None, label: str | None) -> pd.DataFrame:
    """The frame with group_key and group_label columns for a dimension (one group for the organisation)."""
    if key is None:
        return frame.assign(group_key="org", group_label="All")
    return frame.assign(group_key=frame[key].fillna("(none)"), group_label=frame[label])


def kpis_by_group(data: Data, f: Filters, by: str) -> pd.DataFrame:
    """queries/kpis_by_group.sql in pandas: the canonical KPIs per group of one dimension."""
    start, end = _bounds(f)
    deals = _keyed(_deals(data, f), DEAL_KEY[by], DEAL_LABEL[by])
    closed = deals[deals["status"].isin(["won", "lost"]) & deals["close_date"].between(start, end)]
    won = closed[closed["status"] == "won"]
    parts = [
        won.groupby("group_key").agg(bookings=("amount", "sum"), deals_won=("amount", "size")),
        closed[closed["status"] == "lost"].groupby("group_key").size().rename("deals_lost"),
        (won["close_date"] - won["created_date"]).dt.days.groupby(won["group_key"]).mean().rename("cycle_days"),
    ]
    opened = deals[deals["status"] == "open"]
    due = opened["expected_close_date"].fillna(end)
    opened = opened[due.between(start, end)].assign(weighted=lambda x: x["amount"] * x["stage_probability"])
    parts.append(opened.groupby("group_key").agg(open_pipeline=("amount", "sum"), weighted_pipeline=("weighted", "sum"),
                                                 open_deals=("amount", "size")))
    labels = [deals[["group_key", "group_label"]]]
    org_dim = by in PEOPLE_KEY
    if org_dim:
        people = _keyed(_people(data, f), PEOPLE_KEY[by], PEOPLE_LABEL[by])[["rep_id", "group_key", "group_label"]]
        t = data.targets
        t = t[(t["owner_type"] == "rep") & (t["metric"] == "bookings") & t["period_start"].between(start, end)]
        t = t.merge(people, left_on="owner_id", right_on="rep_id")
        parts.append(t.groupby("group_key")["value"].sum().rename("target"))
        a = data.activities
        a = a[(a["occurred_at"] >= start) & (a["occurred_at"] < end + pd.Timedelta(days=1))]
        a = a[["rep_id"]].merge(people, on="rep_id")
        parts.append(a.groupby("group_key").size().rename("activities"))
        labels += [t[["group_key", "group_label"]], a[["group_key", "group_label"]].drop_duplicates()]
    out = pd.concat(parts, axis=1)
    label = pd.concat(labels).drop_duplicates("group_key").set_index("group_key")["group_label"]
    out = out[out.index.isin(_groups(parts))]
    out = out.reindex(columns=["bookings", "deals_won", "deals_lost", "cycle_days", "open_pipeline",
                               "weighted_pipeline", "open_deals", "target", "activities"])
    out["bookings"] = out["bookings"].fillna(0.0)
    for col in ("deals_won", "deals_lost", "open_deals"):
        out[col] = out[col].fillna(0).astype("int64")
    out[["open_pipeline", "weighted_pipeline"]] = out[["open_pipeline", "weighted_pipeline"]].fillna(0.0)
    out["activities"] = out["activities"].fillna(0).astype("int64") if org_dim else np.nan
    target = out["target"].where(out["target"] != 0)
    out["attainment"] = out["bookings"] / target
    decided = (out["deals_won"] + out["deals_lost"]).where(lambda s: s != 0)
    out["win_rate"] = out["deals_won"] / decided
    out["avg_deal_size"] = out["bookings"] / out["deals_won"].where(out["deals_won"] != 0)
    remaining = (out["target"] - out["bookings"]).clip(lower=0)
    out["pipeline_coverage"] = out["open_pipeline"] / remaining.where(remaining != 0)
    out = out.assign(group_label=label.reindex(out.index).fillna("(none)").to_numpy())
    out = out.rename_axis("group_key").reset_index()
    return out.sort_values(["bookings", "group_label"], ascending=[False, True], kind="stable")[
        ["group_key", "group_label", "bookings", "target", "attainment", "deals_won", "deals_lost", "win_rate",
         "avg_deal_size", "cycle_days", "open_deals", "open_pipeline", "weighted_pipeline", "pipeline_coverage",
         "activities"]].reset_index(drop=True)


def _groups(parts: list[pd.Series | pd.DataFrame]) -> set:
    """Every group that has any row in any part."""
    return set().union(*(set(p.index) for p in parts))


def bookings_by_month(data: Data, f: Filters, start: date, end: date) -> pd.DataFrame:
    """queries/bookings_by_month.sql in pandas: bookings and target per month with running totals."""
    m_start, d_end = pd.Timestamp(start).to_period("M").to_timestamp(), pd.Timestamp(end)
    months = pd.date_range(m_start, d_end.to_period("M").to_timestamp(), freq="MS")
    deals = _deals(data, f)
    won = deals[(deals["status"] == "won") & deals["close_date"].between(m_start, d_end)]
    by_month = won.groupby(won["close_date"].dt.to_period("M").dt.to_timestamp()).agg(
        bookings=("amount", "sum"), deals_won=("amount", "size"))
    people = _people(data, f)
    t = data.targets
    t = t[(t["owner_type"] == "rep") & (t["metric"] == "bookings") & t["period_start"].between(m_start, d_end)
          & t["owner_id"].isin(people["rep_id"])]
    target = t.groupby(t["period_start"].dt.to_period("M").dt.to_timestamp())["value"].sum().rename("target")
    out = pd.DataFrame(index=months).join(by_month).join(target)
    out["bookings"] = out["bookings"].fillna(0.0)
    out["deals_won"] = out["deals_won"].fillna(0).astype("int64")
    out["attainment"] = out["bookings"] / out["target"].where(out["target"] != 0)
    out["cumulative_bookings"] = out["bookings"].cumsum()
    out["cumulative_target"] = out["target"].cumsum()  # like SQL sum() over: null until the first target
    out = out.rename_axis("month").reset_index()
    out["month"] = out["month"].dt.date
    return out[["month", "bookings", "deals_won", "target", "attainment", "cumulative_bookings", "cumulative_target"]]


def overview_page(data: object, f: Filters, lang: str, kpis: Callable, bookings: Callable,
                  to_polars: Callable = lambda frame: frame) -> list:
    """The Overview page computed by a baseline's own `kpis` (kpis_by_group) and `bookings` (bookings_by_month):
    the same numbers, figures and downloads as bench.pages.overview. `to_polars` turns their frames into what
    the charts take."""
    from bench.pages import downloads

    tiles = {name: kpis(data, p, "org") for name, p in f.tile_periods(data.as_of).items()}
    end = f.end or data.as_of
    start = min(f.start, add_months(end, -11)) if f.start else add_months(end, -23)
    trend = to_polars(bookings(data, f, start, end))
    figs = [charts.bookings_vs_target(trend, lang, False)]
    group = next(g for g in GROUP_BY if g != "org")
    metric = next(iter(METRICS))
    by_group = to_polars(kpis(data, f, group))
    if by_group.height:
        figs.append(charts.kpi_by_group_bar(by_group.head(25), metric, METRICS[metric].format, group, lang))
    downloads(by_group)
    assert len(tiles["now"]) <= 1
    return figs


def overview(data: Data, f: Filters, lang: str = "en") -> list:
    """The Overview page, the usual way (pandas)."""
    return overview_page(data, f, lang, kpis_by_group, bookings_by_month, pl.from_pandas)


PAGES = {"overview": overview}


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(data_dir: Path, rounds: int) -> dict:
    """Load once, then time each page for every filter change, `rounds` times; with peak memory."""
    return measure_pages(load, PAGES, lambda data: {"deals": len(data.deals), "activities": len(data.activities)},
                         data_dir, rounds)


def measure_pages(load_data, page_fns: dict, rows, data_dir: Path, rounds: int) -> dict:
    """The timing loop every in-memory baseline shares: load once, then each page per filter change and round."""
    from bench import pages

    rss_start = peak_rss_mb()  # the libraries are imported by now (this module, bench.pages, saleslens.core.charts)
    started = time.perf_counter()
    data = load_data(data_dir)
    load_s = time.perf_counter() - started
    rss_loaded = peak_rss_mb()
    snap = store.open_snapshot(data_dir)
    changes = pages.filter_changes(snap)
    samples: dict[str, list[dict]] = {name: [] for name in page_fns}
    for _ in range(rounds):
        for change in changes:
            f = pages.filters_for(change, snap.as_of)
            for name, page in page_fns.items():
                t0 = time.perf_counter()
                page(data, f)
                samples[name].append({"change": change.name, "seconds": time.perf_counter() - t0})
    return {"load_seconds": load_s, "rss_start_mb": rss_start, "rss_loaded_mb": rss_loaded,
            "peak_rss_mb": peak_rss_mb(), "samples": samples, "rows": rows(data)}


def main(argv: list[str] | None = None) -> int:
    """Measure the baseline in this process and print the result as JSON."""
    return json_main(__doc__.splitlines()[0], measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
