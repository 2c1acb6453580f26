"""A dataset of closed deals only (issue 16 item 8): the Funnel shows what the data has and says what is missing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import from_query
from saleslens.funnel import load as fl
from tests import fixtures

Q2 = {"period": "custom", "start": "2026-04-01", "end": "2026-06-30"}
WON_LOST = pl.DataFrame({"stage": ["Won", "Lost"], "position": [1, 2], "is_won": [True, False],
                         "is_lost": [False, True], "probability": [1.0, 0.0]})


def _ctx(path: Path, stages: pl.DataFrame, opps: pl.DataFrame) -> tuple[Ctx, Runner]:
    store.publish_snapshot(path, fixtures.AS_OF, {"stages": stages, "reps": fixtures.REPS, "opportunities": opps},
                           source="tests")
    r = Runner(store.open_snapshot(path))
    return Ctx(path, r.snapshot, r, from_query(Q2, r.snapshot.as_of)), r


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_won_deals_without_open_stages(tmp_path: Path, lang: str) -> None:
    """Only Won and Lost stages and the fixture's won deals; in Q2 O3 (6,000, closed 15 Apr) and O4 (2,000, 1 May)
    were won (O1 closed in February): no stage chart, but the outcome rows hold them, and one line says the open
    stages are missing."""
    opps = fixtures.OPPORTUNITIES.filter(pl.col("status") == "won").with_columns(pl.lit("Won").alias("stage"))
    ctx, r = _ctx(tmp_path, WON_LOST, opps)
    try:
        s = fl.load_stages(Ctx(ctx.data_dir, ctx.snapshot, ctx.runner, ctx.filters, lang=lang))
        won = s.current.filter(pl.col("kind") == "won").row(0, named=True)
        assert (won["deals"], won["amount"]) == (2, 8000.0)
        assert s.current_fig is None
        expected = "no open stage" if lang == "en" else "没有进行中的阶段"
        assert s.note is not None and expected in s.note
    finally:
        r.close()


def test_open_stages_but_no_open_deal(tmp_path: Path) -> None:
    """The fixture's stage list with its 5 closed deals only: the funnel draws, and says no deal is open."""
    opps = fixtures.OPPORTUNITIES.filter(pl.col("status") != "open")
    ctx, r = _ctx(tmp_path, fixtures.STAGES, opps)
    try:
        s = fl.load_stages(ctx)
        assert s.current_fig is not None
        assert s.note is not None and s.note.startswith("No deal in play is open")
    finally:
        r.close()


def test_nothing_missing_with_open_deals(tmp_path: Path) -> None:
    """The whole fixture (2 open deals) needs no note."""
    ctx, r = _ctx(tmp_path, fixtures.STAGES, fixtures.OPPORTUNITIES)
    try:
        assert fl.load_stages(ctx).note is None
    finally:
        r.close()
