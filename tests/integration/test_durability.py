"""Durability and concurrency: SIGKILL mid-upload, conditional-put races across workers, huge streamed bodies."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text

from infra.db import Database
from tests.support.server import LakeboxServer, postgres_database


def accounted_blobs(server: LakeboxServer) -> set[str]:
    """Blobs a row references, or that wait in the garbage list for their grace period to end."""
    db = Database(server.database_url or f"sqlite:///{server.data_dir / 'lakebox.db'}")
    try:
        with db.read() as conn:
            rows = conn.execute(
                text(
                    "SELECT blob_id FROM s3_object WHERE blob_id IS NOT NULL UNION SELECT blob_id FROM s3_upload_part"
                    " UNION SELECT blob_id FROM s3_blob_garbage"
                )
            )
            return {r[0] for r in rows}
    finally:
        db.dispose()


def stored_blobs(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "blobs").glob("*/*/*")}


def in_flight_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "incoming").glob("*/*")]


@pytest.mark.slow
def test_sigkill_during_uploads_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = LakeboxServer(tmp_path / "data", workers=2, database_url=postgres_database()).start()
    s3 = server.s3()
    s3.create_bucket(Bucket="crash")
    acknowledged: dict[str, str] = {}
    attempted: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    block = os.urandom(4 * 1024 * 1024)

    def uploader(worker: int) -> None:
        client = server.s3()
        rng = random.Random(worker)
        n = 0
        while not stop.is_set():
            n += 1
            # Half the writes overwrite a small set of keys, half create new ones.
            key = f"w{worker}/shared-{rng.randrange(4)}" if n % 2 else f"w{worker}/new-{n}"
            start = rng.randrange(len(block) // 2)
            body = block[start : start + rng.choice([1, 4096, 300_000, 2_000_000])]
            digest = hashlib.md5(body).hexdigest()  # noqa: S324
            with lock:
                attempted.setdefault(key, "")
                attempted[key] += digest + ","
            try:
                client.put_object(Bucket="crash", Key=key, Body=body)
            except Exception:
                return  # the server died under us
            with lock:
                acknowledged[key] = digest

    with ThreadPoolExecutor(16) as pool:
        for i in range(16):
            pool.submit(uploader, i)
        time.sleep(4)
        server.kill()
        stop.set()
    assert acknowledged, "no upload finished before the kill"

    server.start()
    try:
        assert in_flight_files(server.data_dir) == []
        s3 = server.s3()
        listed = {
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash")
            for o in page.get("Contents", [])
        }
        for key, digest in acknowledged.items():
            got = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            got_digest = hashlib.md5(got).hexdigest()  # noqa: S324
            # The acknowledged write, or a later attempted (complete) overwrite of the same key.
            assert got_digest == digest or got_digest in attempted[key], key
        for key in listed:
            got = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            assert hashlib.md5(got).hexdigest() in attempted[key], f"{key} is torn"  # noqa: S324
        assert stored_blobs(server.data_dir) == accounted_blobs(server)
    finally:
        server.stop()


@pytest.mark.slow
def test_conditional_create_race_across_workers(tmp_path: Path) -> None:
    server = LakeboxServer(tmp_path / "data", workers=2, database_url=postgres_database()).start()
    try:
        server.s3().create_bucket(Bucket="race")
        clients = [server.s3(), server.s3()]
        for round_ in range(40):
            barrier = threading.Barrier(2)
            outcomes: list[str] = []

            def put(
                client: Any,
                who: int,
                key: str = f"k{round_}",
                barrier: threading.Barrier = barrier,
                outcomes: list[str] = outcomes,
            ) -> None:
                barrier.wait()
                try:
                    client.put_object(Bucket="race", Key=key, Body=f"writer {who}".encode(), IfNoneMatch="*")
                    outcomes.append("ok")
                except ClientError as exc:
                    outcomes.append(exc.response["Error"]["Code"])

            threads = [threading.Thread(target=put, args=(clients[i], i)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcomes) == ["PreconditionFailed", "ok"], outcomes
    finally:
        server.stop()


def tree_rss(pid: int) -> int:
    proc = psutil.Process(pid)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


@pytest.mark.slow
def test_huge_put_streams_with_bounded_memory(tmp_path: Path) -> None:
    size = int(4.9 * 1024**3)
    server = LakeboxServer(tmp_path / "data", workers=1, database_url=postgres_database()).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="huge")
        url = urlsplit(
            s3.generate_presigned_url("put_object", Params={"Bucket": "huge", "Key": "big"}, ExpiresIn=3600)
        )
        assert server.process is not None
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(server.process.pid))  # type: ignore[union-attr]
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        block = os.urandom(1024 * 1024)
        md5 = hashlib.md5()  # noqa: S324
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=600)
        conn.putrequest("PUT", f"{url.path}?{url.query}", skip_accept_encoding=True)
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        sent = 0
        while sent < size:
            chunk = block[: min(len(block), size - sent)]
            md5.update(chunk)
            conn.send(chunk)
            sent += len(chunk)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        done.set()
        sampler.join()
        assert response.status == 200, body
        assert response.getheader("ETag") == f'"{md5.hexdigest()}"'
        head = s3.head_object(Bucket="huge", Key="big")
        assert head["ContentLength"] == size
        print(f"peak server RSS during a {size / 1024**3:.1f} GiB PUT: {peak / 1024**2:.0f} MiB")
        assert peak < 300 * 1024**2
        s3.delete_object(Bucket="huge", Key="big")
    finally:
        server.stop()
