"""``MetadataFiles`` over the object store's service layer, in process (never over HTTP).

The catalog's service is synchronous and runs in worker threads; the object store's writes are async (they
stream a body), so a write is run on the event loop that owns the worker thread (``anyio.from_thread``), or in
a fresh loop when called outside one (CLI, tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio
import anyio.from_thread
from anyio._core._eventloop import threadlocals

from objectstore.service.buckets import BucketService
from objectstore.service.conditions import Conditions
from objectstore.service.errors import NoSuchBucket
from objectstore.service.listing import list_objects
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.objects import ObjectService

_DELETE_BATCH = 1000


class ObjectStoreFiles:
    def __init__(self, objects: ObjectService, buckets: BucketService) -> None:
        self.objects = objects
        self.buckets = buckets

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        async def body() -> AsyncIterator[bytes]:
            yield data

        async def put() -> None:
            await self.objects.put_object(
                bucket,
                key,
                body(),
                WriteOptions(content_type=content_type),
                PutIntegrity(content_length=len(data)),
                Conditions(),
            )

        _run(put)

    def read(self, bucket: str, key: str) -> bytes:
        plan = self.objects.plan_read(bucket, key, Conditions())
        if plan.body is not None:
            return plan.body
        return self.objects.read_range(plan, plan.start, plan.length)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        deleted, after = 0, ""
        while True:
            listing = list_objects(self.objects.repo, bucket, prefix, "", after, _DELETE_BATCH)
            keys = [o.key for o in listing.objects]
            if keys:
                self.objects.delete_many(bucket, keys)
                deleted += len(keys)
            if not listing.is_truncated or not keys:
                return deleted
            after = listing.last

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.buckets.get(bucket)
        except NoSuchBucket:
            return False
        return True


def _run(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if getattr(threadlocals, "current_token", None) is not None:
        anyio.from_thread.run(fn)  # a worker thread of the server's event loop
    else:
        anyio.run(fn)  # no event loop around (CLI, tests)
