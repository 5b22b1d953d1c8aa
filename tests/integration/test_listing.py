"""Listings through boto3: v1 markers and NextMarker, v2 tokens and start-after, encoding-type=url on every
element, fetch-owner, KeyCount, max-keys bounds, empty delimiter, UTF-8 byte order, and a 20,000-key bucket
listed page by page while another client writes to it (the million-key figure: bench/list_bench.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.listing import fill, layout
from tests.support.server import LakeboxServer, running


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


KEYS = ["a", "a/b", "a/c/d", "b c/x", "b+d", "é", "z/"]


@pytest.fixture
def filled(server: LakeboxServer, bucket: str) -> str:
    s3 = server.s3()
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    return bucket


def test_v2_pages_and_counts(server: LakeboxServer, filled: str) -> None:
    s3 = server.s3()
    seen, token, pages = [], None, 0
    while True:
        kwargs: dict[str, Any] = {"Bucket": filled, "MaxKeys": 2, "Delimiter": "/"}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        entries = [o["Key"] for o in page.get("Contents", [])] + [
            p["Prefix"] for p in page.get("CommonPrefixes", [])
        ]
        assert page["KeyCount"] == len(entries)  # KeyCount counts common prefixes
        seen += entries
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(seen, key=lambda s: s.encode()) == ["a", "a/", "b c/", "b+d", "z/", "é"]
    assert pages == 3
    after = s3.list_objects_v2(Bucket=filled, StartAfter="b+d")
    assert [o["Key"] for o in after["Contents"]] == ["z/", "é"]  # UTF-8 byte order
    zero = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert (zero["KeyCount"], zero["IsTruncated"], "Contents" in zero) == (0, False, False)
    owner = s3.list_objects_v2(Bucket=filled, FetchOwner=True, MaxKeys=1)["Contents"][0]
    assert "Owner" in owner
    assert "Owner" not in s3.list_objects_v2(Bucket=filled, MaxKeys=1)["Contents"][0]
    empty_delimiter = s3.list_objects_v2(Bucket=filled, Delimiter="")
    assert [o["Key"] for o in empty_delimiter["Contents"]] == sorted(KEYS, key=lambda s: s.encode())


def test_v1_markers(server: LakeboxServer, filled: str) -> None:
    s3 = server.s3()
    page = s3.list_objects(Bucket=filled, MaxKeys=2, Delimiter="/")
    assert page["IsTruncated"] is True
    assert page["NextMarker"] == "a/"
    rest = s3.list_objects(Bucket=filled, Marker=page["NextMarker"], Delimiter="/")
    assert [o["Key"] for o in rest["Contents"]] == ["b+d", "é"]
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["b c/", "z/"]
    undelimited = s3.list_objects(Bucket=filled, MaxKeys=2)
    assert undelimited["IsTruncated"] is True
    assert "NextMarker" not in undelimited  # only when delimited (R2 and S3)
    assert "NextMarker" not in s3.list_objects(Bucket=filled, Delimiter="/")  # only when truncated


def test_encoding_type_url(server: LakeboxServer, filled: str) -> None:
    s3 = server.s3()

    def raw(params: dict[str, Any], **_: Any) -> None:
        params["url"] += "&encoding-type=url"

    client = server.s3()
    client.meta.events.register("before-call.s3.ListObjectsV2", raw)
    body: list[bytes] = []
    client.meta.events.register(
        "after-call.s3.ListObjectsV2", lambda http_response, **_: body.append(http_response.content)
    )
    client.list_objects_v2(Bucket=filled, Delimiter=" ", StartAfter="a/c/d", Prefix="b")
    text = body[0].decode()
    for element in ("<Prefix>b</Prefix>", "<Delimiter>%20</Delimiter>", "<StartAfter>a/c/d</StartAfter>",
                    "<Prefix>b%20</Prefix>", "<Key>b%2Bd</Key>", "<EncodingType>url</EncodingType>"):  # fmt: skip
        assert element in text, element
    assert [
        o["Key"] for o in s3.list_objects_v2(Bucket=filled, Prefix="é", EncodingType="url")["Contents"]
    ] == ["%C3%A9"]


def test_bad_list_arguments(server: LakeboxServer, filled: str) -> None:
    s3 = server.s3()
    for kwargs, expected in (
        ({"MaxKeys": -1}, (400, "InvalidArgument")),
        ({"EncodingType": "base64"}, (400, "InvalidArgument")),
        ({"ContinuationToken": "%%%not-a-token"}, (400, "InvalidArgument")),
    ):
        with pytest.raises(ClientError) as exc:
            s3.list_objects_v2(Bucket=filled, **kwargs)
        assert code(exc) == expected
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="no-such-bucket-l")
    assert code(exc) == (404, "NoSuchBucket")
    assert len(s3.list_objects_v2(Bucket=filled, MaxKeys=5000)["Contents"]) == len(KEYS)  # capped at 1000


# Enough keys for many page boundaries (pages of odd sizes that never align with the 500-key prefixes), small
# enough for a loaded 2-core machine; the million-key figure is the listing benchmark's (bench/list_bench.py).
PREFIXES, PER_PREFIX = 40, 500


def test_keys_listed_once_while_written(tmp_path: Path) -> None:
    """Flat (v2 tokens) and delimited (CommonPrefixes paged, then each prefix by v1 markers) walks over 20,000 keys
    while another client overwrites listed keys and adds new ones inside the prefixes: every key present from the
    start is listed exactly once, in UTF-8 byte order, on every walk."""
    with running(tmp_path / "data") as srv:
        s3 = srv.s3()
        s3.create_bucket(Bucket="many")
        keys = layout(PREFIXES * PER_PREFIX, PER_PREFIX)
        fill(srv.data_dir, srv.database_url, "many", keys)
        stop = threading.Event()
        written: list[str] = []

        def writer() -> None:
            client, i = srv.s3(), 0
            while not stop.is_set():
                client.put_object(Bucket="many", Key=keys[(i * 7919) % len(keys)], Body=b"overwritten")
                written.append(f"p{i % PREFIXES:03d}/new-{i}")  # before the PUT: it may be listed at once
                client.put_object(Bucket="many", Key=written[-1], Body=b"new")
                i += 1
                stop.wait(0.01)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            flat = _walk_v2(s3, MaxKeys=997)
            prefixes = _walk_v2(s3, Delimiter="/", MaxKeys=7)
            assert prefixes == [f"p{i:03d}/" for i in range(PREFIXES)]
            delimited: list[str] = []
            for prefix in prefixes:
                delimited += _walk_v1(s3, prefix)
        finally:
            stop.set()
            thread.join()
        assert written  # the listings really ran against a bucket being written
        for listed in (flat, delimited):
            assert len(listed) == len(set(listed))  # nothing twice
            assert set(keys) <= set(listed)  # nothing missed
            assert set(listed) <= set(keys) | set(written)  # nothing invented
            assert listed == sorted(listed, key=lambda s: s.encode())


def _walk_v2(s3: Any, **kwargs: Any) -> list[str]:
    """Keys (or, with a delimiter, common prefixes) of every page of a ListObjectsV2 walk."""
    listed: list[str] = []
    token = None
    while True:
        page = s3.list_objects_v2(Bucket="many", **kwargs, **({"ContinuationToken": token} if token else {}))
        listed += [o["Key"] for o in page.get("Contents", [])]
        listed += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] <= kwargs["MaxKeys"]
        if not page["IsTruncated"]:
            return listed
        token = page["NextContinuationToken"]


def _walk_v1(s3: Any, prefix: str) -> list[str]:
    listed: list[str] = []
    marker = ""
    while True:
        page = s3.list_objects(Bucket="many", Prefix=prefix, Delimiter="/", Marker=marker, MaxKeys=211)
        listed += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            return listed
        marker = page["NextMarker"]
