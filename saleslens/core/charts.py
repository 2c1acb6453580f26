"""Plotly figures built from small query results; every axis labelled, money and percent formatted."""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
import hashlib
import inspect
import json
import math
import pickle
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import ParamSpec

# Imported before plotly, and waited for: the warm start (saleslens/warmup.py) imports pandas in a thread, and
# plotly peeks at sys.modules["pandas"] without importing it, so a first page run during that import met a
# half-initialised pandas ("partially initialized module 'pandas' has no attribute 'Series"). An import statement
# waits for another thread's import of the same module to finish; every feature's charts import this module.
import pandas  # noqa: F401
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pyarrow as pa

from saleslens.core import i18n
from saleslens.core.i18n import t

# Set once as the default: passing template= per figure validates and copies the whole template each time
# (about 25 ms of CPU per figure); the figures' JSON is the same.
pio.templates.default = "plotly_white"

P = ParamSpec("P")

PALETTE = {
    "actual": "#2563eb", "target": "#f59e0b", "good": "#16a34a", "bad": "#dc2626",
    "neutral": "#64748b", "previous": "#94a3b8",
}


# ---------------------------------------------------------------------------------------------- built figures, kept
# Building a figure (plotly validating every property) was the largest part of a cached rerun: the same figure of
# the same numbers, built again on every widget change of every session. The chart functions decorated with
# @memoized keep what they built, keyed by the content of their arguments (a frame by a digest of its bytes), the
# language among them, and the reporting currency; so a new snapshot, a filter, a scope, a language or a currency
# that changes any number or word builds a new figure, and nothing else does. Every call returns its own figure
# (a KeptFigure, copied on first use): callers may change it (the review pack retitles one) without touching the
# kept one or another session's, and one only drawn hands st.plotly_chart the kept figure's plain JSON spec.

FIGURE_MEMO_SIZE = 192  # figures kept per process: a few pages' worth for each of a few dozen different views


class Unkeyable(TypeError):
    """An argument whose content the memo cannot key by: the figure is then built on every call."""


def fingerprint(value: object) -> Hashable:
    """A hashable key equal for equal content: types kept apart (1, 1.0 and True differ), frames by a digest."""
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", repr(value))  # repr tells -0.0 from 0.0 and keeps NaN equal to itself
    if isinstance(value, (date, time, timedelta, Decimal, enum.Enum)):  # datetime is a date
        return (type(value).__name__, repr(value))
    if isinstance(value, pl.DataFrame):
        return ("frame", _digest(value))
    if isinstance(value, pl.Series):
        return ("series", _digest(value.to_frame()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(fingerprint(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((fingerprint(k), fingerprint(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, tuple(sorted((fingerprint(v) for v in value), key=repr)))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__,
                tuple((f.name, fingerprint(getattr(value, f.name))) for f in dataclasses.fields(value)))
    raise Unkeyable(type(value).__name__)


_signature = functools.lru_cache(maxsize=None)(inspect.signature)


def _digest(frame: pl.DataFrame) -> tuple[int, str]:
    """A frame's row count and a digest of its Arrow IPC stream (schema and values).

    Written by pyarrow from the frame's Arrow view: Polars' own write_ipc goes through its streaming engine, two to
    four times slower for the small frames charts and tables get (it was 5 ms of a cached rerun at M).
    """
    try:
        table = frame.to_arrow()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    except Exception:  # a column Arrow cannot hold (Python objects): no key
        raise Unkeyable("frame") from None
    return frame.height, hashlib.blake2b(memoryview(sink.getvalue()), digest_size=20).hexdigest()


def copy_figure(fig: go.Figure) -> go.Figure:
    """An independent figure with the same JSON, made without validating again (plotly's figure factories' switch)."""
    if fig.frames:  # no chart here animates; the general (slow) path keeps frames too
        return copy.deepcopy(fig)
    # From the figure's own property dicts, which the constructor deep-copies: to_dict() would turn arrays into
    # base64 blobs that read back differently (fig.data[0].x).
    new = go.Figure({"data": fig._data, "layout": fig._layout}, _validate=False)
    new._validate = True  # later changes of the copy are validated as usual
    return new


def plain_spec(fig: go.Figure) -> bytes:
    """The figure as Streamlit sends it, in plain JSON values (the dict plotly.io.to_json writes, read back), pickled:
    unpickling makes an independent copy in C, ten times faster than copy.deepcopy of the same dict."""
    return pickle.dumps(json.loads(pio.to_json(fig, validate=False)), protocol=5)


class KeptFigure(go.Figure):
    """A caller's copy of a kept figure, made on first use.

    Until anything of it is read or changed, to_dict() (all that st.plotly_chart calls) gives the kept figure's
    plain spec: no deep copy of the whole template, no validation, no Python hook per date in the JSON encoder, for
    the same JSON. Any other use (an attribute, a method, an update) first makes the real copy (copy_figure), so
    the caller owns an independent figure as before and the kept one is never touched.
    """

    @classmethod
    def of(cls, kept: go.Figure, spec: bytes) -> KeptFigure:
        """A not yet copied figure standing for `kept`, whose plain spec is `spec`."""
        fig = object.__new__(cls)
        fig.__dict__["_kept"] = (kept, spec)  # not through BaseFigure.__setattr__: nothing of plotly's exists yet
        return fig

    def __getattr__(self, name: str) -> object:
        """The first use of anything plotly keeps on the figure: copy the kept figure into this one, then read."""
        kept = self.__dict__.get("_kept")
        if kept is None or name.startswith("__"):  # copied already (a real miss), or a protocol probe (copy, pickle)
            raise AttributeError(name)
        self.__dict__["_kept"] = None
        go.Figure.__init__(self, {"data": kept[0]._data, "layout": kept[0]._layout}, _validate=False)
        self._validate = True
        return getattr(self, name)

    def to_dict(self) -> dict:
        """A fresh copy of the kept plain spec while this figure is still untouched; else plotly's."""
        kept = self.__dict__.get("_kept")
        if kept is None:
            return super().to_dict()
        return pickle.loads(kept[1])  # the caller's own dict: plotly.io.to_json pops each trace's "uid" from it


class FigureMemo:
    """A bounded, thread-safe store of built figures (least recently used dropped first), with hit counts."""

    def __init__(self, size: int = FIGURE_MEMO_SIZE) -> None:
        self.size = size
        self._figures: OrderedDict[Hashable, tuple[go.Figure, bytes | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.unkeyed = 0

    def key(self, build: Callable[..., go.Figure], args: tuple, kwargs: dict) -> Hashable:
        """What a call is kept by: the function, its bound arguments' content, the reporting currency."""
        bound = _signature(build).bind(*args, **kwargs)
        bound.apply_defaults()
        return (build.__module__, build.__qualname__, fingerprint(tuple(bound.arguments.items())),
                i18n.currency_symbol())

    def figure(self, build: Callable[..., go.Figure], args: tuple, kwargs: dict) -> go.Figure:
        """A copy of the figure kept for this call, built (and kept) first when there is none."""
        try:
            key = self.key(build, args, kwargs)
        except Unkeyable:
            self.unkeyed += 1
            return build(*args, **kwargs)
        with self._lock:
            kept = self._figures.get(key)
            if kept is not None:
                self._figures.move_to_end(key)
                self.hits += 1
        if kept is None:
            built = build(*args, **kwargs)  # outside the lock: two sessions may build the same figure once each
            # The spec of a copy, not of the built figure: a copy orders some layout keys otherwise, and the JSON
            # (whose hash is the chart's element id) must not depend on whether the caller touched its figure.
            kept = (built, None if built.frames else plain_spec(copy_figure(built)))
            with self._lock:
                self.misses += 1
                self._figures[key] = kept
                while len(self._figures) > self.size:
                    self._figures.popitem(last=False)
        figure, spec = kept
        return copy_figure(figure) if spec is None else KeptFigure.of(figure, spec)

    def clear(self) -> None:
        """Forget every kept figure and the counts."""
        with self._lock:
            self._figures.clear()
            self.hits = self.misses = self.unkeyed = 0

    def __len__(self) -> int:
        return len(self._figures)


FIGURES = FigureMemo()


def memoized(build: Callable[P, go.Figure]) -> Callable[P, go.Figure]:
    """Decorate a chart function: equal arguments (by content) and currency give a copy of the figure kept."""
    if "<locals>" in build.__qualname__ or build.__name__ == "<lambda>":
        raise TypeError("only module-level chart functions can be memoized: a closure's captured values are no key")

    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> go.Figure:
        return FIGURES.figure(build, args, kwargs)

    return wrapper


# More bars than this are unreadable (thousands of reps drew charts 80,000 px tall): a bar chart of members keeps
# the two ends of the list, and the table beside it lists everyone.
MAX_BARS = 30


def ends(frame: pl.DataFrame, limit: int = MAX_BARS) -> pl.DataFrame:
    """The first and last rows of a sorted frame (half each) when it has more than `limit` rows; else all."""
    if frame.height <= limit:
        return frame
    return pl.concat([frame.head(limit - limit // 2), frame.tail(limit // 2)])


def ends_note(shown: int, total: int, lang: str) -> str:
    """The title suffix saying a chart shows only the ends of a longer list."""
    if total <= shown:
        return ""
    return " · " + t("chart.ends", lang, top=shown - shown // 2, bottom=shown // 2, total=i18n.count(total, lang))


# A title longer than this (in columns; a Chinese character is two) wraps: a 390 px phone shows about 42 columns.
TITLE_WIDTH = 40
TITLE_LINE = 22  # px a title line takes (Plotly's 17 px title font)
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # CJK ideographs, punctuation and full-width forms
_TOKENS = re.compile(rf"<[^>]*>|[{_WIDE}]|[^\s<{_WIDE}]+|\s+")  # markup, one wide character, a word, spaces


def _columns(token: str) -> int:
    """Display width of a piece of title: markup none, a full-width (CJK) character two, others one each."""
    if token.startswith("<"):
        return 0
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in token)


def wrap_title(text: str, width: int = TITLE_WIDTH) -> str:
    """A chart title broken into lines (<br>) of at most `width` columns: at spaces, or between Chinese characters."""
    lines, line, used = [], "", 0
    for token in _TOKENS.findall(text):
        if token == "<br>":
            lines.append(line.rstrip())
            line, used = "", 0
            continue
        size = _columns(token)
        if token.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        if used + size > width and line.strip():
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + token, used + size
    lines.append(line.rstrip())
    return "<br>".join(lines)


def base_layout(fig: go.Figure, title: str, x_title: str, y_title: str, y_kind: str = "count") -> go.Figure:
    """Apply the shared look: title (wrapped for narrow screens), legend under it, axis titles, number formats."""
    text = wrap_title(title)
    lines = text.count("<br>") + 1
    x_axis = {"title": {"text": x_title}}
    y_axis = {"title": {"text": y_title}, "tickformat": i18n.tick_format(y_kind), "rangemode": "tozero"}
    if y_kind == "money":
        y_axis["tickprefix"] = i18n.currency_symbol()
    # One validated update instead of three: with a single pair of axes, update_xaxes/update_yaxes (which walk
    # every axis of the layout) set exactly layout.xaxis and layout.yaxis. That was about a quarter of a cached
    # rerun's figure building; subplots keep the general path.
    single = not getattr(fig.layout, "_subplotid_props", ())
    fig.update_layout(
        # The title at the top of the figure and the legend on its own row under it: on a phone a long title and a
        # legend at the top right printed over each other (the cohort funnel).
        # Above the legend row, anchored by its first line: Plotly anchors a multi-line title by one line whatever
        # yanchor says (at "top" the first line left the figure), so the padding makes room for the others.
        title={"text": text, "x": 0, "xanchor": "left", "yref": "paper", "y": 1, "yanchor": "bottom",
               "pad": {"b": 30 + TITLE_LINE * (lines - 1)}},
        margin={"l": 60, "r": 20, "t": 44 + TITLE_LINE * lines, "b": 50},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        height=380,
        hovermode="x unified",
        **({"xaxis": x_axis, "yaxis": y_axis} if single else {}),
    )
    if not single:
        fig.update_xaxes(x_axis)
        fig.update_yaxes(y_axis)
    return fig


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering lo..hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else [0.0]
    raw = (hi - lo) / max(n, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    return [first + i * step for i in range(math.ceil((hi - first) / step - 1e-9) + 1)]


def _axis_values(fig: go.Figure, axis: str) -> list:
    """The data drawn on a layout axis ("xaxis", "yaxis2"): its traces' values, bar bases added, its range."""
    letter, ref = axis[0], axis[0] + axis[5:]
    values: list = []
    for trace in fig.data:
        if (getattr(trace, f"{letter}axis", None) or letter) != ref or getattr(trace, letter, None) is None:
            continue
        data = list(getattr(trace, letter))
        base = getattr(trace, "base", None)
        if base is not None and trace.type == "bar" and (trace.orientation == "h") == (letter == "x"):
            bases = list(base) if isinstance(base, (list, tuple)) else [base] * len(data)
            data += [b + v for b, v in zip(bases, data, strict=False) if b is not None and v is not None]
            data += bases
        values += data
    if fig.layout[axis].range is not None:
        values += list(fig.layout[axis].range)
    return [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def _money_axis(fig: go.Figure, axis: str, lang: str) -> None:
    """Money ticks in the language's units ($10M, $1,000万) at round values: d3's ~s knows no 万 and says G."""
    values = [float(v) for v in _axis_values(fig, axis) if isinstance(v, (int, float))]
    lo, hi = min([0.0, *values]), max([0.0, *values])
    ticks = nice_ticks(lo, hi)
    fig.layout[axis].update(tickmode="array", tickvals=ticks, ticktext=[i18n.money_tick(v, lang) for v in ticks],
                            tickformat=None, tickprefix=None)


def _as_date(value: object) -> date | None:
    """A date from a chart value (date, datetime or ISO text), else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _date_axis(fig: go.Figure, axis: str, lang: str) -> None:
    """Month or day ticks named in the language (2026年6月, 6月30日): Plotly's own month names are English."""
    fmt = fig.layout[axis].tickformat or ""
    days = sorted({d for d in map(_as_date, _axis_values(fig, axis)) if d is not None})
    if not days:
        return
    months = [date(y, m, 1) for y in range(days[0].year, days[-1].year + 1) for m in range(1, 13)
              if days[0].replace(day=1) <= date(y, m, 1) <= days[-1]]
    if "%d" in fmt:  # a quarter of days: the 1st and 15th of each month, or only the 1st for longer spans
        ticks = [d for m in months for d in (m, m.replace(day=15)) if days[0] <= d <= days[-1]]
        ticks = ticks if len(ticks) <= 8 else [d for d in ticks if d.day == 1]
        text = [i18n.short_day(d, lang) for d in ticks]
    else:
        ticks = months if len(months) <= 12 else months[::3]
        text = [i18n.month(d, lang) for d in ticks]
    fig.layout[axis].update(tickmode="array", tickvals=ticks, ticktext=text, tickformat=None, dtick=None)


def localize(fig: go.Figure, lang: str) -> go.Figure:
    """Write a figure's money axes, date axes and hovers the way the language does, in the data's currency.

    Plotly formats ticks with d3 ($10M, Jun 2026) whatever the language, while bars and tiles say 万 and 2026年6月:
    charts call this last so that numbers, units and month names agree everywhere on the page.
    """
    for axis in [name for name in fig.layout.to_plotly_json() if name.startswith(("xaxis", "yaxis"))]:
        fmt = fig.layout[axis].tickformat or ""
        if fmt == "~s":
            _money_axis(fig, axis, lang)
        elif "%b" in fmt:
            _date_axis(fig, axis, lang)
    sym = i18n.currency_symbol()
    for trace in fig.data:
        template = getattr(trace, "hovertemplate", None)
        if isinstance(template, str) and (":$," in template or "|%d %b}" in template):
            # d3's $ is always the dollar and its %b is English: the data's symbol, and dates as ISO days
            trace.hovertemplate = (template.replace("%{y:$,", sym + "%{y:,").replace("%{x:$,", sym + "%{x:,")
                                   .replace("|%d %b}", "|%Y-%m-%d}"))
    return fig


@memoized
def bookings_vs_target(trend: pl.DataFrame, lang: str, cumulative: bool = False) -> go.Figure:
    """Monthly bookings as bars against the target line (or both running totals)."""
    months = trend["month"].to_list()
    actual = trend["cumulative_bookings" if cumulative else "bookings"].to_list()
    target = trend["cumulative_target" if cumulative else "target"].to_list()
    fig = go.Figure()
    fig.add_bar(x=months, y=actual, name=t("chart.bookings", lang), marker_color=PALETTE["actual"],
                hovertemplate="%{y:$,.0f}<extra></extra>")
    fig.add_scatter(x=months, y=target, name=t("chart.target", lang), mode="lines+markers",
                    line={"color": PALETTE["target"], "width": 3, "shape": "hv" if not cumulative else "linear"},
                    hovertemplate="%{y:$,.0f}<extra></extra>")
    title = t("chart.cumulative_title" if cumulative else "chart.trend_title", lang)
    fig = base_layout(fig, title, t("chart.month", lang), t("chart.amount", lang), "money")
    fig.update_xaxes(tickformat="%b %Y", dtick="M1" if len(months) <= 12 else "M3")
    return localize(fig, lang)


@memoized
def kpi_by_group_bar(frame: pl.DataFrame, metric: str, kind: str, group_title: str, lang: str) -> go.Figure:
    """One KPI per group as horizontal bars, largest at the top, values written on the bars."""
    data = frame.filter(pl.col(metric).is_not_null()).sort(metric)
    values = data[metric].to_list()
    fig = go.Figure(
        go.Bar(
            x=values, y=data["group_label"].to_list(), orientation="h", marker_color=PALETTE["actual"],
            text=[i18n.fmt(kind, v, lang) for v in values], textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    title = t("chart.by_group_title", lang, metric=t(f"metric.{metric}", lang), group=group_title)
    fig = base_layout(fig, title, t(f"metric.{metric}", lang), group_title, "count")
    prefix = i18n.currency_symbol() if kind == "money" else ""
    fig.update_xaxes(tickformat=i18n.tick_format(kind), tickprefix=prefix)
    fig.update_yaxes(tickformat="", rangemode="normal")
    fig.update_layout(hovermode="closest", height=max(300, 60 + 28 * len(values)))
    return localize(fig, lang)
