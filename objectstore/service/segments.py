"""The segment cipher of encrypted blobs (at rest and SSE-C): AES-256-GCM over 64 KiB segments of plaintext.

Each segment is sealed with its index as the nonce (every blob has a key of its own, so a nonce never repeats
under a key) and is followed by its 16-byte tag. A range read opens only the segments it touches; a flipped bit,
a truncated blob or a reordered segment fails authentication. Sealing writes into the caller's buffer and
opening decrypts into one output buffer per chunk, so neither direction makes more than the one copy AES makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from objectstore.service.errors import StoreError

SEGMENT = 64 * 1024  # plaintext bytes per segment
TAG = 16
STORED_SEGMENT = SEGMENT + TAG
BATCH = 16  # segments read and opened together (1 MiB of plaintext: a 1 MiB object is one chunk)


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


def open_range(
    aead: AESGCM,
    read: Callable[[int, int, int], Iterator[memoryview]],
    plain_size: int,
    start: int,
    length: int,
) -> Iterator[bytearray]:
    """Plaintext ``[start, start + length)`` of one blob, opening only the segments it lies in.

    ``read(offset, count, chunk)`` yields the stored bytes ``[offset, offset + count)`` in views of ``chunk``
    bytes (the last may be shorter), each valid until the next is asked for. Each batch of segments is opened
    straight into a new buffer that leaves as the chunk: no copy beyond AES's own, and no buffer that could be
    reused while the transport still holds it (a pooled one could be: uvloop keeps what it cannot send at once).
    """
    if length <= 0:
        return
    decrypt_into = aead.decrypt_into
    end = start + length
    first, last = start // SEGMENT, (end - 1) // SEGMENT
    stored_from = first * STORED_SEGMENT
    stored_to = stored_size(min(plain_size, (last + 1) * SEGMENT))
    index = first
    for view in read(stored_from, stored_to - stored_from, BATCH * STORED_SEGMENT):
        plain_from = index * SEGMENT
        count = -(-len(view) // STORED_SEGMENT)
        size = len(view) - count * TAG
        if size <= 0 or len(view) - (count - 1) * STORED_SEGMENT <= TAG:
            raise SegmentIntegrityError("encrypted blob shorter than its index entry")
        chunk = bytearray(size)
        with memoryview(chunk) as target:
            try:
                at = 0
                for written in range(0, size, SEGMENT):
                    cut = min(written + SEGMENT, size)
                    decrypt_into(
                        _nonce(index), view[at : at + cut - written + TAG], None, target[written:cut]
                    )
                    at += STORED_SEGMENT
                    index += 1
            except InvalidTag:
                raise SegmentIntegrityError("encrypted segment failed authentication") from None
        lo = max(start, plain_from) - plain_from
        hi = min(end, plain_from + size) - plain_from
        if hi < size:
            del chunk[hi:]
        if lo:
            del chunk[:lo]  # O(1): a bytearray moves its start rather than its bytes
        yield chunk
    if index <= last:
        raise SegmentIntegrityError("encrypted blob shorter than its index entry")


_NONCES = tuple(nonce(i) for i in range(4096))  # the nonces of a 256 MiB blob, built once


def _nonce(index: int) -> bytes:
    return _NONCES[index] if index < 4096 else nonce(index)
