"""The segment cipher through the blob writer and reader: any size, any chunking, any range, with and without
O_DIRECT; tampering, truncation and wrong keys fail authentication; data keys and sealed metadata."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objectstore.service.atrest import UnreadableData, hkdf_sha256, object_context
from objectstore.service.segments import (
    BATCH,
    SEGMENT,
    TAG,
    SegmentIntegrityError,
    SegmentSealer,
    open_range,
    seal,
)
from objectstore.service.segments import stored_size as stored
from objectstore.service.sse import CustomerKey
from objectstore.store.blobs import BUFFER_SIZE, LocalBlobStore
from tests.support.atrest import fresh_atrest

KEY = AESGCM(b"\x07" * 32)
OTHER_KEY = AESGCM(b"\x08" * 32)
CHECKED = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def write(store: LocalBlobStore, data: bytes, pieces: list[int], key: AESGCM = KEY) -> str:
    writer = store.create(seal=SegmentSealer(key))
    position = 0
    for size in pieces:
        writer.write(data[position : position + size])
        if writer.needs_drain:
            writer.drain()
        position += size
    writer.write(data[position:])
    writer.finish()
    store.publish(writer.blob_id)
    return writer.blob_id


def read(store: LocalBlobStore, blob_id: str, size: int, start: int, length: int, key: AESGCM = KEY) -> bytes:
    with store.open(blob_id) as f:
        views = lambda at, count, chunk: store.read_views(f, at, count, chunk)  # noqa: E731
        # Every chunk is kept until the end: one that shared memory with a later read would come out altered.
        chunks = list(open_range(key, views, size, start, length))
        assert all(0 < len(chunk) <= BATCH * SEGMENT for chunk in chunks)
        return b"".join(chunks)


@CHECKED
@given(
    size=st.sampled_from([0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, BUFFER_SIZE, 2 * BUFFER_SIZE])
    | st.integers(0, 3 * BUFFER_SIZE + 5000),
    pieces=st.lists(st.integers(1, BUFFER_SIZE + 7), max_size=5),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    direct=st.booleans(),
)
def test_any_range_round_trips(
    tmp_path: Path, size: int, pieces: list[int], bounds: tuple[float, float], direct: bool
) -> None:
    store = LocalBlobStore(tmp_path, "n", direct_io=direct)
    data = os.urandom(size)
    blob_id = write(store, data, pieces)
    raw = store.path(blob_id).read_bytes()
    assert len(raw) == stored(size)
    assert raw == seal(KEY, data)  # the writer's buffering changes nothing about the bytes
    if size == 0:
        return
    start = int(bounds[0] * (size - 1))
    length = max(1, int(bounds[1] * (size - start)))
    assert read(store, blob_id, size, start, length) == data[start : start + length]


def test_tampering_truncation_and_wrong_key_fail(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "n")
    data = os.urandom(2 * SEGMENT + 5)
    blob_id = write(store, data, [])
    path = store.path(blob_id)
    raw = bytearray(path.read_bytes())
    raw[SEGMENT + TAG + 3] ^= 0x40  # inside the second segment
    path.write_bytes(bytes(raw))
    assert read(store, blob_id, len(data), 0, 100) == data[:100]  # the first segment is untouched
    with pytest.raises(SegmentIntegrityError):
        read(store, blob_id, len(data), SEGMENT, 10)
    with pytest.raises(SegmentIntegrityError):
        read(store, blob_id, len(data), 0, 10, key=OTHER_KEY)
    path.write_bytes(bytes(raw[: SEGMENT + TAG]))  # truncated
    with pytest.raises((SegmentIntegrityError, EOFError)):
        read(store, blob_id, len(data), 0, len(data))


def test_data_keys_need_master_and_customer_key() -> None:
    atrest, other = fresh_atrest(), fresh_atrest()
    customer = CustomerKey(b"\x01" * 32, "")
    label, key = atrest.new_blob_key(None)
    assert label is not None
    assert key is not None
    assert label.startswith(atrest.keyring.current.key_id + ":")
    assert atrest.data_key(label, "blob", None) == key
    _label2, key2 = atrest.new_blob_key(None)
    assert key2 != key  # a data key per blob
    sse_label, sse_key = atrest.new_blob_key(customer)
    assert atrest.data_key(sse_label, "blob", customer) == sse_key
    assert atrest.data_key(sse_label, "blob", None) != sse_key  # the master key alone does not open it
    assert atrest.data_key(sse_label, "blob", CustomerKey(b"\x02" * 32, "")) != sse_key
    with pytest.raises(UnreadableData):
        other.data_key(label, "blob", None)  # another keyring does not hold its master key
    assert atrest.data_key(None, "blob", None) is None  # written before encryption at rest: plaintext


@CHECKED
@given(
    text=st.text(max_size=300, alphabet=st.characters(codec="utf-8", exclude_characters="+/=:")),
    context=st.text(max_size=40),
)
def test_sealed_text_round_trips_only_in_its_context(text: str, context: str) -> None:
    atrest = fresh_atrest()
    sealed = atrest.seal_text(text, context)
    assert atrest.open_text(sealed, context) == text
    if len(text) >= 8:
        assert text not in sealed
    with pytest.raises(UnreadableData):
        atrest.open_text(sealed, context + "x")
    with pytest.raises(UnreadableData):
        fresh_atrest().open_text(sealed, context)
    assert fresh_atrest(enabled=False).seal_text(text, context) == text


def test_sealed_fields_hide_metadata() -> None:
    atrest = fresh_atrest()
    values = {
        "content_type": "text/x-secret",
        "content_encoding": None,
        "content_disposition": "attachment; filename=secret.txt",
        "content_language": None,
        "cache_control": None,
        "expires": None,
        "user_metadata": '{"color": "marker-value"}',
        "etag": "e",
    }
    sealed = atrest.seal_fields(values, object_context("b", "k"))
    assert "marker-value" not in repr(sealed)
    assert "secret" not in repr(sealed)
    assert sealed["user_metadata"] == "{}"
    assert sealed["content_type"] is None
    assert sealed["etag"] == "e"
    opened = atrest.open_fields(sealed["sealed_meta"], object_context("b", "k"))
    assert opened["user_metadata"] == '{"color": "marker-value"}'
    assert opened["content_disposition"] == "attachment; filename=secret.txt"
    # kept once opened, but only for the same value in the same context: the binding to the row still holds
    assert atrest.open_fields(sealed["sealed_meta"], object_context("b", "k")) is opened
    with pytest.raises(UnreadableData):
        atrest.open_fields(sealed["sealed_meta"], object_context("b", "other"))
    with pytest.raises(UnreadableData):
        fresh_atrest().open_fields(sealed["sealed_meta"], object_context("b", "k"))


@CHECKED
@given(ikm=st.binary(max_size=80), salt=st.binary(max_size=80), info=st.binary(max_size=40))
def test_hkdf_is_rfc_5869(ikm: bytes, salt: bytes, info: bytes) -> None:
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt or None, info=info).derive(ikm)
    assert hkdf_sha256(ikm, salt, info) == expected


def test_hkdf_golden_vector() -> None:
    # RFC 5869, test case 1 (the first 32 bytes of its 42-byte OKM: one expand block)
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
    )
    assert okm.hex() == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"


def test_ciphers_are_kept_per_blob_and_sse_c_ones_are_not() -> None:
    atrest = fresh_atrest()
    label, key = atrest.new_blob_key(None)
    first = atrest.cipher(label, "blob", None)
    assert first is atrest.cipher(label, "blob", None)
    assert first is not None
    assert first.decrypt(b"\0" * 12, AESGCM(key or b"").encrypt(b"\0" * 12, b"x", None), None) == b"x"
    customer = CustomerKey(b"\x01" * 32, "")
    sse_label, _ = atrest.new_blob_key(customer)
    assert atrest.cipher(sse_label, "blob", customer) is not atrest.cipher(sse_label, "blob", customer)
    assert atrest.cipher(None, "blob", None) is None
