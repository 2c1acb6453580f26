"""What page runs keep between runs (ui/): the sidebar's option labels, the tidying, the reps of a snapshot."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from saleslens.core import access, store
from tests import fixtures
from ui import auth, context, sidebar

OPTIONS = pl.DataFrame({
    "dimension": ["product", "region", "region", "rep", "rep"],
    "value": ["P1", "East", "West", "R2", "R1"],
    "label": ["Widget", "East", "West", "Bo (R2)", "Al (R1)"],
})


def test_option_labels_by_dimension_in_the_frames_order() -> None:
    labels = sidebar.option_labels(OPTIONS)
    assert labels == {"product": {"P1": "Widget"}, "region": {"East": "East", "West": "West"},
                      "rep": {"R2": "Bo (R2)", "R1": "Al (R1)"}}
    assert list(labels["rep"]) == ["R2", "R1"]
    assert sidebar.option_labels(OPTIONS) is labels  # the same frame (the runner's cached one): kept
    fewer = OPTIONS.filter(pl.col("value") != "West")  # another viewer's scope: its own labels
    assert sidebar.option_labels(fewer)["region"] == {"East": "East"}
    assert sidebar.option_labels(OPTIONS.clear()) == {}


def test_tidy_runs_once_a_minute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Path, float]] = []
    now = [1000.0]
    monkeypatch.setattr(store, "clean_leftovers", lambda d, min_age_seconds: calls.append((d, min_age_seconds)))
    monkeypatch.setattr(context.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(context, "_TIDIED", {})
    context.tidy(tmp_path)
    now[0] += 59
    context.tidy(tmp_path)
    assert calls == [(tmp_path, 6 * 3600)]
    context.tidy(tmp_path / "other")  # another data directory has its own minute
    now[0] += 2
    context.tidy(tmp_path)
    assert calls == [(tmp_path, 6 * 3600), (tmp_path / "other", 6 * 3600), (tmp_path, 6 * 3600)]


def test_reps_are_read_once_per_snapshot_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    read: list[str] = []
    original = access.reps_of
    monkeypatch.setattr(access, "reps_of", lambda snap: read.append(snap.id) or original(snap))
    monkeypatch.setattr(auth, "_REPS", type(auth._REPS)())
    first = fixtures.build_store(tmp_path)
    reps = auth._reps(first)
    assert sorted(reps["rep_id"].to_list()) == sorted(fixtures.REPS["rep_id"].to_list())
    assert auth._reps(store.open_snapshot(tmp_path, first.id)) is reps and read == [first.id]
    second = fixtures.build_store(tmp_path)  # another snapshot: its own file
    auth._reps(second)
    assert read == [first.id, second.id]
    # The same folder holding another file (published again under the same id after a removal): read again.
    path = first.root / "reps.parquet"
    fixtures.REPS.head(1).write_parquet(path)
    assert auth._reps(first).height == 1 and read == [first.id, second.id, first.id]


def test_the_acting_users_team_follows_the_newest_reps_file(tmp_path: Path) -> None:
    """access.actor keeps the newest snapshot's reps by file version: a reps file written again is read again."""
    fixtures.build_store(tmp_path)
    ann = access.User("ann", "Ann Able", "rep", "R1")
    assert access.actor(ann, tmp_path).team == "East 1"
    path = store.list_snapshots(tmp_path)[-1].table_path("reps")
    reps = pl.read_parquet(path)
    moved = reps.with_columns(pl.when(pl.col("rep_id") == "R1").then(pl.lit("West 1")).otherwise(pl.col("team"))
                              .alias("team"))
    tmp = path.with_suffix(".new")
    moved.write_parquet(tmp)
    tmp.replace(path)  # a new file, as a restore or a publish writes it
    assert access.actor(ann, tmp_path).team == "West 1"


USERS = '[[user]]\nlogin = "ann"\nname = "Ann"\nrole = "admin"\n'
BOB = '[[user]]\nlogin = "bob"\nname = "Bob"\nrole = "analyst"\n'


def test_the_users_file_is_parsed_again_only_when_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign-in reads the users file on every page run: parsed once per version, an edit seen at once."""
    import os

    path = tmp_path / "users.toml"
    path.write_text(USERS, encoding="utf-8")
    os.utime(path, ns=(10**18, 10**18))  # written long ago (2001): settled
    parsed: list[Path] = []
    original = access._parse_users
    monkeypatch.setattr(access, "_parse_users", lambda p: parsed.append(p) or original(p))
    first = access.load_users(path)
    first.pop("ann")  # a caller changing its dict changes no one else's
    assert set(access.load_users(path)) == {"ann"}
    assert len(parsed) == 1
    path.write_text(USERS + BOB, encoding="utf-8")  # an admin adds a user
    assert set(access.load_users(path)) == {"ann", "bob"}
    path.write_text(BOB, encoding="utf-8")  # and edits again within the same second
    assert set(access.load_users(path)) == {"bob"}
