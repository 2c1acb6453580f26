"""A snapshot store on object storage: SALESLENS_DATA=s3://bucket/prefix, any S3-compatible service.

Layout under the prefix:
    published.json                     the pointer: every published snapshot (id, key, files with their sizes,
                                       manifest) and history batch (id, key, files); replaced in one PUT, last, so
                                       a reader sees the old list or the new one, never half of one
    snapshots/<id>.<hex>/...           a snapshot's files, as in a local snapshot folder, under a key never reused
    batches/<id>.<hex>/<table>/month=YYYY-MM/data.parquet
                                       the history batch an import brought
    .import.lock                       the lease of the one publisher (see Remote.lease)

Every server keeps a local mirror of the store: a data directory laid out like a local one, in the store_cache
folder. Publishing builds the snapshot there exactly as a local publish does, uploads it, then writes the
pointer. Reading downloads a snapshot's (or batch's) files on first use, checks their sizes against the pointer
and puts them in place in one rename; snapshots never change, so the mirror is never invalidated, and DuckDB reads
local Parquet files under the runner's unchanged lockdown.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saleslens.core import settings, store

SCHEME = "s3://"
POINTER = "published.json"
LEASE = ".import.lock"
SOURCE_MARK = ".source"  # inside a mirrored folder: the key it was downloaded from
FETCH = ".fetch"  # downloads in progress in the mirror (not the import staging folder: clean_leftovers empties that)
POINTER_FORMAT = 1
_LEASE_RENEW_FRACTION = 3  # the lease is renewed this many times per its length
_SNAPSHOT_ID = re.compile(r"\d{4}-\d{2}-\d{2}(-\d+)?")


def is_url(value: str) -> bool:
    """Whether a SALESLENS_DATA (or --data) value names a store on object storage."""
    return value.startswith(SCHEME)


def mask(url: str) -> str:
    """A URL with any user:password@ part taken out, for messages."""
    return re.sub(r"//[^/@\s]*@", "//***@", url)


def endpoint() -> str | None:
    """The S3 endpoint: the s3_endpoint setting, else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS itself."""
    return settings.get("s3_endpoint") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") \
        or None


def cache_root() -> Path:
    """The folder holding the local mirrors: the store_cache setting, else one in the system's temporary folder."""
    chosen = settings.get("store_cache")
    return Path(chosen).expanduser() if chosen else Path(tempfile.gettempdir()) / "saleslens-store-cache"


_ATTACHED: dict[str, Remote] = {}
_ATTACH_LOCK = threading.Lock()


def attach(url: str) -> Path:
    """The local mirror (a data directory) of a store URL, known to the store module from now on; no network."""
    url = url.rstrip("/")
    bucket, _, prefix = url.removeprefix(SCHEME).partition("/")
    if not bucket:
        raise store.StoreError(f"The store URL {mask(url)} names no bucket.", "Write it as s3://bucket/prefix.")
    with _ATTACH_LOCK:
        found = _ATTACHED.get(url)
        if found is None or found.endpoint != endpoint():  # an endpoint changed by a test: a new client
            digest = hashlib.sha256(f"{url} {endpoint()}".encode()).hexdigest()[:16]
            mirror = cache_root() / digest
            mirror.mkdir(parents=True, exist_ok=True)
            found = Remote(url, bucket, prefix.strip("/"), mirror.resolve(), endpoint())
            _ATTACHED[url] = found
            store.register_remote(found.mirror, found)
        return found.mirror


def detach_all() -> None:
    """Forget every attached store (tests start afresh)."""
    with _ATTACH_LOCK:
        for remote in _ATTACHED.values():
            store.register_remote(remote.mirror, None)
        _ATTACHED.clear()


@dataclass
class Pointer:
    """The published.json document as read, with the ETag it had (None: no pointer yet, an empty store)."""

    snapshots: list[dict]
    batches: dict[str, dict]
    etag: str | None

    def entry(self, snapshot_id: str) -> dict | None:
        """The pointer's entry of a snapshot, or None."""
        return next((e for e in self.snapshots if e["id"] == snapshot_id), None)


@dataclass
class _Lease:
    """The lease this process holds: the lease object's ETag, renewed by a thread until released."""

    etag: str
    lost: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: Pointer | None = None  # the pointer as read right after taking the lease: what the import builds on


class Remote:
    """One store on object storage and its local mirror; store.py calls it through store.RemoteStore."""

    def __init__(self, url: str, bucket: str, prefix: str, mirror: Path, endpoint_url: str | None) -> None:
        self.url = url
        self.bucket = bucket
        self.prefix = prefix
        self.mirror = mirror
        self.endpoint = endpoint_url
        self._fs: Any = None
        self._lock = threading.Lock()
        self._pointer: Pointer | None = None
        self._read_at = 0.0
        self._fetched: set[tuple[str, str]] = set()  # (folder, key) known complete in the mirror
        self._done: set[tuple[str, str]] = set()  # ("snapshot" or "batch", id) fetched by this process
        self._lease: _Lease | None = None
        self._since = ""  # when the current import took the lease, for the busy message of others
        self.on_upload: Callable[[str], None] | None = None  # tests: told each object uploaded
        _clean_fetches(mirror)

    # -- plumbing

    @property
    def where(self) -> str:
        """The store's URL and endpoint, for messages (no credentials)."""
        return f"{self.url} (endpoint {mask(self.endpoint)})" if self.endpoint else self.url

    @property
    def fs(self) -> Any:
        """The s3fs filesystem, made on first use (s3fs is imported only by deployments that use it)."""
        if self._fs is None:
            import s3fs

            self._fs = s3fs.S3FileSystem(
                client_kwargs={"endpoint_url": self.endpoint} if self.endpoint else {},
                # Short timeouts and few retries: an unreachable store is told on the page in seconds, not minutes.
                config_kwargs={"connect_timeout": 5, "read_timeout": 60,
                               "retries": {"max_attempts": 2, "mode": "standard"}},
                skip_instance_cache=True,
            )
            self._fs.retries = 2  # s3fs's own retries, each of botocore's: 4 tries of a dead endpoint, not 15
        return self._fs

    def _key(self, *parts: str) -> str:
        """An object key under the prefix."""
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _path(self, *parts: str) -> str:
        """bucket/key, as s3fs names objects."""
        return f"{self.bucket}/{self._key(*parts)}"

    def object_url(self, *parts: str) -> str:
        """The s3:// URL of an object, for messages."""
        return f"{SCHEME}{self._path(*parts)}"

    def _fail(self, exc: BaseException, doing: str) -> store.StoreError:
        """A StoreError naming the store and what failed; FileNotFoundError of a bucket is said as such."""
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, FileNotFoundError) and "bucket" in reason.lower():
            return StoreUnavailable(f"The snapshot store {self.where} cannot be used: the bucket {self.bucket} "
                                    "does not exist.", "Create it, or correct SALESLENS_DATA.")
        return StoreUnavailable(f"Cannot {doing} the snapshot store {self.where}: {mask(reason)}",
                                "Check the store URL, the endpoint and the network; the credentials come from the "
                                "usual AWS variables or files.")

    def _get(self, *parts: str, unless: str | None = None) -> tuple[bytes, str] | None:
        """An object's bytes and ETag, or None when it does not exist; NOT_MODIFIED when its ETag is `unless`."""
        from fsspec.asyn import sync

        try:
            resp = self.fs.call_s3("get_object", Bucket=self.bucket, Key=self._key(*parts),
                                   **({"IfNoneMatch": unless} if unless else {}))
        except FileNotFoundError as exc:
            if "bucket" in str(exc).lower():
                raise self._fail(exc, "read") from None
            return None
        except Exception as exc:
            if unless and _status(exc) == 304:
                return NOT_MODIFIED
            raise self._fail(exc, "read") from None

        async def read(body: Any) -> bytes:
            async with body as stream:
                return await stream.read()

        return sync(self.fs.loop, read, resp["Body"]), resp["ETag"]

    def _put(self, body: bytes, *parts: str, if_match: str | None = None, if_none_match: bool = False) -> str | None:
        """Write an object, conditionally; its new ETag, or None when the condition did not hold."""
        cond = {"IfMatch": if_match} if if_match else ({"IfNoneMatch": "*"} if if_none_match else {})
        try:
            resp = self.fs.call_s3("put_object", Bucket=self.bucket, Key=self._key(*parts), Body=body,
                                   ContentType="application/json", **cond)
        except (FileExistsError, OSError) as exc:
            if cond and ("pre-condition" in str(exc).lower() or "precondition" in str(exc).lower()
                         or isinstance(exc, FileExistsError) or "conflict" in str(exc).lower()):
                return None
            raise self._fail(exc, "write to") from None
        except Exception as exc:
            raise self._fail(exc, "write to") from None
        return resp.get("ETag", "")

    # -- the pointer

    def pointer(self, max_age: float | None = None) -> Pointer:
        """The published list, read again once older than max_age seconds (default: the store_poll_seconds
        setting), so a page's many calls in one rerun make one request, and another server's import shows soon."""
        age = float(settings.get("store_poll_seconds")) if max_age is None else max_age
        with self._lock:
            if self._pointer is not None and time.monotonic() - self._read_at < age:
                return self._pointer
        known = self._pointer
        # Asked If-None-Match its ETag: an unchanged list (the usual answer) costs a round trip, not its bytes.
        got = self._get(POINTER, unless=known.etag if known is not None else None)
        if got is NOT_MODIFIED and known is not None:
            pointer = known
        else:
            pointer = Pointer([], {}, None) if got is None else self._parse(*got)
        with self._lock:
            self._pointer, self._read_at = pointer, time.monotonic()
        return pointer

    def _parse(self, body: bytes, etag: str) -> Pointer:
        """Check the pointer document; StoreError naming it when it is damaged."""
        try:
            doc = json.loads(body.decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != POINTER_FORMAT:
                raise ValueError(f"not a format {POINTER_FORMAT} pointer")
            snaps = doc["snapshots"]
            batches = doc["batches"]
            for entry in snaps:
                if not (isinstance(entry, dict) and _SNAPSHOT_ID.fullmatch(str(entry.get("id", "")))
                        and isinstance(entry.get("files"), dict)
                        and isinstance(entry.get("key"), str) and isinstance(entry.get("manifest"), dict)):
                    raise ValueError("a snapshot entry lacks its id, key, files or manifest")
                store.check_manifest(entry["manifest"])
            if not isinstance(batches, dict) or any(not isinstance(b.get("files"), dict) for b in batches.values()):
                raise ValueError("a history batch lacks its files")
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise store.StoreError(
                f"The pointer {self.object_url(POINTER)} of the snapshot store is damaged ({exc}).",
                "Restore it from the bucket's versions or a backup; Sales Lens wrote it in one piece.",
            ) from None
        return Pointer(list(snaps), dict(batches), etag)

    def snapshot_entries(self) -> list[tuple[str, dict]]:
        """(id, manifest) of every published snapshot, in the pointer's order."""
        return [(e["id"], e["manifest"]) for e in self.pointer().snapshots]

    def check(self) -> None:
        """Read the pointer (unless read within store_poll_seconds): StoreError when the store cannot be reached
        or its pointer is damaged."""
        self.pointer()

    def describe(self, path: Path) -> str:
        """A mirrored file's place in the store (its s3:// URL), for messages; the path itself if not mirrored."""
        try:
            rel = path.relative_to(self.mirror).parts
        except ValueError:
            return str(path)
        if len(rel) >= 3 and rel[0] == store.SNAPSHOTS:
            entry = self.pointer().entry(rel[1])
            if entry is not None:
                return self.object_url(entry["key"], *rel[2:])
        return str(path)

    # -- reading: the mirror

    def fetch_snapshot(self, snapshot_id: str) -> None:
        """Download a published snapshot's files into the mirror once (no-op when they are there)."""
        if ("snapshot", snapshot_id) in self._done:  # the usual case: no pointer read, no file looked at
            return
        entry = self.pointer().entry(snapshot_id)
        if entry is None:
            return
        target = self.mirror / store.SNAPSHOTS / snapshot_id
        self._fetch_folder(target, entry["key"], entry["files"], f"snapshot {snapshot_id}")
        self._done.add(("snapshot", snapshot_id))

    def fetch_batch(self, batch: str) -> None:
        """Download a published history batch into the mirror once: one folder per table, each in one rename."""
        if ("batch", batch) in self._done:
            return
        entry = self.pointer().batches.get(batch)
        if entry is None:
            return  # the legacy batch, or a batch being staged by this very import: local only
        by_table: dict[str, dict[str, int]] = {}
        for name, size in entry["files"].items():
            table, _, rest = name.partition("/")
            by_table.setdefault(table, {})[rest] = size
        for table, files in by_table.items():
            target = self.mirror / store.EVENTS / table / f"batch={batch}"
            self._fetch_folder(target, f"{entry['key']}/{table}", files, f"history batch {batch} of {table}")
        self._done.add(("batch", batch))

    def _fetch_folder(self, target: Path, key: str, files: dict[str, int], what: str) -> None:
        """Make target hold exactly the files of key (sizes checked), downloaded aside and renamed into place."""
        if (str(target), key) in self._fetched:
            return
        if _holds(target, key):
            if all(_size(target / n) == size for n, size in files.items()):
                self._fetched.add((str(target), key))
                return
            self._discard(target)  # a copy someone changed or cut short: downloaded again
        temp = self.mirror / FETCH / uuid.uuid4().hex
        temp.mkdir(parents=True)
        try:
            names = sorted(files)
            locals_ = [str(temp / n) for n in names]
            for path in locals_:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self.fs.get([self._path(key, n) for n in names], locals_)
            except FileNotFoundError as exc:
                if "bucket" in str(exc).lower():
                    raise self._fail(exc, "read") from None
                self.fs.invalidate_cache()
                missing = next((n for n in names if not self.fs.exists(self._path(key, n))), names[0])
                raise store.StoreError(
                    f"The object {self.object_url(key, missing)} of {what} is missing from the store.",
                    "Restore it from the bucket's versions or a backup, or import the data again.",
                ) from None
            except Exception as exc:
                raise self._fail(exc, "download from") from None
            for name in names:
                size = (temp / name).stat().st_size
                if size != files[name]:
                    raise store.StoreError(
                        f"The object {self.object_url(key, name)} of {what} is damaged: {size} bytes where the "
                        f"pointer lists {files[name]}.",
                        "Restore it from the bucket's versions or a backup, or import the data again.",
                    )
            (temp / SOURCE_MARK).write_text(key, encoding="utf-8")
            self._install(temp, target, key)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        self._fetched.add((str(target), key))

    def _install(self, folder: Path, target: Path, key: str) -> None:
        """Rename a complete folder into the mirror; one another process put there first is as good."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not _holds(target, key):
            self._discard(target)  # left by a store published again from scratch under the same id
        try:
            os.rename(folder, target)
        except OSError:
            if not _holds(target, key):  # else another thread or process put the same files there first
                raise

    def _discard(self, target: Path) -> None:
        """Move a mirrored folder out of the way in one rename (queries that opened its files keep them), then
        remove it."""
        stale = self.mirror / FETCH / f"stale-{uuid.uuid4().hex}"
        stale.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.rename(target, stale)
            shutil.rmtree(stale, ignore_errors=True)

    # -- publishing

    @contextlib.contextmanager
    def lease(self) -> Iterator[None]:
        """Hold the store's import lease: one publisher at a time across servers.

        Object storage has no flock: the lease is an object created only if absent (a conditional write,
        If-None-Match: *), holding its holder and expiry; a thread renews it (If-Match its ETag) while the import
        runs. A publisher that died leaves it until it expires (store_lease_seconds); the next one then takes it
        over, again by a conditional write, so two never both win. The pointer itself is written If-Match the
        ETag read at the start, so even a publisher that lost its lease can never overwrite a newer list.
        """
        if self._lease is not None:  # re-entrant: publishes inside a demo build (the store's import lock is held)
            yield
            return
        ttl = float(settings.get("store_lease_seconds"))
        self._since = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        held = _Lease(self._take_lease(ttl, time.monotonic() + store.LOCK_WAIT_SECONDS))
        renewer = threading.Thread(target=self._renew, args=(held, ttl), name="saleslens-lease", daemon=True)
        renewer.start()
        try:
            held.base = self.pointer(max_age=0)
            self._lease = held
            yield
        finally:
            held.stop.set()
            renewer.join()
            self._lease = None
            with contextlib.suppress(Exception):  # an expired lease another publisher took is theirs now
                self.fs.call_s3("delete_object", Bucket=self.bucket, Key=self._key(LEASE), IfMatch=held.etag)

    def _lease_body(self, ttl: float) -> bytes:
        """The lease object: who holds it and until when (UTC, seconds)."""
        holder = f"process {os.getpid()} on {socket.gethostname()}, since {self._since}"
        return json.dumps({"holder": holder, "expires": time.time() + ttl}).encode("utf-8")

    def _take_lease(self, ttl: float, deadline: float) -> str:
        """Create the lease object, or take over an expired one; ImportBusy at the deadline."""
        while True:
            etag = self._put(self._lease_body(ttl), LEASE, if_none_match=True)
            if etag is not None:
                return etag
            current = self._get(LEASE)
            holder = ""
            if current is not None:
                try:
                    doc = json.loads(current[0])
                    holder, expires = str(doc.get("holder", "")), float(doc["expires"])
                except (ValueError, KeyError, TypeError):
                    expires = 0.0  # a damaged lease protects nothing
                if expires < time.time():
                    etag = self._put(self._lease_body(ttl), LEASE, if_match=current[1])
                    if etag is not None:
                        return etag
            if time.monotonic() >= deadline:
                raise store.ImportBusy(
                    f"Another import is publishing to {self.url}" + (f" ({holder})" if holder else "") + ".",
                    "Wait until it has finished, then try again.",
                )
            time.sleep(0.2)

    def _renew(self, held: _Lease, ttl: float) -> None:
        """Renew the lease until told to stop; mark it lost when another publisher took it."""
        while not held.stop.wait(ttl / _LEASE_RENEW_FRACTION):
            if not self._renew_once(held, ttl):
                return

    def _renew_once(self, held: _Lease, ttl: float) -> bool:
        """Extend the lease now; False (and marked lost) when it is no longer ours."""
        with held.lock:
            if held.lost.is_set():
                return False
            try:
                etag = self._put(self._lease_body(ttl), LEASE, if_match=held.etag)
            except store.StoreError:
                return True  # a network hiccup: try again at the next turn; the pointer write checks anyway
            if etag is None:
                held.lost.set()
                return False
            held.etag = etag
            return True

    def taken_ids(self) -> set[str]:
        """The snapshot ids the store has published."""
        return {e["id"] for e in self.pointer().snapshots}

    def publish(self, stage: Path, snap_id: str, manifest: dict, own: list[str], batch_dir: Callable[[Path, str], Path],
                step: Callable[[str], None]) -> None:
        """Upload a staged snapshot and its history batch under new keys, then write the pointer naming them.

        Until the pointer is written nobody reads the uploaded objects; a publisher killed before leaves only
        objects no pointer names, which the next publish removes.
        """
        held = self._lease
        base = held.base if held is not None and held.base is not None else self.pointer(max_age=0)
        if snap_id in {e["id"] for e in base.snapshots}:
            raise store.ImportBusy(f"Another import published snapshot {snap_id} to {self.url} meanwhile.",
                                   "Nothing was published; try again.")
        self._sweep(base)
        step("orphans removed")
        tag = uuid.uuid4().hex[:12]
        snap_key = f"{store.SNAPSHOTS}/{snap_id}.{tag}"
        files = {p.relative_to(stage).as_posix(): p.stat().st_size for p in sorted(stage.rglob("*"))
                 if p.is_file() and p.relative_to(stage).parts[0] != store.EVENTS}
        self._upload(stage, snap_key, files)
        step("snapshot uploaded")
        batches = dict(base.batches)
        if own:
            batch_key = f"batches/{snap_id}.{tag}"
            batch_files: dict[str, int] = {}
            for table in own:
                folder = batch_dir(stage, table)
                for p in sorted(folder.rglob("*")):
                    if p.is_file():
                        batch_files[f"{table}/{p.relative_to(folder).as_posix()}"] = p.stat().st_size
                self._upload(folder, f"{batch_key}/{table}",
                             {k.partition("/")[2]: v for k, v in batch_files.items() if k.startswith(f"{table}/")})
            batches[snap_id] = {"key": batch_key, "files": batch_files}
            step("history uploaded")
        entry = {"id": snap_id, "key": snap_key, "files": files, "manifest": manifest}
        doc = {"format": POINTER_FORMAT, "snapshots": [*base.snapshots, entry], "batches": batches}
        body = json.dumps(doc, indent=1, default=str, ensure_ascii=False).encode("utf-8")
        if held is not None and not self._renew_once(held, float(settings.get("store_lease_seconds"))):
            raise store.ImportBusy(f"This import's lease on {self.url} expired and another import took it.",
                                   "Nothing was published; try again.")
        written = self._put(body, POINTER, **({"if_match": base.etag} if base.etag else {"if_none_match": True}))
        if written is None:
            raise store.ImportBusy(f"Another import published to {self.url} meanwhile.",
                                   "Nothing was published; try again.")
        with self._lock:
            self._pointer = Pointer(doc["snapshots"], batches, written)
            self._read_at = time.monotonic()
        if held is not None:
            held.base = self._pointer  # the next publish under the same lease (a demo build) builds on this one
        step("pointer written")

    def _upload(self, folder: Path, key: str, files: dict[str, int]) -> None:
        """Upload the named files of a local folder under key."""
        names = sorted(files)
        try:
            self.fs.put([str(folder / n) for n in names], [self._path(key, n) for n in names])
        except Exception as exc:
            raise self._fail(exc, "upload to") from None
        if self.on_upload is not None:
            for n in names:
                self.on_upload(f"{key}/{n}")

    def _sweep(self, pointer: Pointer) -> None:
        """Remove the objects of publishers that died before writing the pointer (keys no pointer names).

        Called under the lease with the pointer just read: no live publisher can be uploading, and readers only
        ever fetch keys the pointer names.
        """
        if pointer.etag is None:
            # No pointer: a new store, or one whose pointer was lost. Its objects may be all there is to restore
            # it from, so nothing is removed (a killed first publish leaves a little garbage at worst).
            return
        named = {e["key"] for e in pointer.snapshots} | {b["key"] for b in pointer.batches.values()}
        for folder in (store.SNAPSHOTS, "batches"):
            try:
                self.fs.invalidate_cache()
                found = self.fs.ls(self._path(folder), detail=False)
            except FileNotFoundError:
                continue
            except Exception as exc:
                raise self._fail(exc, "list") from None
            for path in found:
                key = path.removeprefix(f"{self.bucket}/").removeprefix(f"{self.prefix}/" if self.prefix else "")
                if key not in named:
                    with contextlib.suppress(FileNotFoundError):
                        self.fs.rm(path, recursive=True)

    def adopt(self, stage: Path, snap_id: str, own: list[str], batch_dir: Callable[[Path, str], Path]) -> Path:
        """Move a just-published staged snapshot (and its batch) into the mirror, so this server need not
        download what it built; its place in the mirror."""
        pointer = self.pointer()
        entry = pointer.entry(snap_id)
        target = self.mirror / store.SNAPSHOTS / snap_id
        if entry is None:
            return target
        with contextlib.suppress(OSError):  # the snapshot is published: the mirror downloads it if this fails
            for table in own:
                key = f"{pointer.batches[snap_id]['key']}/{table}"
                folder = batch_dir(stage, table)
                (folder / SOURCE_MARK).write_text(key, encoding="utf-8")
                self._install(folder, batch_dir(self.mirror, table), key)
            shutil.rmtree(stage / store.EVENTS, ignore_errors=True)
            (stage / SOURCE_MARK).write_text(entry["key"], encoding="utf-8")
            self._install(stage, target, entry["key"])
        return target


class StoreUnavailable(store.StoreError):
    """The store on object storage cannot be reached or used (network, endpoint, bucket, credentials)."""


def _holds(folder: Path, key: str) -> bool:
    """Whether a mirrored folder was downloaded from key (its mark says so)."""
    try:
        return (folder / SOURCE_MARK).read_text(encoding="utf-8") == key
    except OSError:
        return False


def _size(path: Path) -> int | None:
    """A file's size, or None when it is missing."""
    try:
        return path.stat().st_size
    except OSError:
        return None


NOT_MODIFIED = (b"", "")  # _get's answer when the object still has the ETag the caller knows


def _status(exc: BaseException) -> int | None:
    """The HTTP status behind an s3fs error (it wraps botocore's ClientError), if any."""
    for err in (exc, exc.__cause__):
        response = getattr(err, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            try:
                return int(code)
            except (TypeError, ValueError):
                continue
    return None


def _clean_fetches(mirror: Path) -> None:
    """Remove downloads a killed process left in the mirror (older than an hour: another may be downloading)."""
    folder = mirror / FETCH
    if not folder.is_dir():
        return
    cutoff = time.time() - 3600
    for child in folder.iterdir():
        with contextlib.suppress(OSError):
            if child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
