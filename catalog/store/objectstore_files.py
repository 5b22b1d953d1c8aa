"""``MetadataFiles`` over the object store's service layer, in process (never over HTTP).

The catalog's service is synchronous and runs in worker threads, so are these calls (blocking I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from objectstore.service.buckets import BucketService
from objectstore.service.conditions import Conditions
from objectstore.service.errors import NoSuchBucket
from objectstore.service.model import WriteOptions
from objectstore.service.names import key_identity
from objectstore.service.objects import ObjectService, object_values
from objectstore.service.space import raise_if_out_of_space
from objectstore.store.blobs import BlobWriter

_DELETE_BATCH = 1000


class ObjectStoreFiles:
    def __init__(self, objects: ObjectService, buckets: BucketService) -> None:
        self.objects = objects
        self.buckets = buckets

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """A whole small object, synchronously: the blob is made durable, then the row points at it."""
        self.write_then(bucket, [(key, data, content_type)], None)

    def write_then(
        self,
        bucket: str,
        files: Sequence[tuple[str, bytes, str]],
        then: Callable[[Connection], None] | None,
    ) -> None:
        """Whole small objects (key, bytes, content type), synchronously: each blob is made durable (or, if
        small, kept inline in the database), then one write transaction stores the inline blobs, points the rows
        at them and runs ``then`` (the catalog's pointer move), so a commit of small files costs one database
        commit (one fsync), and a ``then`` that raises leaves no object behind.

        Mirrors ``ObjectService.put_object`` for bodies already in memory, without the event-loop round trips
        (they cost ~10 ms per metadata file); switch to the object service's own synchronous put once it has one.
        """
        self.objects.ensure_room(sum(len(data) for _, data, _ in files))
        writers: list[BlobWriter] = []
        try:
            bucket_row = self.objects.repo.get_bucket(bucket)
            rows = []
            for key, data, content_type in files:
                options, root = self.objects.placed(WriteOptions(content_type=content_type), bucket_row)
                writer = self.objects.new_writer(root=root)
                writers.append(writer)
                writer.write(data)
                # on the default root, a small file lives in the database: its commit is the only fsync
                if not (root == "" and writer.keep_inline()):
                    writer.finish()
                rows.append(
                    object_values(
                        self.objects.atrest,
                        bucket,
                        key,
                        key_identity(key),
                        options,
                        len(data),
                        hashlib.md5(data).hexdigest(),  # noqa: S324 - the S3 ETag is defined as MD5
                        blob_id=writer.blob_id,
                        blob_key=writer.blob_key,
                    )
                )
            with self.objects.repo.db.write() as conn:
                for writer in writers:
                    if writer.inline is not None:
                        self.objects.repo.inline.put_in(conn, writer.blob_id, writer.inline)
                for values in rows:
                    if not self.objects.repo.put_object_in(conn, values, None, create_bucket=False):
                        raise NoSuchBucket(BucketName=bucket)
                if then is not None:
                    then(conn)
        except BaseException as exc:
            for writer in writers:
                writer.abort()
            raise_if_out_of_space(exc)
            raise
        for writer in writers:
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
