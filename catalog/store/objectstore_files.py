"""``MetadataFiles`` over the object store's service layer, in process (never over HTTP).

The catalog's service is synchronous and runs in worker threads, so are these calls (blocking I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from objectstore.service.buckets import BucketService
from objectstore.service.conditions import Conditions
from objectstore.service.errors import NoSuchBucket
from objectstore.service.model import WriteOptions
from objectstore.service.names import key_identity
from objectstore.service.objects import ObjectService, object_values
from objectstore.service.space import raise_if_out_of_space

_DELETE_BATCH = 1000


class ObjectStoreFiles:
    def __init__(self, objects: ObjectService, buckets: BucketService) -> None:
        self.objects = objects
        self.buckets = buckets

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """A whole small object, synchronously: the blob is made durable, then the row points at it.

        Mirrors ``ObjectService.put_object`` for a body already in memory, without the event-loop round trips
        (they cost ~10 ms per metadata file); switch to the object service's own synchronous put once it has one.
        """
        self.objects.ensure_room(len(data))
        writer = self.objects.new_writer()
        try:
            writer.write(data)
            writer.finish()
            values = object_values(
                self.objects.atrest,
                bucket,
                key,
                key_identity(key),
                WriteOptions(content_type=content_type),
                len(data),
                hashlib.md5(data).hexdigest(),  # noqa: S324 - the S3 ETag is defined as MD5
                blob_id=writer.blob_id,
                blob_key=writer.blob_key,
            )
            created = self.objects.repo.put_object(values, None, create_bucket=False)
        except BaseException as exc:
            writer.abort()
            raise_if_out_of_space(exc)
            raise
        if not created:
            writer.abort()
            raise NoSuchBucket(BucketName=bucket)
        self.objects.blobs.publish(writer.blob_id)

    def read(self, bucket: str, key: str) -> bytes:
        plan = self.objects.plan_read(bucket, key, Conditions())
        body = plan.body if plan.body is not None else self.objects.read_range(plan, plan.start, plan.length)
        return body if isinstance(body, bytes) else bytes(body)

    def delete_keys(self, bucket: str, keys: Sequence[str]) -> None:
        for i in range(0, len(keys), _DELETE_BATCH):
            self.objects.delete_many(bucket, list(keys[i : i + _DELETE_BATCH]))

    def list_files(self, bucket: str, prefix: str) -> Iterator[Any]:
        """Every object under ``prefix`` (rows with ``key``, ``size``, ``last_modified``), in key order."""
        after = ""
        while rows := self.objects.repo.list_keys(bucket, prefix, after, _DELETE_BATCH):
            yield from rows
            after = rows[-1].key

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.buckets.get(bucket)
        except NoSuchBucket:
            return False
        return True
