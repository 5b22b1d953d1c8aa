"""CopyObject and UploadPartCopy through boto3: directives (COPY, REPLACE, R2's MERGE), source and destination
conditions, storage class, multipart sources, copy onto itself, bad sources, and copies racing overwrites."""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer, running

MiB = 1024 * 1024


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_copy_directives(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"data",
        ContentType="text/a",
        CacheControl="no-cache",
        Metadata={"a": "1", "b": "2"},
    )
    etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"/{bucket}/src")
    assert copied["CopyObjectResult"]["ETag"] == etag
    head = s3.head_object(Bucket=bucket, Key="copy")
    assert (head["ContentType"], head["CacheControl"], head["Metadata"]) == (
        "text/a",
        "no-cache",
        {"a": "1", "b": "2"},
    )
    s3.copy_object(
        Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"}, MetadataDirective="REPLACE",
        Metadata={"c": "3"}, ContentType="text/b",
    )  # fmt: skip
    head = s3.head_object(Bucket=bucket, Key="replaced")
    assert (head["ContentType"], head["Metadata"], head.get("CacheControl")) == ("text/b", {"c": "3"}, None)

    def merge(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["x-amz-metadata-directive"] = "MERGE"

    merging = server.s3()
    merging.meta.events.register("before-call.s3.CopyObject", merge)
    merging.copy_object(
        Bucket=bucket, Key="merged", CopySource=f"{bucket}/src", Metadata={"b": "20", "c": "3"}
    )
    head = s3.head_object(Bucket=bucket, Key="merged")
    assert (head["ContentType"], head["Metadata"]) == ("text/a", {"a": "1", "b": "20", "c": "3"})
    assert s3.get_object(Bucket=bucket, Key="merged")["Body"].read() == b"data"
    # Deleting the source leaves the copies whole (each has its own link to the data).
    s3.delete_object(Bucket=bucket, Key="src")
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"data"


def test_copy_onto_itself(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="self", Body=b"x", Metadata={"a": "1"})
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="self", CopySource=f"{bucket}/self")
    assert code(exc) == (400, "InvalidRequest")
    s3.copy_object(Bucket=bucket, Key="self", CopySource=f"{bucket}/self", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="self")["StorageClass"] == "STANDARD_IA"
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource=f"{bucket}/self",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
    )
    head = s3.head_object(Bucket=bucket, Key="self")
    assert (head["Metadata"], s3.get_object(Bucket=bucket, Key="self")["Body"].read()) == ({"b": "2"}, b"x")


def test_copy_conditions(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="src", Body=b"v1")
    etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    s3.copy_object(Bucket=bucket, Key="d1", CopySource=f"{bucket}/src", CopySourceIfMatch=etag)
    for kwargs in ({"CopySourceIfMatch": '"nope"'}, {"CopySourceIfNoneMatch": etag}):
        with pytest.raises(ClientError) as exc:
            s3.copy_object(Bucket=bucket, Key="d2", CopySource=f"{bucket}/src", **kwargs)
        assert code(exc) == (412, "PreconditionFailed")

    def destination(header: str, value: str) -> Any:
        client = server.s3()
        client.meta.events.register(
            "before-call.s3.CopyObject", lambda params, **_: params["headers"].update({header: value})
        )
        return client

    with pytest.raises(ClientError) as exc:  # R2: cf-copy-destination-if-none-match
        destination("cf-copy-destination-if-none-match", "*").copy_object(
            Bucket=bucket, Key="d1", CopySource=f"{bucket}/src"
        )
    assert code(exc) == (412, "PreconditionFailed")
    destination("cf-copy-destination-if-match", etag).copy_object(
        Bucket=bucket, Key="d1", CopySource=f"{bucket}/src"
    )
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="d2")


def test_copy_errors(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="a b%c", Body=b"odd key")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "a b%c"})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"odd key"
    cases = [
        ({"CopySource": f"{bucket}/missing"}, bucket, (404, "NoSuchKey")),
        ({"CopySource": "no-such-bucket-x/k"}, bucket, (404, "NoSuchBucket")),
        ({"CopySource": f"{bucket}/a b%c"}, "no-such-bucket-y", (404, "NoSuchBucket")),
        ({"CopySource": f"{bucket}/a b%c", "MetadataDirective": "REPLACE", "StorageClass": "GLACIER"}, bucket,
         (400, "InvalidStorageClass")),
    ]  # fmt: skip
    for kwargs, target, expected in cases:
        with pytest.raises(ClientError) as exc:
            s3.copy_object(Bucket=target, Key="new", **kwargs)
        assert code(exc) == expected
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="new")


def test_copy_of_multipart_object_and_part_copy(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    bodies = [os.urandom(5 * MiB), os.urandom(1234)]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=n, Body=b)["ETag"],
        }
        for n, b in enumerate(bodies, 1)
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    s3.copy_object(Bucket=bucket, Key="mp-copy", CopySource=f"{bucket}/mp")
    copy = s3.get_object(Bucket=bucket, Key="mp-copy", PartNumber=2)
    assert (copy["ETag"], copy["PartsCount"], copy["Body"].read()) == (done["ETag"], 2, bodies[1])
    s3.delete_object(Bucket=bucket, Key="mp")
    assert s3.get_object(Bucket=bucket, Key="mp-copy")["Body"].read() == b"".join(bodies)
    # UploadPartCopy: ranges of the copy become parts of a new object.
    whole = b"".join(bodies)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="pc")["UploadId"]
    r1 = s3.upload_part_copy(
        Bucket=bucket, Key="pc", UploadId=upload_id, PartNumber=1, CopySource=f"{bucket}/mp-copy",
        CopySourceRange=f"bytes=100-{100 + 5 * MiB - 1}",
    )  # fmt: skip
    r2 = s3.upload_part_copy(
        Bucket=bucket, Key="pc", UploadId=upload_id, PartNumber=2, CopySource=f"{bucket}/mp-copy"
    )
    for bad_range, expected in (
        ("bytes=0-99999999", (416, "InvalidRange")),
        ("0-1", (400, "InvalidArgument")),
    ):
        with pytest.raises(ClientError) as exc:
            s3.upload_part_copy(
                Bucket=bucket, Key="pc", UploadId=upload_id, PartNumber=3, CopySource=f"{bucket}/mp-copy",
                CopySourceRange=bad_range,
            )  # fmt: skip
        assert code(exc) == expected
    parts = [
        {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]},
    ]
    with pytest.raises(ClientError) as exc:  # the second part is larger than the first: R2 refuses
        s3.complete_multipart_upload(
            Bucket=bucket, Key="pc", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    assert code(exc) == (400, "InvalidPart")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="pc", UploadId=upload_id, MultipartUpload={"Parts": parts[:1]}
    )
    assert s3.get_object(Bucket=bucket, Key="pc")["Body"].read() == whole[100 : 100 + 5 * MiB]


@pytest.mark.slow
def test_copy_while_source_is_overwritten(tmp_path: Path) -> None:
    """Copies race overwrites of their source across two workers: every copy is one whole version."""
    with running(tmp_path / "data", workers=2) as srv:
        s3 = srv.s3()
        s3.create_bucket(Bucket="copyrace")
        versions = [bytes([i]) * (256 * 1024 + i) for i in range(8)]
        s3.put_object(Bucket="copyrace", Key="src", Body=versions[0])

        def overwrite(i: int) -> None:
            srv.s3().put_object(Bucket="copyrace", Key="src", Body=versions[i % len(versions)])

        def copy(i: int) -> None:
            srv.s3().copy_object(Bucket="copyrace", Key=f"dst{i}", CopySource="copyrace/src")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(overwrite, i) for i in range(40)] + [
                pool.submit(copy, i) for i in range(40)
            ]
            for f in futures:
                f.result()
        for i in range(40):
            got = s3.get_object(Bucket="copyrace", Key=f"dst{i}")
            assert got["Body"].read() in versions
