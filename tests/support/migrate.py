"""Helpers of the migration tests: a second real lakebox server is the S3-compatible source; the destination
copies from it in a leased background job."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import LakeboxServer, running

MANY = 400
ENDED = ("completed", "failed", "aborted")
MIB = 1 << 20
SMALL_COUNT = 240


def api_client(server: LakeboxServer) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.console_url}/client/v4",
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    )


def account_of(server: LakeboxServer) -> str:
    return str(server.root_credentials()["account_id"])


def migration_body(source: LakeboxServer, source_bucket: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "source_endpoint": source.s3_endpoint,
        "source_region": "auto",
        "source_bucket": source_bucket,
        "source_access_key_id": source.access_key_id,
        "source_secret_access_key": source.secret_access_key,
        **extra,
    }


def start(server: LakeboxServer, body: dict[str, Any]) -> dict[str, Any]:
    with api_client(server) as api:
        response = api.post(f"/accounts/{account_of(server)}/lakebox/migrations", json=body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["result"]
    return found


def show(server: LakeboxServer, migration_id: str) -> dict[str, Any]:
    with api_client(server) as api:
        response = api.get(f"/accounts/{account_of(server)}/lakebox/migrations/{migration_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["result"]
    return found


def wait_ended(server: LakeboxServer, migration_id: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = show(server, migration_id)
        if found["state"] in ENDED:
            return found
        time.sleep(0.2)
    raise AssertionError(f"migration {migration_id} did not end: {found}")


def content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (1 + i % 7)


@pytest.fixture(scope="module", name="source")
def source_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    with running(tmp_path_factory.mktemp("source") / "data") as srv:
        yield srv


@pytest.fixture(scope="module", name="dest")
def dest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    env = {
        "LAKEBOX_MIGRATION_MULTIPART_MIB": "6",
        "LAKEBOX_MIGRATION_PART_MIB": "5",
        "LAKEBOX_JOBS_POLL_MS": "100",
        "LAKEBOX_JOBS_BATCH_SIZE": "50",
    }
    with running(tmp_path_factory.mktemp("dest") / "data", extra_env=env) as srv:
        yield srv


@pytest.fixture(scope="module", name="filled")
def filled_bucket(source: LakeboxServer) -> str:
    """A source bucket of SMALL_COUNT small objects under ``small/``, one multipart-sized object and a few with
    content headers and user metadata under ``meta/``."""
    name = "src-" + secrets.token_hex(4)
    s3 = source.s3()
    s3.create_bucket(Bucket=name)
    for i in range(SMALL_COUNT):
        s3.put_object(Bucket=name, Key=f"small/{i:04d}", Body=content(i))
    s3.put_object(Bucket=name, Key="big/blob", Body=big_body())
    for i in range(3):
        s3.put_object(
            Bucket=name, Key=f"meta/{i}", Body=b"x" * (i + 1), ContentType="text/csv; charset=utf-8",
            ContentEncoding="gzip", CacheControl="max-age=60", ContentDisposition="attachment",
            ContentLanguage="de", Metadata={"owner": f"team-{i}", "x-origin": "s3"},
        )  # fmt: skip
    return name


def big_body() -> bytes:
    return hashlib.sha256(b"big").digest() * (12 * MIB // 32) + b"tail"


def new_bucket(server: LakeboxServer) -> str:
    name = "dst-" + secrets.token_hex(4)
    server.s3().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module", name="many")
def many_bucket(source: LakeboxServer) -> str:
    """A source bucket of MANY tiny objects: a migration of it takes many checkpoints."""
    name = "many-" + secrets.token_hex(4)
    s3 = source.s3()
    s3.create_bucket(Bucket=name)
    for i in range(MANY):
        s3.put_object(Bucket=name, Key=f"k/{i:05d}", Body=content(i))
    return name


def wait_copied(server: LakeboxServer, migration_id: str, at_least: int) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = show(server, migration_id)
        if found["objects_copied"] >= at_least or found["state"] in ENDED:
            return found
        time.sleep(0.02)
    raise AssertionError(f"migration {migration_id} copied nothing")


def job_of(server: LakeboxServer, migration_id: str) -> dict[str, Any]:
    with api_client(server) as api:
        jobs = api.get(f"/accounts/{account_of(server)}/lakebox/jobs", params={"kind": "migration"})
    found: dict[str, Any] = next(j for j in jobs.json()["result"] if j["target"] == migration_id)
    return found


def error_of(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, int(response.json()["errors"][0]["code"])


def show_all(server: LakeboxServer) -> list[dict[str, Any]]:
    with api_client(server) as api:
        found: list[dict[str, Any]] = api.get(f"/accounts/{account_of(server)}/lakebox/migrations").json()[
            "result"
        ]
    return found


class LyingSource:
    """An S3 endpoint in front of the source server that forwards every request unchanged (the Host header kept,
    so signatures still verify), except GETs of two keys: ``meta/0`` answers 404 NoSuchKey (deleted after the
    listing) and ``meta/1`` arrives with one byte flipped (its ETag still the MD5 of the true bytes); listings show
    ``meta/2`` in the GLACIER storage class."""

    def __init__(self, upstream: LakeboxServer) -> None:
        import http.client
        import http.server
        import re
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(upstream.s3_endpoint)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0].endswith("/meta/0"):
                    body = b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                    self.send_response(404)
                    self.send_header("content-type", "application/xml")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self._forward(flip=self.path.split("?")[0].endswith("/meta/1"))

            def do_HEAD(self) -> None:
                self._forward(flip=False)

            def _forward(self, flip: bool) -> None:
                conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=60)
                conn.request(self.command, self.path, headers=dict(self.headers.items()))
                answer = conn.getresponse()
                body = answer.read()
                if flip and body:
                    body = bytes([body[0] ^ 1]) + body[1:]
                if "list-type=2" in self.path:
                    body = re.sub(
                        rb"(<Key>meta/2</Key>.*?<StorageClass>)STANDARD(</StorageClass>)",
                        rb"\1GLACIER\2",
                        body,
                        flags=re.S,
                    )
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                conn.close()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
