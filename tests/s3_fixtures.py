"""An S3-compatible object store under test: moto's server on 127.0.0.1 and a free port, started here.

`s3_server` is one moto server per test session (a real HTTP server: s3fs talks to it as to any S3 service);
`s3_store` gives each test a fresh bucket and an environment (endpoint, fake credentials, a mirror folder in
tmp_path, no polling delay, short lease) in which `SALESLENS_DATA=s3://<bucket>/store` works. Without moto
installed the tests are skipped with the reason, except under CI, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Fake credentials for moto (it accepts any): set before s3fs or botocore look for real ones.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
               "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3Store:
    """A fresh bucket on the moto server: its URL, the endpoint and the environment a process needs."""

    endpoint: str
    bucket: str
    url: str
    env: dict[str, str]

    def client(self):  # type: ignore[no-untyped-def]
        """A boto3 client on the server, to look at or damage objects behind the store's back."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")

    def object_keys(self) -> list[str]:
        """Every object key in the bucket, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server for the session; its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"moto is not installed ({exc}); pip install -r requirements-dev.txt")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def store_env(endpoint: str, url: str, cache: Path) -> dict[str, str]:
    """The variables a process needs to use the store at url: endpoint, fake credentials, its own mirror."""
    return {**CREDENTIALS, "SALESLENS_DATA": url, "SALESLENS_S3_ENDPOINT": endpoint,
            "SALESLENS_STORE_CACHE": str(cache), "SALESLENS_STORE_POLL_SECONDS": "0",
            "SALESLENS_STORE_LEASE_SECONDS": "3"}


@pytest.fixture()
def s3_store(s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    """A fresh bucket, with this process's environment pointing at it (a mirror folder in tmp_path)."""
    from saleslens.core import objectstore

    bucket = "t" + uuid.uuid4().hex[:12]
    env = store_env(s3_server, f"s3://{bucket}/store", tmp_path / "mirror")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    made = S3Store(s3_server, bucket, env["SALESLENS_DATA"], env)
    made.client().create_bucket(Bucket=bucket)
    objectstore.detach_all()
    yield made
    objectstore.detach_all()
