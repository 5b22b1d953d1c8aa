"""SSE-C through boto3: objects encrypted under customer keys, read whole, by range and by part, copied between
keys, uploaded in parts by the transfer manager (http and https), and every bad key answered with its S3 error;
the data directory never holds the plaintext or the key."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer, running

MiB = 1024 * 1024
SEGMENT = 64 * 1024


def new_key() -> bytes:
    return secrets.token_bytes(32)


def sse(key: bytes, prefix: str = "") -> dict[str, str]:
    """boto3 parameters for a key (boto3 base64-encodes it and adds its MD5)."""
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}  # type: ignore[dict-item]


def raw_headers(key: bytes, md5: str | None = None, algorithm: str | None = "AES256") -> dict[str, str]:
    headers = {"x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode()}
    if algorithm is not None:
        headers["x-amz-server-side-encryption-customer-algorithm"] = algorithm
    headers["x-amz-server-side-encryption-customer-key-MD5"] = (
        md5
        if md5 is not None
        else base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode()
    )
    return headers


def with_headers(client: Any, operation: str, headers: dict[str, str]) -> Any:
    def add(params: dict[str, Any], **_: Any) -> None:
        params["headers"].update(headers)

    client.meta.events.register(f"before-call.s3.{operation}", add)
    return client


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def missing(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"]) == 404
    return False


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17, 5 * MiB + 3])
def test_round_trip_and_head(server: LakeboxServer, bucket: str, size: int) -> None:
    s3 = server.s3()
    key = new_key()
    body = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key="obj", Body=body, ContentType="application/x-test", **sse(key))
    md5 = base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode()
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", md5)
    got = s3.get_object(Bucket=bucket, Key="obj", **sse(key))
    assert got["Body"].read() == body
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"], got["ContentType"]) == (
        "AES256",
        md5,
        "application/x-test",
    )
    head = s3.head_object(Bucket=bucket, Key="obj", **sse(key))
    assert head["ContentLength"] == size
    assert head["SSECustomerKeyMD5"] == md5
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("obj", size)]


@pytest.mark.parametrize(
    ("first", "last"),
    [(0, 0), (SEGMENT - 5, SEGMENT + 5), (SEGMENT, 2 * SEGMENT - 1), (100, 200_000), (299_990, 299_999)],
)
def test_range_reads_across_segments(server: LakeboxServer, bucket: str, first: int, last: int) -> None:
    s3 = server.s3()
    key = new_key()
    body = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="r", Body=body, **sse(key))
    got = s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={first}-{last}", **sse(key))
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {first}-{last}/300000"
    assert got["Body"].read() == body[first : last + 1]
    suffix = s3.get_object(Bucket=bucket, Key="r", Range="bytes=-7", **sse(key))
    assert suffix["Body"].read() == body[-7:]


def test_large_object_streams_encrypted(server: LakeboxServer, bucket: str) -> None:
    """Above the size read with its metadata, the body is decrypted as it streams."""
    s3 = server.s3()
    key = new_key()
    body = os.urandom(3 * MiB + 1234)
    s3.put_object(Bucket=bucket, Key="big", Body=body, **sse(key))
    assert s3.get_object(Bucket=bucket, Key="big", **sse(key))["Body"].read() == body
    ranged = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={MiB - 3}-{3 * MiB}", **sse(key))
    assert ranged["Body"].read() == body[MiB - 3 : 3 * MiB + 1]


def test_reads_with_missing_or_wrong_key(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    key = new_key()
    s3.put_object(Bucket=bucket, Key="secret", Body=b"x" * 1000, **sse(key))
    s3.put_object(Bucket=bucket, Key="plain", Body=b"y" * 10)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret")
    assert code(exc) == (400, "InvalidRequest")
    assert "Server Side Encryption" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="secret")
    assert code(exc)[0] == 400
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret", **sse(new_key()))
    assert code(exc) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret", Range="bytes=0-10", **sse(new_key()))
    assert code(exc) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="plain", **sse(key))
    assert code(exc) == (400, "InvalidRequest")
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"y" * 10


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (raw_headers(b"k" * 32, md5="AAAAAAAAAAAAAAAAAAAAAA=="), (400, "InvalidArgument")),
        (
            {k: v for k, v in raw_headers(b"k" * 32).items() if not k.endswith("MD5")},
            (400, "InvalidArgument"),
        ),
        (raw_headers(b"k" * 32, algorithm=None), (400, "InvalidArgument")),
        (raw_headers(b"k" * 32, algorithm="AES128"), (400, "InvalidEncryptionAlgorithmError")),
        (raw_headers(b"k" * 16), (400, "InvalidArgument")),
        (
            {
                "x-amz-server-side-encryption-customer-algorithm": "AES256",
                "x-amz-server-side-encryption-customer-key": "not base64!",
                "x-amz-server-side-encryption-customer-key-MD5": "AAAAAAAAAAAAAAAAAAAAAA==",
            },
            (400, "InvalidArgument"),
        ),
        ({"x-amz-server-side-encryption-customer-algorithm": "AES256"}, (400, "InvalidArgument")),
    ],
    ids=["wrong-md5", "no-md5", "no-algorithm", "bad-algorithm", "short-key", "not-base64", "no-key"],
)
def test_bad_keys_on_put(
    server: LakeboxServer, bucket: str, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    s3 = with_headers(server.s3(), "PutObject", headers)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data")
    assert code(exc) == expected
    assert missing(server.s3(), bucket, "bad")


def test_nothing_readable_on_disk(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    key = new_key()
    marker = b"LAKEBOX-PLAINTEXT-MARKER-" + secrets.token_hex(8).encode()
    s3.put_object(Bucket=bucket, Key="m", Body=marker * 5000, **sse(key))
    s3.put_object(Bucket=bucket, Key="m-small", Body=marker, **sse(key))
    needles = [marker, key, base64.b64encode(key)]
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n in data for n in needles), path
    assert s3.get_object(Bucket=bucket, Key="m", **sse(key))["Body"].read() == marker * 5000


def test_tampered_blob_is_refused(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    key = new_key()
    body = os.urandom(1000)
    s3.put_object(Bucket=bucket, Key="t", Body=body, **sse(key))
    size = 1000 + 16
    blobs = [p for p in Path(server.data_dir, "blobs").rglob("*") if p.is_file() and p.stat().st_size == size]
    assert blobs
    for blob in blobs:  # only this test's objects have this stored size
        data = bytearray(blob.read_bytes())
        data[10] ^= 1
        blob.write_bytes(bytes(data))
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="t", **sse(key))
    assert code(exc) == (500, "InternalError")


def test_copies_between_keys(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    a, b = new_key(), new_key()
    body = os.urandom(200_000)
    s3.put_object(Bucket=bucket, Key="src", Body=body, Metadata={"m": "1"}, **sse(a))
    s3.copy_object(Bucket=bucket, Key="to-b", CopySource=f"{bucket}/src", **sse(a, "CopySource"), **sse(b))
    assert s3.get_object(Bucket=bucket, Key="to-b", **sse(b))["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key="to-b", **sse(b))["Metadata"] == {"m": "1"}
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="to-b", **sse(a))
    assert code(exc) == (400, "InvalidRequest")
    s3.copy_object(Bucket=bucket, Key="to-plain", CopySource=f"{bucket}/src", **sse(a, "CopySource"))
    assert s3.get_object(Bucket=bucket, Key="to-plain")["Body"].read() == body
    s3.copy_object(Bucket=bucket, Key="back", CopySource=f"{bucket}/to-plain", **sse(b))
    assert s3.get_object(Bucket=bucket, Key="back", **sse(b))["Body"].read() == body
    # re-encrypting an object in place under a new key is a change, so allowed
    s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src", **sse(a, "CopySource"), **sse(b))
    assert s3.get_object(Bucket=bucket, Key="src", **sse(b))["Body"].read() == body
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="nokey", CopySource=f"{bucket}/src")
    assert code(exc) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="nokey", CopySource=f"{bucket}/src", **sse(a, "CopySource"))
    assert code(exc) == (400, "InvalidRequest")
    assert missing(s3, bucket, "nokey")


def test_multipart_parts_and_part_reads(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    key = new_key()
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(123_457)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", **sse(key))
    assert upload["SSECustomerAlgorithm"] == "AES256"
    uid = upload["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=parts[0])
    assert code(exc) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=parts[0], **sse(new_key()))
    assert code(exc) == (400, "InvalidRequest")
    etags = []
    for n, data in enumerate(parts, 1):
        part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n, Body=data, **sse(key))
        assert part["SSECustomerAlgorithm"] == "AES256"
        etags.append({"PartNumber": n, "ETag": part["ETag"]})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": etags}, **sse(key)
    )  # with its key, as S3 requires (test_s3_deviations)
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp", **sse(key))["Body"].read() == whole
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2, **sse(key))
    assert (second["PartsCount"], second["Body"].read()) == (3, parts[1])
    across = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MiB - 10}-{5 * MiB + 10}", **sse(key))
    assert across["Body"].read() == whole[5 * MiB - 10 : 5 * MiB + 11]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=1)
    assert code(exc) == (400, "InvalidRequest")
    # a part copied out of the encrypted object into a plain upload
    plain = s3.create_multipart_upload(Bucket=bucket, Key="copied")["UploadId"]
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="copied", UploadId=plain, PartNumber=1, CopySource=f"{bucket}/mp",
        CopySourceRange=f"bytes=100-{100 + 5 * MiB}", **sse(key, "CopySource"),
    )  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="copied", UploadId=plain,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]},
    )  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == whole[100 : 100 + 5 * MiB + 1]


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https"])
def test_transfer_manager_with_customer_key(
    request: pytest.FixtureRequest, tmp_path: Path, secure: bool
) -> None:
    srv: LakeboxServer = request.getfixturevalue("tls_server" if secure else "server")
    s3 = srv.s3()
    bucket = "t-" + secrets.token_hex(6)
    s3.create_bucket(Bucket=bucket)
    key = new_key()
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(17 * MiB + 5))
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(source), bucket, "tm", ExtraArgs=sse(key), Config=config)
    head = s3.head_object(Bucket=bucket, Key="tm", **sse(key))
    assert head["ETag"].endswith('-4"')
    target = tmp_path / "out.bin"
    s3.download_file(bucket, "tm", str(target), ExtraArgs=sse(key), Config=config)
    assert target.read_bytes() == source.read_bytes()


def test_keys_need_a_private_channel_behind_a_proxy(tmp_path: Path) -> None:
    """Behind a trusted proxy the channel is the client's: a key that crossed plain HTTP from another host is
    refused, one the proxy received over TLS is accepted; untrusted X-Forwarded-* headers change nothing."""
    body = os.urandom(1000)
    key = new_key()
    with running(tmp_path / "data", extra_env={"LAKEBOX_FORWARDED_ALLOW_IPS": "127.0.0.1"}) as proxied:
        proxied.s3().create_bucket(Bucket="bkt")
        remote_http = with_headers(proxied.s3(), "PutObject", {"X-Forwarded-For": "10.0.0.7"})
        with pytest.raises(ClientError) as exc:
            remote_http.put_object(Bucket="bkt", Key="k", Body=body, **sse(key))
        assert code(exc) == (400, "InvalidRequest")
        assert "secure connection" in exc.value.response["Error"]["Message"]
        assert missing(proxied.s3(), "bkt", "k")
        remote_tls = with_headers(
            proxied.s3(), "PutObject", {"X-Forwarded-For": "10.0.0.7", "X-Forwarded-Proto": "https"}
        )
        remote_tls.put_object(Bucket="bkt", Key="k", Body=body, **sse(key))
        assert proxied.s3().get_object(Bucket="bkt", Key="k", **sse(key))["Body"].read() == body


def test_forwarded_headers_ignored_without_trusted_proxies(server: LakeboxServer, bucket: str) -> None:
    s3 = with_headers(server.s3(), "PutObject", {"X-Forwarded-For": "10.0.0.7"})
    key = new_key()
    s3.put_object(Bucket=bucket, Key="direct", Body=b"local", **sse(key))
    assert server.s3().get_object(Bucket=bucket, Key="direct", **sse(key))["Body"].read() == b"local"
