"""Object checksums: the ``x-amz-checksum-*`` algorithms, Content-MD5, and the multipart combinations.

CRCs come from awscrt (C, hardware CRC where available); digests are big-endian and travel base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from awscrt import checksums as crt

from objectstore.service.errors import BadDigest, InvalidDigest, InvalidRequest

CRC32 = "CRC32"
CRC32C = "CRC32C"
CRC64NVME = "CRC64NVME"
SHA1 = "SHA1"
SHA256 = "SHA256"
ALGORITHMS = (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
HEADER_PREFIX = "x-amz-checksum-"

_CRC: dict[str, tuple[Callable[[bytes, int], int], Callable[[int, int, int], int], int]] = {
    CRC32: (crt.crc32, crt.combine_crc32, 4),
    CRC32C: (crt.crc32c, crt.combine_crc32c, 4),
    CRC64NVME: (crt.crc64nvme, crt.combine_crc64nvme, 8),
}
_DIGEST_SIZE = {CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32}


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...

    def b64(self) -> str: ...


class _Crc:
    __slots__ = ("_fn", "_size", "_value")

    def __init__(self, algorithm: str) -> None:
        self._fn, _, self._size = _CRC[algorithm]
        self._value = 0

    def update(self, data: bytes | memoryview, /) -> None:
        self._value = self._fn(data, self._value)  # type: ignore[arg-type]  # awscrt reads any buffer

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode()


class _Hashlib:
    __slots__ = ("_h",)

    def __init__(self, name: str) -> None:
        # MD5 and SHA-1 here are integrity checksums the S3 protocol mandates, not security primitives.
        self._h = hashlib.new(name, usedforsecurity=False)

    def update(self, data: bytes | memoryview, /) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()

    def b64(self) -> str:
        return base64.b64encode(self._h.digest()).decode()


def new_hasher(algorithm: str) -> Hasher:
    """A hasher for one of :data:`ALGORITHMS` or ``"MD5"``."""
    if algorithm in _CRC:
        return _Crc(algorithm)
    if algorithm in (SHA1, SHA256, "MD5"):
        return _Hashlib(algorithm.lower())
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def header_name(algorithm: str) -> str:
    return HEADER_PREFIX + algorithm.lower()


def algorithm_of_header(name: str) -> str | None:
    """``x-amz-checksum-crc32c`` -> ``CRC32C``; ``None`` for anything that is not a checksum value header."""
    if not name.lower().startswith(HEADER_PREFIX):
        return None
    algorithm = name[len(HEADER_PREFIX) :].upper()
    return algorithm if algorithm in _DIGEST_SIZE else None


def parse_algorithm(value: str, header: str = "x-amz-sdk-checksum-algorithm") -> str:
    """Validate an ``x-amz-checksum-algorithm`` / ``x-amz-sdk-checksum-algorithm`` value (any case)."""
    algorithm = value.strip().upper()
    if algorithm not in _DIGEST_SIZE:
        raise InvalidRequest(f"Value for {header} header is invalid.")
    return algorithm


def requested_checksums(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``x-amz-checksum-<algorithm>`` values present (lower-case header names); at most one is allowed."""
    found = {alg: v for name, v in headers.items() if (alg := algorithm_of_header(name)) is not None}
    if len(found) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    return found


def decode_checksum(algorithm: str, value: str) -> bytes:
    """The raw digest of a client-supplied base64 checksum; malformed -> InvalidRequest as S3 answers."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != _DIGEST_SIZE[algorithm]:
        raise InvalidRequest(f"Value for {header_name(algorithm)} header is invalid.")
    return raw


def check_checksum(algorithm: str, expected_b64: str, actual: bytes) -> None:
    """Compare a client's base64 checksum with the digest of what was received; mismatch -> BadDigest."""
    if decode_checksum(algorithm, expected_b64) != actual:
        raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")


def parse_content_md5(value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise InvalidDigest()
    return raw


def check_content_md5(value: str, actual_md5: bytes) -> None:
    if parse_content_md5(value) != actual_md5:
        raise BadDigest("The Content-MD5 you specified did not match what we received.")


def check_body(body: bytes, content_md5: str | None, checksums: Mapping[str, str]) -> None:
    """A whole small body (an XML document) against the Content-MD5 and ``x-amz-checksum-*`` values sent with
    it: malformed -> InvalidDigest / InvalidRequest, mismatch -> BadDigest, as S3 answers."""
    if content_md5 is not None:
        check_content_md5(content_md5, hashlib.md5(body).digest())  # noqa: S324 - S3's integrity check
    for algorithm, value in checksums.items():
        hasher = new_hasher(algorithm)
        hasher.update(body)
        check_checksum(algorithm, value, hasher.digest())


# --- multipart ------------------------------------------------------------------------------------


def composite_checksum(algorithm: str, part_digests: list[bytes]) -> str:
    """AWS's composite multipart checksum: ``base64(hash(part1 || part2 || ...))-N`` over raw part digests."""
    hasher = new_hasher(algorithm)
    for digest in part_digests:
        hasher.update(digest)
    return f"{hasher.b64()}-{len(part_digests)}"


def crc_combine(algorithm: str, crc1: int, crc2: int, len2: int) -> int:
    """CRC of ``a || b`` from ``crc(a)``, ``crc(b)`` and ``len(b)``, without the data (like zlib's)."""
    return _CRC[algorithm][1](crc1, crc2, len2)


def full_object_crc(algorithm: str, parts: Iterable[tuple[bytes, int]]) -> str:
    """The full-object CRC (base64) of an upload from each part's ``(raw CRC digest, length)``."""
    combine = _CRC[algorithm][1]
    crc = 0
    for digest, length in parts:
        crc = combine(crc, int.from_bytes(digest, "big"), length)
    return base64.b64encode(crc.to_bytes(_DIGEST_SIZE[algorithm], "big")).decode()
