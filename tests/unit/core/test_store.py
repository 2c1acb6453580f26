"""The snapshot store: atomic publishing, snapshot ids and order, clear errors, the event store."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from queries import catalog
from queries.runner import Runner
from saleslens.core import schema, store
from saleslens.core.store import StoreError
from tests import fixtures

TABLES = {
    "stages": fixtures.STAGES, "reps": fixtures.REPS, "accounts": fixtures.ACCOUNTS,
    "products": fixtures.PRODUCTS, "opportunities": fixtures.OPPORTUNITIES, "targets": fixtures.TARGETS,
}


def publish(data_dir: Path, as_of: date = fixtures.AS_OF, **tables: pl.DataFrame) -> store.Snapshot:
    return store.publish_snapshot(data_dir, as_of, TABLES | tables, source="tests")


def _tree(data_dir: Path) -> list[str]:
    """Every file under the data directory, to compare before and after."""
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())


def test_publish_writes_tables_and_manifest(tiny_dir: Path) -> None:
    snap = store.open_snapshot(tiny_dir)
    assert snap.id == "2026-06-30"
    assert snap.as_of == fixtures.AS_OF
    assert snap.data_dir == tiny_dir
    m = snap.manifest
    assert m["schema_version"] == schema.SCHEMA_VERSION
    assert m["source"] == "tests"
    assert m["row_counts"] == {"stages": 4, "reps": 5, "accounts": 2, "products": 2, "opportunities": 7,
                               "targets": 18}  # 3 reps x 6 months
    # X1-X4 are on or before AS_OF; X5 (07-02) is after it. No stage changes in the tiny set.
    assert m["events"] == {"stage_changes": 0, "activities": 4}
    assert m["stages"] == ["Prospecting", "Proposal", "Closed Won", "Closed Lost"]
    assert snap.has("opportunities") and snap.has("activities")
    assert not snap.has("leads") and not snap.has("payments") and not snap.has("stage_changes")
    written = pl.read_parquet(snap.table_path("opportunities"))
    assert written.columns == [c.name for c in schema.OPPORTUNITIES.columns]  # conformed: optional columns added
    assert snap.table_path("leads") is None


class Boom(RuntimeError):
    """The failure injected in the middle of a publish."""


def test_failed_publish_leaves_nothing_and_keeps_the_old_snapshot(tiny_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = _tree(tiny_dir)
    real_write = pl.DataFrame.write_parquet
    calls = []

    def failing_write(self: pl.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 3:  # two tables are already written aside when the third fails
            raise Boom("disk full")
        real_write(self, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing_write)
    with pytest.raises(Boom):
        publish(tiny_dir)
    monkeypatch.undo()
    assert len(calls) == 3
    assert [s.id for s in store.list_snapshots(tiny_dir)] == ["2026-06-30"]
    store.clean_leftovers(tiny_dir)
    assert _tree(tiny_dir) == before
    assert list((tiny_dir / store.TMP).iterdir()) == []
    assert store.open_snapshot(tiny_dir).manifest["row_counts"]["opportunities"] == 7


def test_failure_while_renaming_leaves_nothing(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _tree(tiny_dir)

    def failing_rename(src: object, dst: object) -> None:
        raise Boom("rename failed")

    monkeypatch.setattr(store.os, "rename", failing_rename)
    with pytest.raises(Boom):
        publish(tiny_dir)
    monkeypatch.undo()
    store.clean_leftovers(tiny_dir)
    assert _tree(tiny_dir) == before


def test_interrupted_publish_is_invisible_and_cleaned(tiny_dir: Path) -> None:
    """A process killed mid-publish leaves a staging folder (and maybe an event temp file) behind."""
    before = _tree(tiny_dir)
    stage = store.staging_dir(tiny_dir)
    (stage / "opportunities.parquet").write_bytes(b"half a file")
    stray = tiny_dir / store.EVENTS / "activities" / "month=2026-01" / ".data.abc.tmp"
    stray.write_bytes(b"half a file")
    assert [s.id for s in store.list_snapshots(tiny_dir)] == ["2026-06-30"]
    removed = store.clean_leftovers(tiny_dir)
    assert sorted(removed) == sorted([stage.name, stray.name])
    assert _tree(tiny_dir) == before
    assert store.clean_leftovers(tiny_dir) == []


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"widgets": fixtures.STAGES}, "Not snapshot tables: widgets."),
        ({"activities": fixtures.ACTIVITIES}, "Not snapshot tables: activities."),  # history goes to events
    ],
)
def test_publish_rejects_unknown_tables(tmp_path: Path, tables: dict, message: str) -> None:
    with pytest.raises(StoreError) as exc:
        publish(tmp_path, **tables)
    assert str(exc.value) == message
    assert store.list_snapshots(tmp_path) == []


def test_publish_needs_the_core_tables(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as exc:
        store.publish_snapshot(tmp_path, fixtures.AS_OF, {"stages": fixtures.STAGES}, source="tests")
    assert str(exc.value) == "A snapshot needs the tables reps, opportunities."


def test_publish_with_a_missing_required_column_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opportunities: missing required column"):
        publish(tmp_path, opportunities=fixtures.OPPORTUNITIES.drop("stage"))
    assert store.list_snapshots(tmp_path) == []
    assert _tree(tmp_path) == []


def test_second_snapshot_of_a_day_and_order(tmp_path: Path) -> None:
    ids = [
        publish(tmp_path).id,
        publish(tmp_path).id,
        publish(tmp_path, as_of=date(2026, 6, 23)).id,  # an older day published later
        publish(tmp_path).id,
    ]
    assert ids == ["2026-06-30", "2026-06-30-2", "2026-06-23", "2026-06-30-3"]
    assert [s.id for s in store.list_snapshots(tmp_path)] == ["2026-06-23", "2026-06-30", "2026-06-30-2",
                                                              "2026-06-30-3"]
    assert store.open_snapshot(tmp_path).id == "2026-06-30-3"  # the latest by date, then sequence
    assert store.open_snapshot(tmp_path, "2026-06-30-2").id == "2026-06-30-2"


def test_sequence_orders_numerically(tmp_path: Path) -> None:
    for _ in range(11):
        publish(tmp_path)
    assert [s.id for s in store.list_snapshots(tmp_path)][-3:] == ["2026-06-30-9", "2026-06-30-10",
                                                                   "2026-06-30-11"]


def test_list_skips_folders_that_are_not_snapshots(tiny_dir: Path) -> None:
    (tiny_dir / store.SNAPSHOTS / "notes").mkdir()
    (tiny_dir / store.SNAPSHOTS / "2026-07-01").mkdir()  # no manifest
    (tiny_dir / store.SNAPSHOTS / "README.txt").write_text("hello")
    assert [s.id for s in store.list_snapshots(tiny_dir)] == ["2026-06-30"]
    assert store.list_snapshots(tiny_dir / "nowhere") == []


def _message(data_dir: Path, snapshot_id: str | None = None) -> str:
    with pytest.raises(StoreError) as exc:
        store.open_snapshot(data_dir, snapshot_id)
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_open_missing_directory(tmp_path: Path) -> None:
    text = _message(tmp_path / "missing")
    assert text.startswith(f"The data directory {tmp_path / 'missing'} does not exist.")
    assert "python -m saleslens demo" in text


def test_open_empty_directory(tmp_path: Path) -> None:
    assert _message(tmp_path).startswith(f"The data directory {tmp_path} has no snapshot yet.")


def test_open_unknown_id(tiny_dir: Path) -> None:
    text = _message(tiny_dir, "2026-01-01")
    assert text.startswith(f"There is no snapshot 2026-01-01 in {tiny_dir}.")
    assert "python -m saleslens snapshots" in text


@pytest.mark.parametrize("bad_id", ["latest", "../2026-06-30", "2026-6-30", "2026-06-30-x", ""])
def test_open_malformed_id(tiny_dir: Path, bad_id: str) -> None:
    assert _message(tiny_dir, bad_id) == f"'{bad_id}' is not a snapshot id (they look like 2026-11-20)."


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"schema_version": 1}', ""])
def test_open_corrupt_manifest(tiny_dir: Path, content: str) -> None:
    (tiny_dir / store.SNAPSHOTS / "2026-06-30" / store.MANIFEST).write_text(content)
    assert _message(tiny_dir, "2026-06-30").startswith("The manifest of snapshot 2026-06-30 is corrupt: ")
    # Without an id, the only snapshot is unreadable: say so rather than "no snapshot yet".
    assert _message(tiny_dir).startswith("The snapshot 2026-06-30 in ")
    assert "corrupt manifest" in _message(tiny_dir)
    assert store.list_snapshots(tiny_dir) == []


def test_corrupt_latest_manifest_falls_back_to_a_readable_snapshot(tmp_path: Path) -> None:
    publish(tmp_path, as_of=date(2026, 6, 23))
    publish(tmp_path)
    (tmp_path / store.SNAPSHOTS / "2026-06-30" / store.MANIFEST).write_text("{")
    assert store.open_snapshot(tmp_path).id == "2026-06-23"


@pytest.mark.parametrize("table", ["opportunities", "reps", "accounts", "targets"])
def test_open_corrupt_parquet(tiny_dir: Path, table: str) -> None:
    path = tiny_dir / store.SNAPSHOTS / "2026-06-30" / f"{table}.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a truncated file: the Parquet footer is gone
    text = _message(tiny_dir)
    assert text.startswith(f"The file {path} is damaged and cannot be read")
    assert "import the data again" in text


def test_open_snapshot_without_a_core_table(tiny_dir: Path) -> None:
    (tiny_dir / store.SNAPSHOTS / "2026-06-30" / "reps.parquet").unlink()
    assert _message(tiny_dir).startswith("Snapshot 2026-06-30 has no reps table")


def test_open_schema_version_mismatch(tiny_dir: Path) -> None:
    path = tiny_dir / store.SNAPSHOTS / "2026-06-30" / store.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["schema_version"] = 99
    store.write_json_atomic(path, manifest)
    assert _message(tiny_dir) == (
        f"Snapshot 2026-06-30 has schema version 99; this app reads version {schema.SCHEMA_VERSION}. "
        "Import the data again with this version."
    )


def test_write_json_atomic(tmp_path: Path) -> None:
    path = tmp_path / "saved" / "view.json"
    store.write_json_atomic(path, {"a": 1, "day": date(2026, 1, 2), "name": "销售"})
    store.write_json_atomic(path, {"a": 2, "day": date(2026, 1, 2), "name": "销售"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 2, "day": "2026-01-02", "name": "销售"}
    assert [p.name for p in path.parent.iterdir()] == ["view.json"]  # no temp file left


def _events(data_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(store.events_glob(data_dir, "activities")).sort("activity_id")


def test_write_events_partitions_by_month(tmp_path: Path) -> None:
    assert store.events_glob(tmp_path, "activities") is None
    assert store.write_events(tmp_path, "activities", fixtures.ACTIVITIES) == 5
    months = sorted(p.parent.name for p in (tmp_path / store.EVENTS / "activities").glob("*/data.parquet"))
    # X1 Jan, X2 Feb, X3 Mar, X4 Apr, X5 Jul
    assert months == ["month=2026-01", "month=2026-02", "month=2026-03", "month=2026-04", "month=2026-07"]
    assert store.event_counts(tmp_path, fixtures.AS_OF) == {"stage_changes": 0, "activities": 4}
    assert store.event_counts(tmp_path, date(2026, 7, 2)) == {"stage_changes": 0, "activities": 5}


def test_write_events_deduplicates_by_key_keeping_the_last(tmp_path: Path) -> None:
    store.write_events(tmp_path, "activities", fixtures.ACTIVITIES)
    store.write_events(tmp_path, "activities", fixtures.ACTIVITIES)  # the same rows again: no duplicates
    assert _events(tmp_path)["activity_id"].to_list() == ["X1", "X2", "X3", "X4", "X5"]
    changed = fixtures.ACTIVITIES.filter(pl.col("activity_id") == "X1").with_columns(type=pl.lit("visit"))
    extra = pl.DataFrame({
        "activity_id": ["X6"], "rep_id": ["R2"], "opportunity_id": ["O6"], "account_id": ["A1"],
        "type": ["demo"], "occurred_at": [datetime(2026, 1, 20, 14)],
    })
    store.write_events(tmp_path, "activities", pl.concat([changed, extra]))
    frame = _events(tmp_path)
    assert frame["activity_id"].to_list() == ["X1", "X2", "X3", "X4", "X5", "X6"]
    assert frame.filter(pl.col("activity_id") == "X1")["type"].item() == "visit"
    january = pl.read_parquet(tmp_path / store.EVENTS / "activities" / "month=2026-01" / "data.parquet")
    assert january["activity_id"].to_list() == ["X1", "X6"]  # sorted by time: 01-12, 01-20


def test_write_events_rejects_snapshot_tables(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="reps is not an event table"):
        store.write_events(tmp_path, "reps", fixtures.REPS)


def test_missing_optional_tables_are_empty_views(tmp_path: Path) -> None:
    """Only the core tables and no event store at all: every query still runs."""
    snap = store.publish_snapshot(
        tmp_path, fixtures.AS_OF,
        {"stages": fixtures.STAGES, "reps": fixtures.REPS, "opportunities": fixtures.OPPORTUNITIES},
        source="tests",
    )
    assert snap.manifest["events"] == {"stage_changes": 0, "activities": 0}
    runner = Runner(store.open_snapshot(tmp_path))
    try:
        cur = runner._db.cursor()
        for table in ("leads", "payments", "stage_changes", "activities", "targets", "accounts", "products"):
            frame = cur.sql(f"select * from {table}").pl()
            assert frame.height == 0, table
            assert frame.columns == [c.name for c in schema.TABLES[table].columns], table
        cur.close()
        # Over all time: won O1 + O3 + O4 = 9000; no targets, so no attainment; no accounts, so no segment.
        org = runner.run("kpis_by_group").row(0, named=True)
        assert (org["bookings"], org["target"], org["attainment"], org["activities"]) == (9000.0, None, None, 0)
        seg = runner.run("kpis_by_group", by="segment")
        assert seg["group_key"].to_list() == ["(none)"]
        for query in catalog.catalog().values():
            samples = {"date": date(2026, 1, 1), "text": "org", "int": 1, "float": 0.5, "bool": False, "text[]": []}
            required = {p.name: samples[p.type] for p in query.params if p.default is catalog._REQUIRED}
            runner.run(query.name, **required)  # no error
    finally:
        runner.close()
