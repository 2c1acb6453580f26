"""Small Streamlit widgets the pages share: KPI tiles, tables with downloads."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit import dataframe_util

from saleslens.core import access, charts, commands, export, i18n, pymap
from saleslens.core.context import Call
from saleslens.core.i18n import t
from saleslens.kpis.registry import METRICS
from ui import context

# The app's own CSS (ui/page.css): Streamlit has no option for these.
PAGE_CSS = Path(__file__).with_name("page.css")


def page_style() -> None:
    """Add the app's CSS to the page (once per run, before any page draws)."""
    st.html(f"<style>{_css()}</style>")


@cache
def _css() -> str:
    """The CSS file, read once per process."""
    return PAGE_CSS.read_text(encoding="utf-8")


def kpi_tile(col, key: str, value: object, previous: object, lang: str, window: str | None = None) -> None:
    """One KPI as a metric tile with its change against the previous period and its definition; under it, the
    window its value covers (and the one its change compares with), so no tile leaves its days to guesswork."""
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
        i18n.fmt_short(metric.format, value, lang),  # three significant digits: a tile never cuts its number
        delta=delta,
        delta_color="normal" if metric.higher_is_better else "inverse",
        help=t(metric.definition_key, lang) + (f"\n\n{window}" if window else ""),
        border=True,
    )
    if window:
        col.caption(window)


# A download must not rerun the page: the rerun dropped the other buttons' prepared files, and a second download
# right after the first (the review pack's PDF after its HTML) failed with MediaFileStorageError.
NO_RERUN = "ignore"


def audited(build: Callable[[], bytes], filename: str) -> Callable[[], bytes]:
    """Wrap an export so that building it (the user clicked download) is written to the audit log."""
    ctx = context.current()

    def run() -> bytes:
        scope = ctx.runner.scope.key if ctx.runner else "-"
        access.audit(ctx.data_dir, ctx.who, "export", f"{filename} (scope {scope})")
        try:
            return build()
        except Exception:
            # Streamlit answers the browser with an error for a failed build; the log says which file and why.
            logging.getLogger("saleslens.export").exception("building the download %s failed", filename)
            raise

    return run


def downloads(frame: pl.DataFrame, name: str, lang: str, key: str) -> None:
    """CSV and Excel download buttons for a table; the files are built only when a button is clicked."""
    # Lazy on purpose: building the workbook on every rerun cost 60 ms for a 6-row table and seconds for a
    # 100k-row one (bench/RESULTS.md), while hardly anyone downloads on a given rerun.
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(t("export.csv", lang), audited(lambda: export.to_csv(frame), f"{name}.csv"), f"{name}.csv",
                       "text/csv", key=f"{key}_csv", icon=":material/download:", on_click=NO_RERUN)
    c2.download_button(
        t("export.excel", lang), audited(lambda: export.to_excel({name: frame}), f"{name}.xlsx"), f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
        icon=":material/download:", on_click=NO_RERUN,
    )


# Streamlit's named money formats, by the symbol they print; any other currency gets its symbol as a printf prefix.
_MONEY_PRESETS = {"$": "dollar", "€": "euro", "¥": "yen"}


def money_format() -> str:
    """The table format of money in the data's currency: every money column of every page uses this one."""
    symbol = i18n.currency_symbol()
    # Whole units read better than cents in a table of deals or people.
    return _MONEY_PRESETS.get(symbol) or f"{symbol}%.0f"


def money_column(label: str, **options: object) -> st.column_config.NumberColumn:
    """A money column in the data's currency, in whole units: "$121,881", not "$121,880.64" (step sets the
    display precision of Streamlit's named formats)."""
    return st.column_config.NumberColumn(label, format=money_format(), step=1, **options)


def metric_columns(lang: str, keys: list[str]) -> dict:
    """Column configs that show metric columns with their translated labels and formats."""
    formats = {"money": money_format(), "percent": "percent", "count": "localized", "days": "%.0f", "ratio": "%.1fx"}
    config = {}
    for key in keys:
        m = METRICS[key]
        if m.format == "money":
            config[key] = money_column(t(m.label_key, lang), help=t(m.definition_key, lang))
            continue
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
            config[col] = money_column(label)
        elif col in percent:
            config[col] = st.column_config.NumberColumn(label, format="percent")
        elif frame.schema[col] == pl.Date:
            config[col] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
        else:
            config[col] = st.column_config.Column(label)
    return config


MISSING = "–"


def readable(frame: pl.DataFrame, config: dict | None = None, lang: str = "en") -> tuple[pl.DataFrame, dict]:
    """A table and its column config for the screen: a date column with a missing cell becomes text, each date as the
    language writes it (2 Jan 2026, 2026年1月2日); every other column is left as it is.

    Number and text columns keep their type: st.dataframe's placeholder (see `dataframe`) shows their missing cells
    as "–", so a number column with a gap still sorts as numbers (as text, "10" came before "9"). A date column has
    no language-aware format in Streamlit, and without a config it shows "2026-01-02 00:00:00".
    """
    config = dict(config or {})
    if not isinstance(frame, pl.DataFrame):
        return frame, config  # a pandas frame or a list from a caller: drawn as given
    changes = []
    for col, dtype in frame.schema.items():
        if dtype not in (pl.Date, pl.Datetime) or frame[col].null_count() == 0:
            continue
        # Formatted here, not with map_elements: a Python function inside Polars' pool deadlocks the server
        # (saleslens/core/pymap.py).
        changes.append(pymap.map_values(frame[col], lambda v: i18n.day(v, lang), pl.String))
        conf = config.get(col)
        label = conf.get("label") if isinstance(conf, dict) else conf if isinstance(conf, str) else None
        help_text = conf.get("help") if isinstance(conf, dict) else None
        config[col] = st.column_config.TextColumn(label, help=help_text)
    return (frame.with_columns(changes) if changes else frame), config


def dataframe(frame: pl.DataFrame, lang: str, column_config: dict | None = None, **options: object) -> None:
    """Every table of the app goes through here: st.dataframe with missing cells shown as "–", no index."""
    shown, config = readable(frame, column_config, lang)
    options.setdefault("hide_index", True)
    options.setdefault("width", "stretch")
    # Streamlit 1.67's placeholder: the text of a missing cell in a column of any type (Streamlit printed "None").
    options.setdefault("placeholder", MISSING)
    st.dataframe(arrow_table(shown, options), column_config=config, **options)


# The Arrow tables st.dataframe drew, by the content of the frame: it converts every Polars frame to pandas and that to
# Arrow on every rerun (11 ms of a cached rerun at M), for the same table as last time. A frame is keyed by a digest
# of its schema and values (saleslens.core.charts.fingerprint), so a changed number, column, type or language (dates
# are written out before this) is a new table.
ARROW_KEPT = 256  # tables kept per process, and at most ARROW_KEPT_BYTES of them (least recently drawn go first)
ARROW_KEPT_BYTES = 64 * 1024 * 1024
ARROW_KEPT_MAX_ROWS = 20_000  # larger tables go as they are (far below Streamlit's 150,000-row lazy threshold)
_ARROW: OrderedDict[Hashable, object] = OrderedDict()
_ARROW_LOCK = threading.Lock()


def arrow_table(frame: object, options: dict) -> object:
    """The Arrow table st.dataframe would make of a Polars frame, kept by content; anything else as it is.

    Made by Streamlit's own two steps (Polars -> pandas -> Arrow), so the bytes sent are the same. Only for a plain
    display table: with a selection, a lazy request or hide_index left to Streamlit, st.dataframe treats a Polars
    frame and an Arrow table differently, so those go as they are.
    """
    if (not isinstance(frame, pl.DataFrame) or frame.height > ARROW_KEPT_MAX_ROWS
            or options.get("on_select", "ignore") != "ignore" or "lazy" in options
            or not isinstance(options.get("hide_index"), bool)):
        return frame
    try:
        key = charts.fingerprint(frame)
    except charts.Unkeyable:
        return frame
    with _ARROW_LOCK:
        table = _ARROW.get(key)
        if table is not None:
            _ARROW.move_to_end(key)
            return table
    table = dataframe_util.convert_pandas_df_to_arrow_table(
        dataframe_util.convert_anything_to_pandas_df(frame, ensure_copy=False))
    with _ARROW_LOCK:
        _ARROW[key] = table
        while len(_ARROW) > 1 and (len(_ARROW) > ARROW_KEPT
                                   or sum(t.nbytes for t in _ARROW.values()) > ARROW_KEPT_BYTES):
            _ARROW.popitem(last=False)
    return table


def table(frame: pl.DataFrame, name: str, lang: str, key: str, config: dict, call: Call | None = None) -> None:
    """A table with its column config and its CSV and Excel downloads; with the named query that printed it, the
    command line that prints it again."""
    dataframe(frame, lang, config)
    downloads(frame, name, lang, key=key)
    if call is not None:
        cli_line(call, lang)


def cli_line(call: Call, lang: str) -> None:
    """Under a table: the `python -m saleslens query` command that prints the same rows (the page's window,
    filters, snapshot and viewer), in a code block with a copy button."""
    ctx = context.current()
    name, params = call
    command = commands.query_command(name, params, ctx.snapshot.id if ctx.snapshot else None,
                                     commands.login_for(ctx.grant))
    st.caption(t("cli.line", lang))
    st.code(command, language="bash", wrap_lines=True)


def keep_choices(prefixes: tuple[str, ...]) -> None:
    """Write back the session state of widgets whose key starts with a prefix, so they outlive a run that does not
    draw them: Streamlit forgets such widgets' state (the choices made on a closed tab)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefixes)]:
        st.session_state[key] = st.session_state[key]
