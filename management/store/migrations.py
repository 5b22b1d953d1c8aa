"""Tables of migrations (R2's Super Slurper): what to copy from where, and the objects that failed to copy.

The progress of a running migration (counters and the last key done) lives on its ``migration`` job
(``infra.jobs``), saved together as its checkpoint, so counts and position never disagree after a takeover.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary, Text, delete, func, insert, select, update
from sqlmodel import Field, SQLModel

from infra.db import Database

QUEUED, RUNNING, COMPLETED, FAILED, ABORTED = "queued", "running", "completed", "failed", "aborted"
ENDED = (COMPLETED, FAILED, ABORTED)


class MigrationRow(SQLModel, table=True):
    __tablename__ = "mgmt_migration"

    id: str = Field(primary_key=True, max_length=32)
    bucket: str = Field(max_length=64)  # the destination, a lakebox bucket
    source_endpoint: str = Field(max_length=1024)
    source_region: str = Field(max_length=64)
    source_bucket: str = Field(max_length=256)
    source_prefix: str = Field(default="", max_length=1024)
    source_access_key_id: str = Field(max_length=256)
    source_secret_enc: bytes = Field(sa_type=LargeBinary)  # sealed with the SecretBox, context = the id
    overwrite: bool = True
    state: str = Field(default=QUEUED, max_length=16)
    error: str | None = Field(default=None, sa_type=Text)  # why a failed migration stopped
    created_by: str = Field(default="", max_length=64)
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None


class MigrationFailureRow(SQLModel, table=True):
    __tablename__ = "mgmt_migration_failure"

    migration_id: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=1024)
    error: str = Field(sa_type=Text)
    at: float


_migrations = MigrationRow.__table__  # type: ignore[attr-defined]
_failures = MigrationFailureRow.__table__  # type: ignore[attr-defined]


class MigrationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, values: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(insert(_migrations).values(**values))

    def get(self, migration_id: str) -> Any:
        with self.db.read(snapshot=False) as conn:
            return conn.execute(select(_migrations).where(_migrations.c.id == migration_id)).first()

    def all(self) -> list[Any]:
        with self.db.read(snapshot=False) as conn:
            query = select(_migrations).order_by(_migrations.c.created_at.desc(), _migrations.c.id)
            return list(conn.execute(query))

    def state(self, migration_id: str) -> str | None:
        with self.db.read(snapshot=False) as conn:
            found = conn.execute(select(_migrations.c.state).where(_migrations.c.id == migration_id)).first()
        return None if found is None else str(found[0])

    def move(self, migration_id: str, to: str, *, only_from: tuple[str, ...], **values: Any) -> bool:
        """Sets the state (and ``values``) if the migration is in one of ``only_from``: the one compare-and-set
        that decides between an abort and the job's own transitions."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(_migrations)
                .where(_migrations.c.id == migration_id, _migrations.c.state.in_(only_from))
                .values(state=to, **values)
            ).rowcount
        return bool(changed == 1)

    def record_failure(self, migration_id: str, key: str, error: str, at: float) -> None:
        """One row per key: a key that fails again (a resumed batch) replaces its earlier error."""
        with self.db.write() as conn:
            conn.execute(
                delete(_failures).where(_failures.c.migration_id == migration_id, _failures.c.key == key)
            )
            conn.execute(insert(_failures).values(migration_id=migration_id, key=key, error=error, at=at))

    def clear_failure(self, migration_id: str, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                delete(_failures).where(_failures.c.migration_id == migration_id, _failures.c.key == key)
            )

    def failures(self, migration_id: str, limit: int = 1000) -> list[Any]:
        with self.db.read(snapshot=False) as conn:
            query = (
                select(_failures.c.key, _failures.c.error)
                .where(_failures.c.migration_id == migration_id)
                .order_by(_failures.c.key)
                .limit(limit)
            )
            return list(conn.execute(query))

    def failure_count(self, migration_id: str) -> int:
        with self.db.read(snapshot=False) as conn:
            query = (
                select(func.count()).select_from(_failures).where(_failures.c.migration_id == migration_id)
            )
            return int(conn.execute(query).scalar_one())
