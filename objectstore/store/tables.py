"""Tables of the object store: buckets, the object index, multipart uploads and blobs awaiting deletion.

Keys are stored NFC-normalised in ``key`` (the identity, in UTF-8 byte order on every backend) and as last
uploaded in ``key_raw`` (what listings return). Object data lives in blob files; a row names its blob, or for a
multipart object the upload whose parts (``s3_object_part``) hold the data, in order.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from infra.db import OrderedText


class BucketRow(SQLModel, table=True):
    __tablename__ = "s3_bucket"

    name: str = Field(sa_column=Column(OrderedText, primary_key=True))
    created_at: float
    location: str = Field(default="auto", max_length=32)  # the location hint it was created with
    storage_class: str = Field(default="Standard", max_length=32)
    # Where its data lives: a named storage location (NULL: the default one), and its jurisdiction (NULL: none;
    # its ``name`` is then ``<jurisdiction>_<name>``). Both fixed at creation.
    storage_location: str | None = Field(default=None, max_length=32)
    jurisdiction: str | None = Field(default=None, max_length=16)
    cors: str | None = None  # JSON
    lifecycle: str | None = None  # JSON
    public_access: bool = False
    catalog_enabled: bool = False


class ObjectRow(SQLModel, table=True):
    __tablename__ = "s3_object"
    __table_args__ = (Index("ix_s3_object_bucket_modified", "bucket", "last_modified", "key"),)  # lifecycle

    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))
    key: str = Field(sa_column=Column(OrderedText, primary_key=True))
    key_raw: str
    size: int
    etag: str = Field(max_length=64)  # unquoted
    last_modified: float
    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    user_metadata: str = "{}"  # JSON object of x-amz-meta-* (names lower-case, without the prefix)
    storage_class: str = Field(default="STANDARD", max_length=32)
    checksum_algorithm: str | None = Field(default=None, max_length=16)
    checksum_value: str | None = Field(default=None, max_length=128)
    checksum_type: str | None = Field(default=None, max_length=16)  # FULL_OBJECT or COMPOSITE
    blob_id: str | None = Field(default=None, max_length=64)  # single-blob object
    upload_id: str | None = Field(default=None, max_length=64)  # multipart object: parts in s3_object_part
    parts_count: int | None = None
    # SSE-C: the key's MD5 (echoed to clients) and a salted HMAC that recognises the key (objectstore.service.sse)
    sse_key_md5: str | None = Field(default=None, max_length=32)
    sse_key_check: str | None = Field(default=None, max_length=96)
    # Encryption at rest (objectstore.service.atrest): the blob's master key id and salt, and the content headers
    # and user metadata sealed together. NULL in rows of older lakebox: plaintext blob and columns.
    blob_key: str | None = Field(default=None, max_length=64)
    sealed_meta: str | None = None
    # When a STANDARD_IA object entered the tier by a lifecycle transition (NULL: written as it is, so its
    # Last-Modified; or not Infrequent Access). Its 30-day minimum storage duration counts from there.
    ia_since: float | None = None


class MultipartUploadRow(SQLModel, table=True):
    __tablename__ = "s3_multipart_upload"
    __table_args__ = (
        Index("ix_s3_upload_bucket_key", "bucket", "key", "upload_id"),
        Index("ix_s3_upload_bucket_initiated", "bucket", "initiated_at", "upload_id"),  # lifecycle's walk
    )

    upload_id: str = Field(primary_key=True, max_length=64)
    bucket: str = Field(sa_column=Column(OrderedText, nullable=False))
    key: str = Field(sa_column=Column(OrderedText, nullable=False))
    key_raw: str
    initiated_at: float
    headers: str = "{}"  # JSON: content headers, user metadata, storage class, checksum algorithm/type


class UploadPartRow(SQLModel, table=True):
    """A part uploaded to an in-progress upload, and after completion a part of the object it became."""

    __tablename__ = "s3_upload_part"

    upload_id: str = Field(primary_key=True, max_length=64)
    part_number: int = Field(primary_key=True)
    blob_id: str = Field(max_length=64)
    size: int
    etag: str = Field(max_length=64)
    checksum_value: str | None = Field(default=None, max_length=128)
    last_modified: float
    offset: int | None = None  # set on completion: the part's position in the object
    blob_key: str | None = Field(default=None, max_length=64)  # as s3_object.blob_key


class BlobGarbageRow(SQLModel, table=True):
    """Blobs no row references any more; the reaper deletes their files, then these rows.

    A reaper claims rows by setting ``claimed_until`` in a transaction, so the workers and nodes sharing the
    database split the work; a claim that outlives its reaper (a crash) lapses and the rows are claimed again.
    """

    __tablename__ = "s3_blob_garbage"

    blob_id: str = Field(primary_key=True, max_length=64)
    created_at: float = Field(index=True)
    claimed_until: float | None = None


class InlineBlobRow(SQLModel, table=True):
    """A small blob kept in the database instead of a file (``objectstore.store.inline``): the bytes a blob file
    would hold (sealed, with encryption at rest on), written in the transaction of the row that names it."""

    __tablename__ = "s3_inline_blob"

    blob_id: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MasterKeyRow(SQLModel, table=True):
    """A master key that has sealed data, by id, with a check value that recognises it (never the key)."""

    __tablename__ = "s3_master_key"

    key_id: str = Field(primary_key=True, max_length=32)
    check_value: str = Field(max_length=64)
    created_at: float


class EarlyDeletionRow(SQLModel, table=True):
    """An Infrequent Access object deleted, replaced or moved before its 30-day minimum storage duration: the
    basis of R2's early-deletion charge (the object is billed as stored for the seconds it fell short). Written
    in the transaction of the change; the analytics read it."""

    __tablename__ = "s3_ia_early_deletion"
    __table_args__ = (Index("ix_s3_ia_early_deletion_at", "at", "bucket"),)

    id: int | None = Field(default=None, primary_key=True)
    at: float  # when it was deleted, replaced or moved
    bucket: str = Field(sa_column=Column(OrderedText, nullable=False))
    key: str = Field(sa_column=Column(OrderedText, nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    entered_at: float  # when it entered Infrequent Access
    seconds_short: float  # of the minimum storage duration
