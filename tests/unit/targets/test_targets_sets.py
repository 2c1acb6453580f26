"""Saved target sets: atomic save, load, list, merge, delete, and refusal of bad names and rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from saleslens.targets import sets as ts

D = date


def rows(*items: tuple) -> pl.DataFrame:
    """Target rows from (owner_type, owner_id, start, end, value) tuples, metric bookings."""
    return pl.DataFrame([{"owner_type": o, "owner_id": i, "period_start": s, "period_end": e, "metric": "bookings",
                          "value": v} for o, i, s, e, v in items])


PLAN = rows(("rep", "R1", D(2027, 1, 1), D(2027, 1, 31), 1000.0), ("rep", "R2", D(2027, 1, 1), D(2027, 1, 31), 2000.0))


def test_save_load_and_list(tmp_path: Path) -> None:
    saved = ts.save(tmp_path, "FY2027 plan", PLAN, "first draft")
    assert saved.meta["rows"] == 2 and saved.meta["total"] == {"bookings": 3000.0}
    loaded = ts.load(tmp_path, "FY2027 plan")
    assert loaded.rows.sort("owner_id")["value"].to_list() == [1000.0, 2000.0]
    assert loaded.meta["description"] == "first draft"
    assert ts.names(tmp_path) == ["FY2027 plan"]
    folder = ts.sets_dir(tmp_path)
    # One JSON and the one rows file it names; nothing temporary left behind.
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".parquet"]
    assert not list(folder.glob(".*"))


def test_saving_again_replaces_the_rows_and_leaves_one_file(tmp_path: Path) -> None:
    ts.save(tmp_path, "Plan", PLAN)
    ts.save(tmp_path, "Plan", PLAN.with_columns(pl.col("value") * 2))
    assert ts.load(tmp_path, "Plan").rows["value"].sum() == 6000.0
    assert len(list(ts.sets_dir(tmp_path).glob("*.parquet"))) == 1


def test_merge_replaces_only_overlapping_rows(tmp_path: Path) -> None:
    ts.save(tmp_path, "Plan", PLAN)
    ts.save(tmp_path, "Plan", rows(("rep", "R1", D(2027, 1, 1), D(2027, 1, 31), 1500.0),
                                   ("rep", "R3", D(2027, 1, 1), D(2027, 1, 31), 500.0)), merge=True)
    got = dict(ts.load(tmp_path, "Plan").rows.select("owner_id", "value").iter_rows())
    # R1 is replaced (1,000 -> 1,500), R2 kept, R3 added.
    assert got == {"R1": 1500.0, "R2": 2000.0, "R3": 500.0}


@pytest.mark.parametrize("name", ["", "   ", "../escape", "a/b", "x" * 61, "semi;colon"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ts.TargetSetError):
        ts.save(tmp_path, name, PLAN)
    assert not ts.sets_dir(tmp_path).exists() or not list(ts.sets_dir(tmp_path).iterdir())


def test_names_in_any_script_and_lookalikes_do_not_collide(tmp_path: Path) -> None:
    ts.save(tmp_path, "2027 计划", PLAN)
    ts.save(tmp_path, "plan a", PLAN)
    ts.save(tmp_path, "plan-a", PLAN.with_columns(pl.col("value") * 3))
    assert ts.load(tmp_path, "2027 计划").name == "2027 计划"
    assert ts.load(tmp_path, "plan a").rows["value"].sum() == 3000.0
    assert ts.load(tmp_path, "plan-a").rows["value"].sum() == 9000.0


def test_bad_rows_are_refused_naming_the_row(tmp_path: Path) -> None:
    bad = rows(("rep", "R1", D(2027, 1, 1), D(2027, 1, 31), 1000.0), ("rep", "R2", D(2027, 1, 1), D(2027, 1, 31), -5.0))
    with pytest.raises(ts.TargetSetError, match=r"row 2 \(rep R2, 2027-01-01\) has a negative value"):
        ts.save(tmp_path, "Plan", bad)
    with pytest.raises(ts.TargetSetError, match="owner type"):
        ts.save(tmp_path, "Plan", rows(("person", "R1", D(2027, 1, 1), D(2027, 1, 31), 1.0)))
    with pytest.raises(ts.TargetSetError, match="ends before it starts"):
        ts.save(tmp_path, "Plan", rows(("rep", "R1", D(2027, 2, 1), D(2027, 1, 31), 1.0)))
    with pytest.raises(ts.TargetSetError, match="missing required"):
        ts.save(tmp_path, "Plan", PLAN.drop("metric"))
    assert ts.names(tmp_path) == []


def test_unknown_corrupt_and_deleted_sets(tmp_path: Path) -> None:
    ts.save(tmp_path, "Good", PLAN)
    (ts.sets_dir(tmp_path) / "broken.json").write_text("{not json", encoding="utf-8")
    (ts.sets_dir(tmp_path) / "other.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    assert ts.names(tmp_path) == ["Good"]  # unreadable files are skipped, not fatal
    with pytest.raises(ts.TargetSetError, match=r"no target set 'Nope' \(saved sets: Good\)"):
        ts.load(tmp_path, "Nope")
    meta = json.loads((ts.sets_dir(tmp_path) / f"{ts.slug('Good')}.json").read_text(encoding="utf-8"))
    (ts.sets_dir(tmp_path) / meta["rows_file"]).unlink()
    with pytest.raises(ts.TargetSetError, match="cannot be read"):
        ts.load(tmp_path, "Good")
    ts.delete(tmp_path, "Good")
    assert ts.names(tmp_path) == []
    with pytest.raises(ts.TargetSetError):
        ts.delete(tmp_path, "Good")
