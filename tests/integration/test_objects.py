"""Objects through boto3 with its default settings: round trips, metadata, checksums, ranges, keys, limits."""

from __future__ import annotations

import base64
import hashlib
import os
import unicodedata
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_put_get_round_trip_is_byte_exact(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    for size in (0, 1, 4096, 1024 * 1024 + 7):
        body = os.urandom(size)
        put = s3.put_object(Bucket=bucket, Key=f"obj-{size}", Body=body)
        assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324
        got = s3.get_object(Bucket=bucket, Key=f"obj-{size}")
        assert got["Body"].read() == body
        assert got["ContentLength"] == size
        assert got["ETag"] == put["ETag"]


def test_system_and_user_metadata_round_trip(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(
        Bucket=bucket,
        Key="meta",
        Body=b"x",
        ContentType="text/csv",
        ContentDisposition='attachment; filename="a.csv"',
        ContentLanguage="fr",
        CacheControl="max-age=60",
        ContentEncoding="identity",
        Metadata={"owner": "ana", "encoded": "=?UTF-8?B?w6l0w6k=?="},
        ACL="private",
        StorageClass="STANDARD_IA",
    )
    head = s3.head_object(Bucket=bucket, Key="meta")
    assert head["ContentType"] == "text/csv"
    assert head["ContentDisposition"] == 'attachment; filename="a.csv"'
    assert head["ContentLanguage"] == "fr"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentEncoding"] == "identity"
    assert head["Metadata"] == {"owner": "ana", "encoded": "=?UTF-8?B?w6l0w6k=?="}
    assert head["StorageClass"] == "STANDARD_IA"


def test_content_type_is_inferred_when_none_is_given(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>")
    assert s3.head_object(Bucket=bucket, Key="page.html")["ContentType"] == "text/html"


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksums_are_verified_stored_and_returned(
    server: LakeboxServer, bucket: str, algorithm: str
) -> None:
    s3 = server.s3()
    body = os.urandom(70_000)
    put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=body, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    head = s3.head_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value
    got = s3.get_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
    assert got["Body"].read() == body


def test_wrong_checksum_header_is_bad_digest_and_writes_nothing(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad-sum", Body=b"data", ChecksumSHA256=wrong)
    assert error_code(exc) == "BadDigest"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="bad-sum")
    assert missing.value.response["Error"]["Code"] == "404"


def test_wrong_content_md5_is_bad_digest(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()  # noqa: S324
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad-md5", Body=b"data", ContentMD5=wrong)
    assert error_code(exc) == "BadDigest"
    with pytest.raises(ClientError) as invalid:
        s3.put_object(Bucket=bucket, Key="bad-md5", Body=b"data", ContentMD5="not-base64!")
    assert error_code(invalid) == "InvalidDigest"


def test_ranges(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    cases = {
        "bytes=0-9": body[:10],
        "bytes=100-": body[100:],
        "bytes=-5": body[-5:],
        "bytes=10000-20000": body[10000:],
    }
    for spec, want in cases.items():
        got = s3.get_object(Bucket=bucket, Key="r", Range=spec)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == want
    assert (
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=0-0")["ContentRange"] == f"bytes 0-0/{len(body)}"
    )
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert error_code(exc) == "InvalidRange"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


@pytest.mark.parametrize(
    "key", ["a//b", "/lead", "trail/", "//", "sp ace+plus", "ünï/cødé ✓", "q?x=1&y#z", "%41"]
)
def test_keys_are_byte_exact(server: LakeboxServer, bucket: str, key: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]]
    assert key in listed


def test_nfc_and_nfd_keys_are_one_object_listed_as_last_uploaded(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    s3.put_object(Bucket=bucket, Key=nfc, Body=b"1")
    s3.put_object(Bucket=bucket, Key=nfd, Body=b"2")
    assert s3.get_object(Bucket=bucket, Key=nfc)["Body"].read() == b"2"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [nfd]


def test_key_length_limit(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"ok")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"no")
    assert error_code(exc) == "KeyTooLongError"


def test_metadata_size_limit(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="m", Body=b"", Metadata={"a": "v" * 8000})
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="m2", Body=b"", Metadata={"a": "v" * 8192})
    assert error_code(exc) == "MetadataTooLarge"


def test_invalid_storage_class(server: LakeboxServer, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        server.s3().put_object(Bucket=bucket, Key="g", Body=b"", StorageClass="GLACIER")
    assert error_code(exc) == "InvalidStorageClass"


def test_overwrite_last_writer_wins_and_delete(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="o", Body=b"first")
    s3.put_object(Bucket=bucket, Key="o", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"second"
    assert s3.delete_object(Bucket=bucket, Key="o")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="o")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="o")
    assert error_code(exc) == "NoSuchKey"


def test_delete_objects(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "zz"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_missing_bucket_and_key(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"")
    assert error_code(exc) == "NoSuchBucket"
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="absent")
    assert error_code(missing) == "NoSuchKey"


def test_aws_chunked_is_not_stored_as_content_encoding(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="enc", Body=b"x" * 10, ContentEncoding="aws-chunked,gzip")
    assert s3.head_object(Bucket=bucket, Key="enc")["ContentEncoding"] == "gzip"
    s3.put_object(Bucket=bucket, Key="enc2", Body=b"x" * 10, ContentEncoding="aws-chunked")
    assert "ContentEncoding" not in s3.head_object(Bucket=bucket, Key="enc2")


def test_not_modified_names_the_representation(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    etag = s3.put_object(Bucket=bucket, Key="cond", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="cond", IfNoneMatch=etag)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["etag"] == etag
    assert "last-modified" in exc.value.response["ResponseMetadata"]["HTTPHeaders"]


def test_if_match_on_a_missing_key_is_precondition_failed(server: LakeboxServer, bucket: str) -> None:
    # R2: a conditional PutObject whose condition does not match the preceding state is 412 (AWS says 404 here).
    s3 = server.s3()
    for tag in ("*", '"0123"'):
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=bucket, Key="never", Body=b"x", IfMatch=tag)
        assert error_code(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="never")
    assert missing.value.response["Error"]["Code"] == "404"


def test_non_ascii_metadata_sent_as_utf8(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()

    def add_header(**kwargs: Any) -> None:
        kwargs["params"]["headers"]["x-amz-meta-greeting"] = "Grüße é"

    s3.meta.events.register("before-call.s3.PutObject", add_header)
    s3.put_object(Bucket=bucket, Key="utf8-meta", Body=b"x")
    assert server.s3().head_object(Bucket=bucket, Key="utf8-meta")["Metadata"] == {"greeting": "Grüße é"}


def test_listing_encoding_and_zero_max_keys(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    for key in ("sp ace/a", "plus+/b", "nl\n"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    # botocore asks for encoding-type=url and decodes what S3 encodes; the round trip must be exact.
    v2 = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert sorted(p["Prefix"] for p in v2["CommonPrefixes"]) == ["plus+/", "sp ace/"]
    assert [o["Key"] for o in v2["Contents"]] == ["nl\n"]
    v1 = s3.list_objects(Bucket=bucket, Prefix="nl\n")
    assert (v1["Prefix"], [o["Key"] for o in v1["Contents"]]) == ("nl\n", ["nl\n"])
    for listed in (s3.list_objects(Bucket=bucket, MaxKeys=0), s3.list_objects_v2(Bucket=bucket, MaxKeys=0)):
        assert listed["IsTruncated"] is False
        assert "Contents" not in listed
