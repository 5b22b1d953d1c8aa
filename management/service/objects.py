"""Object bytes through the Cloudflare API (``wrangler r2 object put/get/delete``), over the object store's
service: the same keys, durability and conditional machinery as the S3 API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import anyio.to_thread

from management.service.errors import InvalidRequest
from objectstore.service.conditions import Conditions
from objectstore.service.model import PutIntegrity, PutResult, ReadPlan, WriteOptions
from objectstore.service.objects import ObjectService

_OBJECT_STORAGE_CLASSES = {"Standard": "STANDARD", "InfrequentAccess": "STANDARD_IA"}


@dataclass(frozen=True, slots=True)
class ObjectDownload:
    plan: ReadPlan
    body: AsyncIterator[bytes | bytearray]


class R2Objects:
    def __init__(self, objects: ObjectService) -> None:
        self.objects = objects

    async def put(
        self, bucket: str, key: str, headers: Mapping[str, str], body: AsyncIterator[bytes]
    ) -> PutResult:
        """Stores the body; the HTTP headers wrangler forwards (content type, encoding, ...) become the
        object's, ``cf-r2-storage-class`` its storage class."""
        klass = headers.get("cf-r2-storage-class", "Standard")
        if klass not in _OBJECT_STORAGE_CLASSES:
            raise InvalidRequest(f"Invalid storage class: {klass!r} (expected Standard or InfrequentAccess)")
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            raise InvalidRequest("Invalid Content-Length")
        options = WriteOptions(
            content_type=headers.get("content-type"),
            content_encoding=headers.get("content-encoding"),
            content_disposition=headers.get("content-disposition"),
            content_language=headers.get("content-language"),
            cache_control=headers.get("cache-control"),
            expires=headers.get("expires"),
            storage_class=_OBJECT_STORAGE_CLASSES[klass],
        )
        integrity = PutIntegrity(content_length=int(length) if length is not None else None)
        return await self.objects.put_object(bucket, key, body, options, integrity, Conditions())

    async def get(self, bucket: str, key: str) -> ObjectDownload:
        plan = await anyio.to_thread.run_sync(self.objects.plan_read, bucket, key, Conditions())
        return ObjectDownload(plan, self.objects.stream(plan))

    async def delete(self, bucket: str, key: str) -> None:
        await anyio.to_thread.run_sync(self.objects.delete, bucket, key)
