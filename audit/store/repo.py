"""Appending, listing and pruning audit rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from audit.store.tables import AuditRow
from infra.db import Database

_log = AuditRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    actor: str
    api: str
    action: str
    target: str
    outcome: str
    status: int
    error_code: str = ""


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, entry: AuditEntry) -> None:
        """Commits the entry (durably: a write transaction, fsynced on SQLite)."""
        row = asdict(entry)
        row["action"], row["target"] = row["action"][:512], row["target"][:1024]
        with self.db.write() as conn:
            conn.execute(insert(_log).values(**row))

    def since(self, at: float, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Entries at or after ``at`` (oldest first), resuming after the row id ``after_id``."""
        stmt = select(_log).where(_log.c.at >= at, _log.c.id > after_id).order_by(_log.c.id).limit(limit)
        with self.db.read(snapshot=False) as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def prune(self, before: float) -> None:
        with self.db.write() as conn:
            conn.execute(delete(_log).where(_log.c.at < before))
