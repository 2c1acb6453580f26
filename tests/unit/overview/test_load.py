"""saleslens.overview.load on the tiny dataset (tests/fixtures.py, as of 2026-06-30): tiles, trend, group table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from queries.runner import Runner
from saleslens.core.context import RunnerContext as Ctx
from saleslens.core.filters import from_query
from saleslens.overview import load as ol
from tests import fixtures, support

H1 = {"period": "custom", "start": "2026-01-01", "end": "2026-06-30"}



@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    yield from support.open_runner(support.built_store(tmp_path_factory, "overview_load", fixtures.build_store))


def ctx_for(runner: Runner, query: dict[str, str]) -> Ctx:
    return Ctx(runner.snapshot.data_dir, runner.snapshot, runner, from_query(query, runner.snapshot.as_of))


def test_default_choices_on_h1(runner: Runner) -> None:
    view = ol.load(ctx_for(runner, H1), ol.Choices())
    # Won in H1: O1 1,000 + O3 6,000 + O4 2,000 = 9,000; targets 28,500; closed 3 won of 5.
    assert view.row["bookings"] == 9000
    assert view.row["attainment"] == pytest.approx(9000 / 28500)
    assert view.row["win_rate"] == pytest.approx(0.6)
    assert not view.no_deals
    # The trend runs from 12 months before the end (Jul 2025) to June 2026: every won deal is in it.
    assert view.trend["bookings"].sum() == 9000
    assert not view.cumulative
    # By region (the default group), bookings first: East O1 + O3 = 7,000, West O4 2,000.
    g = view.group
    assert (g.group, g.metric) == ("region", "bookings")
    assert g.table.columns[0] == "Region"
    assert dict(zip(g.by_group["group_key"], g.by_group["bookings"], strict=True)) == {"East": 7000, "West": 2000}
    assert view.figures() == [view.trend_fig, g.fig] and g.fig is not None


def test_running_period_compares_the_days_so_far(runner: Runner) -> None:
    # Apr-Sep 2026 seen on Jun 30: bookings so far O3 6,000 + O4 2,000 = 8,000, against the whole period's
    # target (only Apr-Jun have targets: R1 3,000 + R2 6,000 + R3 6,000 = 15,000).
    view = ol.load(ctx_for(runner, {"period": "custom", "start": "2026-04-01", "end": "2026-09-30"}),
                   ol.Choices(cumulative=True))
    assert view.row["bookings"] == 8000
    assert view.row["target"] == 15000
    assert view.row["attainment"] == pytest.approx(8000 / 15000)
    assert (view.current.start.isoformat(), view.current.end.isoformat()) == ("2026-04-01", "2026-06-30")
    assert view.cumulative


def test_group_choice_and_empty_view(runner: Runner) -> None:
    ctx = ctx_for(runner, H1)
    g = ol.load_group(ctx, "rep", "win_rate")
    # H1 won: R2 6,000, R3 2,000, R1 1,000 (bookings descending); the table names its label column.
    assert g.by_group["group_key"].to_list()[:3] == ["R2", "R3", "R1"]
    assert g.table.columns[0] == "Rep" and "group_key" not in g.table.columns
    nobody = ol.load(ctx_for(runner, {**H1, "region": "Atlantis"}), ol.Choices())
    assert nobody.no_deals and nobody.group.fig is None
