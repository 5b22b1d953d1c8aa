"""Storage classes with a meaning: a bucket's default class applies to uploads that name none (PutObject,
CreateMultipartUpload, CopyObject), Infrequent Access objects live on the Infrequent Access tier (its own directory,
here set with ``LAKEBOX_IA_DIR``), a CopyObject that changes the class moves the bytes there and back, and an
unknown class is InvalidStorageClass with nothing written."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_bucket_cli import as_json
from tests.support.server import LakeboxServer, running

PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cold-disk")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, cold: Path) -> Iterator[LakeboxServer]:
    env = {"LAKEBOX_IA_DIR": str(cold), "LAKEBOX_GARBAGE_GRACE_SECONDS": "1"}
    with running(tmp_path_factory.mktemp("lakebox") / "data", extra_env=env) as srv:
        yield srv


def files(directory: Path) -> set[str]:
    return {p.name for p in (directory / "blobs").glob("*/*/*")}


def head_class(s3: Any, bucket: str, key: str) -> str:
    return str(s3.head_object(Bucket=bucket, Key=key).get("StorageClass", "STANDARD"))


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def wait_until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 120  # the reaper runs every few seconds; generous on a loaded machine
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_bucket_default_applies_to_uploads_that_name_none(server: LakeboxServer, cold: Path) -> None:
    s3 = server.s3()
    created = as_json(server, "bucket", "create", "cold-default", "--storage-class", "InfrequentAccess")
    assert created["storage_class"] == "InfrequentAccess"
    s3.create_bucket(Bucket="warm-source")
    before_cold, before_warm = files(cold), files(server.data_dir)

    s3.put_object(Bucket="cold-default", Key="put", Body=b"cold bytes")
    assert head_class(s3, "cold-default", "put") == "STANDARD_IA"
    s3.put_object(Bucket="cold-default", Key="named", Body=b"warm bytes", StorageClass="STANDARD")
    assert head_class(s3, "cold-default", "named") == "STANDARD"

    upload = s3.create_multipart_upload(Bucket="cold-default", Key="mpu")["UploadId"]
    listed = s3.list_multipart_uploads(Bucket="cold-default")["Uploads"]
    assert [u["StorageClass"] for u in listed] == ["STANDARD_IA"]
    etags = [
        s3.upload_part(Bucket="cold-default", Key="mpu", UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in ((1, b"a" * PART), (2, b"tail"))
    ]
    s3.complete_multipart_upload(
        Bucket="cold-default", Key="mpu", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]},
    )  # fmt: skip
    assert head_class(s3, "cold-default", "mpu") == "STANDARD_IA"

    s3.put_object(Bucket="warm-source", Key="src", Body=b"copied")
    s3.copy_object(Bucket="cold-default", Key="copy", CopySource="warm-source/src")
    assert head_class(s3, "cold-default", "copy") == "STANDARD_IA"
    assert s3.get_object(Bucket="cold-default", Key="copy")["Body"].read() == b"copied"

    # put + 2 parts + copy on the cold tier; the named STANDARD object and the copy's source in the data dir
    assert len(files(cold) - before_cold) == 4
    assert len(files(server.data_dir) - before_warm) == 2
    assert s3.get_object(Bucket="cold-default", Key="mpu")["Body"].read() == b"a" * PART + b"tail"

    updated = as_json(
        server, "bucket", "update", "storage-class", "cold-default", "--storage-class", "Standard"
    )
    assert updated["storage_class"] == "Standard"
    s3.put_object(Bucket="cold-default", Key="after", Body=b"x")
    assert head_class(s3, "cold-default", "after") == "STANDARD"
    assert head_class(s3, "cold-default", "put") == "STANDARD_IA"  # a default applies to new uploads only


def test_create_bucket_default_over_s3(server: LakeboxServer) -> None:
    def with_default(value: str) -> Any:
        client = server.s3()
        client.meta.events.register(
            "before-call.s3.CreateBucket",
            lambda params, **_: params["headers"].update({"cf-default-storage-class": value}),
        )
        return client

    with_default("InfrequentAccess").create_bucket(Bucket="s3-cold")
    server.s3().put_object(Bucket="s3-cold", Key="k", Body=b"v")
    assert head_class(server.s3(), "s3-cold", "k") == "STANDARD_IA"
    with pytest.raises(ClientError) as exc:
        with_default("GLACIER").create_bucket(Bucket="s3-glacier")
    assert code(exc) == (400, "InvalidStorageClass")
    assert "s3-glacier" not in {b["Name"] for b in server.s3().list_buckets()["Buckets"]}


def test_copy_with_a_class_change_moves_the_bytes(server: LakeboxServer, cold: Path) -> None:
    s3 = server.s3()
    s3.create_bucket(Bucket="mover")
    data = os.urandom(3 * 1024 * 1024 + 17)  # written around the page cache: a whole-file move either way
    s3.put_object(Bucket="mover", Key="k", Body=data, Metadata={"m": "1"})
    etag = s3.head_object(Bucket="mover", Key="k")["ETag"]
    warm_before = files(server.data_dir)
    cold_before = files(cold)

    s3.copy_object(Bucket="mover", Key="k", CopySource="mover/k", StorageClass="STANDARD_IA")
    head = s3.head_object(Bucket="mover", Key="k")
    assert (head["StorageClass"], head["ETag"], head["Metadata"]) == ("STANDARD_IA", etag, {"m": "1"})
    assert s3.get_object(Bucket="mover", Key="k")["Body"].read() == data
    moved = files(cold) - cold_before
    assert len(moved) == 1
    wait_until(lambda: len(warm_before - files(server.data_dir)) == 1, "the Standard blob is reaped")

    s3.copy_object(Bucket="mover", Key="k", CopySource="mover/k", StorageClass="STANDARD")
    assert head_class(s3, "mover", "k") == "STANDARD"
    assert s3.get_object(Bucket="mover", Key="k")["Body"].read() == data
    wait_until(lambda: not (moved & files(cold)), "the Infrequent Access blob is reaped")


def test_unknown_storage_class_is_refused_everywhere(server: LakeboxServer, cold: Path) -> None:
    s3 = server.s3()
    s3.create_bucket(Bucket="strict")
    s3.put_object(Bucket="strict", Key="src", Body=b"v")
    stored = files(cold), files(server.data_dir)
    calls = [
        lambda: s3.put_object(Bucket="strict", Key="a", Body=b"x", StorageClass="GLACIER"),
        lambda: s3.create_multipart_upload(Bucket="strict", Key="b", StorageClass="DEEP_ARCHIVE"),
        lambda: s3.copy_object(Bucket="strict", Key="c", CopySource="strict/src", StorageClass="standard_ia"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == (400, "InvalidStorageClass")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="strict")["Contents"]] == ["src"]
    assert s3.list_multipart_uploads(Bucket="strict").get("Uploads", []) == []
    assert (files(cold), files(server.data_dir)) == stored
    assert list((cold / "incoming").glob("*/*")) == []


def test_sse_c_object_on_the_infrequent_access_tier(server: LakeboxServer) -> None:
    s3 = server.s3()
    s3.create_bucket(Bucket="cold-secret")
    key = os.urandom(32)
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    s3.put_object(Bucket="cold-secret", Key="k", Body=b"secret", StorageClass="STANDARD_IA", **sse)
    assert s3.get_object(Bucket="cold-secret", Key="k", **sse)["Body"].read() == b"secret"
    s3.copy_object(
        Bucket="cold-secret", Key="k", CopySource="cold-secret/k", StorageClass="STANDARD",
        CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key, **sse,
    )  # fmt: skip
    head = s3.head_object(Bucket="cold-secret", Key="k", **sse)
    assert head.get("StorageClass", "STANDARD") == "STANDARD"
    assert s3.get_object(Bucket="cold-secret", Key="k", **sse)["Body"].read() == b"secret"
