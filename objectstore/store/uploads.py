"""Multipart uploads in the database: the upload registry, its parts, and completion into an object row.

Completion never copies data: the object's row names the upload (``upload_id``), the parts it uses get their
offsets in the object, and every part left out becomes garbage, all in the transaction that makes the object
visible. Each method is one transaction; the ones a read decides run in a write transaction with the rows locked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from infra.db import Database
from objectstore.store.inline import InlineBlobStore
from objectstore.store.repo import (
    ObjectCheck,
    ObjectRepository,
    buckets,
    garbage,
    objects,
    parts,
    prefix_end,
    uploads,
)

# Given the upload row and its parts by number (inside the completion transaction), returns the object's row
# values and the (part number, offset) of each part the object uses; raises to refuse the completion.
CompletionPlan = Callable[[Row[Any], dict[int, Row[Any]]], tuple[dict[str, Any], list[tuple[int, int]]]]


class UploadRepository:
    def __init__(self, db: Database, objects_repo: ObjectRepository) -> None:
        self.db = db
        self.objects = objects_repo

    def create_upload(self, values: dict[str, Any], *, create_bucket: bool = False) -> bool:
        """Registers a new upload; False if the bucket does not exist (and ``create_bucket`` is off)."""
        with self.db.write() as conn:
            if conn.execute(select(buckets.c.name).where(buckets.c.name == values["bucket"])).first() is None:
                if not create_bucket:
                    return False
                conn.execute(insert(buckets).values(name=values["bucket"], created_at=time.time()))
            conn.execute(insert(uploads).values(**values))
            return True

    def get_upload(self, upload_id: str, conn: Connection | None = None) -> Row[Any] | None:
        query = select(uploads).where(uploads.c.upload_id == upload_id)
        if conn is not None:
            return conn.execute(query).first()
        with self.db.read() as c:
            return c.execute(query).first()

    def put_part(self, upload_id: str, values: dict[str, Any], inline: bytes | None = None) -> bool:
        """Records an uploaded part, replacing (and discarding) one with the same number; False if the upload
        is gone (completed, aborted or never created). ``inline``: the stored bytes of the part's blob, an
        inline one (objectstore.store.inline), written in the same transaction."""
        with self.db.write() as conn:
            if self._locked_upload(conn, upload_id) is None:
                return False
            if inline is not None:
                InlineBlobStore.put_in(conn, values["blob_id"], inline)
            number = values["part_number"]
            old = conn.execute(
                select(parts.c.blob_id).where(
                    and_(parts.c.upload_id == upload_id, parts.c.part_number == number)
                )
            ).first()
            if old is not None:
                conn.execute(insert(garbage).values(blob_id=old.blob_id, created_at=time.time()))
                conn.execute(
                    update(parts)
                    .where(and_(parts.c.upload_id == upload_id, parts.c.part_number == number))
                    .values(**values)
                )
            else:
                conn.execute(insert(parts).values(upload_id=upload_id, **values))
            return True

    def list_parts(self, upload_id: str, after: int, limit: int) -> list[Row[Any]]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(parts)
                    .where(and_(parts.c.upload_id == upload_id, parts.c.part_number > after))
                    .order_by(parts.c.part_number)
                    .limit(limit)
                ).all()
            )

    def list_uploads(
        self,
        bucket: str,
        prefix: str,
        key_marker: str,
        upload_id_marker: str,
        limit: int,
        inclusive: bool = False,
    ) -> list[Row[Any]]:
        """Uploads in (key, upload id) order after the markers; ``inclusive`` starts at ``key_marker`` itself."""
        conds = [uploads.c.bucket == bucket]
        if prefix:
            conds.append(uploads.c.key >= prefix)
            end = prefix_end(prefix)
            if end is not None:
                conds.append(uploads.c.key < end)
        if inclusive:
            conds.append(uploads.c.key >= key_marker)
        elif key_marker and upload_id_marker:
            conds.append(
                or_(
                    uploads.c.key > key_marker,
                    and_(uploads.c.key == key_marker, uploads.c.upload_id > upload_id_marker),
                )
            )
        elif key_marker:
            conds.append(uploads.c.key > key_marker)
        query = select(uploads).where(and_(*conds)).order_by(uploads.c.key, uploads.c.upload_id).limit(limit)
        with self.db.read() as conn:
            return list(conn.execute(query).all())

    def abort_upload(self, upload_id: str) -> bool:
        """Forgets the upload and discards its parts; False if there was no such upload."""
        with self.db.write() as conn:
            if self._locked_upload(conn, upload_id) is None:
                return False
            self._drop_upload(conn, upload_id, keep=())
            return True

    def complete_upload(
        self, upload_id: str, plan: CompletionPlan, check: ObjectCheck | None
    ) -> Row[Any] | None:
        """Makes the upload the object at its key. Returns the upload row, or None if the upload is gone.

        ``plan`` validates the parts (raising leaves the upload as it was). A failed ``check`` (conditional
        completion) aborts the upload, as R2 does, and then raises.
        """
        failure: Exception | None = None
        with self.db.write() as conn:
            upload = self._locked_upload(conn, upload_id)
            if upload is None:
                return None
            by_number = {
                r.part_number: r for r in conn.execute(select(parts).where(parts.c.upload_id == upload_id))
            }
            values, used = plan(upload, by_number)
            current = self.objects.locked_object(conn, upload.bucket, upload.key)
            if check is not None:
                try:
                    check(current)
                except Exception as exc:  # the condition failed: the upload is gone, as on R2
                    failure = exc
            if failure is not None:
                self._drop_upload(conn, upload_id, keep=())
            else:
                if current is not None:
                    self.objects.guard_in(conn, current)  # refused: the upload stays, to complete later
                    self.objects.discard(conn, current)
                    conn.execute(
                        update(objects)
                        .where(and_(objects.c.bucket == upload.bucket, objects.c.key == upload.key))
                        .values(**{"ia_since": None, **values})  # a new version enters IA when written
                    )
                else:
                    conn.execute(insert(objects).values(**values))
                for number, offset in used:
                    conn.execute(
                        update(parts)
                        .where(and_(parts.c.upload_id == upload_id, parts.c.part_number == number))
                        .values(offset=offset)
                    )
                self._drop_upload(conn, upload_id, keep={n for n, _ in used})
        if failure is not None:
            raise failure
        return upload

    def _locked_upload(self, conn: Connection, upload_id: str) -> Row[Any] | None:
        query = select(uploads).where(uploads.c.upload_id == upload_id)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        return conn.execute(query).first()

    def _drop_upload(self, conn: Connection, upload_id: str, keep: Sequence[int] | set[int]) -> None:
        """Deletes the upload row and every part not in ``keep`` (their blobs become garbage)."""
        now = time.time()
        dropped = [
            r
            for r in conn.execute(
                select(parts.c.part_number, parts.c.blob_id).where(parts.c.upload_id == upload_id)
            )
            if r.part_number not in keep
        ]
        if dropped:
            conn.execute(insert(garbage), [{"blob_id": r.blob_id, "created_at": now} for r in dropped])
            numbers = [r.part_number for r in dropped]
            for i in range(0, len(numbers), 500):
                conn.execute(
                    delete(parts).where(
                        and_(parts.c.upload_id == upload_id, parts.c.part_number.in_(numbers[i : i + 500]))
                    )
                )
        conn.execute(delete(uploads).where(uploads.c.upload_id == upload_id))
