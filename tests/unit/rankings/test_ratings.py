"""Ratings: validated, stored atomically per rep and quarter, kept across restarts and new snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from queries.runner import Runner
from saleslens.core import store
from saleslens.rankings import data as scorecard_data
from saleslens.rankings import ratings, scorecards
from saleslens.rankings.ratings import Rating, RatingError
from tests import scorecard_fixtures as F


def test_save_and_load(tmp_path: Path) -> None:
    """A rating is written to saved/ratings/<quarter>/<rep>.json and read back."""
    saved = ratings.save(tmp_path, Rating("A1", "2026q3", {"teamwork": 4, "customer_satisfaction": 5}, " Great. "))
    path = tmp_path / "saved" / "ratings" / "2026Q3" / "A1.json"
    assert path.exists()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["scores"] == {"teamwork": 4, "customer_satisfaction": 5}
    assert doc["comment"] == "Great."  # trimmed
    assert saved.updated_at
    loaded = ratings.load(tmp_path, "2026Q3", "A1")
    assert (loaded.scores, loaded.comment, loaded.quarter) == ({"teamwork": 4, "customer_satisfaction": 5},
                                                               "Great.", "2026Q3")
    assert ratings.scores_by_rep(tmp_path, "2026Q3") == {"A1": {"teamwork": 4, "customer_satisfaction": 5}}
    assert ratings.quarters(tmp_path) == ["2026Q3"]


def test_saving_again_replaces_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    """A second save overwrites the first in one step; no temporary file is left behind."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 2}))
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 5}, "Better"))
    folder = tmp_path / "saved" / "ratings" / "2026Q3"
    assert [p.name for p in folder.iterdir()] == ["A1.json"]
    assert ratings.load(tmp_path, "2026Q3", "A1").scores == {"teamwork": 5}


def test_unrated_criteria_are_left_out(tmp_path: Path) -> None:
    """None means not rated: it is not stored as a score."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": None, "process": 3}))
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
        ratings.save(tmp_path, rating)
    assert not (tmp_path / "saved").exists()


def test_odd_rep_ids_get_safe_file_names(tmp_path: Path) -> None:
    """An id with a slash or spaces cannot escape the folder; it is stored under a hashed name."""
    ratings.save(tmp_path, Rating("../evil id", "2026Q3", {"teamwork": 3}))
    files = list((tmp_path / "saved" / "ratings" / "2026Q3").iterdir())
    assert len(files) == 1 and files[0].name.startswith("x") and files[0].suffix == ".json"
    assert ratings.load(tmp_path, "2026Q3", "../evil id").scores == {"teamwork": 3}


def test_a_corrupt_file_is_skipped(tmp_path: Path) -> None:
    """A damaged file does not hide the other ratings of the quarter."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 4}))
    (tmp_path / "saved" / "ratings" / "2026Q3" / "A2.json").write_text("{not json", encoding="utf-8")
    assert list(ratings.load_quarter(tmp_path, "2026Q3")) == ["A1"]


def test_delete(tmp_path: Path) -> None:
    """A rating can be removed; removing it twice says there was none."""
    ratings.save(tmp_path, Rating("A1", "2026Q3", {"teamwork": 4}))
    assert ratings.delete(tmp_path, "2026Q3", "A1")
    assert not ratings.delete(tmp_path, "2026Q3", "A1")
    assert ratings.load(tmp_path, "2026Q3", "A1") is None


def test_ratings_survive_a_new_snapshot(tmp_path: Path) -> None:
    """Ratings live beside the snapshots: publishing a new snapshot keeps them, and the score uses them."""
    F.build_store(tmp_path)
    ratings.save(tmp_path, Rating("C1", "2026Q3", {"customer_satisfaction": 5}, "Customers love her"))
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
