"""CopyObject: metadata directives (COPY, REPLACE and R2's MERGE), source and destination conditions.

Object data is never rewritten: blob files are immutable, so the copy's blobs are hard links to the source's
(one per part for a multipart source, which keeps its ETag, checksum and parts). A link is made in ``incoming/``
and fsynced like any new blob, so the crash-safety argument of ``objectstore.store.blobs`` holds unchanged, and
deleting either object later only removes its own link. A copy's blobs live in the storage root of its own class
and bucket (``objectstore.service.placement``); where that root is on another file system (an Infrequent Access
tier on other disks) the stored bytes are copied instead of linked. The bytes are streamed (decrypted and
encrypted again) for an encrypted (SSE-C) side and, with encryption at rest on, for a source written without it
(older lakebox): the copy is then encrypted. If the source is replaced while the copy is being prepared (its
blob vanishes), the copy starts over from the new version: a copy is always of one whole version.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from objectstore.service.conditions import Conditions, check_copy_source
from objectstore.service.errors import InvalidArgument, InvalidRequest, NoSuchBucket, StoreError
from objectstore.service.model import CONTENT_HEADERS, ObjectMeta, PutIntegrity, WriteOptions
from objectstore.service.names import key_identity
from objectstore.service.objects import (
    MAX_PUT_SIZE,
    ObjectService,
    check_metadata,
    object_values,
    write_check,
)
from objectstore.service.placement import bucket_default
from objectstore.service.sse import CustomerKey, check_key
from objectstore.store.blobs import BlobWriter
from objectstore.store.repo import parts

DIRECTIVES = ("COPY", "REPLACE", "MERGE")
_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class CopyRequest:
    source_bucket: str
    source_key: str
    bucket: str
    key: str
    directive: str = "COPY"
    # metadata from the request (used by REPLACE and MERGE)
    given: WriteOptions = field(default_factory=WriteOptions)
    given_headers: frozenset[str] = frozenset()  # the content headers the request actually carried
    storage_class: str | None = None  # x-amz-storage-class, if given
    source_conditions: Conditions = field(default_factory=Conditions)
    destination_conditions: Conditions = field(default_factory=Conditions)  # R2's cf-copy-destination-if-*
    source_sse: CustomerKey | None = None  # SSE-C key of the source (x-amz-copy-source-server-side-...)
    sse: CustomerKey | None = None  # SSE-C key to encrypt the copy under


@dataclass(frozen=True, slots=True)
class CopyResult:
    etag: str
    last_modified: float
    checksum_algorithm: str | None
    checksum_value: str | None
    checksum_type: str | None
    source_storage_class: str = "STANDARD"
    source_size: int = 0


def copy_options(req: CopyRequest, source: ObjectMeta, default_class: str) -> WriteOptions:
    """The copy's metadata under the directive; its storage class the one asked for, else ``default_class`` (the
    destination bucket's default, as R2 and S3 do: a copy does not inherit its source's class)."""
    storage_class = req.storage_class or default_class
    if req.directive == "REPLACE":
        return dataclasses.replace(req.given, storage_class=storage_class, checksum_algorithm=None)
    kept = {attr: getattr(source, attr) for attr in CONTENT_HEADERS}
    metadata = dict(source.user_metadata)
    if req.directive == "MERGE":
        for attr, header in CONTENT_HEADERS.items():
            if header in req.given_headers:
                kept[attr] = getattr(req.given, attr)
        metadata.update(req.given.user_metadata)
    return WriteOptions(**kept, user_metadata=metadata, storage_class=storage_class)


class CopyService:
    def __init__(self, objects: ObjectService) -> None:
        self.objects = objects

    async def copy(self, req: CopyRequest) -> CopyResult:
        if req.directive not in DIRECTIVES:
            raise InvalidArgument(
                "Unknown metadata directive.",
                ArgumentName="x-amz-metadata-directive",
                ArgumentValue=req.directive,
            )
        for _attempt in range(_ATTEMPTS):
            try:
                return await self._copy_once(req)
            except FileNotFoundError:
                continue  # the source was replaced under us: copy the new version
        raise StoreError("the copy source changed too often")

    async def _copy_once(self, req: CopyRequest) -> CopyResult:
        source = await anyio.to_thread.run_sync(self.objects.head, req.source_bucket, req.source_key)
        check_key(source.sse_key_check, req.source_sse)
        check_copy_source(req.source_conditions, source.etag, source.last_modified)
        encrypted = source.sse_key_check is not None or req.sse is not None
        key = key_identity(req.key)
        brow = self.objects.repo.get_bucket(req.bucket)
        if brow is None:
            raise NoSuchBucket(BucketName=req.bucket)
        if (
            req.source_bucket == req.bucket
            and key_identity(req.source_key) == key
            and req.directive == "COPY"
            and (req.storage_class is None or req.storage_class == source.storage_class)
            and not encrypted
        ):
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing "
                "the object's metadata, storage class, website redirect location or encryption attributes."
            )
        options, root = self.objects.placed(copy_options(req, source, bucket_default(brow)), brow)
        if req.sse is not None:
            options = dataclasses.replace(
                options, sse_key_md5=req.sse.key_md5, sse_key_check=req.sse.check_value()
            )
        check_metadata(options.user_metadata)
        writers: list[BlobWriter] | None
        part_rows: list[dict[str, Any]] | None
        if encrypted:  # decrypted and (re-)encrypted on the way: blobs are keyed to their own ids
            writers, part_rows = None, None
        else:
            writers, part_rows = await anyio.to_thread.run_sync(self._link, source, root)
        extra: dict[str, Any] = {
            "checksum_algorithm": source.checksum_algorithm,
            "checksum_value": source.checksum_value,
            "checksum_type": source.checksum_type,
        }
        if writers is None:  # no hard links here: stream the bytes into one new blob
            plan = await anyio.to_thread.run_sync(
                lambda: self.objects.plan_read(
                    req.source_bucket, req.source_key, Conditions(), with_body=False, sse=req.source_sse
                )
            )
            if plan.meta.etag != source.etag:
                raise FileNotFoundError(source.key)
            writer, _md5, _ = await self.objects.receive_blob(
                self.objects.stream(plan),
                PutIntegrity(content_length=plan.length),
                None,
                max_size=MAX_PUT_SIZE,
                sse=req.sse,
                root=root,
            )
            writers = [writer]
        if part_rows is None:
            extra["blob_id"] = writers[0].blob_id
            extra["blob_key"] = writers[0].blob_key
        else:
            extra["upload_id"] = part_rows[0]["upload_id"]
            extra["parts_count"] = len(part_rows)
        values = object_values(
            self.objects.atrest, req.bucket, req.key, key, options, source.size, source.etag, **extra
        )
        await anyio.to_thread.run_sync(
            self._commit, values, writers, part_rows, write_check(req.destination_conditions)
        )
        return CopyResult(
            source.etag,
            values["last_modified"],
            source.checksum_algorithm,
            source.checksum_value,
            source.checksum_type,
            source.storage_class,
            source.size,
        )

    def _link(
        self, source: ObjectMeta, root: str
    ) -> tuple[list[BlobWriter] | None, list[dict[str, Any]] | None]:
        """New blobs in storage root ``root`` sharing the stored bytes of every blob of ``source`` (hard links, or
        copies across file systems; blocking): (writers, part rows for a multipart source), or (None, None) when
        the bytes must be re-encrypted. FileNotFoundError if a blob is gone (source replaced)."""
        if source.upload_id:
            rows = self.objects.repo.object_parts(source.upload_id)
            if len(rows) != source.parts_count:
                raise FileNotFoundError(source.key)  # replaced or deleted since we looked it up
            sources = [(r.blob_id, r.blob_key) for r in rows]
        else:
            rows = []
            sources = [(source.blob_id or "", source.blob_key)]
        if self.objects.atrest.enabled and any(blob_key is None for _blob, blob_key in sources):
            return None, None  # plaintext (written before encryption at rest): the copy is encrypted
        writers: list[BlobWriter] = []
        try:
            for blob_id, blob_key in sources:
                writers.append(self.objects.blobs.link(blob_id, root))
                writers[-1].blob_key = blob_key
        except FileNotFoundError:
            for w in writers:
                w.abort()
            raise
        except OSError:
            for w in writers:
                w.abort()
            return None, None
        if not source.upload_id:
            return writers, None
        upload_id = "copy-" + secrets.token_hex(16)
        now = time.time()
        part_rows = [
            {
                "upload_id": upload_id,
                "part_number": r.part_number,
                "blob_id": w.blob_id,
                "size": r.size,
                "etag": r.etag,
                "checksum_value": r.checksum_value,
                "last_modified": now,
                "offset": r.offset,
                "blob_key": r.blob_key,
            }
            for r, w in zip(rows, writers, strict=True)
        ]
        return writers, part_rows

    def _commit(
        self,
        values: dict[str, Any],
        writers: list[BlobWriter],
        part_rows: list[dict[str, Any]] | None,
        check: Any,
    ) -> None:
        def add_parts(conn: Connection) -> None:
            if part_rows:
                conn.execute(insert(parts), part_rows)

        try:
            created = self.objects.repo.put_object(values, check, also=add_parts)
        except BaseException:
            for w in writers:
                w.abort()
            raise
        if not created:
            for w in writers:
                w.abort()
            raise NoSuchBucket(BucketName=values["bucket"])
        for w in writers:
            self.objects.blobs.publish(w.blob_id)
