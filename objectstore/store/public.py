"""Public (r2.dev-style) access to buckets: the switch is ``s3_bucket.public_access``; the opaque id that
addresses the bucket anonymously lives here, tied to one incarnation of the bucket (its ``created_at``), so a
bucket deleted and created again under the same name never inherits the old public address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from infra.db import Database, OrderedText
from objectstore.store.tables import BucketRow

_buckets = BucketRow.__table__  # type: ignore[attr-defined]


class PublicBucketRow(SQLModel, table=True):
    __tablename__ = "s3_public_bucket"
    __table_args__ = (Index("ix_s3_public_bucket_public_id", "public_id", unique=True),)

    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))
    bucket_created_at: float
    public_id: str = Field(max_length=64)


_public = PublicBucketRow.__table__  # type: ignore[attr-defined]
_BY_PUBLIC_ID = (
    select(_buckets.c.name)
    .join(
        _public,
        (_public.c.bucket == _buckets.c.name) & (_public.c.bucket_created_at == _buckets.c.created_at),
    )
    .where(_public.c.public_id == bindparam("public_id"), _buckets.c.public_access.is_(True))
)
_STATE = (
    select(_buckets.c.created_at, _buckets.c.public_access, _public.c.public_id, _public.c.bucket_created_at)
    .select_from(_buckets.outerjoin(_public, _public.c.bucket == _buckets.c.name))
    .where(_buckets.c.name == bindparam("bucket"))
)


class PublicBucketRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def bucket_for(self, public_id: str) -> str | None:
        """The bucket an enabled public id serves (None when unknown or disabled)."""
        with self.db.read(snapshot=False) as conn:
            name = conn.execute(_BY_PUBLIC_ID, {"public_id": public_id}).scalar_one_or_none()
        return None if name is None else str(name)

    def state(self, bucket: str) -> tuple[bool, str | None] | None:
        """(enabled, public id of this incarnation of the bucket), or None when there is no such bucket."""
        with self.db.read(snapshot=False) as conn:
            row = conn.execute(_STATE, {"bucket": bucket}).first()
        return None if row is None else (bool(row.public_access), _current_id(row))

    def set(self, bucket: str, enabled: bool, new_id: str) -> tuple[bool, str | None] | None:
        """Switches public access in one transaction, giving the bucket ``new_id`` if it has no id yet."""
        with self.db.write() as conn:
            row = conn.execute(_STATE, {"bucket": bucket}).first()
            if row is None:
                return None
            public_id = _current_id(row)
            if public_id is None:
                public_id = new_id
                values = {"bucket": bucket, "bucket_created_at": row.created_at, "public_id": public_id}
                conn.execute(_upsert(conn.dialect.name, values))
            conn.execute(update(_buckets).where(_buckets.c.name == bucket).values(public_access=enabled))
        return enabled, public_id


def _current_id(row: Any) -> str | None:
    return (
        str(row.public_id) if row.public_id is not None and row.bucket_created_at == row.created_at else None
    )


def _upsert(dialect: str, values: dict[str, Any]) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_public).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=[_public.c.bucket],
        set_={"bucket_created_at": values["bucket_created_at"], "public_id": values["public_id"]},
    )
