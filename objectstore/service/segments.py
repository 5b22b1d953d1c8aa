"""The segment cipher of encrypted blobs (at rest and SSE-C): AES-256-GCM over 64 KiB segments of plaintext.

Each segment is sealed with its index as the nonce (every blob has a key of its own, so a nonce never repeats
under a key) and is followed by its 16-byte tag. A range read opens only the segments it touches; a flipped bit,
a truncated blob or a reordered segment fails authentication. Sealing writes into the caller's buffer and
opening decrypts into one output buffer per chunk, so neither direction makes more than the one copy AES makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from objectstore.service.errors import StoreError

SEGMENT = 64 * 1024  # plaintext bytes per segment
TAG = 16
STORED_SEGMENT = SEGMENT + TAG
BATCH = 15  # segments read and opened together: 15 stored segments (and their alignment) fit a 1 MiB buffer
_SLACK = 15  # what ``update_into`` wants beyond the output (a block less one)


class SegmentIntegrityError(StoreError):
    """A stored segment failed authentication (the blob was altered on disk, or the key is wrong)."""


def nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def stored_size(plain_size: int) -> int:
    """Bytes on disk of a blob holding ``plain_size`` bytes of plaintext."""
    return plain_size + TAG * ((plain_size + SEGMENT - 1) // SEGMENT)


class SegmentSealer:
    """Seals a blob's plaintext in order, segment by segment, into a caller's buffer."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._index = 0

    def __call__(self, plain: memoryview, out: memoryview) -> int:
        """Seals ``plain`` (whole segments, but for a blob's last call) into ``out``; returns the bytes written.
        ``out`` must hold ``stored_size(len(plain))`` bytes."""
        written = 0
        for start in range(0, len(plain), SEGMENT):
            sealed = self._aead.encrypt(nonce(self._index), plain[start : start + SEGMENT], None)
            out[written : written + len(sealed)] = sealed
            written += len(sealed)
            self._index += 1
        return written


def seal(key: bytes, plaintext: bytes) -> bytes:
    """A whole blob's stored bytes (for small bodies and tests)."""
    out = bytearray(stored_size(len(plaintext)))
    SegmentSealer(key)(memoryview(plaintext), memoryview(out))
    return bytes(out)


def open_range(
    key: bytes,
    read: Callable[[int, int, int], Iterator[memoryview]],
    plain_size: int,
    start: int,
    length: int,
) -> Iterator[bytes]:
    """Plaintext ``[start, start + length)`` of one blob, opening only the segments it lies in.

    ``read(offset, count, chunk)`` yields the stored bytes ``[offset, offset + count)`` in views of ``chunk``
    bytes (the last may be shorter), each valid until the next is asked for.
    """
    if length <= 0:
        return
    end = start + length
    first, last = start // SEGMENT, (end - 1) // SEGMENT
    stored_from = first * STORED_SEGMENT
    stored_to = stored_size(min(plain_size, (last + 1) * SEGMENT))
    algorithm = algorithms.AES(key)
    index = first
    for view in read(stored_from, stored_to - stored_from, BATCH * STORED_SEGMENT):
        plain_from = index * SEGMENT
        out = bytearray(min(BATCH * SEGMENT, plain_size - plain_from) + _SLACK)
        with memoryview(out) as target:
            written = 0
            for at in range(0, len(view), STORED_SEGMENT):
                sealed = view[at : at + STORED_SEGMENT]
                if len(sealed) <= TAG:
                    raise SegmentIntegrityError("encrypted blob shorter than its index entry")
                body = sealed[:-TAG]
                opener = Cipher(algorithm, modes.GCM(nonce(index), bytes(sealed[-TAG:]))).decryptor()
                opener.update_into(body, target[written : written + len(body) + _SLACK])
                try:
                    opener.finalize()
                except InvalidTag:
                    raise SegmentIntegrityError("encrypted segment failed authentication") from None
                written += len(body)
                index += 1
            lo = max(start, plain_from) - plain_from
            hi = min(end, plain_from + written) - plain_from
            yield bytes(target[lo:hi])
    if index <= last:
        raise SegmentIntegrityError("encrypted blob shorter than its index entry")
