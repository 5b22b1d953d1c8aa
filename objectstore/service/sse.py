"""SSE-C: objects encrypted under a key the client sends with every request and lakebox never stores.

The customer's key is combined with the master key of encryption at rest into the blob's data key
(``objectstore.service.atrest``): both are needed to read, and the bytes are encrypted once, in the segments of
``objectstore.service.segments``. To tell a wrong key from the right one without storing the key (nor its plain
MD5, which would identify it), the object row keeps a salted HMAC-SHA256 of the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from objectstore.service.errors import InvalidArgument, InvalidEncryptionAlgorithm, InvalidRequest

ALGORITHM = "AES256"
_CHECK_VERSION = "v1"


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
