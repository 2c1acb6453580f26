"""Data health: how fresh and complete the data is, and the deals and accounts that need a clean-up.

Thin page: widgets -> saleslens.health.load (named queries health_*, charts) -> st.*. The organisation filters
of the sidebar (region, team, rep) apply to the deal lists; the period does not: health is about now.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from saleslens.core import i18n
from saleslens.core.i18n import t
from saleslens.health import load as health_load
from ui import context, widgets

MONEY_COLS = {"amount"}
PERCENT_COLS = {"completeness", "share_without"}

ctx = context.current()
lang, snap = ctx.lang, ctx.snapshot


def columns(frame: pl.DataFrame) -> dict:
    """Translated column headers with money, percent and date formats."""
    return widgets.column_config(frame, "health.col", lang, MONEY_COLS, PERCENT_COLS)


def table(frame: pl.DataFrame, name: str, key: str) -> None:
    """A table with translated headers and its CSV and Excel downloads."""
    widgets.table(frame, name, lang, key, columns(frame))


def url_number(name: str, default: float, cast: type) -> float:
    """A page setting kept in the link (p_ parameters), falling back to the default when unreadable."""
    try:
        return cast(st.query_params.get(name, default))
    except (TypeError, ValueError):
        return default


def remember(name: str, value: object, default: object) -> None:
    """Write a page setting into the link, or drop it when it is the default."""
    if value == default:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def stale_days_default() -> int:
    """The stale-deal slider's starting value: the link's p_stale_days, kept within the slider's range."""
    return int(min(max(url_number("p_stale_days", health_load.STALE_DAYS, int), 7), 180))


def similarity_default() -> float:
    """The similarity slider's starting value: the link's p_similarity, kept within the slider's range."""
    return min(max(url_number("p_similarity", health_load.SIMILARITY, float), 0.8), 1.0)


def choices() -> health_load.Choices:
    """The section widgets' values before they draw (the same keys; else their starting values)."""
    return health_load.Choices(table=st.session_state.get("health_table"),
                               stale_days=st.session_state.get("health_stale_days", stale_days_default()),
                               similarity=st.session_state.get("health_similarity", similarity_default()))


def freshness(fr: health_load.Freshness) -> None:
    """The latest snapshot, its age and the count; a warning when it is old; each table's dates."""
    st.subheader(t("health.freshness", lang))
    latest, age = fr.latest, fr.age
    c1, c2, c3 = st.columns(3)
    c1.metric(t("health.latest_snapshot", lang), i18n.day(latest.as_of, lang), border=True,
              help=t("health.latest_snapshot_help", lang, created=latest.manifest.get("created_at", "–"),
                     source=latest.manifest.get("source", "–")))
    c2.metric(t("health.snapshot_age", lang), i18n.days(age, lang), border=True,
              help=t("health.snapshot_age_help", lang))
    c3.metric(t("health.snapshot_count", lang), i18n.count(fr.count, lang), border=True,
              help=t("health.snapshot_count_help", lang))
    if age > health_load.FRESH_DAYS:
        st.warning(t("health.stale_snapshot", lang, days=age))
    else:
        st.success(t("health.fresh_snapshot", lang, days=age))
    if fr.older:
        st.info(t("health.older_snapshot", lang, snapshot=snap.id, latest=latest.id))
    if fr.by_table.height:
        table(fr.by_table, "freshness", "health_fresh_dl")


def completeness(c: health_load.Completeness) -> None:
    """The filled share of each field, charted for the table picked."""
    st.subheader(t("health.completeness", lang))
    if not c.tables:
        st.info(t("health.no_rows", lang))
        return
    chosen = st.selectbox(t("health.pick_table", lang), c.tables, index=c.default, key="health_table",
                          format_func=lambda name: t(f"health.table.{name}", lang))
    fig = c.fig if chosen == c.table else health_load.completeness_figure(c.by_field, chosen, lang)
    st.plotly_chart(fig, width="stretch")
    st.caption(t("health.completeness_note", lang, fields=c.gaps, total=c.by_field.height))
    with st.expander(t("health.all_fields", lang)):
        table(c.by_field, "completeness", "health_complete_dl")


def stale_deals(loaded: health_load.Stale | None) -> None:
    """Open deals with no activity for the days chosen, by owner, and their list."""
    st.subheader(t("health.stale", lang))
    days = st.slider(t("health.stale_days", lang), min_value=7, max_value=180, step=1, value=stale_days_default(),
                     key="health_stale_days", help=t("health.stale_days_help", lang))
    remember("p_stale_days", days, health_load.STALE_DAYS)
    if loaded is None:
        st.info(t("health.no_activities", lang))
        return
    s = loaded if loaded.days == days else health_load.load_stale(ctx, days)
    s1, s2 = st.columns(2)
    s1.metric(t("health.stale_count", lang), i18n.count(s.deals.height, lang), border=True,
              help=t("health.stale_count_help", lang, days=days, open=i18n.count(s.open_deals, lang)))
    s2.metric(t("health.stale_amount", lang), i18n.money(s.deals["amount"].sum(), lang), border=True)
    if s.fig is not None:
        st.plotly_chart(s.fig, width="stretch")
        table(s.deals.drop("owner_id"), "stale_deals", "health_stale_dl")
    else:
        st.success(t("health.no_stale", lang, days=days))


def slips(view: health_load.HealthView) -> None:
    """Deals whose close date was pushed out at least twice across the snapshots."""
    st.subheader(t("health.slips", lang))
    if view.slips is None:
        st.info(t("health.one_snapshot", lang))
        return
    st.caption(t("health.slips_note", lang, snapshots=view.freshness.history))
    if view.slips_fig is not None:
        st.plotly_chart(view.slips_fig, width="stretch")
        table(view.slips.drop("owner_id"), "pushed_close_dates", "health_slips_dl")
    else:
        st.success(t("health.no_slips", lang))


def amounts(a: health_load.Amounts) -> None:
    """Deals without an amount, by stage, and their list."""
    st.subheader(t("health.amounts", lang))
    if not a.missing:
        st.success(t("health.no_missing_amounts", lang))
        return
    st.caption(t("health.amounts_note", lang, missing=i18n.count(a.missing, lang),
                 total=i18n.count(a.by_stage["deals"].sum(), lang)))
    st.plotly_chart(a.fig, width="stretch")
    with st.expander(t("health.amounts_deals", lang, count=i18n.count(a.missing, lang))):
        table(a.deals, "deals_without_amount", "health_amounts_dl")


def duplicates(loaded: health_load.Duplicates | None) -> None:
    """Account pairs with near-identical names, at the similarity chosen."""
    st.subheader(t("health.duplicates", lang))
    if loaded is None:
        st.info(t("health.no_accounts", lang))
        return
    similarity = st.slider(t("health.similarity", lang), min_value=0.80, max_value=1.0, step=0.01,
                           value=similarity_default(), key="health_similarity", help=t("health.similarity_help", lang))
    remember("p_similarity", round(similarity, 2), health_load.SIMILARITY)
    pairs = (loaded if loaded.similarity == similarity else health_load.load_duplicates(ctx, similarity)).pairs
    if pairs.height:
        st.caption(t("health.duplicates_note", lang, pairs=pairs.height))
        table(pairs, "duplicate_accounts", "health_dup_dl")
    else:
        st.success(t("health.no_duplicates", lang))


def unlinked(frame: pl.DataFrame) -> None:
    """References to rows that do not exist (an owner, account or deal id with no row)."""
    st.subheader(t("health.unlinked", lang))
    if frame.height:
        st.caption(t("health.unlinked_note", lang))
        table(frame, "unlinked_references", "health_unlinked_dl")
    else:
        st.success(t("health.no_unlinked", lang))


st.title(t("health.title", lang))
st.caption(t("health.caption", lang))
loaded = health_load.load(ctx, choices())
freshness(loaded.freshness)
completeness(loaded.completeness)
stale_deals(loaded.stale)
slips(loaded)
amounts(loaded.amounts)
duplicates(loaded.duplicates)
unlinked(loaded.unlinked)
