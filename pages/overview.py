"""Overview: headline KPIs against the previous period and the bookings-vs-target trend."""

from __future__ import annotations

import streamlit as st

from saleslens.core import charts, i18n
from saleslens.core.i18n import t
from saleslens.kpis.registry import GROUP_BY, METRICS, ratio_expr
from saleslens.overview import calls as overview
from ui import context, widgets

HEADLINE = ["bookings", "attainment", "win_rate", "avg_deal_size", "open_pipeline", "cycle_days"]

ctx = context.current()
lang, f = ctx.lang, ctx.filters
st.title(t("overview.title", lang))
# Closed-deal KPIs compare like with like: a running period against the same elapsed days of the previous one.
current, prev = f.compared(ctx.snapshot.as_of)
if f.start and f.end:
    st.caption(t("overview.caption", lang, start=i18n.day(current.start, lang), end=i18n.day(current.end, lang),
                 prev_start=i18n.day(prev.start, lang), prev_end=i18n.day(prev.end, lang)))
else:
    st.caption(t("overview.caption_all_time", lang))

# The tiles' periods and the trend are independent queries: run them side by side.
periods, calls = overview.header_calls(f, ctx.snapshot.as_of)
*frames, trend = ctx.run_many(calls)
kpis = dict(zip(periods, frames, strict=True))
now = kpis["now"]
if "so_far" in kpis:
    # Open pipeline and targets cover the whole period; bookings, win rate and cycle the days so far.
    now = kpis["so_far"].with_columns(now.select("target", "open_deals", "open_pipeline", "weighted_pipeline"))
    now = now.with_columns(ratio_expr("attainment"))
before = kpis.get("before", now.clear())
if "full_before" in kpis and before.height:
    # The previous period's attainment is measured against its whole target, like this period's.
    before = before.with_columns(kpis["full_before"].select("target")).with_columns(ratio_expr("attainment"))
row = now.row(0, named=True) if now.height else {}
prev_row = before.row(0, named=True) if before.height else {}

if not row or (row["deals_won"] + row["deals_lost"] + row["open_deals"]) == 0:
    st.info(t("overview.no_deals", lang))
cols = st.columns(len(HEADLINE))
for col, key in zip(cols, HEADLINE, strict=True):
    widgets.kpi_tile(col, key, row.get(key), prev_row.get(key) if f.start else None, lang)
if row and row.get("target") is None:
    st.caption(t("overview.no_target", lang))

# Fragments: the toggle and the group/metric choices redraw only their own section, not the tiles above.
@st.fragment
def trend_section() -> None:
    """The bookings-vs-target trend, monthly or as running totals."""
    cumulative = st.toggle(t("overview.cumulative", lang), key="p_cumulative")
    st.plotly_chart(charts.bookings_vs_target(trend, lang, cumulative), width="stretch")


@st.fragment
def group_section() -> None:
    """Any KPI for each group of one dimension: a bar chart of the top 25 and the whole table."""
    c1, c2 = st.columns(2)
    group = c1.selectbox(t("overview.group_by", lang), [g for g in GROUP_BY if g != "org"],
                         format_func=lambda g: t(f"group.{g}", lang), key="overview_group")
    metric = c2.selectbox(t("overview.metric_to_compare", lang), list(METRICS),
                          format_func=lambda m: t(f"metric.{m}", lang), key="overview_metric")
    name, params = overview.group_call(f, group)
    by_group = ctx.run(name, **params)
    if by_group.height:
        st.plotly_chart(
            charts.kpi_by_group_bar(by_group.head(25), metric, METRICS[metric].format, t(f"group.{group}", lang),
                                    lang),
            width="stretch",
        )
    st.subheader(t("overview.table", lang))
    table = by_group.drop("group_key").rename({"group_label": t(f"group.{group}", lang)})
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config=widgets.metric_columns(lang, list(METRICS)))
    widgets.downloads(by_group, f"kpis_by_{group}", lang, key="overview_dl")


trend_section()
group_section()
