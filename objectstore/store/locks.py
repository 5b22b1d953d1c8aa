"""A bucket's lock rules (R2 "Bucket locks"), stored as the validated JSON rule list, tied to one incarnation of
the bucket (its ``created_at``) so that a bucket deleted and created again under the same name starts unlocked.

The writes that a lock can refuse read the rules inside their own write transaction (``RULES`` here, joined into
the object repository's bucket lookup), so a rule committed before a write starts is always seen by it.
"""

from __future__ import annotations

from sqlalchemy import Column, and_, bindparam, delete, insert, select, update
from sqlmodel import Field, SQLModel

from infra.db import Database, OrderedText
from objectstore.store.tables import BucketRow

_buckets = BucketRow.__table__  # type: ignore[attr-defined]


class RetentionRefusal(Exception):
    """What a lock guard raises (the service's error derives from it), so that a batch can refuse one key."""


class BucketLockRow(SQLModel, table=True):
    __tablename__ = "s3_bucket_lock"

    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))
    bucket_created_at: float
    rules: str  # JSON list of rules in the Cloudflare API's shape


locks = BucketLockRow.__table__  # type: ignore[attr-defined]

# The rules of the bucket's current incarnation (NULL: none); no row: no bucket.
BUCKET_AND_RULES = (
    select(_buckets.c.name, _buckets.c.created_at, locks.c.rules)
    .select_from(
        _buckets.outerjoin(
            locks, and_(locks.c.bucket == _buckets.c.name, locks.c.bucket_created_at == _buckets.c.created_at)
        )
    )
    .where(_buckets.c.name == bindparam("b_"))
)


class LockRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._rules = db.prepare(BUCKET_AND_RULES)

    def rules(self, bucket: str) -> tuple[bool, str | None]:
        """(the bucket exists, its rules JSON or None)."""
        row = self._rules.first({"b_": bucket})
        return (False, None) if row is None else (True, row.rules)

    def put(self, bucket: str, rules: str | None) -> bool:
        """Replaces the bucket's rules (None removes them); False if there is no such bucket."""
        with self.db.write() as conn:
            query = select(_buckets.c.created_at).where(_buckets.c.name == bucket)
            if not self.db.is_sqlite:
                query = query.with_for_update()
            created_at = conn.execute(query).scalar_one_or_none()
            if created_at is None:
                return False
            current = conn.execute(
                select(locks.c.bucket).where(locks.c.bucket == bucket).with_for_update()
                if not self.db.is_sqlite
                else select(locks.c.bucket).where(locks.c.bucket == bucket)
            ).first()
            if rules is None:
                conn.execute(delete(locks).where(locks.c.bucket == bucket))
            elif current is None:
                conn.execute(insert(locks).values(bucket=bucket, bucket_created_at=created_at, rules=rules))
            else:
                conn.execute(
                    update(locks)
                    .where(locks.c.bucket == bucket)
                    .values(bucket_created_at=created_at, rules=rules)
                )
            return True
