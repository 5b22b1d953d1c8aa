"""Plain values the object service takes and returns."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from objectstore.service.atrest import AtRest, object_context
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

    @property
    def encrypted_at_rest(self) -> bool:
        """Whether the object's data is encrypted under a master key (what x-amz-server-side-encryption says)."""
        return self.blob_key is not None or self.sealed

    @classmethod
    def from_row(cls, row: Any, atrest: AtRest) -> ObjectMeta:
        if row.sealed_meta is not None:
            opened = atrest.open_fields(row.sealed_meta, object_context(row.bucket, row.key))
            opened["user_metadata"] = json.loads(opened.get("user_metadata", "{}"))
            return dataclasses.replace(cls._from_columns(row), **opened, sealed=True)
        return cls._from_columns(row)

    @classmethod
    def _from_columns(cls, row: Any) -> ObjectMeta:
        return cls(
            bucket=row.bucket,
            key=row.key_raw,
            size=row.size,
            etag=row.etag,
            last_modified=row.last_modified,
            content_type=row.content_type,
            content_encoding=row.content_encoding,
            content_disposition=row.content_disposition,
            content_language=row.content_language,
            cache_control=row.cache_control,
            expires=row.expires,
            user_metadata=json.loads(row.user_metadata) if row.user_metadata != "{}" else {},
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
        )


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
