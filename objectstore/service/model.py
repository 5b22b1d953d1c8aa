"""Plain values the object service takes and returns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from objectstore.service.atrest import SEALED_FIELDS, AtRest, object_context
from objectstore.service.conditions import Conditions
from objectstore.service.sse import CustomerKey

# The content headers S3 stores with an object and returns on GET/HEAD (attribute name -> header name).
CONTENT_HEADERS = {
    "content_type": "content-type",
    "content_encoding": "content-encoding",
    "content_disposition": "content-disposition",
    "content_language": "content-language",
    "cache_control": "cache-control",
    "expires": "expires",
}


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    bucket: str
    key: str  # as last uploaded
    size: int
    etag: str  # unquoted
    last_modified: float
    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    user_metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None
    checksum_value: str | None = None
    checksum_type: str | None = None
    blob_id: str | None = None
    upload_id: str | None = None
    parts_count: int | None = None
    sse_key_md5: str | None = None
    sse_key_check: str | None = None
    blob_key: str | None = None  # encryption at rest: the blob's master key id and salt (None: plaintext)
    sealed: bool = False  # its metadata was sealed: written with encryption at rest on, so were all its blobs
    expiration: tuple[float, str] | None = (
        None  # (when, rule id) a lifecycle rule expires it (x-amz-expiration)
    )

    @property
    def encrypted_at_rest(self) -> bool:
        """Whether the object's data is encrypted under a master key (what x-amz-server-side-encryption says)."""
        return self.blob_key is not None or self.sealed

    @classmethod
    def from_row(cls, row: Any, atrest: AtRest) -> ObjectMeta:
        if row.sealed_meta is None:
            return cls._from_columns(row, row, sealed=False)
        opened = atrest.open_fields(row.sealed_meta, object_context(row.bucket, row.key))
        return cls._from_columns(row, _Opened(opened), sealed=True)

    @classmethod
    def _from_columns(cls, row: Any, content: Any, *, sealed: bool) -> ObjectMeta:
        """``content`` holds the content headers and user metadata: the row itself, or what its seal opened
        (built in one call: ``dataclasses.replace`` would cost more than opening the seal)."""
        return cls(
            bucket=row.bucket,
            key=row.key_raw,
            size=row.size,
            etag=row.etag,
            last_modified=row.last_modified,
            content_type=content.content_type,
            content_encoding=content.content_encoding,
            content_disposition=content.content_disposition,
            content_language=content.content_language,
            cache_control=content.cache_control,
            expires=content.expires,
            user_metadata=json.loads(content.user_metadata) if content.user_metadata != "{}" else {},
            storage_class=row.storage_class,
            checksum_algorithm=row.checksum_algorithm,
            checksum_value=row.checksum_value,
            checksum_type=row.checksum_type,
            blob_id=row.blob_id,
            upload_id=row.upload_id,
            parts_count=row.parts_count,
            sse_key_md5=row.sse_key_md5,
            sse_key_check=row.sse_key_check,
            blob_key=row.blob_key,
            sealed=sealed,
        )


class _Opened:
    """The fields of a row's sealed metadata by attribute, as the row's own columns (absent: None, or "{}")."""

    __slots__ = SEALED_FIELDS

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name in SEALED_FIELDS:
            setattr(self, name, values.get(name, "{}" if name == "user_metadata" else None))


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """What a client may set when it writes an object (PutObject, CreateMultipartUpload, CopyObject REPLACE)."""

    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    user_metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str | None = None  # None: the bucket's default (resolved before the object is written)
    checksum_algorithm: str | None = None  # the algorithm the client asked for (or sent a value of)
    sse_key_md5: str | None = None  # SSE-C: set when the object is to be encrypted under a customer key
    sse_key_check: str | None = None


@dataclass(frozen=True, slots=True)
class PutIntegrity:
    """What the body must match: Content-Length, Content-MD5 (base64) and a checksum value (base64)."""

    content_length: int | None = None
    content_md5: str | None = None
    checksum_value: str | None = None  # from a header; a trailer value is given after the body instead


@dataclass(frozen=True, slots=True)
class PutResult:
    etag: str
    checksum_algorithm: str | None
    checksum_value: str | None
    checksum_type: str | None
    size: int


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """An object to send: its metadata, the byte range and the blob segments that hold it."""

    meta: ObjectMeta
    start: int
    end: int  # inclusive; end < start for an empty body
    partial: bool
    # (blob id, offset of the blob in the object, blob size, blob key label or None for plaintext)
    segments: tuple[tuple[str, int, int, str | None], ...]
    body: bytes | bytearray | None = None  # small bodies are read together with the metadata
    key: CustomerKey | None = None  # SSE-C: the (verified) key that decrypts the blobs

    @property
    def length(self) -> int:
        return max(0, self.end - self.start + 1)


__all__ = [
    "CONTENT_HEADERS",
    "Conditions",
    "ObjectMeta",
    "PutIntegrity",
    "PutResult",
    "ReadPlan",
    "WriteOptions",
]
