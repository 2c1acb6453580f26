"""Overview: headline KPIs against the previous period and the bookings-vs-target trend.

Thin page: widgets -> saleslens.overview.load (named queries and figures) -> st.*.
"""

from __future__ import annotations

import streamlit as st

from saleslens.core.i18n import t
from saleslens.kpis.registry import GROUP_BY, METRICS
from saleslens.overview import load as overview_load
from ui import context, widgets
from ui import money as ui_money

ctx = context.current()
lang, f = ctx.lang, ctx.filters


def choices() -> overview_load.Choices:
    """The section widgets' values before they draw (the same keys; their defaults when not set yet)."""
    default = overview_load.Choices()
    return overview_load.Choices(cumulative=st.session_state.get("p_cumulative", default.cumulative),
                                 group=st.session_state.get("overview_group", default.group),
                                 metric=st.session_state.get("overview_metric", default.metric))


st.title(t("overview.title", lang))
view = overview_load.load(ctx, choices())
st.caption(view.windows.caption)
ui_money.notes(ctx)

if view.no_deals:
    st.info(t("overview.no_deals", lang))
cols = st.columns(len(overview_load.HEADLINE))
for col, key in zip(cols, overview_load.HEADLINE, strict=True):
    compared = view.windows.compared[key]
    widgets.kpi_tile(col, key, view.row.get(key), view.prev_row.get(key) if compared else None, lang,
                     window=view.windows.tiles[key])
if view.row and view.row.get("target") is None:
    st.caption(t("overview.no_target", lang))

# Fragments: the toggle and the group/metric choices redraw only their own section, not the tiles above.
# On such a rerun the section's widget differs from what load used: the section then loads its own part again.
@st.fragment
def trend_section() -> None:
    """The bookings-vs-target trend, monthly or as running totals."""
    cumulative = st.toggle(t("overview.cumulative", lang), key="p_cumulative")
    fig = view.trend_fig if cumulative == view.cumulative else \
        overview_load.trend_figure(view.trend, lang, cumulative)
    st.plotly_chart(fig, width="stretch")
    st.caption(view.windows.trend)


@st.fragment
def group_section() -> None:
    """Any KPI for each group of one dimension: a bar chart of the top 25 and the whole table."""
    c1, c2 = st.columns(2)
    group = c1.selectbox(t("overview.group_by", lang), [g for g in GROUP_BY if g != "org"],
                         format_func=lambda g: t(f"group.{g}", lang), key="overview_group")
    metric = c2.selectbox(t("overview.metric_to_compare", lang), list(METRICS),
                          format_func=lambda m: t(f"metric.{m}", lang), key="overview_metric")
    g = view.group if (group, metric) == (view.group.group, view.group.metric) else \
        overview_load.load_group(ctx, group, metric)
    if g.fig is not None:
        st.plotly_chart(g.fig, width="stretch")
    st.caption(view.windows.group)
    st.subheader(t("overview.table", lang))
    widgets.dataframe(g.table, lang, column_config=widgets.metric_columns(lang, list(METRICS)))
    widgets.downloads(g.by_group, f"kpis_by_{group}", lang, key="overview_dl")
    widgets.cli_line(g.call, lang)


trend_section()
group_section()
