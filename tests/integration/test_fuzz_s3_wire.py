"""Property-based fuzzing of the S3 wire against a running server (issue 14, acceptance): methods x sub-resources
x headers x keys and bucket names as arbitrary bytes x bodies, signed by botocore (so they reach the handlers)
and unsigned, on the S3 port and the public-bucket port; and every XML body S3 takes, arbitrary and mutated.

Every request must get a response; no 5xx but 501 NotImplemented (and 503, which lakebox documents for
overload); every error from lakebox is well-formed S3 ``<Error>`` XML (uvicorn's own 400 for a request line it
cannot parse is plain text); and the server is healthy afterwards (a PUT/GET round trip). One server and one
kept-alive connection per module keep each example to a few milliseconds.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.admin import cf
from tests.support.raw_http import RawClient, RawResponse, sign
from tests.support.s3_xml_strategies import xml_document
from tests.support.server import LakeboxServer

BUCKET = "fuzz"
FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    "database": None,  # every run explores afresh; a failure prints its reproducing example
}

METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
SUBRESOURCES = [
    "acl", "cors", "lifecycle", "delete", "uploads", "uploadId", "partNumber", "list-type", "location",
    "encryption", "tagging", "versioning", "versions", "policy", "website", "logging", "replication",
    "object-lock", "restore", "select", "attributes", "x-id", "x-purpose", "prefix", "delimiter", "max-keys",
    "marker", "start-after", "continuation-token", "encoding-type", "fetch-owner", "key-marker",
    "upload-id-marker", "max-uploads", "max-parts", "part-number-marker", "response-content-type",
    "response-content-disposition", "response-cache-control", "response-expires", "versionId",
    "allow-unordered", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token",
]  # fmt: skip
HEADERS = [
    "content-type", "content-md5", "content-encoding", "content-disposition", "content-language",
    "cache-control", "expires", "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
    "x-amz-copy-source", "x-amz-copy-source-range", "x-amz-copy-source-if-match", "x-amz-metadata-directive",
    "x-amz-storage-class", "x-amz-checksum-crc32", "x-amz-checksum-crc64nvme", "x-amz-checksum-sha256",
    "x-amz-checksum-algorithm", "x-amz-sdk-checksum-algorithm", "x-amz-checksum-mode", "x-amz-checksum-type",
    "x-amz-trailer", "x-amz-decoded-content-length", "x-amz-mp-object-size",
    "x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5",
    "x-amz-copy-source-server-side-encryption-customer-algorithm", "x-amz-security-token",
    "cf-create-bucket-if-missing", "cf-copy-destination-if-match", "cf-prefix", "cf-max-keys",
    "cf-continuation-token", "cf-default-storage-class", "origin", "access-control-request-method",
    "access-control-request-headers", "x-amz-meta-a", "x-amz-meta-long-name", "x-amz-expected-bucket-owner",
]  # fmt: skip
PLAUSIBLE = [
    "", "*", "0", "1", "-1", "10000", "99999999999999999999", "bytes=0-1", "bytes=-5", "bytes=5-", "true",
    "AES256", "aws:kms", "CRC32", "CRC64NVME", "SHA256", "ENABLED", "COPY", "REPLACE", "MERGE", "STANDARD",
    "STANDARD_IA", "GLACIER", "2", "url", "GET", "https://app.example", f"{BUCKET}/keep", f"/{BUCKET}/keep",
    "AAAAAA==", "1B2M2Y8AsgTpgAmY7PhCfg==", '"d41d8cd98f00b204e9800998ecf8427e"', "Wed, 21 Oct 2015 07:28:00 GMT",
    "x-amz-checksum-crc32", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "UNSIGNED-PAYLOAD", f"{BUCKET}/%FF",
    "%C0%AE/k", f"/{BUCKET}/a%00b", "\u00b2", "9" * 5000, f"{BUCKET}/k%ED%A0%80?versionId=%FF", "=?UTF-8?B?DQo=?=",
]  # fmt: skip

# Header values: what HTTP/1.1 can carry (tab, visible ASCII, obs-text) with no whitespace that signers fold.
header_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E)
    | st.sampled_from([" ", "\t", "é", "ü", "中", "\U0001f600"]),
    max_size=40,
)
query_value = st.sampled_from(PLAUSIBLE) | st.text(max_size=30) | st.binary(max_size=12)
# Weighted towards what reaches a handler (the fuzz bucket, keys that are text), with the rest mixed in.
_known_keys = st.sampled_from([b"keep", b"k", b"dir/", b"dir/a", b"a//b", b".", b"..", b"x" * 1025])
_text_keys = st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass"))
key_bytes = st.one_of(_known_keys, _known_keys, _text_keys, _text_keys, st.binary(max_size=30))
_fuzz_bucket = st.just(BUCKET.encode())
bucket_bytes = st.one_of(
    _fuzz_bucket,
    _fuzz_bucket,
    _fuzz_bucket,
    st.sampled_from([b"no-such-bucket", b"", b"UPPER", b"a", b"fz-" + b"0" * 60]),
    st.text("abcz019.-", min_size=1, max_size=70).map(str.encode),
    st.binary(max_size=10),
)


def percent(raw: bytes, safe: str = "-_.~") -> str:
    return quote(raw, safe=safe)


# Strategies are built once: building them inside each draw costs more than the request itself.
_methods = st.sampled_from(METHODS * 6 + ["PATCH", "PROPFIND", "TRACE", "CONNECT", "get"])
_shapes = st.sampled_from(["object", "object", "bucket", "service", "raw"])
_raw_paths = st.binary(max_size=40)
_params = st.lists(
    st.tuples(st.sampled_from(SUBRESOURCES) | st.text(max_size=8), query_value | st.none()), max_size=4
)
_meta_names = st.text("abz09-", min_size=1, max_size=12).map("x-amz-meta-".__add__)
_header_values = st.sampled_from(PLAUSIBLE) | header_text
_signed_headers = st.lists(
    st.tuples(st.sampled_from(HEADERS) | _meta_names, _header_values), max_size=5, unique_by=lambda h: h[0]
)
_unsigned_headers = st.lists(
    st.tuples(
        st.sampled_from(HEADERS)
        | _meta_names
        | st.sampled_from(["authorization", "x-amz-date", "x-amz-content-sha256"]),
        _header_values,
    ),
    max_size=5,
    unique_by=lambda h: h[0],
)
_bodies = st.sampled_from([b"", b"", b"<x/>", b"data"]) | st.binary(max_size=200)


def _encoded(value: str | bytes) -> str:
    return percent(value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass"))


@st.composite
def s3_request(draw: st.DrawFn, *, signed: bool) -> tuple[str, bytes, list[tuple[str, str]], bytes]:
    method = draw(_methods)
    shape = draw(_shapes)
    if shape == "service":
        path = "/"
    elif shape == "raw":
        path = "/" + percent(draw(_raw_paths), safe="-_.~/")
    else:
        path = "/" + percent(draw(bucket_bytes))
        if shape == "object":
            path += "/" + percent(draw(key_bytes), safe="-_.~/")
    query = "&".join(
        _encoded(name) + ("" if value is None else "=" + _encoded(value)) for name, value in draw(_params)
    )
    headers = draw(_signed_headers if signed else _unsigned_headers)
    return method, (path + ("?" + query if query else "")).encode(), headers, draw(_bodies)


def check(response: RawResponse, method: str) -> None:
    """A response lakebox may give to anything: below 500 (501 NotImplemented and 503 excepted), and an error
    is S3's ``<Error>`` document, or uvicorn's plain 400 for a request it could not parse."""
    detail = (response.status, response.headers, response.body[:600])
    event(f"{response.status} {response.code}")
    assert response.status < 500 or response.status in (501, 503), detail
    if response.status == 501 and method != "HEAD":
        assert response.code == "NotImplemented", detail
    if response.status >= 400 and method != "HEAD":
        if response.headers.get("content-type", "").startswith("text/plain"):
            assert response.status == 400, detail
        else:
            response.error_xml()
            assert response.headers.get("x-amz-request-id"), detail


def assert_healthy(server: LakeboxServer) -> None:
    s3 = server.s3()
    name = "health-" + secrets.token_hex(4)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="round/trip", Body=b"still here")
    assert s3.get_object(Bucket=name, Key="round/trip")["Body"].read() == b"still here"
    s3.delete_object(Bucket=name, Key="round/trip")
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="module")
def fuzz_server(server: LakeboxServer) -> tuple[LakeboxServer, str]:
    s3 = server.s3()
    s3.create_bucket(Bucket=BUCKET)
    for key in ("keep", "k", "dir/a", "dir/b"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"seed " + key.encode())
    enabled = cf(server, "PUT", f"{{account}}/r2/buckets/{BUCKET}/domains/managed", {"enabled": True})
    public_id = enabled.json()["result"]["publicId"]
    return server, public_id


def test_signed_requests(fuzz_server: tuple[LakeboxServer, str]) -> None:
    server, _ = fuzz_server
    client = RawClient("127.0.0.1", server.s3_port)
    host = f"127.0.0.1:{server.s3_port}"

    @settings(max_examples=3500, **FUZZ_SETTINGS)
    @given(request=s3_request(signed=True))
    def run(request: tuple[str, bytes, list[tuple[str, str]], bytes]) -> None:
        method, target, headers, body = request
        sent = sign(method, host, target, headers, body, server.access_key_id, server.secret_access_key)
        check(client.request(method, target, sent, body), method)

    try:
        run()
    finally:
        client.close()
    assert_healthy(server)


def test_unsigned_requests(fuzz_server: tuple[LakeboxServer, str]) -> None:
    server, _ = fuzz_server
    client = RawClient("127.0.0.1", server.s3_port)

    @settings(max_examples=1600, **FUZZ_SETTINGS)
    @given(
        request=s3_request(signed=False),
        raw_header=st.none()
        | st.none()
        | st.none()
        | st.tuples(st.binary(max_size=12), st.binary(max_size=30)),
    )
    def run(
        request: tuple[str, bytes, list[tuple[str, str]], bytes], raw_header: tuple[bytes, bytes] | None
    ) -> None:
        method, target, headers, body = request
        sent: list[tuple[bytes, bytes]] = [(n.encode(), v.encode()) for n, v in headers]
        if raw_header and raw_header[0] and b"content-length" not in raw_header[0].lower():
            sent.append(raw_header)  # any bytes at all: uvicorn refuses what HTTP cannot carry
        check(client.request(method, target, sent, body), method)

    try:
        run()
    finally:
        client.close()
    assert_healthy(server)


def test_public_port(fuzz_server: tuple[LakeboxServer, str]) -> None:
    server, public_id = fuzz_server
    client = RawClient("127.0.0.1", server.public_port)
    ids = st.sampled_from([public_id.encode(), b"pub-" + b"0" * 32, BUCKET.encode(), b""]) | st.binary(
        max_size=10
    )

    @settings(max_examples=800, **FUZZ_SETTINGS)
    @given(
        request=s3_request(signed=False),
        public=ids,
        key=key_bytes,
        xml_body=xml_document(),
        with_xml=st.booleans(),
    )
    def run(
        request: tuple[str, bytes, list[tuple[str, str]], bytes],
        public: bytes,
        key: bytes,
        xml_body: bytes,
        with_xml: bool,
    ) -> None:
        method, target, headers, body = request
        query = target.partition(b"?")[2]
        path = f"/{percent(public)}/{percent(key, safe='-_.~/')}".encode()
        sent = [(n.encode(), v.encode()) for n, v in headers]
        check(
            client.request(
                method, path + (b"?" + query if query else b""), sent, xml_body if with_xml else body
            ),
            method,
        )

    try:
        run()
    finally:
        client.close()
    server.s3().put_object(Bucket=BUCKET, Key="after/public", Body=b"served")  # the bucket may have changed
    response = client.request("GET", f"/{public_id}/after/public".encode(), [])
    assert (response.status, response.body) == (200, b"served")
    client.close()
    assert_healthy(server)


# -- XML bodies -------------------------------------------------------------------------------------------------


def test_xml_bodies(fuzz_server: tuple[LakeboxServer, str]) -> None:
    server, _ = fuzz_server
    s3 = server.s3()
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"part one")
    client = RawClient("127.0.0.1", server.s3_port)
    host = f"127.0.0.1:{server.s3_port}"
    targets = {
        "Delete": ("POST", f"/{BUCKET}?delete"),
        "CompleteMultipartUpload": ("POST", f"/{BUCKET}/mp?uploadId={upload_id}"),
        "CORSConfiguration": ("PUT", f"/{BUCKET}?cors"),
        "LifecycleConfiguration": ("PUT", f"/{BUCKET}?lifecycle"),
        "CreateBucketConfiguration": ("PUT", "/fz-{suffix}"),
    }

    def send(method: str, target: str, body: bytes = b"", **headers: str) -> RawResponse:
        sent = sign(
            method,
            host,
            target.encode(),
            list(headers.items()),
            body,
            server.access_key_id,
            server.secret_access_key,
        )
        response = client.request(method, target.encode(), sent, body)
        check(response, method)
        return response

    @settings(max_examples=1800, **FUZZ_SETTINGS)
    @given(data=st.data(), operation=st.sampled_from(sorted(targets)), suffix=st.integers(0, 10**6))
    def run(data: st.DataObject, operation: str, suffix: int) -> None:
        body = data.draw(xml_document(operation))
        method, target = targets[operation]
        response = send(method, target.format(suffix=suffix), body)
        if response.status != 200:
            return
        # A configuration that was accepted must never break what follows.
        if operation == "CORSConfiguration":
            ElementTree.fromstring(send("GET", f"/{BUCKET}?cors").body)  # noqa: S314
            send("GET", f"/{BUCKET}/keep", origin="https://app.example")
            preflight = [("origin", "https://app.example"), ("access-control-request-method", "GET")]
            check(client.request("OPTIONS", f"/{BUCKET}/keep".encode(), preflight), "OPTIONS")
        elif operation == "LifecycleConfiguration":
            ElementTree.fromstring(send("GET", f"/{BUCKET}?lifecycle").body)  # noqa: S314

    try:
        run()
    finally:
        client.close()
    assert_healthy(server)
