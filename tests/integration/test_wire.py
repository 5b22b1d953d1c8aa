"""The wire itself: SigV4 failures, presigned URLs, error bodies, request ids, unimplemented operations."""

from __future__ import annotations

import datetime
import http.client
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer


def signed(server: LakeboxServer, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, *, secret: str | None = None, key_id: str | None = None, send_body: bytes | None = None) -> httpx.Response:  # fmt: skip
    """A request signed by botocore (``send_body`` replaces the signed body on the wire)."""
    url = server.s3_endpoint + path
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    creds = Credentials(key_id or server.access_key_id, secret or server.secret_access_key)
    S3SigV4Auth(creds, "s3", "auto").add_auth(request)
    content = body if send_body is None else send_body
    return httpx.request(method, url, content=content, headers=dict(request.headers.items()))


def code_of(response: httpx.Response) -> str:
    match = re.search(r"<Code>([^<]+)</Code>", response.text)
    return match.group(1) if match else ""


def test_error_body_has_no_namespace_and_every_response_a_request_id(
    server: LakeboxServer, bucket: str
) -> None:
    response = signed(server, "GET", f"/{bucket}/missing")
    assert response.status_code == 404
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>')
    assert "xmlns" not in response.text
    assert response.headers["x-amz-request-id"]
    assert signed(server, "GET", "/").headers["x-amz-request-id"]


def test_anonymous_is_access_denied(server: LakeboxServer, bucket: str) -> None:
    response = httpx.get(f"{server.s3_endpoint}/{bucket}/x")
    assert (response.status_code, code_of(response)) == (403, "AccessDenied")


def test_unknown_key_and_wrong_secret(server: LakeboxServer, bucket: str) -> None:
    unknown = signed(server, "GET", f"/{bucket}", key_id="0" * 32)
    assert (unknown.status_code, code_of(unknown)) == (403, "InvalidAccessKeyId")
    wrong = signed(server, "GET", f"/{bucket}", secret="f" * 64)
    assert (wrong.status_code, code_of(wrong)) == (403, "SignatureDoesNotMatch")


def test_payload_hash_mismatch_writes_nothing(server: LakeboxServer, bucket: str) -> None:
    response = signed(server, "PUT", f"/{bucket}/h", b"signed body", send_body=b"sent body!!")
    assert (response.status_code, code_of(response)) == (400, "XAmzContentSHA256Mismatch")
    assert signed(server, "HEAD", f"/{bucket}/h").status_code == 404


def test_clock_skew(server: LakeboxServer, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: old)
    url = f"{server.s3_endpoint}/{bucket}"
    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "s3", "auto").add_auth(request)
    response = httpx.get(url, headers=dict(request.headers.items()))
    assert (response.status_code, code_of(response)) == (403, "RequestTimeTooSkewed")


def test_presigned_get_put_delete(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    assert httpx.put(put_url, content=b"presigned body").status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    assert httpx.get(get_url).content == b"presigned body"
    delete_url = s3.generate_presigned_url(
        "delete_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60
    )
    assert httpx.delete(delete_url).status_code == 204
    assert httpx.get(get_url).status_code == 404


def test_presigned_url_tampered_or_expired(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="p2", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p2"}, ExpiresIn=60)
    tampered = httpx.get(url.replace("/p2?", "/p3?"))
    assert (tampered.status_code, code_of(tampered)) == (403, "SignatureDoesNotMatch")
    too_long = httpx.get(re.sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=604801", url))
    assert (too_long.status_code, code_of(too_long)) == (400, "AuthorizationQueryParametersError")
    expired_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p2"}, ExpiresIn=1)
    import time

    time.sleep(2.1)
    expired = httpx.get(expired_url)
    assert (expired.status_code, code_of(expired)) == (403, "AccessDenied")
    assert "expired" in expired.text


@pytest.mark.parametrize("query", ["tagging", "versions", "policy", "website", "acl"])
def test_unimplemented_subresources_are_501(server: LakeboxServer, bucket: str, query: str) -> None:
    response = signed(server, "PUT", f"/{bucket}/obj?{query}", b"<x/>")
    assert (response.status_code, code_of(response)) == (501, "NotImplemented")


def test_bucket_lifecycle(server: LakeboxServer) -> None:
    s3 = server.s3()
    s3.create_bucket(Bucket="life-cycle")
    with pytest.raises(ClientError) as exists:
        s3.create_bucket(Bucket="life-cycle")
    assert exists.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    assert s3.head_bucket(Bucket="life-cycle")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="life-cycle")["LocationConstraint"] == "auto"
    s3.put_object(Bucket="life-cycle", Key="k", Body=b"")
    with pytest.raises(ClientError) as not_empty:
        s3.delete_bucket(Bucket="life-cycle")
    assert not_empty.value.response["Error"]["Code"] == "BucketNotEmpty"
    s3.delete_object(Bucket="life-cycle", Key="k")
    s3.delete_bucket(Bucket="life-cycle")
    with pytest.raises(ClientError) as gone:
        s3.delete_bucket(Bucket="life-cycle")
    assert gone.value.response["Error"]["Code"] == "NoSuchBucket"


@pytest.mark.parametrize("name", ["ab", "UPPER", "-lead", "trail-", "under_score", "a" * 64, "dot.ted"])
def test_invalid_bucket_names(server: LakeboxServer, name: str) -> None:
    response = signed(server, "PUT", f"/{name}")
    assert (response.status_code, code_of(response)) == (400, "InvalidBucketName")


def test_create_bucket_with_location_hint(server: LakeboxServer) -> None:
    s3 = server.s3()
    s3.create_bucket(Bucket="hinted", CreateBucketConfiguration={"LocationConstraint": "weur"})  # type: ignore[typeddict-item]
    bad = signed(
        server,
        "PUT",
        "/hinted2",
        b"<CreateBucketConfiguration><LocationConstraint>mars</LocationConstraint></CreateBucketConfiguration>",
    )
    assert (bad.status_code, code_of(bad)) == (400, "InvalidArgument")
    malformed = signed(server, "PUT", "/hinted3", b"<CreateBucketConfiguration><oops>")
    assert (malformed.status_code, code_of(malformed)) == (400, "MalformedXML")


def test_expect_100_continue_is_refused_before_the_body(server: LakeboxServer, bucket: str) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.s3_port)) as sock:
        sock.sendall(
            f"PUT /{bucket}/expect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        # The refusal closes the connection: read until then (headers and body may come in separate segments).
        sock.settimeout(10)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    assert reply.startswith("HTTP/1.1 403"), reply
    assert "AccessDenied" in reply


def test_put_without_content_length_or_chunking_is_refused(server: LakeboxServer, bucket: str) -> None:
    url = urlsplit(
        server.s3().generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "nolen"}, ExpiresIn=60
        )
    )
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    conn.putrequest("PUT", f"{url.path}?{url.query}", skip_accept_encoding=True)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert (response.status, re.search(r"<Code>([^<]+)</Code>", body).group(1)) == (
        411,
        "MissingContentLength",
    )  # type: ignore[union-attr]


def test_put_with_chunked_transfer_encoding(server: LakeboxServer, bucket: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"streamed "
        yield b"without a length"

    url = server.s3().generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "chunked"}, ExpiresIn=60
    )
    assert httpx.put(url, content=chunks()).status_code == 200
    assert server.s3().get_object(Bucket=bucket, Key="chunked")["Body"].read() == b"streamed without a length"


def test_presigned_url_expired_before_it_was_made(server: LakeboxServer, bucket: str) -> None:
    # What botocore's pure-Python signer makes of ExpiresIn=-1000 (the CRT signer refuses to).
    request = AWSRequest(method="PUT", url=f"{server.s3_endpoint}/{bucket}/neg")
    creds = Credentials(server.access_key_id, server.secret_access_key)
    S3SigV4QueryAuth(creds, "s3", "auto", expires=-1000).add_auth(request)
    response = httpx.put(request.url, content=b"x")
    assert (response.status_code, code_of(response)) == (403, "AccessDenied")
