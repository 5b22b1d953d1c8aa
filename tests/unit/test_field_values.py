"""Values that become response headers are checked when received; a response that still cannot be sent is a 500
with an S3 body (issue 14, item 3). Here without a server, so that lakebox's own checks are seen even where the
HTTP server in front would have refused the request first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objectstore.api.app import send_response
from objectstore.api.headers import response_overrides, write_options
from objectstore.api.request import S3Request, parse_request
from objectstore.api.response import S3Response
from objectstore.service.errors import InvalidArgument
from objectstore.service.fields import check_field_value

CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F)]


def request(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> S3Request:
    scope = {
        "type": "http", "method": "PUT", "scheme": "http", "path": "/b/k", "raw_path": b"/b/k",
        "query_string": query, "client": ("127.0.0.1", 5000), "headers": headers,
    }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    return parse_request(scope, receive, None)


@pytest.mark.parametrize("control", CONTROLS)
def test_every_control_character_but_tab_is_refused(control: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_field_value("x-amz-meta-a", f"a{control}b")
    assert exc.value.fields == {"ArgumentName": "x-amz-meta-a"}


@given(st.text(st.characters(blacklist_categories=("Cc",)) | st.just("\t")))
@settings(max_examples=200)
def test_text_without_controls_is_kept(value: str) -> None:
    assert check_field_value("content-type", value) == value


@pytest.mark.parametrize(
    "header", [b"content-type", b"content-disposition", b"content-encoding", b"content-language",
               b"cache-control", b"expires", b"x-amz-meta-note"],
)  # fmt: skip
@pytest.mark.parametrize("value", [b"a\r\nb", b"a\x00", b"\x7f", b"x\x1b[31m"])
def test_stored_headers_are_checked_when_received(header: bytes, value: bytes) -> None:
    with pytest.raises(InvalidArgument):
        write_options(request([(header, value)]), "k", algorithm=None)


def test_response_overrides_are_checked_when_received() -> None:
    fine = request([], b"response-content-type=text%2Fplain%09x&response-expires=0")
    assert response_overrides(fine) == {"content-type": "text/plain\tx", "expires": "0"}
    with pytest.raises(InvalidArgument):
        response_overrides(request([], b"response-content-disposition=a%0D%0AX-Injected%3A%201"))


def _send(resp: S3Response, method: str = "GET") -> list[MutableMapping[str, Any]]:
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(send_response(send, method, resp))
    return sent


def test_a_response_header_that_cannot_be_sent_becomes_a_500_with_a_body() -> None:
    closed = []

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"object data"
        finally:
            closed.append(True)

    body = stream()
    resp = S3Response(
        200, [("x-amz-meta-a", "a\r\nb"), ("x-amz-request-id", "REQ1")], body, content_length=11
    )
    start, end = _send(resp)
    assert start["status"] == 500
    headers = dict(start["headers"])
    assert headers[b"x-amz-request-id"] == b"REQ1"
    assert int(headers[b"content-length"]) == len(end["body"])
    root = ElementTree.fromstring(end["body"])  # noqa: S314
    assert (root.findtext("Code"), root.findtext("RequestId")) == ("InternalError", "REQ1")
    assert b"object data" not in end["body"]


def test_a_bad_header_name_is_caught_too() -> None:
    start, _ = _send(S3Response(200, [("x-amz-meta-a b", "v")], b"x"))
    assert start["status"] == 500


def test_sendable_responses_are_untouched() -> None:
    start, end = _send(S3Response(200, [("x-amz-meta-a", "caf\u00e9\tx")], b"body"))
    assert start["status"] == 200
    assert (b"x-amz-meta-a", "caf\u00e9\tx".encode("latin-1")) in start["headers"]
    assert end["body"] == b"body"
