"""The Polars baseline computes what the page's SQL computes, so the ratio compares like with like."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bench import baseline_polars, pages
from queries.runner import Runner
from saleslens.core import store
from saleslens.core.filters import add_months
from tests import support


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S demo, built once for this module."""
    return support.demo_copy(tmp_path_factory, "polars_s")


@pytest.fixture(scope="module")
def runner(demo: Path) -> Runner:
    """A runner over the latest S snapshot."""
    r = Runner(store.open_snapshot(demo))
    yield r
    r.close()


@pytest.fixture(scope="module")
def data(demo: Path) -> baseline_polars.Data:
    """The S demo loaded into Polars frames once."""
    return baseline_polars.load(demo)


@pytest.mark.parametrize("by", ["org", "region", "team", "rep", "segment"])
def test_polars_kpis_match_the_sql(by: str, data: baseline_polars.Data, runner: Runner) -> None:
    for change in pages.filter_changes(runner.snapshot):
        f = pages.filters_for(change, runner.snapshot.as_of)
        sql = runner.run("kpis_by_group", by=by, **f.params())
        ours = baseline_polars.kpis_by_group(data, f, by)
        assert ours["group_key"].to_list() == sql["group_key"].to_list(), change.name
        assert ours["group_label"].to_list() == sql["group_label"].to_list(), change.name
        for col in ("bookings", "target", "attainment", "deals_won", "deals_lost", "open_deals", "open_pipeline",
                    "weighted_pipeline", "activities", "win_rate", "avg_deal_size", "cycle_days",
                    "pipeline_coverage"):
            assert ours[col].cast(pl.Float64).round(6).to_list() == sql[col].cast(pl.Float64).round(6).to_list(), \
                f"{change.name}: {col}"


def test_polars_trend_matches_the_sql(data: baseline_polars.Data, runner: Runner) -> None:
    for change in pages.filter_changes(runner.snapshot):
        f = pages.filters_for(change, runner.snapshot.as_of)
        start = add_months(f.end, -11)
        sql = runner.run("bookings_by_month", start=start, end=f.end,
                         **{k: v for k, v in f.params().items() if k not in ("start", "end")})
        ours = baseline_polars.bookings_by_month(data, f, start, f.end)
        assert ours.select(sql.columns).cast(sql.schema).equals(sql), change.name


def test_polars_overview_draws_the_page_figures(demo: Path) -> None:
    result = baseline_polars.measure(demo, rounds=1)
    assert len(result["samples"]["overview"]) == 5  # one per filter change
    assert result["rows"]["deals"] > 0 and result["peak_rss_mb"] >= result["rss_start_mb"]


def test_interleaved_ratio_is_the_median_of_per_view_ratios() -> None:
    """Worked by hand: per-view ratios 2, 4 and 10 -> 4 (the median), not 16/4.5 of the totals."""
    from bench import baseline_same_run

    assert baseline_same_run.ratio([0.2, 0.4, 5.0], [0.1, 0.1, 0.5]) == 4.0
