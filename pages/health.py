"""Data health: how fresh and complete the data is, and the deals and accounts that need a clean-up.

Thin page: named queries (queries/health_*) -> saleslens.health.charts -> st.*. The organisation filters
of the sidebar (region, team, rep) apply to the deal lists; the period does not: health is about now.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from saleslens.core import i18n, store
from saleslens.core.i18n import t
from saleslens.health import charts as charts_health
from ui import context, widgets

FRESH_DAYS = 7  # a snapshot older than a week is flagged as stale
MONEY_COLS = {"amount"}
PERCENT_COLS = {"completeness", "share_without"}

ctx = context.current()
lang, f = ctx.lang, ctx.filters
org = f.org_params()
snap = ctx.snapshot


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


st.title(t("health.title", lang))
st.caption(t("health.caption", lang))

# ----------------------------------------------------------------------------- freshness
st.subheader(t("health.freshness", lang))
snaps = store.list_snapshots(ctx.data_dir)
ids = [s.id for s in snaps]
latest = snaps[-1] if snaps else snap
history = ids[: ids.index(snap.id) + 1] if snap.id in ids else [snap.id]
age = (date.today() - latest.as_of).days
c1, c2, c3 = st.columns(3)
c1.metric(t("health.latest_snapshot", lang), i18n.day(latest.as_of, lang), border=True,
          help=t("health.latest_snapshot_help", lang, created=latest.manifest.get("created_at", "–"),
                 source=latest.manifest.get("source", "–")))
c2.metric(t("health.snapshot_age", lang), i18n.days(age, lang), border=True, help=t("health.snapshot_age_help", lang))
c3.metric(t("health.snapshot_count", lang), i18n.count(len(snaps), lang), border=True,
          help=t("health.snapshot_count_help", lang))
if age > FRESH_DAYS:
    st.warning(t("health.stale_snapshot", lang, days=age))
else:
    st.success(t("health.fresh_snapshot", lang, days=age))
if snap.id != latest.id:
    st.info(t("health.older_snapshot", lang, snapshot=snap.id, latest=latest.id))
fresh = ctx.run("health_freshness_by_table")
if fresh.height:
    table(fresh, "freshness", "health_fresh_dl")

# ----------------------------------------------------------------------------- completeness
st.subheader(t("health.completeness", lang))
complete = ctx.run("health_completeness_by_field")
present = list(dict.fromkeys(complete["table_name"].to_list()))
if not present:
    st.info(t("health.no_rows", lang))
else:
    default = present.index("opportunities") if "opportunities" in present else 0
    chosen = st.selectbox(t("health.pick_table", lang), present, index=default, key="health_table",
                          format_func=lambda name: t(f"health.table.{name}", lang))
    part = complete.filter(pl.col("table_name") == chosen)
    st.plotly_chart(charts_health.completeness(part, lang), width="stretch")
    gaps = complete.filter(pl.col("completeness") < 1)
    st.caption(t("health.completeness_note", lang, fields=gaps.height, total=complete.height))
    with st.expander(t("health.all_fields", lang)):
        table(complete, "completeness", "health_complete_dl")

# ----------------------------------------------------------------------------- stale deals
st.subheader(t("health.stale", lang))
days = st.slider(t("health.stale_days", lang), min_value=7, max_value=180, step=1,
                 value=int(min(max(url_number("p_stale_days", 30, int), 7), 180)), key="health_stale_days",
                 help=t("health.stale_days_help", lang))
remember("p_stale_days", days, 30)
if not snap.has("activities"):
    st.info(t("health.no_activities", lang))
else:
    stale = ctx.run("health_stale_deals_by_deal", days=days, **org)
    open_deals = ctx.run("health_missing_amounts_by_stage", **org).filter(pl.col("status") == "open")["deals"].sum()
    s1, s2 = st.columns(2)
    s1.metric(t("health.stale_count", lang), i18n.count(stale.height, lang), border=True,
              help=t("health.stale_count_help", lang, days=days, open=i18n.count(open_deals, lang)))
    s2.metric(t("health.stale_amount", lang), i18n.money(stale["amount"].sum(), lang), border=True)
    if stale.height:
        st.plotly_chart(charts_health.stale_by_owner(stale, lang, days), width="stretch")
        table(stale.drop("owner_id"), "stale_deals", "health_stale_dl")
    else:
        st.success(t("health.no_stale", lang, days=days))

# ----------------------------------------------------------------------------- pushed close dates
st.subheader(t("health.slips", lang))
if len(history) < 2:
    st.info(t("health.one_snapshot", lang))
else:
    slipped = ctx.run("health_close_date_slips_by_deal", min_pushes=2, **org)
    st.caption(t("health.slips_note", lang, snapshots=len(history)))
    if slipped.height:
        st.plotly_chart(charts_health.slips(slipped, lang), width="stretch")
        table(slipped.drop("owner_id"), "pushed_close_dates", "health_slips_dl")
    else:
        st.success(t("health.no_slips", lang))

# ----------------------------------------------------------------------------- missing amounts
st.subheader(t("health.amounts", lang))
by_stage = ctx.run("health_missing_amounts_by_stage", **org)
missing = int(by_stage["without_amount"].sum()) if by_stage.height else 0
if not missing:
    st.success(t("health.no_missing_amounts", lang))
else:
    st.caption(t("health.amounts_note", lang, missing=i18n.count(missing, lang),
                 total=i18n.count(by_stage["deals"].sum(), lang)))
    st.plotly_chart(charts_health.missing_amounts(by_stage, lang), width="stretch")
    with st.expander(t("health.amounts_deals", lang, count=i18n.count(missing, lang))):
        table(ctx.run("health_missing_amounts_by_deal", **org).drop("owner_id"), "deals_without_amount",
              "health_amounts_dl")

# ----------------------------------------------------------------------------- duplicate accounts
st.subheader(t("health.duplicates", lang))
if not snap.has("accounts"):
    st.info(t("health.no_accounts", lang))
else:
    similarity = st.slider(t("health.similarity", lang), min_value=0.80, max_value=1.0, step=0.01,
                           value=min(max(url_number("p_similarity", 0.93, float), 0.8), 1.0),
                           key="health_similarity", help=t("health.similarity_help", lang))
    remember("p_similarity", round(similarity, 2), 0.93)
    pairs = ctx.run("health_duplicate_accounts_by_pair", min_similarity=similarity)
    if pairs.height:
        st.caption(t("health.duplicates_note", lang, pairs=pairs.height))
        table(pairs, "duplicate_accounts", "health_dup_dl")
    else:
        st.success(t("health.no_duplicates", lang))

# ----------------------------------------------------------------------------- unlinked references
st.subheader(t("health.unlinked", lang))
unlinked = ctx.run("health_unlinked_by_relation")
if unlinked.height:
    st.caption(t("health.unlinked_note", lang))
    table(unlinked, "unlinked_references", "health_unlinked_dl")
else:
    st.success(t("health.no_unlinked", lang))
