"""The figures chart functions keep (saleslens.core.charts.memoized): equal content gives the kept figure back,
any change of numbers, words, language, currency, snapshot or filter gives a fresh one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import charts, i18n, store
from saleslens.core.context import RunnerContext
from saleslens.core.filters import from_query
from saleslens.overview import load as ol
from tests import fixtures

H1 = {"period": "custom", "start": "2026-01-01", "end": "2026-06-30"}
BUILT: list[tuple] = []


@charts.memoized
def counted(frame: pl.DataFrame, lang: str, title: str = "T") -> go.Figure:
    """A chart function that notes every build."""
    BUILT.append((frame["v"].to_list(), lang, title))
    return charts.base_layout(go.Figure(go.Bar(x=frame["k"].to_list(), y=frame["v"].to_list())), title, "x", "y",
                              "money")


@pytest.fixture(autouse=True)
def fresh_memo() -> None:
    charts.FIGURES.clear()
    BUILT.clear()
    yield
    charts.FIGURES.clear()
    i18n.use_currency(None)


def frame(*values: float) -> pl.DataFrame:
    return pl.DataFrame({"k": [f"k{i}" for i in range(len(values))], "v": list(values)})


def test_equal_content_builds_once_and_every_call_gets_its_own_copy() -> None:
    first = counted(frame(1.0, 2.0), "en")
    again = counted(frame(1.0, 2.0), "en")  # another frame object, the same content
    assert len(BUILT) == 1
    assert again is not first and again.to_plotly_json() == first.to_plotly_json()
    assert list(again.data[0].y) == [1.0, 2.0]
    again.update_layout(title={"text": "changed"})  # a caller retitling its copy (the review pack does)
    assert counted(frame(1.0, 2.0), "en").layout.title.text == "T"
    assert (charts.FIGURES.hits, charts.FIGURES.misses) == (2, 1)


def test_positional_and_keyword_arguments_are_one_call() -> None:
    counted(frame(1.0), "en")
    counted(frame(1.0), lang="en", title="T")
    assert len(BUILT) == 1


@pytest.mark.parametrize("other", [
    lambda: counted(frame(1.0, 3.0), "en"),  # a number changed (a filter, a new publish)
    lambda: counted(frame(1.0, 2.0), "zh"),  # the language
    lambda: counted(frame(1.0, 2.0), "en", "U"),  # a word
    lambda: counted(frame(1.0, 2.0).with_columns(pl.col("v").cast(pl.Float32)), "en"),  # a type
])
def test_any_change_builds_a_fresh_figure(other) -> None:
    counted(frame(1.0, 2.0), "en")
    other()
    assert len(BUILT) == 2


def test_the_currency_is_part_of_the_key() -> None:
    dollars = counted(frame(1.0), "en")
    i18n.use_currency("EUR")
    euros = counted(frame(1.0), "en")
    assert len(BUILT) == 2
    assert dollars.layout.yaxis.tickprefix == "$" and euros.layout.yaxis.tickprefix == "€"


def test_fingerprints_keep_types_and_values_apart() -> None:
    keys = [charts.fingerprint(v) for v in (1, 1.0, True, "1", 0.0, -0.0, date(2026, 1, 1), [1], (1,), {"a": 1})]
    assert len(set(keys)) == len(keys)
    assert charts.fingerprint(float("nan")) == charts.fingerprint(float("nan"))
    assert charts.fingerprint(frame(1.0)) != charts.fingerprint(frame(1.0).rename({"v": "w"}))
    with pytest.raises(charts.Unkeyable):
        charts.fingerprint(object())


def test_an_argument_without_a_key_is_built_every_time() -> None:
    memo = charts.FigureMemo(size=4)

    def build(thing: object) -> go.Figure:
        BUILT.append(thing)
        return go.Figure()

    memo.figure(build, (object(),), {})
    memo.figure(build, (object(),), {})
    assert len(BUILT) == 2 and memo.unkeyed == 2 and len(memo) == 0


def test_the_memo_keeps_at_most_its_size() -> None:
    memo = charts.FigureMemo(size=2)
    for v in (1.0, 2.0, 3.0, 1.0):
        memo.figure(counted.__wrapped__, (frame(v), "en"), {})
    assert len(memo) == 2
    assert len(BUILT) == 4  # 1.0 was dropped (least recently used) when 3.0 came, so it was built again


def test_a_closure_cannot_be_memoized() -> None:
    with pytest.raises(TypeError):
        charts.memoized(lambda: go.Figure())


# ------------------------------------------------------------------ through a feature's load, on real snapshots


def group_bars(data_dir: Path, query: dict, snapshot_id: str | None = None, lang: str = "en") -> dict:
    """The Overview's KPI-by-region bars (region -> bookings) for a snapshot and filters."""
    runner = Runner(store.open_snapshot(data_dir, snapshot_id))
    try:
        ctx = RunnerContext(data_dir, runner.snapshot, runner, from_query(query, runner.snapshot.as_of), lang)
        fig = ol.load(ctx, ol.Choices()).group.fig
    finally:
        runner.close()
    return dict(zip(fig.data[0].y, fig.data[0].x, strict=True)) | {"_title": fig.layout.title.text}


def test_a_filter_a_snapshot_a_language_and_a_new_publish_each_draw_their_own_numbers(tmp_path: Path) -> None:
    first = fixtures.build_store(tmp_path)
    # Won in H1: East O1 1,000 + O3 6,000 = 7,000; West O4 2,000.
    before = group_bars(tmp_path, H1)
    assert (before["East"], before["West"]) == (7000, 2000)
    assert group_bars(tmp_path, H1) == before  # the kept figure, the same numbers
    assert charts.FIGURES.hits >= 1

    east = group_bars(tmp_path, H1 | {"region": "East"})  # a filter
    assert east.keys() == {"East", "_title"} and east["East"] == 7000

    chinese = group_bars(tmp_path, H1, lang="zh")  # a language: the same numbers, the title in Chinese
    assert (chinese["East"], chinese["West"]) == (7000, 2000) and chinese["_title"] != before["_title"]

    # A new publish of the same day where O4 (West) was worth 5,000.
    deals = fixtures.OPPORTUNITIES.with_columns(
        pl.when(pl.col("opportunity_id") == "O4").then(5000.0).otherwise(pl.col("amount")).alias("amount"))
    fixtures.build_store(tmp_path, opportunities=deals)
    after = group_bars(tmp_path, H1)
    assert (after["East"], after["West"]) == (7000, 5000)
    # Choosing the first snapshot again: its own numbers.
    old = group_bars(tmp_path, H1, snapshot_id=first.id)
    assert (old["East"], old["West"]) == (7000, 2000)
