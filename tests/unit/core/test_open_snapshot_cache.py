"""open_snapshot keeps what it read (a manifest, the footer checks) by file version: a page run reads neither again,
and a file written, replaced or damaged since is read and checked again (saleslens/core/store.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from saleslens.core import store
from tests import fixtures


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    fixtures.build_store(tmp_path)
    return tmp_path


def _only_id(data_dir: Path) -> str:
    return store.list_snapshots(data_dir)[-1].id


def test_a_second_open_reads_no_footer(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot_id = _only_id(data_dir)
    store.open_snapshot(data_dir, snapshot_id)
    read: list[Path] = []
    original = store.parquet_columns
    monkeypatch.setattr(store, "parquet_columns", lambda path: read.append(path) or original(path))
    store.open_snapshot(data_dir, snapshot_id)
    store.open_snapshot(data_dir)
    assert read == []


@pytest.mark.parametrize("by_id", [True, False])
def test_a_file_damaged_after_a_good_open_is_reported(data_dir: Path, by_id: bool) -> None:
    snapshot_id = _only_id(data_dir)
    snap = store.open_snapshot(data_dir, snapshot_id if by_id else None)
    deals = snap.root / "opportunities.parquet"
    deals.write_bytes(b"not parquet at all")  # a disk error or a bad restore: another size, time and content
    with pytest.raises(store.StoreError, match=r"opportunities\.parquet is damaged"):
        store.open_snapshot(data_dir, snapshot_id if by_id else None)


def test_a_damaged_file_restored_opens_again(data_dir: Path) -> None:
    snapshot_id = _only_id(data_dir)
    deals = store.open_snapshot(data_dir, snapshot_id).root / "opportunities.parquet"
    good = deals.read_bytes()
    deals.write_bytes(b"broken")
    with pytest.raises(store.StoreError):
        store.open_snapshot(data_dir, snapshot_id)
    deals.write_bytes(good)
    assert store.open_snapshot(data_dir, snapshot_id).id == snapshot_id


def test_a_manifest_written_again_is_read_again(data_dir: Path) -> None:
    """The folder published again under the same id (or its manifest restored): its new manifest, not the kept one."""
    snapshot_id = _only_id(data_dir)
    snap = store.open_snapshot(data_dir, snapshot_id)
    manifest = dict(snap.manifest, source="a second publish")
    path = snap.root / store.MANIFEST
    tmp = path.with_suffix(".new")
    tmp.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(tmp, path)  # a new file (inode), as a publish writes it
    assert store.open_snapshot(data_dir, snapshot_id).manifest["source"] == "a second publish"


def test_a_manifest_of_another_schema_version_is_refused_after_a_good_open(data_dir: Path) -> None:
    snapshot_id = _only_id(data_dir)
    snap = store.open_snapshot(data_dir, snapshot_id)
    path = snap.root / store.MANIFEST
    path.write_text(json.dumps(dict(snap.manifest, schema_version=999)), encoding="utf-8")
    with pytest.raises(store.StoreError, match="schema version 999"):
        store.open_snapshot(data_dir, snapshot_id)
