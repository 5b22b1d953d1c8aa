"""The segment cipher of encrypted blobs (at rest and SSE-C): AES-256-GCM over 64 KiB segments of plaintext.

Each segment is sealed with its index as the nonce (every blob has a key of its own, so a nonce never repeats
under a key) and is followed by its 16-byte tag. A range read opens only the segments it touches; a flipped bit,
a truncated blob or a reordered segment fails authentication. Sealing writes into the caller's buffer and
opening decrypts into one output buffer per chunk, so neither direction makes more than the one copy AES makes.

What a read costs beyond AES itself (~0.07 ms a MiB here) is kept small: whole 1 MiB chunks reuse pooled buffers
(``ChunkPool``: no allocation or zero-fill), and blobs in the page cache are read a few segments at a time so
that AES finds them still in the CPU's cache. The format is unchanged by either.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from objectstore.service.errors import StoreError

SEGMENT = 64 * 1024  # plaintext bytes per segment
TAG = 16
STORED_SEGMENT = SEGMENT + TAG
BATCH = 16  # segments read and opened together (1 MiB of plaintext: a 1 MiB object is one chunk)
CACHED_READ_SEGMENTS = 4  # segments read at a time from the page cache: opened while still in the CPU's cache
CHUNK = BATCH * SEGMENT


class SegmentIntegrityError(StoreError):
    """A stored segment failed authentication (the blob was altered on disk, or the key is wrong)."""


def nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def stored_size(plain_size: int) -> int:
    """Bytes on disk of a blob holding ``plain_size`` bytes of plaintext."""
    return plain_size + TAG * ((plain_size + SEGMENT - 1) // SEGMENT)


class SegmentSealer:
    """Seals a blob's plaintext in order, segment by segment, into a caller's buffer."""

    def __init__(self, aead: AESGCM) -> None:
        self._aead = aead
        self._index = 0

    def __call__(self, plain: memoryview, out: memoryview) -> int:
        """Seals ``plain`` (whole segments, but for a blob's last call) into ``out``; returns the bytes written.
        ``out`` must hold ``stored_size(len(plain))`` bytes."""
        written = 0
        for start in range(0, len(plain), SEGMENT):
            segment = plain[start : start + SEGMENT]
            end = written + len(segment) + TAG
            self._aead.encrypt_into(nonce(self._index), segment, None, out[written:end])
            written = end
            self._index += 1
        return written


def seal(aead: AESGCM, plaintext: bytes) -> bytes:
    """A whole blob's stored bytes (for small bodies and tests)."""
    out = bytearray(stored_size(len(plaintext)))
    SegmentSealer(aead)(memoryview(plaintext), memoryview(out))
    return bytes(out)


class ChunkPool:
    """A few chunk-sized (1 MiB) buffers that opened chunks reuse, so that a large or repeated read neither
    allocates nor zero-fills a megabyte per chunk (``bytearray(n)`` clears what decryption overwrites at once).

    A buffer is handed out again only when nothing but the pool refers to it: a chunk still held by its reader,
    by the transport (uvloop keeps what it cannot send at once) or by any view of it is never overwritten. When
    every pooled buffer is in use a fresh one is made and freed as usual, so the pool bounds memory at
    ``size`` buffers and never makes a reader wait.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._buffers: list[bytearray] = []
        self._lock = threading.Lock()
        self._buffers.append(bytearray(0))  # held by nothing but the pool
        self._idle_refs = self._references(0)  # what the pool's own bookkeeping counts, on this interpreter
        self._buffers.clear()

    def _references(self, index: int) -> int:
        return sys.getrefcount(self._buffers[index])

    def take(self) -> bytearray:
        """A buffer of CHUNK bytes (contents undefined) that nobody else holds."""
        with self._lock:
            for index in range(len(self._buffers)):
                if self._references(index) <= self._idle_refs:
                    buffer = self._buffers[index]
                    if len(buffer) == CHUNK:
                        return buffer
                    del self._buffers[index]  # resized by whoever held it: not ours to hand out again
                    break
            buffer = bytearray(CHUNK)
            if len(self._buffers) < self._size:
                self._buffers.append(buffer)
            return buffer

    def __len__(self) -> int:
        return len(self._buffers)


def open_range(
    aead: AESGCM,
    read: Callable[[int, int, int], Iterator[memoryview]],
    plain_size: int,
    start: int,
    length: int,
    pool: ChunkPool | None = None,
    *,
    read_segments: int = BATCH,
) -> Iterator[bytearray]:
    """Plaintext ``[start, start + length)`` of one blob, opening only the segments it lies in.

    ``read(offset, count, chunk)`` yields the stored bytes ``[offset, offset + count)`` in views of ``chunk``
    bytes (the last may be shorter), each valid until the next is asked for; it is asked for ``read_segments``
    segments at a time (fewer than a chunk's BATCH keeps what was just read in the CPU's cache while it is opened,
    for blobs read through the page cache). Each batch of segments is opened straight into the buffer that leaves
    as the chunk: no copy beyond AES's own. A whole 1 MiB chunk comes from ``pool`` (if given); a partial one is a
    fresh buffer, trimmed to the range.
    """
    if length <= 0:
        return
    if not 0 < read_segments <= BATCH or BATCH % read_segments:
        raise ValueError("read_segments must divide BATCH")
    decrypt_into = aead.decrypt_into
    end = start + length
    first, last = start // SEGMENT, (end - 1) // SEGMENT
    stored_from = first * STORED_SEGMENT
    stored_to = stored_size(min(plain_size, (last + 1) * SEGMENT))
    views = read(stored_from, stored_to - stored_from, read_segments * STORED_SEGMENT)
    try:
        yield from _open_chunks(decrypt_into, views, plain_size, start, end, first, last, pool, read_segments)
    finally:
        close = getattr(views, "close", None)
        if close is not None:
            close()  # hands the reader's buffer back now, not when the generator is collected


def _open_chunks(
    decrypt_into: Callable[[bytes, memoryview, None, memoryview], int],
    views: Iterator[memoryview],
    plain_size: int,
    start: int,
    end: int,
    first: int,
    last: int,
    pool: ChunkPool | None,
    read_segments: int,
) -> Iterator[bytearray]:
    stored_span = stored_size(min(plain_size, (last + 1) * SEGMENT)) - first * STORED_SEGMENT
    nonces = _NONCES
    index = first
    while index <= last:
        plain_from = index * SEGMENT
        count = min(BATCH, last + 1 - index)
        size = min(plain_size, (index + count) * SEGMENT) - plain_from
        lo = max(start, plain_from) - plain_from
        hi = min(end, plain_from + size) - plain_from
        whole = pool is not None and size == CHUNK and lo == 0 and hi == CHUNK
        chunk = pool.take() if whole and pool is not None else bytearray(size)
        with memoryview(chunk) as target:
            opened = 0
            while opened < size:
                view = next(views, None)
                # a view holds whole segments (tags included) but for the blob's last one, which is shorter
                wanted = min(read_segments * STORED_SEGMENT, stored_span - (index - first) * STORED_SEGMENT)
                if view is None or len(view) != wanted:
                    raise SegmentIntegrityError("encrypted blob shorter than its index entry")
                try:
                    for at in range(0, wanted, STORED_SEGMENT):
                        segment = view[at : at + STORED_SEGMENT]  # the blob's last one may be shorter
                        plain = len(segment) - TAG
                        iv = nonces[index] if index < _NONCE_COUNT else nonce(index)
                        decrypt_into(iv, segment, None, target[opened : opened + plain])
                        opened += plain
                        index += 1
                except InvalidTag:
                    raise SegmentIntegrityError("encrypted segment failed authentication") from None
        if hi < size:
            del chunk[hi:]
        if lo:
            del chunk[:lo]  # O(1): a bytearray moves its start rather than its bytes
        yield chunk


_NONCE_COUNT = 4096
_NONCES = tuple(nonce(i) for i in range(_NONCE_COUNT))  # the nonces of a 256 MiB blob, built once
