"""Hostile input on the S3 wire, one test per failure found (issue 14, items 2, 3 and 8): bytes that are not text
in keys, bucket names and queries; control characters in values lakebox later echoes as headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.raw_http import RawClient, RawResponse, encode_path, sign
from tests.support.server import LakeboxServer

NOT_UTF8 = {
    "invalid byte": b"%FF",
    "overlong dot": b"%C0%AE",
    "encoded lone surrogate": b"%ED%A0%80",
    "truncated sequence": b"%E2%82",
    "continuation byte alone": b"%80abc",
}


@pytest.fixture(scope="module")
def raw(server: LakeboxServer) -> Iterator[RawClient]:
    client = RawClient("127.0.0.1", server.s3_port)
    yield client
    client.close()


@pytest.fixture(scope="module")
def public(server: LakeboxServer) -> Iterator[RawClient]:
    client = RawClient("127.0.0.1", server.public_port)
    yield client
    client.close()


def signed(
    server: LakeboxServer, raw: RawClient, method: str, target: bytes, body: bytes = b"", **headers: str
) -> RawResponse:
    host = f"127.0.0.1:{server.s3_port}"
    sent = sign(
        method, host, target, list(headers.items()), body, server.access_key_id, server.secret_access_key
    )
    return raw.request(method, target, sent, body)


def refused(response: RawResponse) -> tuple[int, str]:
    response.error_xml()
    return response.status, response.code


def listing(server: LakeboxServer, bucket: str) -> list[str]:
    return [o["Key"] for o in server.s3().list_objects_v2(Bucket=bucket).get("Contents", [])]


# -- item 2: bytes that are not text ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_key_that_is_not_utf8_is_invalid_uri_and_nothing_is_written(
    server: LakeboxServer, raw: RawClient, bucket: str, bad: bytes
) -> None:
    target = f"/{bucket}/k".encode() + bad
    assert refused(signed(server, raw, "PUT", target, b"body")) == (400, "InvalidURI")
    assert refused(signed(server, raw, "GET", target)) == (400, "InvalidURI")
    assert refused(raw.request("GET", target, [])) == (400, "InvalidURI")  # before authentication too
    assert listing(server, bucket) == []


@pytest.mark.parametrize("bad", NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_bucket_name_that_is_not_utf8_is_invalid_bucket_name(
    server: LakeboxServer, raw: RawClient, bad: bytes
) -> None:
    assert refused(signed(server, raw, "PUT", b"/b" + bad + b"ucket")) == (400, "InvalidBucketName")
    assert refused(signed(server, raw, "GET", b"/b" + bad + b"ucket/key")) == (400, "InvalidBucketName")


@pytest.mark.parametrize("bad", NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_not_utf8_on_the_public_port(public: RawClient, bad: bytes) -> None:
    key = refused(public.request("GET", b"/pub-0123456789abcdef0123456789abcdef/" + bad, []))
    assert key == (400, "InvalidURI")
    public_id = public.request("GET", b"/pub-" + bad + b"/key", [])
    assert refused(public_id) == (400, "InvalidBucketName")
    assert b"<BucketName>" not in public_id.body  # the public address never echoes a bucket name


def test_nul_in_key_or_query_is_invalid_uri(server: LakeboxServer, raw: RawClient, bucket: str) -> None:
    assert refused(signed(server, raw, "PUT", f"/{bucket}/a%00b".encode(), b"x")) == (400, "InvalidURI")
    assert refused(signed(server, raw, "GET", f"/{bucket}?list-type=2&prefix=%00".encode())) == (
        400,
        "InvalidURI",
    )
    assert listing(server, bucket) == []


@pytest.mark.parametrize(
    "query", [b"prefix=%FF", b"list-type=2&prefix=%C0%AE", b"%E2%82=1", b"max-keys=%ED%A0%80"]
)
def test_query_that_is_not_utf8_is_invalid_uri(raw: RawClient, bucket: str, query: bytes) -> None:
    assert refused(raw.request("GET", f"/{bucket}?".encode() + query, [])) == (400, "InvalidURI")


def test_empty_bucket_segment_is_invalid_bucket_name(server: LakeboxServer, raw: RawClient) -> None:
    assert refused(signed(server, raw, "GET", b"//key")) == (400, "InvalidBucketName")
    assert refused(signed(server, raw, "PUT", b"//key", b"x")) == (400, "InvalidBucketName")
    assert refused(raw.request("DELETE", b"//", [])) == (400, "InvalidBucketName")


def test_raw_bytes_in_the_request_line_are_refused_by_the_http_layer(
    raw: RawClient, public: RawClient
) -> None:
    # uvicorn's parser answers these 400 itself (text/plain) before lakebox sees them.
    for client in (raw, public):
        for target in (b"/bucket/\xff\xfe", b"/bucket?delimiter=\xff"):
            assert client.request("GET", target, []).status == 400
            client.close()


def test_valid_utf8_keys_still_work(server: LakeboxServer, raw: RawClient, bucket: str) -> None:
    response = signed(
        server, raw, "PUT", encode_path(bucket.encode(), "caf\u00e9/\U0001f600".encode()), b"ok"
    )
    assert response.status == 200, response.body
    assert listing(server, bucket) == ["caf\u00e9/\U0001f600"]
