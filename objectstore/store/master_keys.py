"""The master keys that have sealed data (by id and check value), and what still references each."""

from __future__ import annotations

import time

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from infra.db import Database
from objectstore.store.tables import MasterKeyRow, MultipartUploadRow, ObjectRow, UploadPartRow

master_keys = MasterKeyRow.__table__  # type: ignore[attr-defined]
_objects = ObjectRow.__table__  # type: ignore[attr-defined]
_uploads = MultipartUploadRow.__table__  # type: ignore[attr-defined]
_parts = UploadPartRow.__table__  # type: ignore[attr-defined]


class MasterKeyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def registered(self) -> dict[str, str]:
        """key id -> check value of every master key that has sealed data."""
        with self.db.read() as conn:
            return {r.key_id: r.check_value for r in conn.execute(select(master_keys))}

    def register(self, key_id: str, check_value: str) -> None:
        """Records a key before anything is sealed under it (idempotent; safe when nodes race)."""
        try:
            with self.db.write() as conn:
                if conn.execute(select(master_keys.c.key_id).where(master_keys.c.key_id == key_id)).first():
                    return
                conn.execute(
                    insert(master_keys).values(key_id=key_id, check_value=check_value, created_at=time.time())
                )
        except IntegrityError:
            pass  # another node registered it first

    def references(self, key_id: str) -> int:
        """Rows whose blob or metadata is sealed under ``key_id`` (a full scan: for the key commands only)."""
        blob_prefix, meta_prefix = f"{key_id}:%", f"lbx1:{key_id}:%"
        with self.db.read() as conn:
            counts = [
                conn.execute(
                    select(func.count()).where(
                        or_(_objects.c.blob_key.like(blob_prefix), _objects.c.sealed_meta.like(meta_prefix))
                    )
                ).scalar_one(),
                conn.execute(select(func.count()).where(_parts.c.blob_key.like(blob_prefix))).scalar_one(),
                conn.execute(select(func.count()).where(_uploads.c.headers.like(meta_prefix))).scalar_one(),
            ]
        return int(sum(counts))

    def forget(self, key_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(master_keys).where(master_keys.c.key_id == key_id))
