"""Blob files: bytes staged in a pooled buffer reach the disk exactly, through O_DIRECT or the page cache."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objectstore.store.blobs import _BLOCK, BUFFER_SIZE, BlobWriter, DirectIO, LocalBlobStore

# Sizes on every boundary the writer cares about: the block, the buffer (past which writes go direct), two.
EDGES = sorted({n + d for n in (0, _BLOCK, BUFFER_SIZE, 2 * BUFFER_SIZE) for d in (-1, 0, 1)} - {-1})
PATTERN = os.urandom(3 * BUFFER_SIZE)


def write_blob(
    store: LocalBlobStore, data: bytes, pieces: list[int], observe: Callable[[memoryview], None] | None = None
) -> BlobWriter:
    writer = store.create(observe)
    position = 0
    for size in [*pieces, len(data)]:
        writer.write(memoryview(data)[position : position + size])
        if writer.needs_drain:
            writer.drain()
        position = min(len(data), position + size)
    writer.finish()
    assert writer.size == len(data)
    return writer


@pytest.fixture(params=[True, False], ids=["direct", "page-cache"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path, "node", direct_io=request.param)


@pytest.mark.parametrize("size", EDGES)
def test_sizes_on_every_boundary_round_trip(store: LocalBlobStore, size: int) -> None:
    data = PATTERN[:size]
    writer = write_blob(store, data, [65536] * (size // 65536))
    assert writer.path.read_bytes() == data
    with open(writer.path, "rb") as f:
        assert b"".join(store.read(f, 0, size)) == data


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(0, 2 * BUFFER_SIZE + 5000),
    pieces=st.lists(st.integers(1, BUFFER_SIZE + 7), max_size=6),
    start=st.integers(0, 2 * BUFFER_SIZE + 5000),
    length=st.integers(0, 2 * BUFFER_SIZE + 5000),
    direct=st.booleans(),
)
def test_any_chunking_and_range_round_trips(
    tmp_path_factory: pytest.TempPathFactory,
    size: int,
    pieces: list[int],
    start: int,
    length: int,
    direct: bool,
) -> None:
    store = LocalBlobStore(tmp_path_factory.mktemp("blobs"), "node", direct_io=direct)
    data = PATTERN[:size]
    seen = hashlib.sha256()
    writer = write_blob(store, data, pieces, seen.update)
    assert writer.path.read_bytes() == data
    assert seen.digest() == hashlib.sha256(data).digest()  # the observer saw every byte once, in order
    start, length = min(start, size), min(length, size - min(start, size))
    with open(writer.path, "rb") as f:
        chunks = list(store.read(f, start, length))
    assert b"".join(chunks) == data[start : start + length]
    assert all(0 < len(c) <= BUFFER_SIZE for c in chunks)


def test_a_short_file_is_an_eof_error(store: LocalBlobStore) -> None:
    writer = write_blob(store, PATTERN[:BUFFER_SIZE], [])
    with open(writer.path, "rb") as f, pytest.raises(EOFError):
        list(store.read(f, 0, BUFFER_SIZE + 1))


def test_abort_removes_the_file_and_returns_the_buffer(tmp_path: Path) -> None:
    direct = DirectIO()
    writer = BlobWriter("b", tmp_path / "b", direct)
    writer.write(PATTERN[: BUFFER_SIZE + 1])
    assert writer.needs_drain
    writer.drain()
    assert (tmp_path / "b").stat().st_size == BUFFER_SIZE
    writer.abort()
    assert not (tmp_path / "b").exists()
    assert len(direct._free) == 1
    assert direct.take() is not None


def test_buffers_are_reused_not_reallocated(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "node")
    first = write_blob(store, PATTERN[:BUFFER_SIZE], [])
    pooled = list(store.direct._free)
    write_blob(store, PATTERN[:BUFFER_SIZE], [])
    assert store.direct._free == pooled
    assert first.path.stat().st_size == BUFFER_SIZE


def cached_bytes(path: Path) -> int:
    """How much of the file is in the page cache (util-linux's fincore)."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "-o", "RES", str(path)], capture_output=True)
    return int(out.stdout)


def test_large_blobs_are_written_around_the_page_cache_small_ones_through_it(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "node")
    large = write_blob(store, PATTERN[: 2 * BUFFER_SIZE + 100], [65536] * 40)
    small = write_blob(store, PATTERN[:BUFFER_SIZE], [65536] * 16)
    if store.direct.enabled:
        assert cached_bytes(large.path) <= _BLOCK  # at most the unaligned tail went through the cache
    else:  # a file system without O_DIRECT: everything through the cache
        assert cached_bytes(large.path) >= large.size
    assert cached_bytes(small.path) == BUFFER_SIZE


def test_large_blobs_are_read_around_the_page_cache_small_ones_through_it(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "node")
    large = write_blob(store, PATTERN[: 2 * BUFFER_SIZE + 100], [])
    small = write_blob(store, PATTERN[:5000], [])
    with open(large.path, "rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # drop the buffered tail
        assert b"".join(store.read(f, 7, large.size - 7)) == PATTERN[7 : large.size]
    with open(small.path, "rb") as f:
        assert b"".join(store.read(f, 0, small.size)) == PATTERN[:5000]
    if store.direct.enabled:
        assert cached_bytes(large.path) == 0
    assert cached_bytes(small.path) >= 5000


@pytest.mark.parametrize("offset", [0, 4095, BUFFER_SIZE + 1])
def test_a_short_large_file_is_an_eof_error(store: LocalBlobStore, offset: int) -> None:
    writer = write_blob(store, PATTERN[: 2 * BUFFER_SIZE], [])
    with open(writer.path, "rb") as f, pytest.raises(EOFError):
        list(store.read(f, offset, 2 * BUFFER_SIZE + 1 - offset))
    assert len(store.direct._free) == 1  # the read's buffer went back to the pool
