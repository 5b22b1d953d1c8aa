"""SSE-C: key checks and key parsing (the segment cipher is tested in test_segments)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from objectstore.api.headers import customer_key
from objectstore.api.request import parse_request
from objectstore.service.errors import InvalidArgument, InvalidEncryptionAlgorithm, InvalidRequest
from objectstore.service.sse import CustomerKey, check_key, parse_customer_key

KEY = CustomerKey(
    b"\x01" * 32, base64.b64encode(hashlib.md5(b"\x01" * 32, usedforsecurity=False).digest()).decode()
)


def test_key_check_recognises_only_its_key() -> None:
    check = KEY.check_value()
    assert KEY.matches(check)
    assert check != KEY.check_value()  # salted
    other = CustomerKey(b"\x02" * 32, "")
    assert not other.matches(check)
    assert not KEY.matches("garbage")
    assert base64.b64encode(KEY.key).decode() not in check
    check_key(check, KEY)
    check_key(None, None)
    with pytest.raises(InvalidRequest):
        check_key(check, None)
    with pytest.raises(InvalidRequest):
        check_key(check, other)
    with pytest.raises(InvalidRequest):
        check_key(None, KEY)


def test_parse_customer_key() -> None:
    raw = b"\x03" * 32
    b64, md5 = (
        base64.b64encode(raw).decode(),
        base64.b64encode(hashlib.md5(raw, usedforsecurity=False).digest()).decode(),
    )
    assert parse_customer_key(None, None, None) is None
    assert parse_customer_key("AES256", b64, md5) == CustomerKey(raw, md5)
    with pytest.raises(InvalidEncryptionAlgorithm):
        parse_customer_key("aws:kms", b64, md5)
    for args in [(None, b64, md5), ("AES256", None, md5), ("AES256", b64, None), ("AES256", b64, "x" * 24)]:
        with pytest.raises(InvalidArgument):
            parse_customer_key(*args)
    with pytest.raises(InvalidArgument):
        parse_customer_key("AES256", base64.b64encode(b"short").decode(), md5)


def _request(client: str, scheme: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    scope = {
        "type": "http", "method": "PUT", "scheme": scheme, "path": "/b/k", "raw_path": b"/b/k",
        "query_string": b"", "client": (client, 5000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    return parse_request(scope, receive, None)


def test_keys_travel_only_over_tls_or_from_this_machine() -> None:
    raw = b"\x04" * 32
    headers = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(raw).decode(),
        "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(
            hashlib.md5(raw, usedforsecurity=False).digest()
        ).decode(),
    }
    assert customer_key(_request("127.0.0.1", "http", headers)) is not None
    assert customer_key(_request("::1", "http", headers)) is not None
    assert customer_key(_request("10.1.2.3", "https", headers)) is not None
    with pytest.raises(InvalidRequest, match="secure connection"):
        customer_key(_request("10.1.2.3", "http", headers))
    assert customer_key(_request("10.1.2.3", "http", {})) is None
