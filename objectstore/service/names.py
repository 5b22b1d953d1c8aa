"""Bucket names and object keys as R2 accepts them."""

from __future__ import annotations

import re
import unicodedata

from objectstore.service.errors import InvalidBucketName, KeyTooLongError

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def check_bucket_name(name: str) -> str:
    """R2: 3-63 characters, lower-case letters, digits and hyphens, starting and ending with a letter or digit."""
    if not _BUCKET.match(name):
        raise InvalidBucketName(BucketName=name)
    return name


def key_identity(raw_key: str) -> str:
    """The key's identity: NFC-normalised (R2), otherwise byte-exact; at most 1,024 bytes."""
    if len(raw_key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise KeyTooLongError(Key=raw_key[:64] + "...")
    return raw_key if raw_key.isascii() else unicodedata.normalize("NFC", raw_key)
