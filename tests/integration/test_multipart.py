"""Multipart uploads through boto3 against a live server: R2's part rules, ETags, checksums, conditional completion,
listings, GET by part number, the transfer manager over http and https, and concurrent completions."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer, running

MiB = 1024 * 1024


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def upload_parts(
    s3: Any, bucket: str, key: str, bodies: list[bytes], **create: Any
) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts = []
    for number, body in enumerate(bodies, 1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)[
            "ETag"
        ]
        parts.append({"PartNumber": number, "ETag": etag})
    return upload_id, parts


def md5_etag(bodies: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(b).digest() for b in bodies)  # noqa: S324
    return f'"{hashlib.md5(joined).hexdigest()}-{len(bodies)}"'  # noqa: S324


def test_round_trip_etag_and_parts(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    bodies = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(123)]
    upload_id, parts = upload_parts(
        s3, bucket, "mp/obj", bodies, ContentType="text/x-mp", Metadata={"a": "1"}
    )
    # Listed before completion, invisible as an object.
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload_id]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    listed = s3.list_parts(Bucket=bucket, Key="mp/obj", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 5 * MiB), (2, 5 * MiB), (3, 123)]
    # ETags accepted unquoted. (Parts out of order are sorted, a repeated one refused: test_s3_deviations.)
    unquoted = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"].strip('"')} for p in parts]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp/obj", UploadId=upload_id, MultipartUpload={"Parts": unquoted}
    )
    assert done["ETag"] == md5_etag(bodies)
    got = s3.get_object(Bucket=bucket, Key="mp/obj")
    assert got["Body"].read() == b"".join(bodies)
    assert (got["ContentType"], got["Metadata"]) == ("text/x-mp", {"a": "1"})
    for number, body in enumerate(bodies, 1):
        part = s3.get_object(Bucket=bucket, Key="mp/obj", PartNumber=number)
        assert (part["PartsCount"], part["ETag"], part["Body"].read()) == (3, done["ETag"], body)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="mp/obj", PartNumber=4)
    assert code(exc) == (400, "InvalidPart")
    ranged = s3.get_object(Bucket=bucket, Key="mp/obj", Range=f"bytes={5 * MiB - 3}-{5 * MiB + 2}")
    assert ranged["Body"].read() == b"".join(bodies)[5 * MiB - 3 : 5 * MiB + 3]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # Completing again answers as the first time did.
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp/obj", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert again["ETag"] == done["ETag"]


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([100 * 1024, 100 * 1024], (400, "EntityTooSmall")),  # parts below 5 MiB
        ([6 * MiB, 5 * MiB, 1], (400, "InvalidPart")),  # R2: all parts but the last equal
        ([5 * MiB, 6 * MiB], (400, "InvalidPart")),  # R2: the last no larger than the others
    ],
)
def test_part_size_rules_checked_at_completion(
    server: LakeboxServer, bucket: str, sizes: list[int], expected: tuple[int, str]
) -> None:
    s3 = server.s3()
    upload_id, parts = upload_parts(s3, bucket, "sizes", [b"x" * n for n in sizes])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="sizes", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    assert code(exc) == expected
    # Nothing written, and the upload is still there to fix.
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="sizes")
    assert len(s3.list_parts(Bucket=bucket, Key="sizes", UploadId=upload_id)["Parts"]) == len(sizes)
    s3.abort_multipart_upload(Bucket=bucket, Key="sizes", UploadId=upload_id)


def test_bad_completions(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    upload_id, parts = upload_parts(s3, bucket, "bad", [b"only part"])
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"Parts": [{"PartNumber": 2, "ETag": parts[0]["ETag"]}]}, (400, "InvalidPart")),
        ({"Parts": [{"PartNumber": 1, "ETag": '"' + "f" * 32 + '"'}]}, (400, "InvalidPart")),
        ({"Parts": [{"PartNumber": 10001, "ETag": parts[0]["ETag"]}]}, (400, "InvalidArgument")),
    ]
    for body, expected in cases:
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload_id, MultipartUpload=body)
        assert code(exc) == expected
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload_id)
    assert code(exc) == (400, "MalformedXML")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="other", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    assert code(exc) == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId=upload_id, PartNumber=0, Body=b"x")
    assert code(exc) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId="nonsense", PartNumber=1, Body=b"x")
    assert code(exc) == (404, "NoSuchUpload")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_abort_is_idempotent_and_frees_parts(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    upload_id, _ = upload_parts(s3, bucket, "ab", [os.urandom(1000)])
    s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=upload_id)
    s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=upload_id)  # R2: a second abort succeeds
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="ab", UploadId=upload_id)
    assert code(exc) == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId="not-an-upload-id")
    assert code(exc) == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="ab", UploadId=upload_id, PartNumber=1, Body=b"late")
    assert code(exc) == (404, "NoSuchUpload")


def test_list_parts_and_uploads_pagination(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    upload_id, _ = upload_parts(s3, bucket, "p", [b"a", b"b", b"c", b"d", b"e"])
    page = s3.list_parts(Bucket=bucket, Key="p", UploadId=upload_id, MaxParts=2, PartNumberMarker=1)
    assert [p["PartNumber"] for p in page["Parts"]] == [2, 3]
    assert (page["IsTruncated"], page["NextPartNumberMarker"]) == (True, 3)
    ids = {}
    for key in ["a/1", "a/2", "b", "b", "c d"]:
        ids.setdefault(key, []).append(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    listing = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in listing["Uploads"]] == ["b", "b", "c d", "p"]
    assert [u["UploadId"] for u in listing["Uploads"][:2]] == ids["b"]  # initiation order within a key
    first = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=3)
    assert first["IsTruncated"] is True
    rest = s3.list_multipart_uploads(
        Bucket=bucket, KeyMarker=first["NextKeyMarker"], UploadIdMarker=first["NextUploadIdMarker"]
    )
    keys = [u["Key"] for u in first["Uploads"] + rest["Uploads"]]
    assert keys == ["a/1", "a/2", "b", "b", "c d", "p"]
    encoded = s3.list_multipart_uploads(Bucket=bucket, Prefix="c ", EncodingType="url")
    assert [u["Key"] for u in encoded["Uploads"]] == ["c%20d"]


def test_composite_and_full_object_checksums(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    bodies = [os.urandom(5 * MiB), os.urandom(77)]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="sha", ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, body in enumerate(bodies, 1):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        r = s3.upload_part(
            Bucket=bucket, Key="sha", UploadId=upload_id, PartNumber=number, Body=body, ChecksumSHA256=digest
        )
        assert r["ChecksumSHA256"] == digest
        parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumSHA256": digest})
    composite = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in bodies)).digest()
    expected = base64.b64encode(composite).decode() + "-2"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="sha", UploadId=upload_id, MultipartUpload={"Parts": parts},
            ChecksumSHA256=base64.b64encode(b"\0" * 32).decode(),
        )  # fmt: skip
    assert code(exc) == (400, "BadDigest")
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="sha",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
        ChecksumSHA256=expected,
    )
    assert (done["ChecksumSHA256"], done["ChecksumType"]) == (expected, "COMPOSITE")
    head = s3.head_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == expected
    # CRC64NVME is full-object on R2: the CRC of the whole body, whatever the parts.
    from awscrt import checksums

    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="crc", ChecksumAlgorithm="CRC64NVME")[
        "UploadId"
    ]
    parts = []
    for number, body in enumerate(bodies, 1):
        r = s3.upload_part(
            Bucket=bucket,
            Key="crc",
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="CRC64NVME",
        )
        parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumCRC64NVME": r["ChecksumCRC64NVME"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="crc", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    whole = base64.b64encode(checksums.crc64nvme(b"".join(bodies)).to_bytes(8, "big")).decode()
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(
            Bucket=bucket, Key="x", ChecksumAlgorithm="SHA1", ChecksumType="FULL_OBJECT"
        )
    assert code(exc) == (400, "InvalidRequest")


def test_conditional_completion_aborts_on_failure(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="cond", Body=b"existing")
    upload_id, parts = upload_parts(s3, bucket, "cond", [b"new body"])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="cond", UploadId=upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
        )
    assert code(exc) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="cond")["Body"].read() == b"existing"
    with pytest.raises(ClientError) as exc:  # R2: a failed condition aborts the upload
        s3.list_parts(Bucket=bucket, Key="cond", UploadId=upload_id)
    assert code(exc) == (404, "NoSuchUpload")
    etag = s3.head_object(Bucket=bucket, Key="cond")["ETag"]
    upload_id, parts = upload_parts(s3, bucket, "cond", [b"newer"])
    s3.complete_multipart_upload(
        Bucket=bucket, Key="cond", UploadId=upload_id, MultipartUpload={"Parts": parts}, IfMatch=etag
    )
    assert s3.get_object(Bucket=bucket, Key="cond")["Body"].read() == b"newer"


def test_create_bucket_if_missing(server: LakeboxServer) -> None:
    s3 = server.s3()

    def add_header(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["cf-create-bucket-if-missing"] = "true"

    s3.meta.events.register("before-call.s3.CreateMultipartUpload", add_header)
    upload_id = s3.create_multipart_upload(Bucket="made-by-mpu", Key="k")["UploadId"]
    assert s3.head_bucket(Bucket="made-by-mpu")["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.abort_multipart_upload(Bucket="made-by-mpu", Key="k", UploadId=upload_id)
    with pytest.raises(ClientError) as exc:
        server.s3().create_multipart_upload(Bucket="no-such-bucket-here", Key="k")
    assert code(exc) == (404, "NoSuchBucket")


@pytest.mark.parametrize("fixture", ["server", "tls_server"])
def test_transfer_manager(request: pytest.FixtureRequest, fixture: str, tmp_path: Path) -> None:
    srv: LakeboxServer = request.getfixturevalue(fixture)
    s3 = srv.s3()
    s3.create_bucket(Bucket=f"tm-{fixture.replace('_', '-')}")
    bucket = f"tm-{fixture.replace('_', '-')}"
    source = tmp_path / "src.bin"
    source.write_bytes(os.urandom(37 * MiB + 5))
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=6)
    s3.upload_file(str(source), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ETag"].endswith('-5"')
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target), Config=config)
    assert target.read_bytes() == source.read_bytes()


def test_uploads_expire(tmp_path: Path) -> None:
    env = {"LAKEBOX_MULTIPART_EXPIRY_SECONDS": "1", "LAKEBOX_LIFECYCLE_INTERVAL_SECONDS": "1"}
    with running(tmp_path / "data", extra_env=env) as srv:
        s3 = srv.s3()
        s3.create_bucket(Bucket="expiring")
        upload_id, _ = upload_parts(s3, "expiring", "k", [b"part"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and s3.list_multipart_uploads(Bucket="expiring").get("Uploads"):
            time.sleep(0.5)
        with pytest.raises(ClientError) as exc:
            s3.list_parts(Bucket="expiring", Key="k", UploadId=upload_id)
        assert code(exc) == (404, "NoSuchUpload")


@pytest.mark.slow
def test_concurrent_completions_on_one_key(tmp_path: Path) -> None:
    """Several uploads of one key complete at once across workers: one whole object wins, none is torn."""
    with running(tmp_path / "data", workers=2) as srv:
        s3 = srv.s3()
        s3.create_bucket(Bucket="race")
        uploads = []
        for i in range(6):
            bodies = [bytes([i]) * (5 * MiB), bytes([i]) * 1000]
            uploads.append((upload_parts(s3, "race", "k", bodies), b"".join(bodies)))

        def complete(item: tuple[tuple[str, list[dict[str, Any]]], bytes]) -> str:
            (upload_id, parts), _ = item
            return str(
                srv.s3().complete_multipart_upload(
                    Bucket="race", Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
                )["ETag"]
            )

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            etags = list(pool.map(complete, uploads))
        got = s3.get_object(Bucket="race", Key="k")
        body = got["Body"].read()
        assert body in [b for _, b in uploads]
        assert got["ETag"] == etags[[b for _, b in uploads].index(body)]
        # Conditional completions: exactly one If-None-Match: * wins.
        items = [upload_parts(s3, "race", "once", [bytes([i]) * 10]) for i in range(6)]

        def complete_once(item: tuple[str, list[dict[str, Any]]]) -> bool:
            try:
                srv.s3().complete_multipart_upload(
                    Bucket="race",
                    Key="once",
                    UploadId=item[0],
                    MultipartUpload={"Parts": item[1]},
                    IfNoneMatch="*",
                )
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "PreconditionFailed":
                    raise
                return False

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            assert sum(pool.map(complete_once, items)) == 1
