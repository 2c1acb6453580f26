"""store.list_snapshots keeps its list until the store changes: a new publish or a removed snapshot is listed at
once, and an unchanged store is not read again."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from saleslens.core import store
from tests import fixtures


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The manifests list_snapshots reads, by snapshot id."""
    seen: list[str] = []
    original = store._read_manifest

    def counting(folder: Path) -> dict:
        seen.append(folder.name)
        return original(folder)

    monkeypatch.setattr(store, "_read_manifest", counting)
    return seen


def settle(data_dir: Path) -> None:
    """Make the snapshots folder's last change older than the settle time, as on a server between publishes."""
    past = time.time() - 2 * store.SETTLE_SECONDS - 1
    os.utime(data_dir / store.SNAPSHOTS, (past, past))


def ids(data_dir: Path) -> list[str]:
    return [s.id for s in store.list_snapshots(data_dir)]


def test_an_unchanged_folder_is_listed_once(tmp_path: Path, reads: list[str]) -> None:
    fixtures.build_store(tmp_path)
    settle(tmp_path)
    assert ids(tmp_path) == ["2026-06-30"]
    assert ids(tmp_path) == ["2026-06-30"]
    assert reads == ["2026-06-30"]
    # Callers get their own list: changing it changes nothing kept.
    store.list_snapshots(tmp_path).clear()
    assert ids(tmp_path) == ["2026-06-30"] and reads == ["2026-06-30"]


def test_a_new_publish_and_a_removed_snapshot_are_seen_at_once(tmp_path: Path, reads: list[str]) -> None:
    fixtures.build_store(tmp_path)
    settle(tmp_path)
    assert ids(tmp_path) == ["2026-06-30"]
    fixtures.build_store(tmp_path)  # the same day again: 2026-06-30-2
    assert ids(tmp_path) == ["2026-06-30", "2026-06-30-2"]
    settle(tmp_path)
    assert ids(tmp_path) == ["2026-06-30", "2026-06-30-2"]
    reads.clear()
    assert ids(tmp_path) == ["2026-06-30", "2026-06-30-2"] and reads == []
    shutil.rmtree(tmp_path / store.SNAPSHOTS / "2026-06-30")
    assert ids(tmp_path) == ["2026-06-30-2"]


def test_a_folder_changed_just_now_is_read_every_time(tmp_path: Path, reads: list[str]) -> None:
    """Within the settle time a second change could keep the folder's modification time: nothing is kept."""
    fixtures.build_store(tmp_path)
    ids(tmp_path)
    ids(tmp_path)
    assert reads == ["2026-06-30", "2026-06-30"]


def test_no_folder_no_snapshots(tmp_path: Path) -> None:
    assert store.list_snapshots(tmp_path / "nowhere") == []
    (tmp_path / store.SNAPSHOTS).write_text("not a folder")
    assert store.list_snapshots(tmp_path) == []


@dataclass
class Pointer:
    etag: str | None


class FakeRemote:
    """A store on object storage as list_snapshots sees it: a pointer with an ETag, and its entries."""

    url = "s3://bucket/prefix"

    def __init__(self) -> None:
        self.etag: str | None = '"1"'
        self.entries = [("2026-06-23", {"as_of": "2026-06-23"})]
        self.listed = 0

    def pointer(self) -> Pointer:
        return Pointer(self.etag)

    def snapshot_entries(self) -> list[tuple[str, dict]]:
        self.listed += 1
        return list(self.entries)


def test_a_store_on_object_storage_is_listed_again_when_its_pointer_changes(tmp_path: Path) -> None:
    remote = FakeRemote()
    store.register_remote(tmp_path, remote)
    try:
        assert ids(tmp_path) == ["2026-06-23"]
        assert ids(tmp_path) == ["2026-06-23"] and remote.listed == 1
        remote.entries.append(("2026-06-30", {"as_of": "2026-06-30"}))
        remote.etag = '"2"'  # another server published
        assert ids(tmp_path) == ["2026-06-23", "2026-06-30"] and remote.listed == 2
        remote.etag = None  # no pointer (an emptied store): asked every time
        remote.entries = []
        assert ids(tmp_path) == [] and ids(tmp_path) == [] and remote.listed == 4
    finally:
        store.register_remote(tmp_path, None)
