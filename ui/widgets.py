"""Small Streamlit widgets the pages share: KPI tiles, tables with downloads."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from saleslens.core import access, export, i18n
from saleslens.core.i18n import t
from saleslens.kpis.registry import METRICS
from ui import context


def kpi_tile(col, key: str, value: object, previous: object, lang: str) -> None:
    """One KPI as a metric tile with its change against the previous period and its definition."""
    metric = METRICS[key]
    delta = None
    if metric.format == "percent" and value is not None and previous is not None:
        # A change in a rate is told in points: 40% -> 30% is -10 points, not -25%.
        delta = t("delta.points", lang, points=f"{(float(value) - float(previous)) * 100:+.1f}")
    elif value is not None and previous not in (None, 0):
        change = (float(value) - float(previous)) / abs(float(previous))
        delta = i18n.percent(change, lang)
    col.metric(
        t(metric.label_key, lang),
        i18n.fmt(metric.format, value, lang),
        delta=delta,
        delta_color="normal" if metric.higher_is_better else "inverse",
        help=t(metric.definition_key, lang),
        border=True,
    )


def audited(build: Callable[[], bytes], filename: str) -> Callable[[], bytes]:
    """Wrap an export so that building it (the user clicked download) is written to the audit log."""
    ctx = context.current()

    def run() -> bytes:
        access.audit(ctx.data_dir, ctx.who, "export", f"{filename} (scope {ctx.runner.scope.key})")
        return build()

    return run


def downloads(frame: pl.DataFrame, name: str, lang: str, key: str) -> None:
    """CSV and Excel download buttons for a table; the files are built only when a button is clicked."""
    # Lazy on purpose: building the workbook on every rerun cost 60 ms for a 6-row table and seconds for a
    # 100k-row one (bench/RESULTS.md), while hardly anyone downloads on a given rerun.
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(t("export.csv", lang), audited(lambda: export.to_csv(frame), f"{name}.csv"), f"{name}.csv",
                       "text/csv", key=f"{key}_csv", icon=":material/download:")
    c2.download_button(
        t("export.excel", lang), audited(lambda: export.to_excel({name: frame}), f"{name}.xlsx"), f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
        icon=":material/download:",
    )


# Streamlit's named money formats, by the symbol they print; any other currency gets its symbol as a printf prefix.
_MONEY_PRESETS = {"$": "dollar", "€": "euro", "¥": "yen"}


def money_format() -> str:
    """The table format of money in the data's currency: every money column of every page uses this one."""
    symbol = i18n.currency_symbol()
    # Whole units read better than cents in a table of deals or people.
    return _MONEY_PRESETS.get(symbol) or f"{symbol}%.0f"


def metric_columns(lang: str, keys: list[str]) -> dict:
    """Column configs that show metric columns with their translated labels and formats."""
    formats = {"money": money_format(), "percent": "percent", "count": "localized", "days": "%.0f", "ratio": "%.1fx"}
    config = {}
    for key in keys:
        m = METRICS[key]
        config[key] = st.column_config.NumberColumn(
            t(m.label_key, lang), help=t(m.definition_key, lang), format=formats[m.format]
        )
    return config


def column_config(frame: pl.DataFrame, prefix: str, lang: str, money: set[str] | frozenset[str],
                  percent: set[str] | frozenset[str]) -> dict:
    """Translated headers (keys `<prefix>.<column>`) with money, percent and date formats for a table."""
    config = {}
    for col in frame.columns:
        label = t(f"{prefix}.{col}", lang)
        if col in money:
            config[col] = st.column_config.NumberColumn(label, format=money_format())
        elif col in percent:
            config[col] = st.column_config.NumberColumn(label, format="percent")
        elif frame.schema[col] == pl.Date:
            config[col] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
        else:
            config[col] = st.column_config.Column(label)
    return config


def table(frame: pl.DataFrame, name: str, lang: str, key: str, config: dict) -> None:
    """A table with its column config and its CSV and Excel downloads."""
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)
    downloads(frame, name, lang, key=key)


def keep_choices(prefixes: tuple[str, ...]) -> None:
    """Write back the session state of widgets whose key starts with a prefix, so they outlive a run that does not
    draw them: Streamlit forgets such widgets' state (the choices made on a closed tab)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefixes)]:
        st.session_state[key] = st.session_state[key]
