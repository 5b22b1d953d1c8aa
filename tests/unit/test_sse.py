"""SSE-C segment encryption: round trips of any size and range, tampering, key checks and key parsing."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objectstore.api.headers import customer_key
from objectstore.api.request import parse_request
from objectstore.service.errors import InvalidArgument, InvalidEncryptionAlgorithm, InvalidRequest
from objectstore.service.sse import (
    SEGMENT,
    TAG,
    CustomerKey,
    EncryptingWriter,
    SSEIntegrityError,
    check_key,
    decrypt_range,
    parse_customer_key,
    stored_size,
)
from objectstore.store.blobs import BlobWriter, DirectIO

KEY = CustomerKey(
    b"\x01" * 32, base64.b64encode(hashlib.md5(b"\x01" * 32, usedforsecurity=False).digest()).decode()
)


def encrypt(tmp: Path, data: bytes, pieces: list[int]) -> tuple[BlobWriter, Path]:
    path = tmp / f"blob-{len(data)}-{len(pieces)}"
    path.unlink(missing_ok=True)
    writer = EncryptingWriter(BlobWriter("blob-id", path, DirectIO()), KEY)
    position = 0
    for size in pieces:
        writer.write(data[position : position + size])
        if writer.needs_drain:
            writer.drain()
        position += size
    writer.write(data[position:])
    writer.finish()
    assert writer.size == len(data)
    return writer.inner, path


def reader(path: Path):  # type: ignore[no-untyped-def]
    raw = path.read_bytes()
    return lambda offset, count: raw[offset : offset + count]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(0, 3 * SEGMENT + 100),
    pieces=st.lists(st.integers(1, SEGMENT + 7), max_size=6),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_any_range_round_trips(
    tmp_path: Path, size: int, pieces: list[int], bounds: tuple[float, float]
) -> None:
    data = bytes(i * 7 % 251 for i in range(size))
    _writer, path = encrypt(tmp_path, data, pieces)
    assert path.stat().st_size == stored_size(size)
    if size == 0:
        return
    start = int(bounds[0] * (size - 1))
    length = max(1, int(bounds[1] * (size - start)))
    aead = KEY.blob_cipher("blob-id")
    got = b"".join(decrypt_range(aead, reader(path), size, start, length, batch=2))
    assert got == data[start : start + length]


def test_tampering_and_wrong_blob_key_fail(tmp_path: Path) -> None:
    data = b"z" * (2 * SEGMENT + 5)
    _writer, path = encrypt(tmp_path, data, [])
    raw = bytearray(path.read_bytes())
    raw[SEGMENT + TAG + 3] ^= 0x40  # inside the second segment
    path.write_bytes(bytes(raw))
    aead = KEY.blob_cipher("blob-id")
    assert b"".join(decrypt_range(aead, reader(path), len(data), 0, 100)) == data[:100]
    with pytest.raises(SSEIntegrityError):
        b"".join(decrypt_range(aead, reader(path), len(data), SEGMENT, 10))
    with pytest.raises(SSEIntegrityError):  # the same key bound to another blob id
        b"".join(decrypt_range(KEY.blob_cipher("other"), reader(path), len(data), 0, 10))
    path.write_bytes(bytes(raw[: SEGMENT + TAG]))  # truncated
    with pytest.raises(SSEIntegrityError):
        b"".join(decrypt_range(aead, reader(path), len(data), 0, len(data)))


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
