"""Hostile input on the S3 wire, one test per failure found (issue 14, items 2, 3 and 8): bytes that are not text
in keys, bucket names and queries; control characters in values lakebox later echoes as headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.raw_http import RawClient, RawResponse, encode_path, encode_query, send_signed
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
    server: LakeboxServer, raw: RawClient, method: str, target: bytes | str, body: bytes = b"", **headers: str
) -> RawResponse:
    return send_signed(raw, method, target, body, server.access_key_id, server.secret_access_key, **headers)


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
    # The HTTP parser refuses these before the app sees them; the answer is still S3's XML.
    for client in (raw, public):
        for target in (b"/bucket/\xff\xfe", b"/bucket?delimiter=\xff"):
            assert refused(client.request("GET", target, [])) == (400, "BadRequest")
            client.close()


def test_valid_utf8_keys_still_work(server: LakeboxServer, raw: RawClient, bucket: str) -> None:
    response = signed(
        server, raw, "PUT", encode_path(bucket.encode(), "caf\u00e9/\U0001f600".encode()), b"ok"
    )
    assert response.status == 200, response.body
    assert listing(server, bucket) == ["caf\u00e9/\U0001f600"]


# -- item 3: values lakebox echoes as headers --------------------------------------------------------------


def cors_body(field: str, value: str) -> bytes:
    fields = {"AllowedOrigin": "https://app.example", "AllowedMethod": "GET", field: value}
    inner = "".join(f"<{name}>{text}</{name}>" for name, text in fields.items())
    return f"<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>".encode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ExposeHeader", "x-amz-meta-a&#13;&#10;Set-Cookie: s=1"),
        ("ExposeHeader", "x-a\nx-b"),
        ("AllowedHeader", "x-a&#13;x-b"),
        ("AllowedHeader", "content-type&#127;"),
        ("AllowedMethod", "GE&#10;T"),
        ("AllowedOrigin", "https://app.example&#10;x"),
        ("ID", "rule&#13;one"),
    ],
)
def test_cors_rule_with_a_control_character_is_refused(
    server: LakeboxServer, raw: RawClient, bucket: str, field: str, value: str
) -> None:
    response = signed(server, raw, "PUT", f"/{bucket}?cors".encode(), cors_body(field, value))
    assert refused(response) == (400, "InvalidArgument")
    assert refused(signed(server, raw, "GET", f"/{bucket}?cors".encode())) == (404, "NoSuchCORSConfiguration")


def test_cors_rule_with_a_tab_inside_a_value_is_kept(
    server: LakeboxServer, raw: RawClient, bucket: str
) -> None:
    body = cors_body("ExposeHeader", "x-a,&#9;x-b")
    assert signed(server, raw, "PUT", f"/{bucket}?cors".encode(), body).status == 200
    response = signed(server, raw, "GET", f"/{bucket}/k".encode(), Origin="https://app.example")
    assert response.headers["access-control-expose-headers"] == "x-a,\tx-b"


@pytest.mark.parametrize(
    "value", ["text/plain\r\nX-Injected: 1", "text/plain\nx", "a\x00b", "a\x7fb", "a\x1bb", "\r"]
)
@pytest.mark.parametrize(
    "param",
    ["response-content-type", "response-content-disposition", "response-cache-control", "response-expires"],
)
def test_response_override_with_a_control_character_is_refused(
    server: LakeboxServer, bucket: str, param: str, value: str
) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="o", Body=b"body")
    query = encode_query([(param, value)])
    raw = RawClient("127.0.0.1", server.s3_port)
    try:
        for method in ("GET", "HEAD"):
            response = signed(server, raw, method, f"/{bucket}/o?".encode() + query)
            assert response.status == 400
            if method == "GET":  # (a NUL anywhere in a query is already refused by the request parser)
                assert refused(response) == (400, "InvalidURI" if "\x00" in value else "InvalidArgument")
        fine = signed(server, raw, "GET", f"/{bucket}/o?".encode() + encode_query([(param, "a\tb c")]))
        assert fine.status == 200
    finally:
        raw.close()


def test_response_override_with_crlf_is_refused_on_the_public_port(
    server: LakeboxServer, public: RawClient, bucket: str
) -> None:
    server.s3().put_object(Bucket=bucket, Key="pub", Body=b"public body")
    from tests.support.admin import cf

    state = cf(server, "PUT", f"{{account}}/r2/buckets/{bucket}/domains/managed", {"enabled": True}).json()
    public_id = state["result"]["publicId"]
    target = f"/{public_id}/pub?".encode() + encode_query([("response-content-type", "a\r\nb: c")])
    assert refused(public.request("GET", target, [])) == (400, "InvalidArgument")
    assert public.request("GET", f"/{public_id}/pub".encode(), []).body == b"public body"


@pytest.mark.parametrize(
    ("header", "value"),
    [("x-amz-meta-a", "a\x01b"), ("content-type", "text/\x7fplain"), ("cache-control", "no\x1fcache"),
     ("content-disposition", "inline\x0bx"), ("content-language", "en\x0cx")],
)  # fmt: skip
def test_stored_header_value_with_a_control_character_is_refused(
    server: LakeboxServer, raw: RawClient, bucket: str, header: str, value: str
) -> None:
    """The HTTP parser already refuses these (400 BadRequest, S3 XML); lakebox's own check
    (tests/unit/test_field_values) stands behind it with 400 InvalidArgument. Either way: 400, nothing stored."""
    for method, target in (("PUT", f"/{bucket}/m"), ("POST", f"/{bucket}/m?uploads")):
        response = signed(server, raw, method, target.encode(), b"", **{header: value})
        assert response.status == 400
        assert response.code in ("BadRequest", "InvalidArgument")
        raw.close()
    assert listing(server, bucket) == []
    assert server.s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_stored_value_that_cannot_be_sent_is_a_500_with_a_body(
    server: LakeboxServer, raw: RawClient, bucket: str
) -> None:
    """A configuration stored before values were checked: the answer is S3's InternalError, not a dropped
    connection, and the connection carries the next request."""

    rules = [["CORSRule", [["AllowedOrigin", "*"], ["AllowedMethod", "GET"], ["ExposeHeader", "a\r\nb"]]]]
    store_cors(server, bucket, rules)
    server.s3().put_object(Bucket=bucket, Key="k", Body=b"x")
    response = signed(server, raw, "GET", f"/{bucket}/k".encode(), Origin="https://a.example")
    assert refused(response) == (500, "InternalError")
    assert not response.closed
    assert signed(server, raw, "GET", f"/{bucket}/k".encode()).body == b"x"


def store_cors(server: LakeboxServer, bucket: str, rules: list[Any]) -> None:
    """Writes a bucket's CORS rules behind the API's back, as a version that validated less would have."""
    import json

    import sqlalchemy

    engine = sqlalchemy.create_engine(server.database_url or f"sqlite:///{server.data_dir / 'lakebox.db'}")
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text("UPDATE s3_bucket SET cors = :cors WHERE name = :name"),
            {"cors": json.dumps(rules), "name": bucket},
        )
    engine.dispose()


def test_a_stored_configuration_that_cannot_be_read_costs_only_the_cors_headers(
    server: LakeboxServer, raw: RawClient, bucket: str
) -> None:
    store_cors(
        server,
        bucket,
        [["CORSRule", [["AllowedOrigin", "*"], ["AllowedMethod", "GET"], ["MaxAgeSeconds", ""]]]],
    )
    server.s3().put_object(Bucket=bucket, Key="k", Body=b"x")
    response = signed(server, raw, "GET", f"/{bucket}/k".encode(), Origin="https://a.example")
    assert (response.status, response.body) == (200, b"x")
    assert "access-control-allow-origin" not in response.headers
    preflight = [("origin", "https://a.example"), ("access-control-request-method", "GET")]
    assert refused(raw.request("OPTIONS", f"/{bucket}/k".encode(), preflight)) == (500, "InternalError")


@pytest.mark.parametrize("source", ["{b}/%FF", "%C0%AE/k", "{b}/a%00b", "/{b}/k%ED%A0%80", "{b}/%E2%82"])
def test_copy_source_that_is_not_text_is_invalid_argument(
    server: LakeboxServer, raw: RawClient, bucket: str, source: str
) -> None:
    header = {"x-amz-copy-source": source.format(b=bucket)}
    for target in (f"/{bucket}/dst", f"/{bucket}/dst?partNumber=1&uploadId=0"):
        response = signed(server, raw, "PUT", target.encode(), **header)
        assert refused(response) == (400, "InvalidArgument")
    assert listing(server, bucket) == []


def test_continuation_token_holding_a_nul_is_invalid_argument(
    server: LakeboxServer, raw: RawClient, bucket: str
) -> None:
    import base64

    token = base64.urlsafe_b64encode(b"a\0b").decode()
    listing_v2 = signed(server, raw, "GET", f"/{bucket}?list-type=2&continuation-token={token}".encode())
    assert refused(listing_v2) == (400, "InvalidArgument")
    buckets = signed(server, raw, "GET", f"/?continuation-token={token}".encode())
    assert refused(buckets) == (400, "InvalidArgument")


@pytest.mark.parametrize("number", ["", "\u00b2", "1\u0661", "9" * 5000, "2147483648", "-1"])
def test_numbers_that_int_cannot_take_are_refused_not_500(
    server: LakeboxServer, raw: RawClient, bucket: str, number: str
) -> None:
    """``str.isdigit`` accepts "²" and 5,000 digits; ``int`` does not: each such field is refused as S3 would."""
    cors = (
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        f"<MaxAgeSeconds>{number}</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    ).encode()
    assert refused(signed(server, raw, "PUT", f"/{bucket}?cors".encode(), cors)) == (400, "MalformedXML")
    lifecycle = (
        "<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
        f"<Expiration><Days>{number}</Days></Expiration></Rule></LifecycleConfiguration>"
    ).encode()
    assert refused(signed(server, raw, "PUT", f"/{bucket}?lifecycle".encode(), lifecycle)) == (
        400,
        "InvalidArgument",
    )
    upload = server.s3().create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    complete = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>"
    target = f"/{bucket}/mp?uploadId={upload}".encode()
    response = signed(server, raw, "POST", target, complete, **{"x-amz-mp-object-size": number})
    size_is_fine = number.isascii() and number.isdigit() and len(number) <= 19  # then the bogus part is found
    assert refused(response) == (400, "InvalidPart" if size_is_fine else "InvalidArgument")
