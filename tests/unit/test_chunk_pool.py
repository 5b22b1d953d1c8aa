"""The read path of encrypted blobs: pooled chunk buffers are reused only once nothing holds them (never under a
reader, a view or a transport), stay bounded, and change nothing about the bytes; sealed rows open into the same
ObjectMeta as plain ones; a master key's id is computed once."""

from __future__ import annotations

import gc
import os
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objectstore.service.atrest import object_context
from objectstore.service.keyring import MasterKey, new_key
from objectstore.service.model import ObjectMeta
from objectstore.service.segments import (
    BATCH,
    CHUNK,
    SEGMENT,
    TAG,
    ChunkPool,
    SegmentIntegrityError,
    SegmentSealer,
    open_range,
)
from objectstore.store.blobs import LocalBlobStore
from tests.support.atrest import fresh_atrest

KEY = AESGCM(b"\x05" * 32)
CHECKED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_a_released_buffer_is_reused() -> None:
    pool = ChunkPool(size=2)
    first = pool.take()
    assert len(first) == CHUNK
    first_id = id(first)
    del first
    again = pool.take()
    assert id(again) == first_id
    assert len(pool) == 1


def test_a_held_buffer_or_a_view_of_it_is_never_handed_out_again() -> None:
    pool = ChunkPool(size=4)
    held = pool.take()
    other = pool.take()
    assert other is not held
    view = memoryview(other)[10:20]  # as a transport keeps what it could not send yet
    del other
    third = pool.take()
    assert third is not held
    assert third is not view.obj
    view.release()
    del view
    gc.collect()
    assert len(pool) == 3


def test_the_pool_is_bounded_and_never_blocks() -> None:
    pool = ChunkPool(size=3)
    taken = [pool.take() for _ in range(10)]
    assert len({id(b) for b in taken}) == 10  # all distinct: none handed out twice while held
    assert len(pool) == 3
    assert all(len(b) == CHUNK for b in taken)


def test_a_buffer_resized_by_its_holder_leaves_the_pool() -> None:
    pool = ChunkPool(size=2)
    buffer = pool.take()
    buffer.extend(b"more")
    del buffer
    fresh = pool.take()
    assert len(fresh) == CHUNK  # the resized one was dropped, not handed out
    assert len(pool) == 1


def _blob(store: LocalBlobStore, data: bytes) -> str:
    writer = store.create(seal=SegmentSealer(KEY))
    writer.write(data)
    if writer.needs_drain:
        writer.drain()
    writer.finish()
    store.publish(writer.blob_id)
    return writer.blob_id


def _chunks(
    store: LocalBlobStore,
    blob_id: str,
    size: int,
    start: int,
    length: int,
    pool: ChunkPool,
    read_segments: int = BATCH,
) -> Iterator[bytearray]:
    with store.open(blob_id) as f:
        views = lambda at, count, chunk: store.read_views(f, at, count, chunk)  # noqa: E731
        yield from open_range(KEY, views, size, start, length, pool, read_segments=read_segments)


def test_interleaved_readers_sharing_a_pool_each_get_their_own_bytes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "n")
    pool = ChunkPool(size=2)
    a, b = os.urandom(3 * CHUNK + 123), os.urandom(2 * CHUNK)
    id_a, id_b = _blob(store, a), _blob(store, b)
    kept: list[bytearray] = []
    got_a, got_b = bytearray(), bytearray()
    for chunk_a, chunk_b in zip(
        _chunks(store, id_a, len(a), 0, len(a), pool),
        _chunks(store, id_b, len(b), 0, len(b), pool),
        strict=False,
    ):
        kept += [chunk_a, chunk_b]  # all held at once: the pool must hand out fresh buffers
        got_a += chunk_a
        got_b += chunk_b
    assert bytes(got_a) == a[: len(got_a)]
    assert bytes(got_b) == b
    assert b"".join(kept[0::2]) == a[: 2 * CHUNK]
    assert b"".join(kept[1::2]) == b
    kept.clear()
    # Released: a reader that drops each chunk before asking for the next runs on one pooled buffer.
    position = 0
    for chunk in _chunks(store, id_a, len(a), 0, len(a), pool):
        assert chunk == a[position : position + len(chunk)]
        position += len(chunk)
    assert position == len(a)
    assert len(pool) <= 2


@CHECKED
@given(
    size=st.integers(1, 3 * CHUNK + 9000),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    direct=st.booleans(),
    read_segments=st.sampled_from([1, 2, 4, BATCH]),
)
def test_pooled_reads_of_any_range_and_read_size_match_the_data(
    tmp_path_factory: object, size: int, bounds: tuple[float, float], direct: bool, read_segments: int
) -> None:
    tmp = tmp_path_factory.mktemp("pool")  # type: ignore[attr-defined]
    store = LocalBlobStore(tmp, "n", direct_io=direct)
    data = os.urandom(size)
    blob_id = _blob(store, data)
    start = int(bounds[0] * (size - 1))
    length = max(1, int(bounds[1] * (size - start)))
    pool = ChunkPool(size=1)
    chunks = [bytes(c) for c in _chunks(store, blob_id, size, start, length, pool, read_segments)]
    assert b"".join(chunks) == data[start : start + length]
    assert all(0 < len(c) <= CHUNK for c in chunks)
    assert len(pool) <= 1


def test_a_whole_1_mib_object_reads_into_a_pooled_buffer(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "n")
    pool = ChunkPool(size=2)
    data = os.urandom(CHUNK)
    blob_id = _blob(store, data)
    (chunk,) = list(_chunks(store, blob_id, CHUNK, 0, CHUNK, pool))
    assert chunk == data
    assert len(pool) == 1
    chunk_id = id(chunk)
    del chunk
    (again,) = list(_chunks(store, blob_id, CHUNK, 0, CHUNK, pool))
    assert id(again) == chunk_id
    assert again == data
    (part,) = list(_chunks(store, blob_id, CHUNK, SEGMENT, 100, pool))  # a range: a buffer of its own
    assert part == data[SEGMENT : SEGMENT + 100]
    assert part is not again


def _row(values: dict[str, object]) -> types.SimpleNamespace:
    return types.SimpleNamespace(**values)


def test_a_sealed_row_opens_into_the_same_meta_as_a_plain_one() -> None:
    atrest = fresh_atrest()
    plain = {
        "bucket": "b", "key": "k", "key_raw": "k", "size": 5, "etag": "e", "last_modified": 1.5,
        "content_type": "text/plain", "content_encoding": None, "content_disposition": "inline",
        "content_language": None, "cache_control": "no-cache", "expires": None,
        "user_metadata": '{"colour": "blue"}', "storage_class": "STANDARD", "checksum_algorithm": None,
        "checksum_value": None, "checksum_type": None, "blob_id": "x", "upload_id": None, "parts_count": None,
        "sse_key_md5": None, "sse_key_check": None, "blob_key": "id:salt", "sealed_meta": None,
    }  # fmt: skip
    sealed = atrest.seal_fields(dict(plain), object_context("b", "k"))
    assert sealed["content_type"] is None
    opened = ObjectMeta.from_row(_row(sealed), atrest)
    expected = ObjectMeta.from_row(_row(plain), atrest)
    assert opened.sealed
    assert not expected.sealed
    assert opened.user_metadata == {"colour": "blue"}
    for name in ObjectMeta.__slots__:
        if name != "sealed":
            assert getattr(opened, name) == getattr(expected, name), name
    bare = atrest.seal_fields({**plain, "content_type": None, "content_disposition": None,
                               "cache_control": None, "user_metadata": "{}"}, object_context("b", "k"))  # fmt: skip
    meta = ObjectMeta.from_row(_row(bare), atrest)
    assert meta.sealed
    assert meta.user_metadata == {}
    assert meta.content_type is None


def test_a_master_keys_id_is_fixed_and_names_only_its_key() -> None:
    key = new_key()
    assert key.key_id == MasterKey(key.key).key_id
    assert key.key_id != new_key().key_id
    assert key == MasterKey(key.key)
    assert key.key.hex() not in repr(key)
    assert key.key_id in repr(key)


def test_small_reads_detect_tampering_and_truncation(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "n")
    pool = ChunkPool(size=1)
    data = os.urandom(5 * SEGMENT + 7)
    blob_id = _blob(store, data)
    path = store.path(blob_id)
    raw = bytearray(path.read_bytes())
    raw[3 * (SEGMENT + TAG) + 9] ^= 1  # inside the fourth segment
    path.write_bytes(bytes(raw))
    assert b"".join(_chunks(store, blob_id, len(data), 0, 3 * SEGMENT, pool, 2)) == data[: 3 * SEGMENT]
    with pytest.raises(SegmentIntegrityError):
        list(_chunks(store, blob_id, len(data), 0, len(data), pool, 2))
    raw[3 * (SEGMENT + TAG) + 9] ^= 1
    path.write_bytes(bytes(raw[: 4 * (SEGMENT + TAG)]))  # the last two segments cut off
    with pytest.raises((SegmentIntegrityError, EOFError)):
        list(_chunks(store, blob_id, len(data), 0, len(data), pool, 4))
    with pytest.raises(ValueError, match="divide"):
        list(_chunks(store, blob_id, len(data), 0, 10, pool, 3))
