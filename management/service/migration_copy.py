"""The ``migration`` job: copies a source bucket's objects into a lakebox bucket, in key order.

The checkpoint is the last key done (and the counters, saved with it), so a successor on any node resumes after
it. Each object streams from the source into the object service in process (a multipart upload above the
threshold), keeping its content headers and user metadata; its size, and its MD5 where the source ETag is a plain
MD5, are verified before it is committed. An object that cannot be copied is recorded (key and error) and the
copy goes on; only a source that cannot be listed at all (a bad credential, a missing bucket) ends the migration.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio.from_thread
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as SourceConnectionError

from auth.service.secretbox import SecretBox
from infra.jobs import JobRun
from management.service.migrations import Migrations, secret_context
from management.store.migrations import COMPLETED, ENDED, FAILED, QUEUED, RUNNING
from objectstore.service.conditions import Conditions
from objectstore.service.errors import NoSuchBucket, NoSuchKey, StoreError
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.multipart import MultipartService, RequestedPart
from objectstore.service.objects import ObjectService

CHUNK = 1 << 20
_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")
STATE_CHECK_SECONDS = 0.5  # how often a running copy looks for an abort
MAX_PARTS = 10_000
# As Super Slurper: objects in S3's archive tiers cannot be read without a restore; they are listed, not copied.
ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")


@dataclass(frozen=True, slots=True)
class CopyLimits:
    batch: int  # keys listed (and checkpointed) at a time
    multipart_bytes: int  # objects at least this large are copied in parts
    part_bytes: int


class SourceUnusable(Exception):
    """The source cannot be listed (bad credentials, no such bucket): the migration fails."""


class DestinationGone(Exception):
    """The destination bucket was deleted while the migration ran: the migration fails."""


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()[:1000]
    if isinstance(exc, StoreError):
        return f"{exc.code}: {exc.message}"[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


async def _read(body: Any, limit: int) -> AsyncIterator[bytes]:
    """Up to ``limit`` bytes of a boto3 streaming body, a chunk at a time, read in a worker thread."""
    left = limit
    while left > 0:
        data: bytes = await anyio.to_thread.run_sync(body.read, min(CHUNK, left))
        if not data:
            return
        left -= len(data)
        yield data


class MigrationCopier:
    def __init__(
        self,
        migrations: Migrations,
        box: SecretBox,
        objects: ObjectService,
        multipart: MultipartService,
        limits: CopyLimits,
    ) -> None:
        self.migrations = migrations
        self.repo = migrations.repo
        self.box = box
        self.objects = objects
        self.multipart = multipart
        self.limits = limits

    def run(self, run: JobRun) -> None:
        row = self.repo.get(run.target)
        if row is None or row.state in ENDED:
            return  # aborted before it started, or already done
        self.repo.move(row.id, RUNNING, only_from=(QUEUED,), started_at=run.now())
        secret = self.box.open(row.source_secret_enc, secret_context(row.id))
        source = boto3.client(
            "s3",
            endpoint_url=row.source_endpoint,
            region_name=row.source_region,
            aws_access_key_id=row.source_access_key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        after: str = (run.checkpoint or {}).get("after") or ""
        checked = time.monotonic()
        while True:
            try:
                page = self._list(source, row, after)
            except SourceUnusable as exc:
                self.repo.move(row.id, FAILED, only_from=(RUNNING,), error=str(exc), finished_at=run.now())
                return
            for item in page:
                if time.monotonic() - checked > STATE_CHECK_SECONDS:
                    checked = time.monotonic()
                    if self.migrations.ended(row.id):
                        return
                    run.save({"after": after})  # renews the lease during a long batch
                try:
                    self._copy_one(run, source, row, item)
                except DestinationGone:
                    error = f"the destination bucket {row.bucket} no longer exists"
                    self.repo.move(row.id, FAILED, only_from=(RUNNING,), error=error, finished_at=run.now())
                    return
                after = item["Key"]
            if not page:
                break
            run.progress["last_key"] = after
            run.save({"after": after})
            if self.migrations.ended(row.id):
                return
        self.repo.move(row.id, COMPLETED, only_from=(RUNNING,), finished_at=run.now())

    def _list(self, source: Any, row: Any, after: str) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"Bucket": row.source_bucket, "MaxKeys": self.limits.batch}
        if row.source_prefix:
            params["Prefix"] = row.source_prefix
        if after:
            params["StartAfter"] = after
        try:
            answer = source.list_objects_v2(**params)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            if 400 <= int(status) < 500:
                raise SourceUnusable(f"cannot list the source bucket: {_error_text(exc)}") from None
            raise  # a server error: the job retries from its checkpoint
        return list(answer.get("Contents", []))

    def _copy_one(self, run: JobRun, source: Any, row: Any, item: dict[str, Any]) -> None:
        key: str = item["Key"]
        if item.get("StorageClass") in ARCHIVED:
            error = f"InvalidObjectState: stored in {item['StorageClass']}; restore it and copy it separately"
            self.repo.record_failure(row.id, key, error, run.now())
            return
        try:
            if not row.overwrite and self._existed_before(row, key):
                run.count("objects_skipped")
                return
            size = anyio.from_thread.run(self._copy, source, row, key)
        except NoSuchBucket:
            raise DestinationGone() from None
        except SourceConnectionError:
            raise  # the source went away: the job retries from its checkpoint rather than fail every key
        except (ClientError, BotoCoreError, StoreError, ValueError) as exc:
            self.repo.record_failure(row.id, key, _error_text(exc), run.now())
            return
        if run.resumed:  # a key that failed before a takeover may succeed now
            self.repo.clear_failure(row.id, key)
        run.count("objects_copied")
        run.count("bytes_copied", size)

    def _existed_before(self, row: Any, key: str) -> bool:
        """Skip mode skips objects the bucket had before the migration began; an object this migration wrote
        before a takeover is written again, so a resumed batch counts it once, as copied."""
        try:
            meta = self.objects.head(row.bucket, key)
        except NoSuchKey:
            return False
        return bool(meta.last_modified < row.created_at)

    async def _copy(self, source: Any, row: Any, key: str) -> int:
        got = await anyio.to_thread.run_sync(lambda: source.get_object(Bucket=row.source_bucket, Key=key))
        body = got["Body"]
        try:
            size = int(got["ContentLength"])
            etag = str(got.get("ETag", "")).strip('"')
            headers = got.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            options = WriteOptions(
                content_type=got.get("ContentType"),
                content_encoding=got.get("ContentEncoding"),
                content_disposition=got.get("ContentDisposition"),
                content_language=got.get("ContentLanguage"),
                cache_control=got.get("CacheControl"),
                expires=headers.get("expires"),
                user_metadata=dict(got.get("Metadata") or {}),
            )
            md5 = base64.b64encode(bytes.fromhex(etag)).decode() if _PLAIN_MD5.match(etag) else None
            if size >= self.limits.multipart_bytes:
                await self._copy_in_parts(row.bucket, key, body, size, options)
            else:
                integrity = PutIntegrity(content_length=size, content_md5=md5)
                await self.objects.put_object(
                    row.bucket, key, _read(body, size), options, integrity, Conditions()
                )
        finally:
            body.close()
        return size

    async def _copy_in_parts(
        self, bucket: str, key: str, body: Any, size: int, options: WriteOptions
    ) -> None:
        upload = await anyio.to_thread.run_sync(lambda: self.multipart.create(bucket, key, options, None))
        try:
            parts: list[RequestedPart] = []
            offset, number = 0, 1
            part_bytes = max(self.limits.part_bytes, -(-size // MAX_PARTS))
            while offset < size:
                length = min(part_bytes, size - offset)
                part = await self.multipart.upload_part(
                    bucket, key, upload.upload_id, number, _read(body, length),
                    PutIntegrity(content_length=length), None,
                )  # fmt: skip
                parts.append(RequestedPart(number, part.etag))
                offset += length
                number += 1
            complete: Callable[[], Any] = lambda: self.multipart.complete(  # noqa: E731
                bucket, key, upload.upload_id, parts, {}, object_size=size
            )
            await anyio.to_thread.run_sync(complete)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: self.multipart.abort(bucket, key, upload.upload_id))
            raise
