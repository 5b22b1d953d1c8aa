"""Object operations: write (streamed to a blob, fsynced, then committed), read plans, delete.

Blocking work (database transactions, fsync) runs in worker threads; the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from typing import Any, BinaryIO

import anyio.to_thread
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from infra.group_commit import GroupCommitter
from objectstore.service.atrest import AtRest, object_context
from objectstore.service.checksums import check_checksum, check_content_md5, new_hasher
from objectstore.service.conditions import Conditions, check_read, check_write
from objectstore.service.errors import (
    EntityTooLarge,
    IncompleteBody,
    InsufficientStorage,
    InvalidPart,
    MetadataTooLarge,
    NoSuchBucket,
    NoSuchKey,
    StoreError,
)
from objectstore.service.lifecycle import expiration, rules_in_effect
from objectstore.service.locks import ObjectLocked, enforce
from objectstore.service.model import ObjectMeta, PutIntegrity, PutResult, ReadPlan, WriteOptions
from objectstore.service.names import key_identity
from objectstore.service.placement import STANDARD, blob_root, bucket_location, object_class
from objectstore.service.ranges import parse_range
from objectstore.service.segments import (
    BATCH,
    CACHED_READ_SEGMENTS,
    SegmentSealer,
    open_range,
    stored_size,
)
from objectstore.service.space import DiskSpace, raise_if_out_of_space
from objectstore.service.sse import CustomerKey, check_key
from objectstore.store.blobs import DIRECT_READ_OVER, BlobWriter, LocalBlobStore
from objectstore.store.repo import ObjectRepository

log = logging.getLogger("lakebox.objects")
MAX_PUT_SIZE = 5 * 1024**3 - 5 * 1024**2  # R2: 5 MiB less than 5 GiB
MAX_METADATA_BYTES = 8192
SMALL_BODY = 1024 * 1024  # bodies up to this size are read together with their metadata (one call)
GARBAGE_GRACE = 300.0
GARBAGE_LEASE = 120.0  # how long a reaper's claim on a batch of garbage lasts


def metadata_size(user_metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in user_metadata.items())


def check_metadata(user_metadata: dict[str, str]) -> None:
    if metadata_size(user_metadata) > MAX_METADATA_BYTES:
        raise MetadataTooLarge(MaxSizeAllowed=str(MAX_METADATA_BYTES))


def object_values(
    atrest: AtRest,
    bucket: str,
    raw_key: str,
    key: str,
    options: WriteOptions,
    size: int,
    etag: str,
    **extra: Any,
) -> dict[str, Any]:
    """The index row of a new object version, its content headers and user metadata sealed."""
    values = {
        "bucket": bucket,
        "key": key,
        "key_raw": raw_key,
        "size": size,
        "etag": etag,
        "last_modified": time.time(),
        "content_type": options.content_type,
        "content_encoding": options.content_encoding,
        "content_disposition": options.content_disposition,
        "content_language": options.content_language,
        "cache_control": options.cache_control,
        "expires": options.expires,
        "user_metadata": json.dumps(options.user_metadata) if options.user_metadata else "{}",
        "storage_class": options.storage_class or STANDARD,
        "checksum_algorithm": None,
        "checksum_value": None,
        "checksum_type": None,
        "blob_id": None,
        "upload_id": None,
        "parts_count": None,
        "sse_key_md5": options.sse_key_md5,
        "sse_key_check": options.sse_key_check,
        "blob_key": None,
        "sealed_meta": None,
        **extra,
    }
    return atrest.seal_fields(values, object_context(bucket, key))


def write_check(cond: Conditions) -> Callable[[Any], None] | None:
    if cond.empty:
        return None

    def check(current: Any) -> None:
        check_write(cond, current.etag if current else None, current.last_modified if current else None)

    return check


class ObjectService:
    def __init__(
        self,
        repo: ObjectRepository,
        blobs: LocalBlobStore,
        atrest: AtRest,
        space: DiskSpace | None = None,
        *,
        inline_max: int = 0,
    ) -> None:
        self.repo = repo
        self.inline_max = inline_max  # S3 bodies up to this size become inline blobs (``receive_blob``)
        self.blobs = blobs
        self.atrest = atrest
        self.space = space if space is not None else DiskSpace([blobs.root, blobs.incoming], 0)
        self.committer = GroupCommitter(repo.db)
        repo.guard = enforce  # bucket locks, checked in every transaction that replaces or deletes an object
        blobs.inline_source = repo.inline.get

    # -- space -----------------------------------------------------------------------------------------------

    def ensure_room(self, incoming: int = 0) -> None:
        """Refuses (InsufficientStorage) a write of ``incoming`` bytes that would eat into the disk reserve, after
        reclaiming the garbage there is at once (blocking only when the disk is short)."""
        if self.space.short(incoming):
            self.reap_garbage(grace=0)
            if self.space.short(incoming):
                raise InsufficientStorage()

    async def make_room(self, incoming: int = 0) -> None:
        """``ensure_room`` for the event loop: a free-space check inline, reclaiming in a worker thread."""
        if self.space.short(incoming):
            await anyio.to_thread.run_sync(self.ensure_room, incoming)

    def reclaim_if_short(self) -> None:
        """After a delete: while the disk is short, what it freed is reclaimed now, not after the grace period."""
        if self.space.short():
            self.reap_garbage(grace=0)

    # -- write -----------------------------------------------------------------------------------------------

    async def receive_blob(
        self,
        body: AsyncIterator[bytes | bytearray],
        integrity: PutIntegrity,
        checksum_algorithm: str | None,
        trailer_checksum: Callable[[], str | None] | None = None,
        max_size: int = MAX_PUT_SIZE,
        sse: CustomerKey | None = None,
        root: str = "",
        *,
        inline: bool = False,
    ) -> tuple[BlobWriter, str, str | None]:
        """Streams a body into a new durable blob in storage root ``root`` (encrypted under ``sse``), verifying
        length, MD5 and checksum of the plaintext. With ``inline``, a small body on the default root without
        SSE-C becomes an inline blob instead (``BlobWriter.keep_inline``): the caller writes ``writer.inline``
        in the transaction of the row that names it (``ObjectRepository.inline.put_in``).

        Returns (writer, md5 hex, checksum base64). On any error the blob is removed.
        """
        if integrity.content_length is not None and integrity.content_length > max_size:
            raise EntityTooLarge(MaxSizeAllowed=str(max_size))
        await self.make_room(integrity.content_length or 0)
        md5 = hashlib.md5()  # noqa: S324 - the ETag is defined as MD5
        hasher = new_hasher(checksum_algorithm) if checksum_algorithm else None

        def observe(data: bytes | memoryview) -> None:
            md5.update(data)
            if hasher is not None:
                hasher.update(data)

        # The body is hashed and sealed by the writer, in the worker threads that write it out.
        writer = self.new_writer(sse, observe, root)
        # not SSE-C: with encryption at rest off its data key derives from the blob id, which keep_inline changes
        inline = inline and root == "" and sse is None
        try:
            async for chunk in body:
                if writer.size + len(chunk) > max_size:
                    raise EntityTooLarge(MaxSizeAllowed=str(max_size))
                writer.write(chunk)
                if writer.needs_drain:
                    await self.make_room()  # concurrent writers, or a body of unknown length
                    await anyio.to_thread.run_sync(writer.drain)
            if integrity.content_length is not None and writer.size != integrity.content_length:
                raise IncompleteBody()
            expected = integrity.checksum_value
            if expected is None and trailer_checksum is not None:
                expected = trailer_checksum()

            def seal() -> tuple[bytes, str | None]:
                """Hashes what is still staged, verifies the digests, then makes the blob durable."""
                writer.observe_staged()
                digest = md5.digest()
                if integrity.content_md5 is not None:
                    check_content_md5(integrity.content_md5, digest)
                if expected is not None and hasher is not None and checksum_algorithm is not None:
                    check_checksum(checksum_algorithm, expected, hasher.digest())
                if not (inline and writer.keep_inline(self.inline_max)):
                    writer.finish()
                return digest, hasher.b64() if hasher is not None else None

            digest, checksum = await anyio.to_thread.run_sync(seal)
            return writer, digest.hex(), checksum
        except BaseException as exc:
            writer.abort()
            raise_if_out_of_space(exc)
            raise

    def new_writer(
        self,
        sse: CustomerKey | None = None,
        observe: Callable[[memoryview], None] | None = None,
        root: str = "",
    ) -> BlobWriter:
        """A writer for a new blob in storage root ``root``, sealed under its own data key (and ``sse``, the
        SSE-C key, if given)."""
        blob_key, data_key = self.atrest.new_blob_key(sse)
        writer = self.blobs.create(observe, blob_key=blob_key, root=root)
        if data_key is None and sse is not None:  # encryption at rest off: the SSE-C key alone
            data_key = self.atrest.data_key(None, writer.blob_id, sse)
        if data_key is not None:
            writer.seal = SegmentSealer(AESGCM(data_key))
        return writer

    async def put_object(
        self,
        bucket: str,
        raw_key: str,
        body: AsyncIterator[bytes | bytearray],
        options: WriteOptions,
        integrity: PutIntegrity,
        conditions: Conditions,
        *,
        trailer_checksum: Callable[[], str | None] | None = None,
        create_bucket_if_missing: bool = False,
        sse: CustomerKey | None = None,
    ) -> PutResult:
        """Stores an object; with ``sse`` (whose MD5 and check ``options`` carry) encrypted under that key."""
        key = key_identity(raw_key)
        check_metadata(options.user_metadata)
        brow = self.repo.get_bucket(bucket)
        if not create_bucket_if_missing and brow is None:
            raise NoSuchBucket(BucketName=bucket)
        options, root = self.placed(options, brow)
        writer, etag, checksum = await self.receive_blob(
            body, integrity, options.checksum_algorithm, trailer_checksum, sse=sse, root=root, inline=True
        )
        algorithm = options.checksum_algorithm if checksum else None
        values = object_values(
            self.atrest,
            bucket,
            raw_key,
            key,
            options,
            writer.size,
            etag,
            blob_id=writer.blob_id,
            blob_key=writer.blob_key,
            checksum_algorithm=algorithm,
            checksum_value=checksum,
            checksum_type="FULL_OBJECT" if checksum else None,
        )
        await self.commit_blob(values, writer, write_check(conditions), create_bucket_if_missing)
        return PutResult(etag, algorithm, checksum, "FULL_OBJECT" if checksum else None, writer.size)

    @staticmethod
    def placed(options: WriteOptions, bucket_row: Any | None) -> tuple[WriteOptions, str]:
        """``options`` with the storage class settled (the bucket's default if none is named), and the storage
        root its blobs go to."""
        klass = object_class(options.storage_class, bucket_row)
        if klass != options.storage_class:
            options = dataclasses.replace(options, storage_class=klass)
        return options, blob_root(bucket_location(bucket_row), klass)

    async def commit_blob(
        self,
        values: dict[str, Any],
        writer: BlobWriter,
        check: Callable[[Any], None] | None,
        create_bucket: bool = False,
    ) -> None:
        """Points the object's row at a durable blob (committed together with concurrent writes), then moves
        the blob into place."""

        def apply(conn: Connection) -> bool:
            if writer.inline is not None:
                self.repo.inline.put_in(conn, writer.blob_id, writer.inline)
            return self.repo.put_object_in(conn, values, check, create_bucket=create_bucket)

        def settle(created: bool | None, error: BaseException | None) -> None:
            if error is not None or not created:
                writer.abort()
                return
            try:
                self.blobs.publish(writer.blob_id)
            except OSError:
                # Committed and durable under incoming/, where readers and the next recovery find it.
                log.exception("could not move blob %s into place", writer.blob_id)

        # Shielded: a client that disconnects must not abandon a write the committer may already have made.
        try:
            created = await asyncio.shield(asyncio.wrap_future(self.committer.submit(apply, settle)))
        except Exception as exc:  # the blob is already removed (settle)
            raise_if_out_of_space(exc)
            raise
        if not created:
            raise NoSuchBucket(BucketName=values["bucket"])

    # -- read ------------------------------------------------------------------------------------------------

    def head(self, bucket: str, raw_key: str) -> ObjectMeta:
        brow, orow = self.repo.get_object(bucket, key_identity(raw_key))
        if brow is None:
            raise NoSuchBucket(BucketName=bucket)
        if orow is None:
            raise NoSuchKey(Key=raw_key)
        meta = ObjectMeta.from_row(orow, self.atrest)
        stored = brow.bucket_lifecycle
        if stored and "Expiration" in stored:  # only a configuration with an expiration rule can set one
            expires = expiration(rules_in_effect(stored), orow.key, orow.last_modified)
            if expires is not None:
                meta = dataclasses.replace(meta, expiration=expires)
        return meta

    def plan_read(
        self,
        bucket: str,
        raw_key: str,
        conditions: Conditions,
        range_header: str | None = None,
        part_number: int | None = None,
        *,
        with_body: bool = True,
        sse: CustomerKey | None = None,
    ) -> ReadPlan:
        """Looks the object up, checks the SSE-C key (``sse``) and preconditions, applies the range; small
        bodies come back read (blocking)."""
        for _attempt in range(5):
            meta = self.head(bucket, raw_key)
            check_read(conditions, meta.etag, meta.last_modified)
            try:
                plan = self._plan(meta, range_header, part_number)
            except FileNotFoundError:
                continue  # replaced between the lookup and reading its parts: look it up again
            check_key(meta.sse_key_check, sse)  # after the part number and range are known good, as S3
            if sse is not None:
                plan = dataclasses.replace(plan, key=sse)
            if not with_body or plan.length > SMALL_BODY:
                return plan
            try:
                return dataclasses.replace(plan, body=self.read_range(plan, plan.start, plan.length))
            except FileNotFoundError:
                continue  # replaced between lookup and open: look it up again
        raise StoreError("object changed too often while being read")

    def _plan(self, meta: ObjectMeta, range_header: str | None, part_number: int | None) -> ReadPlan:
        if meta.upload_id:
            rows = self.repo.object_parts(meta.upload_id)
            if not rows or len(rows) != (
                meta.parts_count or len(rows)
            ):  # that version is gone, its parts too
                raise FileNotFoundError(meta.key)
            segments = tuple((r.blob_id, r.offset, r.size, r.blob_key) for r in rows)
        else:
            segments = ((meta.blob_id or "", 0, meta.size, meta.blob_key),)
        if part_number is not None:
            if part_number < 1 or part_number > len(segments):
                if part_number == 1 and not meta.upload_id:
                    return ReadPlan(meta, 0, meta.size - 1, False, segments)
                # AWS answers 416 InvalidPartNumber; S3 implementations and ceph/s3-tests expect 400 InvalidPart.
                raise InvalidPart("The requested partnumber is not satisfiable", PartNumber=str(part_number))
            _blob, offset, size, _key = segments[part_number - 1]
            return ReadPlan(meta, offset, offset + size - 1, True, segments)
        rng = parse_range(range_header, meta.size)
        if rng is None:
            return ReadPlan(meta, 0, meta.size - 1, False, segments)
        return ReadPlan(meta, rng[0], rng[1], True, segments)

    def read_range(self, plan: ReadPlan, start: int, length: int) -> bytes | bytearray:
        """Reads ``length`` bytes from object offset ``start`` across the plan's blobs (blocking)."""
        chunks: list[bytes | bytearray] = []
        for segment, inner, take in _pieces(plan, start, length):
            with self.blobs.open(segment[0]) as f:
                chunks.extend(self._blob_bytes(plan, f, segment, inner, take))
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def stream(self, plan: ReadPlan) -> AsyncIterator[bytes | bytearray]:
        """The plan's bytes in chunks, read in worker threads; while one chunk is sent the next is read."""
        if plan.body is not None:
            yield plan.body
            return
        for segment, inner, take in _pieces(plan, plan.start, plan.length):
            f = await anyio.to_thread.run_sync(self.blobs.open, segment[0])
            chunks = self._blob_bytes(plan, f, segment, inner, take)
            ahead: asyncio.Task[bytes | bytearray | None] | None = None
            try:
                data = await anyio.to_thread.run_sync(next, chunks, None)
                while data is not None:
                    take -= len(data)
                    if take > 0:
                        ahead = asyncio.ensure_future(anyio.to_thread.run_sync(next, chunks, None))
                    yield data
                    if ahead is None:
                        break
                    data = await asyncio.shield(ahead)  # a cancelled stream must not abandon the read
                    ahead = None
            finally:
                _close_when_read(ahead, chunks, f)

    def _blob_bytes(
        self, plan: ReadPlan, f: BinaryIO, segment: tuple[str, int, int, str | None], inner: int, take: int
    ) -> Generator[bytes | bytearray, None, None]:
        """Plaintext ``[inner, inner + take)`` of one open blob, in chunks of at most 1 MiB (blocking)."""
        blob_id, _offset, size, blob_key = segment
        cipher = self.atrest.cipher(blob_key, blob_id, plan.key)
        try:
            if cipher is None:
                yield from self.blobs.read(f, inner, take)
            else:
                yield from open_range(
                    cipher,
                    lambda at, count, chunk: self.blobs.read_views(f, at, count, chunk),
                    size,
                    inner,
                    take,
                    self.atrest.chunks,
                    # read around the page cache in whole chunks; from it, a few segments at a time
                    read_segments=BATCH if stored_size(size) > DIRECT_READ_OVER else CACHED_READ_SEGMENTS,
                )
        except EOFError:
            raise IncompleteBody("blob shorter than its index entry") from None

    # -- delete ----------------------------------------------------------------------------------------------

    def delete(self, bucket: str, raw_key: str, conditions: Conditions = Conditions()) -> None:
        """Deletes an object; deleting a missing key succeeds (204), as on S3."""
        if self.repo.get_bucket(bucket) is None:
            raise NoSuchBucket(BucketName=bucket)
        self.repo.delete_object(bucket, key_identity(raw_key), write_check(conditions))
        self.reclaim_if_short()

    def delete_many(self, bucket: str, raw_keys: Sequence[str]) -> dict[str, ObjectLocked]:
        """Deletes the objects at ``raw_keys``; those a bucket lock retains stay: their errors by key identity."""
        if self.repo.get_bucket(bucket) is None:
            raise NoSuchBucket(BucketName=bucket)
        refused = self.repo.delete_objects(bucket, [key_identity(k) for k in raw_keys])
        self.reclaim_if_short()
        return {key: exc for key, exc in refused.items() if isinstance(exc, ObjectLocked)}

    # -- maintenance -----------------------------------------------------------------------------------------

    def recover(self) -> tuple[int, int]:
        """Settles blobs left in flight by a crash of this node (run before serving)."""
        return self.blobs.recover(self.repo.referenced_blobs)

    def reap_garbage(
        self, grace: float = GARBAGE_GRACE, on_batch: Callable[[int], None] | None = None
    ) -> int:
        """Deletes the files of blobs no row has referenced for ``grace`` seconds, then forgets them (blocking).

        The grace period lets a reader that looked an object up just before it was replaced or deleted finish
        streaming it: a multipart object's part files are opened one after another as the body is sent. Each
        batch is claimed in a transaction first, so every worker of every node can reap at once without two of
        them deleting the same files; a batch whose reaper dies is claimed again when its lease lapses.
        """
        total = 0
        while ids := self.repo.claim_garbage(time.time() - grace, GARBAGE_LEASE):
            for blob_id in ids:
                self.blobs.delete(blob_id)
            self.repo.forget_garbage(ids)
            total += len(ids)
            if on_batch is not None:
                on_batch(total)  # the background job's checkpoint (renews its lease)
        return total


def _pieces(
    plan: ReadPlan, start: int, length: int
) -> Iterator[tuple[tuple[str, int, int, str | None], int, int]]:
    """(segment, offset in its blob, byte count) of each blob holding bytes ``[start, start + length)``."""
    for segment in plan.segments:
        _blob_id, offset, size, _key = segment
        if length <= 0:
            break
        if start >= offset + size or size == 0:
            continue
        inner = start - offset
        take = min(length, size - inner)
        yield segment, inner, take
        start += take
        length -= take


def _close_when_read(
    ahead: asyncio.Task[bytes | bytearray | None] | None,
    chunks: Generator[bytes | bytearray, None, None],
    f: BinaryIO,
) -> None:
    """Closes a blob's reader and file once no worker thread is reading them (now, or when ``ahead`` ends)."""

    def close(task: asyncio.Task[bytes | bytearray | None] | None = None) -> None:
        if task is not None and not task.cancelled():
            task.exception()  # a stream that was given up on has no use for the read's error
        chunks.close()
        f.close()

    if ahead is None:
        close()
    else:
        ahead.add_done_callback(close)  # runs soon if it is already done
