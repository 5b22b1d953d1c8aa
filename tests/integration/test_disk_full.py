"""A full disk: writes are refused cleanly (507 InsufficientStorage), deletes and aborts keep working and free space
at once, nothing is left half-written and every object still reads back byte-exact.

The data directory (blobs and the SQLite database) is a tmpfs the test mounts, small enough to fill in seconds.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.admin import cf
from tests.support.server import LakeboxServer
from tests.support.tmpfs import mounted_tmpfs

MiB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "data", 64) as path:
        yield path


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def blob_files(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "blobs").glob("*/*/*")}


def in_flight(data_dir: Path) -> list[Path]:
    return list((data_dir / "incoming").glob("*/*"))


def indexed(data_dir: Path) -> tuple[int, set[str], set[str]]:
    """(object rows, blob files that rows reference, blobs waiting on the garbage list) read from the side; a
    blob kept in the database (the catalog's metadata files) must be there."""
    db = sqlite3.connect(f"file:{data_dir / 'lakebox.db'}?mode=ro", uri=True, timeout=30)
    try:
        count = db.execute("SELECT count(*) FROM s3_object").fetchone()[0]
        blobs = {
            r[0]
            for r in db.execute(
                "SELECT blob_id FROM s3_object WHERE blob_id IS NOT NULL UNION SELECT blob_id FROM s3_upload_part"
            )
        }
        inline = {r[0] for r in db.execute("SELECT blob_id FROM s3_inline_blob")}
        garbage = {r[0] for r in db.execute("SELECT blob_id FROM s3_blob_garbage")}
        assert {b for b in blobs if b.startswith("@db.")} <= inline
        return int(count), {b for b in blobs if not b.startswith("@db.")}, garbage
    finally:
        db.close()


def error_of(exc: ClientError) -> tuple[int, str, dict[str, Any]]:
    meta = exc.response["ResponseMetadata"]
    return meta["HTTPStatusCode"], exc.response["Error"]["Code"], meta["HTTPHeaders"]


class Catalog:
    """Just enough of the Iceberg REST API to create a table (which writes its first metadata file)."""

    SCHEMA = {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "a", "required": False, "type": "long"}],
    }

    def __init__(self, server: LakeboxServer, warehouse: str) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {server.token}"}
        enabled = cf(server, "POST", f"{{account}}/r2-catalog/{warehouse}/enable")
        assert enabled.status_code == 200, enabled.text
        config = httpx.get(
            f"{server.catalog_uri}/v1/config", params={"warehouse": warehouse}, headers=self.headers
        )
        self.base = f"{server.catalog_uri}/v1/{config.json()['overrides']['prefix']}"
        made = httpx.post(
            f"{self.base}/namespaces", json={"namespace": ["ns"]}, headers=self.headers, timeout=30
        )
        assert made.status_code == 200, made.text

    def create_table(self, name: str) -> httpx.Response:
        body = {"name": name, "schema": self.SCHEMA}
        return httpx.post(f"{self.base}/namespaces/ns/tables", json=body, headers=self.headers, timeout=60)


def test_full_disk_refuses_writes_and_deletes_free_space(small_disk: Path) -> None:
    server = LakeboxServer(small_disk, workers=2, extra_env={"LAKEBOX_DISK_RESERVE_MIB": "8"}).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="full")
        s3.create_bucket(Bucket="lake")
        catalog = Catalog(server, "lake")
        # An upload with a part, to abort once the disk is full.
        upload = s3.create_multipart_upload(Bucket="full", Key="pending")["UploadId"]
        s3.upload_part(Bucket="full", Key="pending", UploadId=upload, PartNumber=1, Body=os.urandom(5 * MiB))

        stored: dict[str, str] = {}
        refusal: ClientError | None = None
        for size in (MiB, 64 * 1024, 4096, 512):  # down to the last crumbs above the reserve
            for i in range(80):  # 64 MiB cannot hold 80 MiB
                data, key = os.urandom(size), f"obj-{size:07d}-{i:03d}"
                try:
                    s3.put_object(Bucket="full", Key=key, Body=data)
                except ClientError as exc:
                    refusal = exc
                    break
                stored[key] = hashlib.sha256(data).hexdigest()
            assert refusal is not None, "the disk never filled"
            status, code, headers = error_of(refusal)
            assert (status, code) == (507, "InsufficientStorage")
            assert "free space" in refusal.response["Error"]["Message"]
            assert int(headers["retry-after"]) > 0
        assert len(stored) >= 40

        # Every other kind of write is refused the same way, and none leaves anything behind.
        with pytest.raises(ClientError) as put_again:
            s3.put_object(Bucket="full", Key="refused", Body=os.urandom(MiB))
        assert error_of(put_again.value)[:2] == (507, "InsufficientStorage")
        second = s3.create_multipart_upload(Bucket="full", Key="refused-mpu")["UploadId"]
        with pytest.raises(ClientError) as part:
            s3.upload_part(
                Bucket="full", Key="refused-mpu", UploadId=second, PartNumber=1, Body=os.urandom(5 * MiB)
            )
        assert error_of(part.value)[:2] == (507, "InsufficientStorage")
        refused_table = catalog.create_table("refused")  # its first metadata file does not fit
        assert refused_table.status_code == 503, refused_table.text
        assert refused_table.json()["error"]["type"] == "ServiceUnavailableException"
        assert "free" in refused_table.json()["error"]["message"]
        assert s3.list_objects_v2(Bucket="lake")["KeyCount"] == 0
        assert (
            httpx.get(f"{catalog.base}/namespaces/ns/tables/refused", headers=catalog.headers).status_code
            == 404
        )
        assert in_flight(small_disk) == []
        rows, referenced, garbage = indexed(small_disk)
        assert rows == len(stored)
        assert garbage == set()
        assert blob_files(small_disk) == referenced  # no orphan file, no row without its file
        assert "refused" not in {o["Key"] for o in s3.list_objects_v2(Bucket="full").get("Contents", [])}

        # Deletes and aborts work on the full disk, and what they free is usable at once.
        keys = sorted(stored)
        for key in keys[:3]:
            assert s3.delete_object(Bucket="full", Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 204
            del stored[key]
        batch = keys[3:8]
        result = s3.delete_objects(Bucket="full", Delete={"Objects": [{"Key": k} for k in batch]})
        assert sorted(d["Key"] for d in result["Deleted"]) == batch
        assert "Errors" not in result
        for key in batch:
            del stored[key]
        aborted = s3.abort_multipart_upload(Bucket="full", Key="pending", UploadId=upload)
        assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
        s3.abort_multipart_upload(Bucket="full", Key="refused-mpu", UploadId=second)

        data = os.urandom(MiB)
        s3.put_object(Bucket="full", Key="after", Body=data)  # right after the deletes
        stored["after"] = hashlib.sha256(data).hexdigest()
        assert catalog.create_table("made").status_code == 200

        # Nothing is corrupt: every object reads back byte-exact, and disk and index agree.
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]}
        assert s3.list_objects_v2(Bucket="lake")["KeyCount"] == 1  # the new table's metadata file
        assert listed == set(stored)
        for key, digest in stored.items():
            assert hashlib.sha256(s3.get_object(Bucket="full", Key=key)["Body"].read()).hexdigest() == digest
        rows, referenced, garbage = indexed(small_disk)
        assert rows == len(stored) + 1  # and the table's metadata file
        # Once the deletes had made room the disk was no longer short: what was deleted after that waits out
        # its grace period on the garbage list. Nothing else is on disk.
        assert referenced <= blob_files(small_disk) <= referenced | garbage
        assert in_flight(small_disk) == []
    finally:
        server.stop()


def test_writes_that_meet_a_full_disk_midway_leave_nothing(small_disk: Path) -> None:
    """No reserve: concurrent writes all pass the free-space check and then run out of space while writing."""
    server = LakeboxServer(small_disk, workers=2, extra_env={"LAKEBOX_DISK_RESERVE_MIB": "0"}).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="race")
        stored: dict[str, str] = {}
        i = 0
        while free_bytes(small_disk) > 12 * MiB:
            data = os.urandom(MiB)
            s3.put_object(Bucket="race", Key=f"fill-{i:03d}", Body=data)
            stored[f"fill-{i:03d}"] = hashlib.sha256(data).hexdigest()
            i += 1

        def put(n: int) -> tuple[str, str, int | str]:
            data = os.urandom(2 * MiB)
            try:
                server.s3().put_object(Bucket="race", Key=f"race-{n:02d}", Body=data)
            except ClientError as exc:
                status, code, _headers = error_of(exc)
                return f"race-{n:02d}", "", f"{status} {code}"
            return f"race-{n:02d}", hashlib.sha256(data).hexdigest(), 200

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(put, range(16)))
        assert {o[2] for o in outcomes} <= {200, "507 InsufficientStorage"}
        assert any(o[2] != 200 for o in outcomes), "16 x 2 MiB fitted in 12 MiB"
        stored.update({key: digest for key, digest, outcome in outcomes if outcome == 200})

        assert in_flight(small_disk) == []
        rows, referenced, garbage = indexed(small_disk)
        assert rows == len(stored)
        assert garbage == set()
        assert blob_files(small_disk) == referenced
        for key, digest in stored.items():
            assert hashlib.sha256(s3.get_object(Bucket="race", Key=key)["Body"].read()).hexdigest() == digest
    finally:
        server.stop()
