"""SSE-C: objects encrypted at rest under a key the client sends with every request and lakebox never stores.

Each blob is encrypted with its own key, derived from the customer key and the blob's (random, unique) id with
HKDF-SHA256, in segments of 64 KiB of plaintext: AES-256-GCM with the segment number as nonce, each segment
followed by its 16-byte tag. A range read decrypts only the segments it touches; a flipped bit or a reordered
segment fails authentication. To tell a wrong key from the right one without storing the key (nor its plain MD5,
which would identify it), the object row keeps a salted HMAC-SHA256 of the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from objectstore.service.errors import InvalidArgument, InvalidEncryptionAlgorithm, InvalidRequest, StoreError
from objectstore.store.blobs import BlobWriter

ALGORITHM = "AES256"
SEGMENT = 64 * 1024  # plaintext bytes per encrypted segment
TAG = 16
_CHECK_VERSION = "v1"
_KDF_INFO = b"lakebox sse-c blob v1"


class SSEIntegrityError(StoreError):
    """A stored segment failed authentication (the blob was altered on disk)."""


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def stored_size(plain_size: int) -> int:
    """Bytes on disk of a blob holding ``plain_size`` bytes of plaintext."""
    return plain_size + TAG * ((plain_size + SEGMENT - 1) // SEGMENT)


@dataclass(frozen=True, slots=True)
class CustomerKey:
    key: bytes  # 32 bytes
    key_md5: str  # base64 MD5 of the key, as S3 echoes it

    def _mac(self, salt: bytes) -> bytes:
        return hmac.digest(self.key, b"lakebox sse-c check" + salt, "sha256")

    def check_value(self) -> str:
        """What the object row keeps to recognise this key later: a salted HMAC, never the key."""
        salt = os.urandom(16)
        return (
            f"{_CHECK_VERSION}:{base64.b64encode(salt).decode()}:{base64.b64encode(self._mac(salt)).decode()}"
        )

    def matches(self, check: str) -> bool:
        try:
            version, salt_b64, mac_b64 = check.split(":")
            salt, mac = base64.b64decode(salt_b64), base64.b64decode(mac_b64)
        except (ValueError, binascii.Error):
            return False
        if version != _CHECK_VERSION:
            return False
        return hmac.compare_digest(self._mac(salt), mac)

    def blob_cipher(self, blob_id: str) -> AESGCM:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=blob_id.encode(), info=_KDF_INFO).derive(
            self.key
        )
        return AESGCM(derived)


def parse_customer_key(
    algorithm: str | None, key_b64: str | None, key_md5: str | None, *, source: bool = False
) -> CustomerKey | None:
    """The key of ``x-amz-[copy-source-]server-side-encryption-customer-*`` (None when none is given), checked
    as S3 checks it."""
    if algorithm is None and key_b64 is None and key_md5 is None:
        return None
    header = f"x-amz-{'copy-source-' if source else ''}server-side-encryption"
    if algorithm is None:
        raise InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid "
            "encryption algorithm.",
            ArgumentName=header,
            ArgumentValue="null",
        )
    if algorithm != ALGORITHM:
        raise InvalidEncryptionAlgorithm(
            ArgumentName=f"{header}-customer-algorithm",
            ArgumentValue=algorithm,
        )
    if key_b64 is None:
        raise InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate "
            "secret key.",
            ArgumentName=header,
            ArgumentValue="null",
        )
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise InvalidArgument(
            "The secret key was invalid for the specified algorithm.",
            ArgumentName=header,
            ArgumentValue="null",
        )
    if key_md5 is None:
        raise InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client "
            "calculated MD5 of the secret key.",
            ArgumentName=header,
            ArgumentValue="null",
        )
    expected = base64.b64encode(hashlib.md5(key).digest()).decode()  # noqa: S324 - S3 defines it as MD5
    if not hmac.compare_digest(expected, key_md5):
        raise InvalidArgument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            ArgumentName=header,
            ArgumentValue="null",
        )
    return CustomerKey(key, key_md5)


def check_key(check: str | None, given: CustomerKey | None) -> None:
    """Refuses to read an encrypted object without its key, with another key, or an unencrypted one with a key."""
    if check is None:
        if given is not None:
            raise InvalidRequest(
                "The encryption parameters are not applicable to this object.",
            )
        return
    if given is None:
        raise InvalidRequest(
            "The object was stored using a form of Server Side Encryption. The correct parameters must be "
            "provided to retrieve the object."
        )
    if not given.matches(check):
        raise InvalidRequest("The provided encryption parameters did not match the ones used originally.")


class EncryptingWriter:
    """A BlobWriter that encrypts what it is given, segment by segment; ``size`` counts plaintext."""

    def __init__(self, inner: BlobWriter, key: CustomerKey) -> None:
        self.inner = inner
        self.blob_id = inner.blob_id
        self.path = inner.path
        self.size = 0
        self._aead = key.blob_cipher(inner.blob_id)
        self._pending = bytearray()
        self._index = 0

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        self._pending += data
        if len(self._pending) >= SEGMENT:
            whole = len(self._pending) - len(self._pending) % SEGMENT
            with memoryview(self._pending) as view:
                for start in range(0, whole, SEGMENT):
                    self._seal(view[start : start + SEGMENT])
            del self._pending[:whole]

    def _seal(self, plaintext: bytes | bytearray | memoryview) -> None:
        self.inner.write(self._aead.encrypt(_nonce(self._index), bytes(plaintext), None))
        self._index += 1

    @property
    def needs_drain(self) -> bool:
        return self.inner.needs_drain

    def drain(self) -> None:
        self.inner.drain()

    def finish(self) -> None:
        if self._pending:
            self._seal(self._pending)
            self._pending.clear()
        self.inner.finish()

    def abort(self) -> None:
        self.inner.abort()


Writer = BlobWriter | EncryptingWriter


def decrypt_range(
    aead: AESGCM,
    read_at: Callable[[int, int], bytes],
    plain_size: int,
    start: int,
    length: int,
    batch: int = 16,
) -> Iterator[bytes]:
    """Plaintext bytes ``[start, start + length)`` of one blob, decrypting the segments they lie in (reading
    ``batch`` segments at a time through ``read_at(offset, size)``)."""
    end = start + length
    first, last = start // SEGMENT, (end - 1) // SEGMENT
    index = first
    while index <= last:
        upto = min(last + 1, index + batch)
        plain_from = index * SEGMENT
        plain_to = min(plain_size, upto * SEGMENT)
        raw = read_at(index * (SEGMENT + TAG), stored_size(plain_to) - index * (SEGMENT + TAG))
        out = bytearray()
        offset = 0
        for n in range(index, upto):
            take = min(SEGMENT, plain_size - n * SEGMENT) + TAG
            chunk = raw[offset : offset + take]
            if len(chunk) != take:
                raise SSEIntegrityError("encrypted blob shorter than its index entry")
            try:
                out += aead.decrypt(_nonce(n), chunk, None)
            except InvalidTag:
                raise SSEIntegrityError("encrypted segment failed authentication") from None
            offset += take
        lo = max(start, plain_from) - plain_from
        hi = min(end, plain_to) - plain_from
        yield bytes(out[lo:hi])
        index = upto
