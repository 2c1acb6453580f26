"""The streamed publish (tables and history as Parquet parts) gives the snapshot publish_snapshot gives."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from saleslens import demo
from saleslens.core import schema, store

AS_OF = date(2025, 11, 19)


@pytest.fixture(scope="module")
def small() -> demo.Demo:
    return demo.generate("S", 7, AS_OF)


def _parts(folder: Path, frames: dict[str, pl.DataFrame], pieces: int = 3) -> dict[str, list[Path]]:
    """Each frame written as a few Parquet parts (row slices), conformed as the streamed publish expects."""
    out = {}
    for name, df in frames.items():
        frame = schema.conform(name, df)
        size = -(-frame.height // pieces) or 1
        out[name] = []
        for k, part in enumerate(frame.iter_slices(size)):
            path = folder / name / f"{k}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            part.write_parquet(path)
            out[name].append(path)
    return out


def _by_key(path: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(path, glob=False).sort(list(schema.TABLES[table].key), nulls_last=True)


def _month_files(snap: store.Snapshot, table: str) -> dict[str, Path]:
    return {Path(f).parent.name: Path(f) for f in snap.event_files(table)}


@pytest.mark.parametrize("folder", ["plain", "o'brien x"])  # a quote in the path: bound, not spliced into SQL
def test_streamed_publish_equals_the_in_memory_one(small: demo.Demo, tmp_path: Path, folder: str) -> None:
    tmp_path = tmp_path / folder
    day = AS_OF - timedelta(days=14)
    tables = demo.snapshot_tables(small, day)
    history = {"stage_changes": small.stage_changes, "activities": small.activities}
    mem = store.publish_snapshot(tmp_path / "mem", day, tables, source="t", events=history)
    streamed = store.publish_snapshot_parts(tmp_path / "parts", day, _parts(tmp_path / "in", tables), source="t",
                                            events=_parts(tmp_path / "ev", history))
    for key in ("row_counts", "events", "stages", "event_batches", "as_of", "schema_version", "source"):
        assert streamed.manifest[key] == mem.manifest[key], key
    for name in tables:
        a, b = mem.table_path(name), streamed.table_path(name)
        assert pl.read_parquet_schema(b) == pl.read_parquet_schema(a), name
        assert _by_key(b, name).equals(_by_key(a, name)), name
    opps = pl.read_parquet(streamed.table_path("opportunities"))
    closed = opps.filter(pl.col("close_date").is_not_null())
    assert closed["close_date"].is_sorted() and opps.tail(1)["close_date"].is_null().all()  # nulls last
    for table in history:
        months_mem, months_streamed = _month_files(mem, table), _month_files(streamed, table)
        assert list(months_streamed) == list(months_mem), table
        time_col = schema.TABLES[table].event_time
        for month, path in months_streamed.items():
            assert pl.read_parquet(path)[time_col].is_sorted(), (table, month)
            assert _by_key(path, table).equals(_by_key(months_mem[month], table)), (table, month)
    assert not list((tmp_path / "parts" / store.TMP).iterdir())  # staging and spill folders gone


def test_streamed_history_leaves_out_keys_an_earlier_batch_holds(small: demo.Demo, tmp_path: Path) -> None:
    acts = small.activities
    first, later = acts.head(1000), acts.slice(600, 900)  # 400 rows overlap, 500 are new
    tables = demo.snapshot_tables(small, AS_OF)
    data = tmp_path / "data"
    store.publish_snapshot(data, AS_OF - timedelta(days=7), tables, source="t", events={"activities": first})
    snap = store.publish_snapshot_parts(data, AS_OF, _parts(tmp_path / "in", tables), source="t",
                                        events=_parts(tmp_path / "ev", {"activities": later}))
    own = store._batch_dir(data, "activities", snap.id)
    added = pl.read_parquet(sorted(own.glob("month=*/data.parquet")))
    assert added.height == 500
    assert set(added["activity_id"]) == set(acts.slice(1000, 500)["activity_id"])
    assert len(snap.event_batches) == 2


def test_streamed_publish_refuses_a_snapshot_without_its_core_tables(tmp_path: Path) -> None:
    with pytest.raises(store.StoreError, match="needs the tables"):
        store.publish_snapshot_parts(tmp_path, AS_OF, {"stages": []}, source="t")
