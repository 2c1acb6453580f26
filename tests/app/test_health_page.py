"""AppTest of the Data health page on the tiny data, on weekly snapshots and on the imported Maven export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from saleslens import ingest
from saleslens.core import store
from tests import fixtures
from tests.ingest_cases import MAVEN
from tests.support import texts, use_data

PAGE = "pages/health.py"


def _open(app: Callable[..., AppTest], **query: str) -> AppTest:
    at = app(**query)
    at.switch_page(PAGE).run()
    assert not at.exception, texts(at.exception)
    assert not at.error, texts(at.error)
    return at


def tiles(at: AppTest) -> dict[str, str]:
    """The metric tiles, label -> value."""
    return {m.label: m.value for m in at.metric}


def test_tiny_data(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """Freshness, stale deals and the checks that find nothing, worked out from tests/fixtures.py."""
    at = _open(app)
    shown = tiles(at)
    assert shown["Latest snapshot"] == "30 Jun 2026"
    assert shown["Snapshots"] == "1"
    # Open deals O5 (4,000, created 1 Apr) and O6 (1,000, created 1 May) have no activity: 90 and 60 days.
    assert shown["Stale open deals"] == "2"
    assert shown["Their amount"] == "$5.0K"
    assert "Needs two or more snapshots" in texts(at.info)
    successes = texts(at.success)
    assert "Every deal has an amount other than 0." in successes  # item 11: deals at 0 are checked too
    assert "No two accounts look alike." in successes
    assert "Every reference links to a row." in successes
    assert len(at.get("plotly_chart")) >= 2  # completeness and stale deals per owner


def test_stale_days_slider(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """Raising the threshold to 61 days leaves O5 only (90 days silent), and the link remembers it."""
    at = _open(app)
    at.slider(key="health_stale_days").set_value(61).run()
    assert not at.exception
    assert tiles(at)["Stale open deals"] == "1"
    assert tiles(at)["Their amount"] == "$4.0K"
    assert at.query_params["p_stale_days"] == "61"


def test_pushed_close_dates_across_weekly_snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    app: Callable[..., AppTest]) -> None:
    """Three weekly snapshots where O5's expected close moves 1 Jul -> 8 Jul -> 15 Jul: it is listed, pushed twice."""
    for as_of, o5 in ((date(2026, 6, 16), date(2026, 7, 1)), (date(2026, 6, 23), date(2026, 7, 8)),
                      (date(2026, 6, 30), date(2026, 7, 15))):
        opps = fixtures.OPPORTUNITIES.with_columns(
            pl.when(pl.col("opportunity_id") == "O5").then(pl.lit(o5)).otherwise(pl.col("expected_close_date"))
            .alias("expected_close_date")
        )
        store.publish_snapshot(tmp_path, as_of, {"stages": fixtures.STAGES, "reps": fixtures.REPS,
                                                 "accounts": fixtures.ACCOUNTS, "opportunities": opps}, "tests")
    use_data(monkeypatch, tmp_path)
    at = _open(app)
    assert tiles(at)["Snapshots"] == "3"
    assert "Compares each deal's expected close date across 3 snapshots" in texts(at.caption)
    slips = next(df.value for df in at.dataframe if "pushes" in df.value.columns)
    assert slips[["opportunity_id", "pushes", "days_pushed"]].values.tolist() == [["O5", 2, 14]]


@pytest.mark.skipif(not MAVEN.exists(), reason="the Maven export is not there")
def test_maven_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: Callable[..., AppTest]) -> None:
    """The Maven export has no activities and no amounts on open deals; deals without an account are listed."""
    ingest.run_import(MAVEN, "maven", tmp_path)
    use_data(monkeypatch, tmp_path)
    at = _open(app)
    assert "no activity history" in texts(at.info)
    assert "2,089 of 8,800 deals have no amount" in texts(at.caption)
    unlinked = next(df.value for df in at.dataframe if "relation" in df.value.columns)
    assert unlinked[["relation", "not_found", "empty"]].values.tolist() == [
        ["opportunities.account_id → accounts", 0, 1425]
    ]


def test_in_chinese(tiny_data: Path, app: Callable[..., AppTest]) -> None:
    """The page renders in Chinese."""
    at = _open(app, lang="zh")
    assert at.title[0].value == "数据健康"
    assert "停滞的未关闭交易" in tiles(at)
