"""What the Data health page draws, computed without Streamlit: freshness, completeness and the clean-up lists.

The page (pages/health.py) calls load(ctx, choices) once; a section whose widget moved since is loaded again on its
own (completeness_figure, load_stale, load_duplicates). The organisation filters apply to the deal lists; the
period does not: health is about now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import plotly.graph_objects as go
import polars as pl

from saleslens.core import store
from saleslens.core.context import DataContext
from saleslens.health import charts as charts_health

FRESH_DAYS = 7  # a snapshot older than a week is flagged as stale
STALE_DAYS = 30  # the default of the stale-deal slider (and of its p_stale_days link parameter)
SIMILARITY = 0.93  # the default of the duplicate-account slider (p_similarity)


@dataclass(frozen=True)
class Choices:
    """The page's own widgets: the table whose completeness is charted, and the two thresholds."""

    table: str | None = None  # None: opportunities when present, else the first table
    stale_days: int = STALE_DAYS
    similarity: float = SIMILARITY


@dataclass(frozen=True)
class Freshness:
    """How fresh the data is: the latest snapshot, its age, how many there are, and each table's dates."""

    latest: store.Snapshot
    age: int  # days since the latest snapshot's as-of date
    count: int
    history: int  # snapshots up to the one viewed (the close-date slips need two)
    older: bool  # the view is on an older snapshot than the latest
    by_table: pl.DataFrame


@dataclass(frozen=True)
class Completeness:
    """Filled share of each field; the tables present; the chosen table and its chart."""

    by_field: pl.DataFrame
    tables: list[str]
    default: int  # index of the default table in tables
    table: str | None  # None when no table has rows
    fig: go.Figure | None
    gaps: int  # fields not always filled


@dataclass(frozen=True)
class Stale:
    """Open deals without an activity for a number of days, by owner."""

    days: int
    deals: pl.DataFrame
    open_deals: int
    fig: go.Figure | None  # None when no deal is stale


@dataclass(frozen=True)
class Amounts:
    """Deals without an amount, by stage, and the list behind them."""

    by_stage: pl.DataFrame
    missing: int
    fig: go.Figure | None  # None when every deal has an amount
    deals: pl.DataFrame | None  # None when every deal has an amount


@dataclass(frozen=True)
class Duplicates:
    """Account pairs whose names are at least this similar."""

    similarity: float
    pairs: pl.DataFrame


@dataclass(frozen=True)
class HealthView:
    """Everything the Data health page draws; a section is None when the snapshot lacks its data."""

    freshness: Freshness
    completeness: Completeness
    stale: Stale | None  # None without activities
    slips: pl.DataFrame | None  # None with a single snapshot
    slips_fig: go.Figure | None
    amounts: Amounts
    duplicates: Duplicates | None  # None without accounts
    unlinked: pl.DataFrame

    def figures(self) -> list[go.Figure]:
        """The figures the page draws, in page order."""
        figs = [self.completeness.fig, self.stale.fig if self.stale else None, self.slips_fig, self.amounts.fig]
        return [fig for fig in figs if fig is not None]


def load_freshness(ctx: DataContext, today: date) -> Freshness:
    """The latest snapshot and its age on a day, the count of snapshots and the freshness of each table."""
    snap, snaps = ctx.snapshot, store.list_snapshots(ctx.data_dir)
    ids = [s.id for s in snaps]
    latest = snaps[-1] if snaps else snap
    history = ids[: ids.index(snap.id) + 1] if snap.id in ids else [snap.id]
    return Freshness(latest, (today - latest.as_of).days, len(snaps), len(history), snap.id != latest.id,
                     ctx.run("health_freshness_by_table"))


def completeness_figure(by_field: pl.DataFrame, table: str, lang: str) -> go.Figure:
    """The completeness chart of one table's fields."""
    return charts_health.completeness(by_field.filter(pl.col("table_name") == table), lang)


def load_completeness(ctx: DataContext, table: str | None) -> Completeness:
    """Completeness of every field, charted for the chosen table (or the default one)."""
    by_field = ctx.run("health_completeness_by_field")
    present = list(dict.fromkeys(by_field["table_name"].to_list()))
    default = present.index("opportunities") if "opportunities" in present else 0
    chosen = (table if table in present else present[default]) if present else None
    fig = completeness_figure(by_field, chosen, ctx.lang) if chosen else None
    return Completeness(by_field, present, default, chosen, fig, by_field.filter(pl.col("completeness") < 1).height)


def load_stale(ctx: DataContext, days: int) -> Stale:
    """Open deals with no activity for days, beside the count of open deals they are out of."""
    org = ctx.filters.org_params()
    deals = ctx.run("health_stale_deals_by_deal", days=days, **org)
    open_deals = ctx.run("health_missing_amounts_by_stage", **org).filter(pl.col("status") == "open")["deals"].sum()
    fig = charts_health.stale_by_owner(deals, ctx.lang, days) if deals.height else None
    return Stale(days, deals, open_deals, fig)


def load_amounts(ctx: DataContext) -> Amounts:
    """Deals without an amount by stage; the list of them when there are any."""
    org = ctx.filters.org_params()
    by_stage = ctx.run("health_missing_amounts_by_stage", **org)
    missing = int(by_stage["without_amount"].sum()) if by_stage.height else 0
    if not missing:
        return Amounts(by_stage, missing, None, None)
    deals = ctx.run("health_missing_amounts_by_deal", **org).drop("owner_id")
    return Amounts(by_stage, missing, charts_health.missing_amounts(by_stage, ctx.lang), deals)


def load_duplicates(ctx: DataContext, similarity: float) -> Duplicates:
    """Pairs of accounts whose names are at least this similar."""
    return Duplicates(similarity, ctx.run("health_duplicate_accounts_by_pair", min_similarity=similarity))


def load(ctx: DataContext, choices: Choices, today: date | None = None) -> HealthView:
    """Every section of the page for the choices; today (default: the clock) dates the snapshot's age."""
    snap, lang = ctx.snapshot, ctx.lang
    fresh = load_freshness(ctx, today or date.today())
    complete = load_completeness(ctx, choices.table)
    stale = load_stale(ctx, choices.stale_days) if snap.has("activities") else None
    slipped = ctx.run("health_close_date_slips_by_deal", min_pushes=2, **ctx.filters.org_params()) \
        if fresh.history >= 2 else None
    slips_fig = charts_health.slips(slipped, lang) if slipped is not None and slipped.height else None
    amounts = load_amounts(ctx)
    dups = load_duplicates(ctx, choices.similarity) if snap.has("accounts") else None
    return HealthView(fresh, complete, stale, slipped, slips_fig, amounts, dups, ctx.run("health_unlinked_by_relation"))
