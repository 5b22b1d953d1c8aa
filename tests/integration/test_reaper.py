"""The reaper keeps up under continuous overwrites: once the load stops and the grace period has passed, the blob
files on disk are exactly those the index references, with every worker reaping (claims split the work)."""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from infra.db import Database
from tests.support.server import LakeboxServer, postgres_database

KEYS = [f"k{i:02d}" for i in range(40)]


def blob_files(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "blobs").glob("*/*/*")}


def index_state(server: LakeboxServer) -> tuple[int, set[str], int]:
    """(live objects, blobs rows reference, garbage rows)."""
    db = Database(server.database_url or f"sqlite:///{server.data_dir / 'lakebox.db'}")
    try:
        with db.read() as conn:
            objects = conn.execute(text("SELECT count(*) FROM s3_object")).scalar_one()
            referenced = conn.execute(
                text(
                    "SELECT blob_id FROM s3_object WHERE blob_id IS NOT NULL UNION SELECT blob_id FROM s3_upload_part"
                )
            )
            blobs = {r[0] for r in referenced}
            garbage = conn.execute(text("SELECT count(*) FROM s3_blob_garbage")).scalar_one()
            return int(objects), blobs, int(garbage)
    finally:
        db.dispose()


def test_blob_files_return_to_the_live_objects_after_an_overwrite_load(tmp_path: Path) -> None:
    server = LakeboxServer(
        tmp_path / "data",
        workers=2,
        database_url=postgres_database(),
        extra_env={"LAKEBOX_GARBAGE_GRACE_SECONDS": "1"},
    ).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="churn")

        def overwrite(seed: int) -> int:
            client, rng, writes = server.s3(), random.Random(seed), 0
            for _ in range(150):
                key = rng.choice(KEYS)
                if rng.random() < 0.1:
                    client.delete_object(Bucket="churn", Key=key)
                else:
                    client.put_object(Bucket="churn", Key=key, Body=os.urandom(rng.randrange(1, 70_000)))
                    writes += 1
            return writes

        with ThreadPoolExecutor(8) as pool:
            writes = sum(pool.map(overwrite, range(8)))
        assert writes > 1000

        # Generous: the reaper runs every few seconds on a loaded machine; nothing here is timed.
        deadline = time.monotonic() + 180
        while True:
            objects, referenced, garbage = index_state(server)
            files = blob_files(server.data_dir)
            if (files == referenced and garbage == 0) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert garbage == 0
        assert files == referenced
        assert len(files) == objects  # single-blob objects only: one file each
        live = {o["Key"] for o in s3.list_objects_v2(Bucket="churn").get("Contents", [])}
        assert len(live) == objects
    finally:
        server.stop()
