"""Custom domains (R2's ``domains/custom``): a hostname the public-bucket port serves a bucket at, by the request's
Host header. A name is unique across the installation; the row goes with its bucket (``delete_bucket``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from infra.db import Database, OrderedText
from objectstore.store.tables import BucketRow

_buckets = BucketRow.__table__  # type: ignore[attr-defined]


class CustomDomainRow(SQLModel, table=True):
    __tablename__ = "s3_custom_domain"
    __table_args__ = (Index("ix_s3_custom_domain_bucket", "bucket"),)

    domain: str = Field(sa_column=Column(OrderedText, primary_key=True))
    bucket: str = Field(sa_column=Column(OrderedText, nullable=False))
    enabled: bool = True
    min_tls: str = Field(max_length=8)
    zone_id: str = Field(default="", max_length=64)
    zone_name: str = Field(default="", max_length=253)
    created_at: float


domains = CustomDomainRow.__table__  # type: ignore[attr-defined]


def delete_bucket_domains(conn: Connection, bucket: str) -> None:
    """Inside ``delete_bucket``'s transaction: a deleted bucket keeps no domain."""
    conn.execute(delete(domains).where(domains.c.bucket == bucket))


class CustomDomainRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def bucket_for(self, domain: str) -> str | None:
        """The bucket an enabled domain serves (None when unknown or disabled)."""
        query = select(domains.c.bucket).where(domains.c.domain == domain, domains.c.enabled.is_(True))
        with self.db.read(snapshot=False) as conn:
            name = conn.execute(query).scalar_one_or_none()
        return None if name is None else str(name)

    def list(self, bucket: str) -> list[Any] | None:
        """The bucket's domains by name, or None when there is no such bucket."""
        with self.db.read(snapshot=False) as conn:
            if not _bucket_exists(conn, bucket):
                return None
            query = select(domains).where(domains.c.bucket == bucket).order_by(domains.c.domain)
            return list(conn.execute(query).all())

    def get(self, domain: str) -> Any | None:
        with self.db.read(snapshot=False) as conn:
            return conn.execute(select(domains).where(domains.c.domain == domain)).first()

    def add(self, row: dict[str, Any]) -> str:
        """Adds a domain: 'added', 'no-bucket', or 'taken' (with the bucket that holds it, if it is this one:
        'exists')."""
        try:
            with self.db.write() as conn:
                if not _bucket_exists(conn, row["bucket"], lock=not self.db.is_sqlite):
                    return "no-bucket"
                held = conn.execute(
                    select(domains.c.bucket).where(domains.c.domain == row["domain"])
                ).scalar_one_or_none()
                if held is not None:
                    return "exists" if held == row["bucket"] else "taken"
                conn.execute(insert(domains).values(**row))
                return "added"
        except IntegrityError:  # a concurrent add of the same name won
            return "taken"

    def update(self, bucket: str, domain: str, values: dict[str, Any]) -> bool:
        """Changes a domain of ``bucket``; False when the bucket has no such domain."""
        with self.db.write() as conn:
            stmt = (
                update(domains).where(domains.c.domain == domain, domains.c.bucket == bucket).values(**values)
            )
            return bool(conn.execute(stmt).rowcount)

    def remove(self, bucket: str, domain: str) -> bool:
        with self.db.write() as conn:
            stmt = delete(domains).where(domains.c.domain == domain, domains.c.bucket == bucket)
            return bool(conn.execute(stmt).rowcount)


def _bucket_exists(conn: Connection, bucket: str, *, lock: bool = False) -> bool:
    query = select(_buckets.c.name).where(_buckets.c.name == bucket)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first() is not None
