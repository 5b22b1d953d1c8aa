"""Moving an object to the Infrequent Access tier in place (lifecycle transitions).

The object keeps its key, ETag, metadata and Last-Modified; only its storage class and where its bytes live
change. Crash-safe as every write: new blobs are made durable in the tier's ``incoming/`` (hard links where the
tier shares a file system with the object's blobs, copies of the stored bytes where it does not), then one
transaction points the row (and a multipart object's parts) at them and makes the old blobs garbage, then they are
published. A crash before the commit leaves new files that no row names, which recovery deletes; after it, files a
row names, which recovery publishes. Encrypted blobs are moved as stored (their keys depend on the salt the row
records, not on where the file is), so no key is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from objectstore.service.names import key_identity
from objectstore.service.placement import INFREQUENT_ACCESS, blob_root, bucket_location
from objectstore.store.blobs import BlobWriter

if TYPE_CHECKING:
    from objectstore.service.objects import ObjectService

log = logging.getLogger("lakebox.tiers")


def transition_to_infrequent_access(
    objects: ObjectService,
    bucket: str,
    raw_key: str,
    *,
    etag: str | None = None,
    last_modified: float | None = None,
    also: Callable[[Connection], None] | None = None,
) -> bool:
    """Moves one object to Infrequent Access (blocking). True when it moved; False (nothing changed) when there
    is no such object, it already is Infrequent Access (R2 never transitions back), or it is no longer the
    version the caller saw (``etag`` and ``last_modified``, when given). ``also`` runs in the transaction that
    switches the object (the lifecycle job counts the transition there)."""
    key = key_identity(raw_key)
    _brow, row = objects.repo.get_object(bucket, key)
    if row is None or row.storage_class == INFREQUENT_ACCESS:
        return False
    if (etag is not None and row.etag != etag) or (
        last_modified is not None and row.last_modified != last_modified
    ):
        return False
    root = blob_root(bucket_location(objects.repo.get_bucket(bucket)), INFREQUENT_ACCESS)
    if row.upload_id:
        part_rows = objects.repo.object_parts(row.upload_id)
        if len(part_rows) != row.parts_count:
            return False  # replaced since we looked
        sources = [(r.part_number, r.blob_id, r.blob_key) for r in part_rows]
    else:
        sources = [(0, row.blob_id or "", row.blob_key)]
    if row.sse_key_check is not None and any(blob_key is None for _n, _b, blob_key in sources):
        # SSE-C written without encryption at rest (older lakebox): its key is bound to the blob id.
        log.warning(
            "%s/%s: an SSE-C object of an older lakebox cannot change tier without its key", bucket, key
        )
        return False
    writers: list[BlobWriter] = []
    try:
        for _number, blob_id, _blob_key in sources:
            writers.append(objects.blobs.link(blob_id, root))
        moved = {number: w.blob_id for (number, _b, _k), w in zip(sources, writers, strict=True)}
        switched = objects.repo.switch_blobs(row, moved, INFREQUENT_ACCESS, also)
    except FileNotFoundError:
        _abort(writers)
        return False  # replaced or deleted while we linked
    except BaseException:
        _abort(writers)
        raise
    if not switched:
        _abort(writers)
        return False
    for writer in writers:
        try:
            objects.blobs.publish(writer.blob_id)
        except OSError:  # committed and durable under incoming/, where readers and recovery find it
            log.exception("could not move blob %s into place", writer.blob_id)
    return True


def _abort(writers: list[BlobWriter]) -> None:
    for writer in writers:
        writer.abort()
