# ruff: noqa: F811 - the s3_store fixture is imported and then named by the tests' parameters
"""The snapshot store on object storage (SALESLENS_DATA=s3://bucket/prefix), against moto's real S3 server.

Publishing uploads a snapshot under a new key and then writes one pointer object; readers keep a local mirror.
The same data published to a folder and to a bucket must give the same numbers; a reader during a publish sees
the old list or the new one; a damaged store and an unreachable one are told in one clear message.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from saleslens import cli as saleslens_cli
from saleslens.core import db, objectstore, settings, store
from saleslens.core.store import StoreError
from tests import fixtures
from tests.s3_fixtures import S3Store, s3_server, s3_store, store_env  # noqa: F401 - the fixtures, used by name

ROOT = Path(__file__).resolve().parents[3]
TABLES = {
    "stages": fixtures.STAGES, "reps": fixtures.REPS, "accounts": fixtures.ACCOUNTS,
    "products": fixtures.PRODUCTS, "opportunities": fixtures.OPPORTUNITIES, "targets": fixtures.TARGETS,
}
LATER = fixtures.AS_OF + timedelta(days=7)


def publish(data_dir: Path, as_of: date = fixtures.AS_OF, **kwargs: object) -> store.Snapshot:
    """The tiny dataset, with its activities as the import's history."""
    return store.publish_snapshot(data_dir, as_of, TABLES, source="tests",
                                  events={"activities": fixtures.ACTIVITIES}, **kwargs)  # type: ignore[arg-type]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`python -m saleslens ARGS` in a fresh process with this environment on top of ours."""
    return subprocess.run([sys.executable, "-m", "saleslens", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`saleslens ARGS` in this process; what it printed."""
    capsys.readouterr()
    assert saleslens_cli.main(list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def fresh_reader(s3: S3Store, tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of another server: same store, its own empty mirror."""
    return store_env(s3.endpoint, s3.url, tmp_path / name)


def test_a_plain_path_stays_a_local_folder(tmp_path: Path) -> None:
    assert settings.data_dir(str(tmp_path / "d")) == (tmp_path / "d").resolve()
    assert store.remote_for(tmp_path) is None
    assert store.where(tmp_path) == str(tmp_path)


def test_published_to_s3_reads_back_as_the_same_data_in_a_folder(s3_store: S3Store, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "local"
    publish(local)
    mirror = settings.data_dir()
    snap = publish(mirror)
    assert snap.id == "2026-06-30" and snap.data_dir == mirror
    keys = s3_store.object_keys()
    assert "store/published.json" in keys
    assert "store/.import.lock" not in keys  # the lease is given back
    # One snapshot folder and one history batch (activities of 2026-01, -02, -03, -04 and -07), under new keys.
    assert len([k for k in keys if k.endswith("/opportunities.parquet")]) == 1
    assert len([k for k in keys if k.startswith("store/batches/") and k.endswith("data.parquet")]) == 5
    pointer = json.loads(s3_store.client().get_object(Bucket=s3_store.bucket, Key="store/published.json")["Body"]
                         .read())
    assert [e["id"] for e in pointer["snapshots"]] == ["2026-06-30"]
    assert pointer["snapshots"][0]["manifest"]["row_counts"]["opportunities"] == 7
    assert list(pointer["batches"]) == ["2026-06-30"]

    # Another server, in a fresh process with an empty mirror, reads only through the bucket.
    other = fresh_reader(s3_store, tmp_path, "other")
    from_s3 = cli(other, "kpis", "--by", "rep", "--format", "csv")
    assert from_s3.returncode == 0, from_s3.stderr
    assert from_s3.stdout == run_cli(capsys, "kpis", "--by", "rep", "--format", "csv", "--data", str(local))
    assert list((tmp_path / "other").rglob("opportunities.parquet"))  # the reader's mirror holds the files
    reopen(tmp_path, "third")  # and a third, in this process
    for args in (["snapshots", "--format", "csv"], ["kpis", "--format", "csv"], ["attainment", "--format", "csv"]):
        assert run_cli(capsys, *args) == run_cli(capsys, *args, "--data", str(local)) != ""
    row = json.loads(run_cli(capsys, "snapshots", "--format", "json"))[0]
    # 7 deals; 4 of the 5 activities are on or before 2026-06-30 (X5 is 07-02)
    assert (row["snapshot"], row["opportunities"], row["activities"]) == ("2026-06-30", 7, 4)


def test_a_second_publish_reads_history_through_the_store(s3_store: S3Store, tmp_path: Path) -> None:
    first = publish(settings.data_dir())
    objectstore.detach_all()  # another server publishes the next week: its mirror starts empty
    os.environ["SALESLENS_STORE_CACHE"] = str(tmp_path / "second")
    mirror = settings.data_dir()
    second = publish(mirror, LATER)
    assert second.id == "2026-07-07"
    # The same five activities again: every key is in the first batch, so the second brings none of its own...
    assert second.manifest["event_batches"] == ["2026-06-30"]
    # ...and sees X1-X5 (X5 of 07-02 is on or before 07-07).
    assert second.manifest["events"]["activities"] == 5
    assert first.manifest["events"]["activities"] == 4
    assert [s.id for s in store.list_snapshots(mirror)] == ["2026-06-30", "2026-07-07"]


def test_a_reader_during_a_publish_sees_the_old_list_then_the_new(s3_store: S3Store, tmp_path: Path) -> None:
    mirror = settings.data_dir()
    publish(mirror)
    remote = objectstore._ATTACHED[s3_store.url]
    # Another server: its own client and mirror, reading the pointer afresh each time (store_poll_seconds 0).
    reader = tmp_path / "reader"
    store.register_remote(reader, objectstore.Remote(remote.url, remote.bucket, remote.prefix, reader,
                                                     remote.endpoint))
    seen: dict[str, list[str]] = {}

    def look(step: str) -> None:
        if step in ("snapshot uploaded", "history uploaded", "pointer written"):
            seen[step] = [s.id for s in store.list_snapshots(reader)]
            assert store.open_snapshot(reader).id == seen[step][-1]  # and the latest opens whole

    more = fixtures.ACTIVITIES.with_columns(pl.col("activity_id") + "b")  # new keys: the publish has a batch
    store.publish_snapshot(mirror, LATER, TABLES, source="tests", events={"activities": more}, on_step=look)
    assert seen == {"snapshot uploaded": ["2026-06-30"], "history uploaded": ["2026-06-30"],
                    "pointer written": ["2026-06-30", "2026-07-07"]}
    store.register_remote(reader, None)


KILLED_PUBLISH = """
import os, sys, time
from datetime import date
from saleslens.core import settings, store
from tests import fixtures
tables = {"stages": fixtures.STAGES, "reps": fixtures.REPS, "accounts": fixtures.ACCOUNTS,
          "products": fixtures.PRODUCTS, "opportunities": fixtures.OPPORTUNITIES, "targets": fixtures.TARGETS}

def hold(step):
    if step == "snapshot uploaded":
        print("UPLOADED", flush=True)
        time.sleep(600)

store.publish_snapshot(settings.data_dir(), date(2026, 7, 7), tables, source="killed", on_step=hold)
"""


def test_a_publisher_killed_before_the_pointer_publishes_nothing(s3_store: S3Store, tmp_path: Path) -> None:
    mirror = settings.data_dir()
    publish(mirror)
    before = json.loads(s3_store.client().get_object(Bucket=s3_store.bucket, Key="store/published.json")["Body"]
                        .read())
    env = {**os.environ, **fresh_reader(s3_store, tmp_path, "killed")}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "UPLOADED"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    orphans = [k for k in s3_store.object_keys() if k.startswith("store/snapshots/2026-07-07.")]
    assert orphans  # uploaded, but no pointer names them...
    after = json.loads(s3_store.client().get_object(Bucket=s3_store.bucket, Key="store/published.json")["Body"]
                       .read())
    assert after == before  # ...so nobody sees them
    out = cli(fresh_reader(s3_store, tmp_path, "reader"), "snapshots", "--format", "json")
    assert [r["snapshot"] for r in json.loads(out.stdout)] == ["2026-06-30"]
    # The killed publisher's lease (3 s here) expires; the next publish takes it over and clears the orphans.
    assert "store/.import.lock" in s3_store.object_keys()
    nxt = publish(mirror, LATER)
    assert nxt.id == "2026-07-07"
    keys = s3_store.object_keys()
    assert not set(orphans) & set(keys)
    assert "store/.import.lock" not in keys


def test_a_publish_waits_for_a_live_lease_and_is_refused_at_the_deadline(s3_store: S3Store,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = settings.data_dir()
    monkeypatch.setenv("SALESLENS_STORE_LEASE_SECONDS", "30")
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.5)
    remote = objectstore._ATTACHED[s3_store.url]
    other = objectstore.Remote(remote.url, remote.bucket, remote.prefix, remote.mirror, remote.endpoint)
    busy = pytest.raises(store.ImportBusy, match=r"Another import is publishing to s3://.*\(process \d+ on ")
    with other.lease(), busy:  # another server (a second client on the same bucket) is publishing
        publish(mirror)
    assert publish(mirror).id == "2026-06-30"  # given back: the next one goes ahead


def test_the_pointer_is_written_only_over_the_list_it_was_built_on(s3_store: S3Store) -> None:
    mirror = settings.data_dir()
    publish(mirror)
    client = s3_store.client()

    def meddle(step: str) -> None:
        if step == "snapshot uploaded":  # someone replaces the pointer behind the lease's back
            body = client.get_object(Bucket=s3_store.bucket, Key="store/published.json")["Body"].read()
            client.put_object(Bucket=s3_store.bucket, Key="store/published.json", Body=body + b" ")

    with pytest.raises(store.ImportBusy, match=r"published to s3://.* meanwhile\. Nothing was published"):
        publish(mirror, LATER, on_step=meddle)
    assert [s.id for s in store.list_snapshots(mirror)] == ["2026-06-30"]


def put(s3: S3Store, key: str, body: bytes) -> None:
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=body)


def reopen(tmp_path: Path, name: str) -> Path:
    """The store seen by a new server (an empty mirror)."""
    objectstore.detach_all()
    os.environ["SALESLENS_STORE_CACHE"] = str(tmp_path / name)
    return settings.data_dir()


def test_a_damaged_pointer_is_a_clear_store_error(s3_store: S3Store, tmp_path: Path) -> None:
    publish(settings.data_dir())
    put(s3_store, "store/published.json", b'{"format": 1, "snapshots": [{"id": "2026-06-30"}], "batches": {}}')
    mirror = reopen(tmp_path, "m1")
    with pytest.raises(StoreError, match=r"The pointer s3://t\w+/store/published.json of the snapshot store is "
                                         r"damaged \(a snapshot entry lacks its id, key, files or manifest\)"):
        store.open_snapshot(mirror)
    put(s3_store, "store/published.json", b"not json")
    mirror = reopen(tmp_path, "m2")
    with pytest.raises(StoreError, match=r"published\.json of the snapshot store is damaged"):
        store.check_store(mirror)


def _key_of(s3: S3Store, name: str) -> str:
    return next(k for k in s3.object_keys() if k.endswith(name))


def test_a_missing_object_is_named(s3_store: S3Store, tmp_path: Path) -> None:
    publish(settings.data_dir())
    key = _key_of(s3_store, "/reps.parquet")
    s3_store.client().delete_object(Bucket=s3_store.bucket, Key=key)
    mirror = reopen(tmp_path, "m")
    with pytest.raises(StoreError) as err:
        store.open_snapshot(mirror)
    assert str(err.value).startswith(f"The object s3://{s3_store.bucket}/{key} of snapshot 2026-06-30 is missing")
    assert not (mirror / "snapshots" / "2026-06-30").exists()  # nothing half-downloaded is kept


def test_a_damaged_object_is_named_and_not_kept(s3_store: S3Store, tmp_path: Path) -> None:
    publish(settings.data_dir())
    key = _key_of(s3_store, "/opportunities.parquet")
    good = s3_store.client().get_object(Bucket=s3_store.bucket, Key=key)["Body"].read()
    put(s3_store, key, good[:100])
    mirror = reopen(tmp_path, "m1")
    with pytest.raises(StoreError, match=rf"{key} of snapshot 2026-06-30 is damaged: 100 bytes where the pointer "
                                         rf"lists {len(good)}"):
        store.open_snapshot(mirror)
    # Same size, garbage inside: the Parquet check names the object, not the mirror's copy.
    put(s3_store, key, b"x" * len(good))
    mirror = reopen(tmp_path, "m2")
    with pytest.raises(StoreError, match=rf"The file s3://{s3_store.bucket}/{key} is damaged and cannot be read"):
        store.open_snapshot(mirror)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_endpoint_is_one_message_without_credentials(s3_store: S3Store,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("SALESLENS_S3_ENDPOINT", f"http://ann:s3cret@127.0.0.1:{port}")
    objectstore.detach_all()
    mirror = settings.data_dir()
    started = time.monotonic()
    with pytest.raises(objectstore.StoreUnavailable) as err:
        store.check_store(mirror)
    text = str(err.value)
    assert text.startswith(f"Cannot read the snapshot store {s3_store.url} (endpoint http://***@127.0.0.1:{port}):")
    assert "s3cret" not in text and os.environ["AWS_SECRET_ACCESS_KEY"] not in text
    assert time.monotonic() - started < 60  # told in seconds, not after minutes of retries


def test_a_missing_bucket_is_said_so(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESLENS_DATA", "s3://no-such-bucket-here/x")
    with pytest.raises(objectstore.StoreUnavailable, match="the bucket no-such-bucket-here does not exist"):
        store.check_store(settings.data_dir())


def test_saved_work_needs_a_database_url_with_a_store_on_s3(s3_store: S3Store,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESLENS_DATABASE_URL", raising=False)
    with pytest.raises(db.DatabaseError, match=f"the snapshot store {s3_store.url} is on object storage.*set "
                                               "SALESLENS_DATABASE_URL"):
        db.url_for(settings.data_dir())
    monkeypatch.setenv("SALESLENS_DATABASE_URL", "sqlite:////tmp/x.db")
    assert db.url_for(settings.data_dir()) == "sqlite:////tmp/x.db"


def test_the_mirror_downloads_a_snapshot_once_and_threads_share_it(s3_store: S3Store, tmp_path: Path) -> None:
    publish(settings.data_dir())
    mirror = reopen(tmp_path, "m")
    remote = objectstore._ATTACHED[s3_store.url]
    uploads: list[str] = []
    remote.on_upload = uploads.append
    snaps = store.list_snapshots(mirror)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            store.check_snapshot(snaps[0])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    folder = mirror / "snapshots" / "2026-06-30"
    assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(f"{t}.parquet" for t in TABLES)
    assert not list((mirror / ".fetch").iterdir())  # every download went into place or away
    assert uploads == []  # reading never writes to the store


def test_the_app_shows_one_page_naming_an_unreachable_store(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests import support

    port = _closed_port()
    monkeypatch.setenv("SALESLENS_S3_ENDPOINT", f"http://ann:s3cret@127.0.0.1:{port}")
    monkeypatch.setenv("SALESLENS_AUTO_DEMO", "0")
    monkeypatch.delenv("SALESLENS_LANGUAGE", raising=False)
    objectstore.detach_all()
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=120)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["The snapshot store cannot be used"]
    shown = " ".join(e.value for e in at.error)
    assert shown.startswith(f"Cannot read the snapshot store {s3_store.url} (endpoint http://***@127.0.0.1:{port}):")
    everything = " ".join(str(getattr(e, "value", "")) for e in at.main)
    assert "s3cret" not in everything and "Traceback" not in everything


def test_the_app_serves_a_store_on_s3(s3_store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests import support

    publish(settings.data_dir())
    monkeypatch.setenv("SALESLENS_AUTO_DEMO", "0")
    monkeypatch.delenv("SALESLENS_LANGUAGE", raising=False)
    monkeypatch.setenv("SALESLENS_DATABASE_URL", f"sqlite:///{tmp_path / 'saved.db'}")
    reopen(tmp_path, "app")
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=120)
    at.run()
    assert not at.exception and not at.error
    assert "snapshot 2026-06-30" in " ".join(str(c.value) for c in at.sidebar.caption)
    db.forget()


def test_the_app_asks_for_a_database_url_with_a_store_on_s3(s3_store: S3Store,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests import support

    publish(settings.data_dir())
    monkeypatch.setenv("SALESLENS_AUTO_DEMO", "0")
    monkeypatch.delenv("SALESLENS_LANGUAGE", raising=False)
    monkeypatch.delenv("SALESLENS_DATABASE_URL", raising=False)
    at = AppTest.from_file(str(support.DASHBOARD), default_timeout=120)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["The database of saved work cannot be used"]
    assert "set SALESLENS_DATABASE_URL" in " ".join(e.value for e in at.error)


def test_an_unchanged_pointer_is_not_read_again(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = settings.data_dir()
    publish(mirror)
    remote = objectstore._ATTACHED[s3_store.url]
    parsed: list[str] = []
    real = objectstore.Remote._parse
    monkeypatch.setattr(objectstore.Remote, "_parse", lambda self, body, etag: parsed.append(etag) or real(
        self, body, etag))
    first = remote.pointer(max_age=0)
    again = remote.pointer(max_age=0)  # asked If-None-Match: 304, the known list is kept
    assert again is first and parsed == []
    publish(mirror, LATER)  # a new list: read and parsed once more
    assert [s.id for s in store.list_snapshots(mirror)] == ["2026-06-30", "2026-07-07"]
    remote._pointer = first  # as another server that still has the old list
    assert [e["id"] for e in remote.pointer(max_age=0).snapshots] == ["2026-06-30", "2026-07-07"]
    assert len(parsed) == 1


def test_a_damaged_copy_in_the_mirror_is_downloaded_again(s3_store: S3Store, tmp_path: Path) -> None:
    publish(settings.data_dir())
    mirror = reopen(tmp_path, "m")
    snap = store.open_snapshot(mirror)
    reps = snap.table_path("reps")
    assert reps is not None
    reps.write_bytes(b"cut short")  # a disk problem, or someone editing the cache
    mirror = reopen(tmp_path, "m")  # the next start of the server
    again = store.open_snapshot(mirror)
    assert pl.read_parquet(again.table_path("reps")).height == 5  # the 5 reps of the tiny set, whole again


def test_a_publisher_whose_lease_was_taken_over_publishes_nothing(s3_store: S3Store) -> None:
    mirror = settings.data_dir()
    publish(mirror)

    def taken(step: str) -> None:
        if step == "snapshot uploaded":  # it stalled past its lease, and another import took the lease over
            put(s3_store, "store/.import.lock", b'{"holder": "process 1 on elsewhere", "expires": 9e12}')

    with pytest.raises(store.ImportBusy, match=r"lease on s3://.* expired and another import took it"):
        publish(mirror, LATER, on_step=taken)
    assert [s.id for s in store.list_snapshots(mirror)] == ["2026-06-30"]
    # The other import's lease is left alone.
    lease = s3_store.client().get_object(Bucket=s3_store.bucket, Key="store/.import.lock")["Body"].read()
    assert b"elsewhere" in lease


def test_a_store_whose_pointer_was_lost_keeps_its_objects(s3_store: S3Store) -> None:
    mirror = settings.data_dir()
    publish(mirror)
    before = set(s3_store.object_keys())
    s3_store.client().delete_object(Bucket=s3_store.bucket, Key="store/published.json")
    objectstore._ATTACHED[s3_store.url]._pointer = None  # as a server starting now
    publish(mirror, LATER)  # a new list of one snapshot...
    assert [s.id for s in store.list_snapshots(mirror)] == ["2026-07-07"]
    assert before - {"store/published.json"} <= set(s3_store.object_keys())  # ...and the old objects all stay


def test_publishes_under_one_import_lock_hold_one_lease(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = settings.data_dir()
    remote = objectstore._ATTACHED[s3_store.url]
    other = objectstore.Remote(remote.url, remote.bucket, remote.prefix, remote.mirror, remote.endpoint)
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.5)
    # A lease that outlives a slow moment: with the fixture's 3 s, a loaded CI machine (moto answering the first PUT
    # seconds late) let the other server find it expired and take it over, which is right, but not this test.
    monkeypatch.setenv("SALESLENS_STORE_LEASE_SECONDS", "30")
    with store.import_lock(mirror, timeout=1):  # as a demo build: its check and its snapshots are one piece
        assert "store/.import.lock" in s3_store.object_keys()
        with pytest.raises(store.ImportBusy), other.lease():  # another server's build must wait
            pass
        publish(mirror)
        publish(mirror, LATER)
        assert "store/.import.lock" in s3_store.object_keys()  # still held between the two
    assert "store/.import.lock" not in s3_store.object_keys()
    assert [s.id for s in store.list_snapshots(mirror)] == ["2026-06-30", "2026-07-07"]
    # A try without waiting (every page load's clean-up) touches only the mirror: no lease taken.
    with store.import_lock(mirror):
        assert "store/.import.lock" not in s3_store.object_keys()
