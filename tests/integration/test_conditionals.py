"""Conditional requests through boto3: GET/HEAD precedence (RFC 9110 13.2.2), ETag lists, weak tags and ``*``,
conditional PutObject atomic across two workers, and response-* overrides."""

from __future__ import annotations

import concurrent.futures
import datetime
import email.utils
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer, running


def status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_read_preconditions(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="c", Body=b"body")
    head = s3.head_object(Bucket=bucket, Key="c")
    etag, modified = head["ETag"], head["LastModified"].astimezone(datetime.UTC)
    past = email.utils.format_datetime(modified.replace(year=modified.year - 1), usegmt=True)
    future = email.utils.format_datetime(modified.replace(year=modified.year + 1), usegmt=True)
    ok = [
        {"IfMatch": etag},
        {"IfMatch": f'"x", {etag}'},
        {"IfMatch": "*"},
        {"IfNoneMatch": '"other"'},
        {"IfModifiedSince": past},
        {"IfUnmodifiedSince": future},
        {"IfMatch": etag, "IfUnmodifiedSince": past},  # If-Match wins over If-Unmodified-Since
    ]
    for kwargs in ok:
        assert s3.get_object(Bucket=bucket, Key="c", **kwargs)["Body"].read() == b"body"
    failing = [
        ({"IfMatch": '"other"'}, 412),
        ({"IfUnmodifiedSince": past}, 412),
        ({"IfNoneMatch": etag}, 304),
        ({"IfNoneMatch": "W/" + etag}, 304),
        ({"IfNoneMatch": "*"}, 304),
        ({"IfModifiedSince": future}, 304),
        ({"IfNoneMatch": etag, "IfModifiedSince": past}, 304),  # If-None-Match wins over If-Modified-Since
        ({"IfMatch": '"other"', "IfNoneMatch": etag}, 412),  # 412 before 304
    ]
    for kwargs, expected in failing:
        for call in (s3.get_object, s3.head_object):
            with pytest.raises(ClientError) as exc:
                call(Bucket=bucket, Key="c", **kwargs)
            assert status(exc) == expected, kwargs
            if expected == 304:
                assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["etag"] == etag


def test_response_overrides(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket, Key="o", ResponseContentType="application/json", ResponseContentDisposition="attachment",
        ResponseCacheControl="max-age=1", ResponseContentLanguage="fr", ResponseContentEncoding="identity",
    )  # fmt: skip
    assert (got["ContentType"], got["ContentDisposition"], got["CacheControl"], got["ContentLanguage"]) == (
        "application/json",
        "attachment",
        "max-age=1",
        "fr",
    )
    assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/plain"


def test_conditional_put(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    etag = s3.put_object(Bucket=bucket, Key="p", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="p", Body=b"2", IfNoneMatch="*")
    assert status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="p", Body=b"2", IfMatch='"stale"')
    assert status(exc) == 412
    assert s3.get_object(Bucket=bucket, Key="p")["Body"].read() == b"1"
    s3.put_object(Bucket=bucket, Key="p", Body=b"3", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="p")["Body"].read() == b"3"


@pytest.mark.slow
def test_conditional_puts_race_across_workers(tmp_path: Path) -> None:
    """Many If-None-Match: * PUTs of one key at once, on two workers: exactly one wins; then a chain of
    If-Match updates from many writers loses no update."""
    with running(tmp_path / "data", workers=2) as srv:
        s3 = srv.s3()
        s3.create_bucket(Bucket="cas")

        def create(i: int) -> bool:
            try:
                srv.s3().put_object(Bucket="cas", Key="once", Body=str(i).encode(), IfNoneMatch="*")
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "PreconditionFailed":
                    raise
                return False

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            assert sum(pool.map(create, range(24))) == 1

        s3.put_object(Bucket="cas", Key="counter", Body=b"0")

        def increment(_: int) -> int:
            client = srv.s3()
            for attempt in range(200):
                got = client.get_object(Bucket="cas", Key="counter")
                value = int(got["Body"].read())
                try:
                    client.put_object(
                        Bucket="cas", Key="counter", Body=str(value + 1).encode(), IfMatch=got["ETag"]
                    )
                    return attempt
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "PreconditionFailed":
                        raise
            raise AssertionError("never won")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(increment, range(16)))
        assert s3.get_object(Bucket="cas", Key="counter")["Body"].read() == b"16"
