"""The shared sidebar: language, snapshot and filters, kept in st.query_params for shareable links."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date

import polars as pl
import streamlit as st

from saleslens.core import i18n, store
from saleslens.core.filters import LIST_FILTERS, PERIODS, URL_NAMES, FilterError, Filters, from_query
from saleslens.core.i18n import t


def language() -> str:
    """The language picker; the choice goes into the link as ?lang=."""
    default = st.query_params.get("lang", i18n.settings.get("language"))
    codes = list(i18n.LANGUAGES)
    if st.session_state.get("lang") not in codes:
        st.session_state["lang"] = default if default in codes else "en"
    return st.sidebar.selectbox(
        "Language · 语言", codes, key="lang", format_func=lambda c: i18n.LANGUAGES[c]
    )


def snapshot_label(snap: store.Snapshot, lang: str) -> str:
    """A snapshot's id, saying so when an import rebuilt it from the deals' history (--backfill weekly)."""
    return t("app.snapshot_rebuilt", lang, snapshot=snap.id) if snap.manifest.get("backfilled") else snap.id


def snapshot_picker(snaps: list[store.Snapshot], lang: str) -> str:
    """The snapshot picker, newest first; an unknown id in the link falls back to the newest."""
    ids = [s.id for s in reversed(snaps)]
    labels = {s.id: snapshot_label(s, lang) for s in snaps}
    if st.session_state.get("snapshot") not in ids:
        wanted = st.query_params.get("snapshot", ids[0])
        st.session_state["snapshot"] = wanted if wanted in ids else ids[0]
    return st.sidebar.selectbox(t("filter.snapshot", lang), ids, key="snapshot", format_func=labels.get)


# option_labels' memory: the options frame's id -> (the frame, its labels). The runner hands every run the same
# cached frame, so six filters a run over it became one partition per frame; holding the frame keeps its id
# from being reused by another while it is kept.
_LABELS: OrderedDict[int, tuple[pl.DataFrame, dict[str, dict[str, str]]]] = OrderedDict()
_LABELS_LOCK = threading.Lock()
LABELS_KEPT = 16  # options frames (snapshot x scope) kept


def option_labels(options: pl.DataFrame) -> dict[str, dict[str, str]]:
    """Each filter dimension's options as {value: label} in the frame's order (read-only: shared by runs)."""
    with _LABELS_LOCK:
        kept = _LABELS.get(id(options))
        if kept is not None and kept[0] is options:
            _LABELS.move_to_end(id(options))
            return kept[1]
    labels = {
        str(part["dimension"][0]): dict(zip(part["value"].to_list(), part["label"].to_list(), strict=True))
        for part in options.partition_by("dimension", maintain_order=True)
    } if options.height else {}
    with _LABELS_LOCK:
        _LABELS[id(options)] = (options, labels)
        while len(_LABELS) > LABELS_KEPT:
            _LABELS.popitem(last=False)
    return labels


def _init_from_url(today: date, options: pl.DataFrame, lang: str) -> None:
    """On a session's first run, seed the widgets from the link; bad values are dropped with a note."""
    if "f_period" in st.session_state:
        return
    try:
        f = from_query(dict(st.query_params), today)
    except FilterError as exc:
        st.session_state["_filter_warning"] = t("app.bad_filter", lang, error=str(exc))
        f = from_query({}, today)
    st.session_state["f_period"] = f.period
    st.session_state["f_start"], st.session_state["f_end"] = f.start, f.end
    unknown = []
    labels = option_labels(options)
    for name in LIST_FILTERS:
        allowed = labels.get(URL_NAMES[name], {})
        values = list(getattr(f, name))
        unknown += [v for v in values if v not in allowed]
        st.session_state[f"f_{name}"] = [v for v in values if v in allowed]
    if unknown:
        st.session_state["_filter_warning"] = t(
            "app.bad_filter", lang, error=", ".join(f"'{v}'" for v in unknown[:5])
        )


def filters(today: date, options: pl.DataFrame, lang: str) -> Filters:
    """Render the filter widgets and return the chosen Filters."""
    _init_from_url(today, options, lang)
    sb = st.sidebar
    sb.subheader(t("filter.header", lang))
    period = sb.selectbox(t("filter.period", lang), PERIODS, key="f_period",
                          format_func=lambda p: t(f"period.{p}", lang))
    start = end = None
    if period == "custom":
        c1, c2 = sb.columns(2)
        if st.session_state.get("f_start") is None and st.session_state.get("f_end") is None:
            st.session_state["f_start"], st.session_state["f_end"] = today.replace(month=1, day=1), today
        start = c1.date_input(t("filter.start", lang), key="f_start")
        end = c2.date_input(t("filter.end", lang), key="f_end")
    chosen: dict[str, tuple[str, ...]] = {}
    every = option_labels(options)
    for name in LIST_FILTERS:
        labels = every.get(URL_NAMES[name], {})
        chosen[name] = tuple(
            sb.multiselect(t(f"filter.{name}", lang), list(labels), key=f"f_{name}",
                           format_func=lambda v, labels=labels: labels.get(v, v),
                           placeholder=t("filter.all", lang))
        )
    sb.button(t("filter.reset", lang), on_click=_reset)
    if period == "custom":
        if start and end and start > end:
            start, end = end, start
        return Filters(period="custom", start=start, end=end, **chosen)
    base = from_query({"period": period}, today)
    return Filters(period=period, start=base.start, end=base.end, **chosen)


def _reset() -> None:
    """Clear every filter back to its default."""
    st.session_state["f_period"] = "this_quarter"
    for name in LIST_FILTERS:
        st.session_state[f"f_{name}"] = []


def sync_url(lang: str, snapshot_id: str, latest_id: str, chosen: Filters) -> None:
    """Write the current view into the link so it can be shared."""
    params = {"lang": lang} if lang != "en" else {}
    if snapshot_id != latest_id:
        params["snapshot"] = snapshot_id
    params.update(chosen.to_query())
    # page-owned state, and the local-mode user (ui.auth), so a reload keeps both
    keep = {k: v for k, v in st.query_params.items() if k.startswith("p_") or k == "as"}
    params.update(keep)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
