"""Ratings: validated, stored in the database as versions per rep and quarter, kept across new snapshots."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import access, store
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import ratings, scorecards
from saleslens.rankings.ratings import Rating, RatingError
from tests import scorecard_fixtures as F

BOSS = access.Actor(access.User("boss", "Boss", "admin"), None)  # an admin may rate anyone


def test_save_and_load(tmp_path: Path) -> None:
    """A rating is stored in the database, trimmed, with its author, time and version, and read back."""
    saved = ratings.save(tmp_path, Rating("A1", "2026q3", {"teamwork": 4, "customer_satisfaction": 5}, " Great. "),
                         who=BOSS)
    assert (saved.quarter, saved.comment, saved.updated_by, saved.version) == ("2026Q3", "Great.", "boss", 1)
    assert saved.updated_at
    loaded = ratings.load(tmp_path, "2026Q3", "A1")
    assert (loaded.scores, loaded.comment, loaded.quarter) == ({"teamwork": 4, "customer_satisfaction": 5},
                                                               "Great.", "2026Q3")
    assert ratings.scores_by_rep(tmp_path, "2026Q3") == {"A1": {"teamwork": 4, "customer_satisfaction": 5}}
    assert ratings.quarters(tmp_path) == ["2026Q3"]
    assert (tmp_path / "saleslens.db").exists() and not (tmp_path / "saved").exists()


def test_saving_again_adds_a_version_and_the_latest_counts(tmp_path: Path) -> None:
    """Ratings are append-only: the first save is kept in the history, the second one counts."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 2}), who=BOSS)
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 5}, "Better"), who=BOSS)
    assert ratings.load(tmp_path, "2026Q3", "A1").scores == {"teamwork": 5}
    assert [(r.version, r.scores) for r in ratings.history(tmp_path, "2026Q3", "A1")] == [
        (1, {"teamwork": 2}), (2, {"teamwork": 5})]


def test_unrated_criteria_are_left_out(tmp_path: Path) -> None:
    """None means not rated: it is not stored as a score."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": None, "process": 3}), who=BOSS)
    assert ratings.load(tmp_path, "2026Q3", "A1").scores == {"process": 3}


@pytest.mark.parametrize(
    ("rating", "message"),
    [
        (Rating("A1", "2026Q3", {"teamwork": 6}), "1 to 5"),
        (Rating("A1", "2026Q3", {"teamwork": 2.5}), "whole number"),
        (Rating("A1", "2026Q3", {"teamwork": True}), "whole number"),
        (Rating("A1", "2026Q3", {"charm": 3}), "unknown rating"),
        (Rating("A1", "2026-07", {"teamwork": 3}), "2026Q3"),
        (Rating("", "2026Q3", {"teamwork": 3}), "needs a rep"),
        (Rating("A1", "2026Q3", {}, "x" * (ratings.MAX_COMMENT + 1)), "limit"),
    ],
)
def test_bad_ratings_are_refused(tmp_path: Path, rating: Rating, message: str) -> None:
    """Each bad rating gets a clear message and nothing is written."""
    with pytest.raises(RatingError, match=message):
        ratings.save(tmp_path, rating, who=BOSS)
    assert ratings.quarters(tmp_path) == []


def test_odd_rep_ids_are_kept_as_they_are(tmp_path: Path) -> None:
    """An id with a slash or spaces is just a value in the database: stored and found again exactly."""
    ratings.save(tmp_path, Rating("../evil id", "2026Q3", {"teamwork": 3}), who=BOSS)
    assert ratings.load(tmp_path, "2026Q3", "../evil id").scores == {"teamwork": 3}
    assert list(ratings.load_quarter(tmp_path, "2026Q3")) == ["../evil id"]


def test_delete_clears_and_keeps_the_history(tmp_path: Path) -> None:
    """Clearing a rating appends an empty version; clearing it twice says there was none."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 4}), who=BOSS)
    assert ratings.delete(tmp_path, "2026Q3", "A1", who=BOSS)
    assert not ratings.delete(tmp_path, "2026Q3", "A1", who=BOSS)
    assert ratings.load(tmp_path, "2026Q3", "A1") is None
    assert ratings.load_quarter(tmp_path, "2026Q3") == {}
    assert [(r.version, r.scores) for r in ratings.history(tmp_path, "2026Q3", "A1")] == [
        (1, {"teamwork": 4}), (2, {})]


def test_ratings_survive_a_new_snapshot(tmp_path: Path) -> None:
    """Ratings live beside the snapshots: publishing a new snapshot keeps them, and the score uses them."""
    F.build_store(tmp_path)
    ratings.save(tmp_path, Rating("C1", "2026Q3", {"customer_satisfaction": 5}, "Customers love her"), who=BOSS)
    store.publish_snapshot(tmp_path, F.AS_OF.replace(day=29), F.tables(), source="re-import")
    store.publish_snapshot(tmp_path, F.AS_OF, F.tables(), source="re-import same day")
    assert len(store.list_snapshots(tmp_path)) == 3
    assert ratings.load(tmp_path, "2026Q3", "C1").comment == "Customers love her"
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        scored = scorecard_data.score_period(runner, *F.Q3, scorecards.default_definition("CSM"), data_dir=tmp_path)
    finally:
        runner.close()
    part = scored.breakdown.filter(pl.col("kpi") == scorecards.rating_key("customer_satisfaction"))
    # The CSM scorecard weighs customer satisfaction 25 of 100, but C1 has no stage moves, so conversion
    # (10) is left out: effective weight 25 / 90; a 5 counts 100 -> contribution 100 x 25 / 90 = 27.78.
    assert part["value"].to_list() == [5.0]
    assert part["normalised"].to_list() == [100.0]
    assert part["effective_weight"].to_list() == [pytest.approx(25 / 90)]
    assert part["contribution"].to_list() == [pytest.approx(2500 / 90)]
