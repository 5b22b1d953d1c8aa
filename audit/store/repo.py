"""Appending, correcting, listing and pruning audit rows."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from audit.store.tables import AuditRow
from infra.db import Database

_log = AuditRow.__table__  # type: ignore[attr-defined]
_COLUMNS = ("at", "actor", "api", "action", "target", "outcome", "status", "error_code")
_INSERT = insert(_log).values({name: bindparam(name) for name in _COLUMNS})


class AuditEntry(NamedTuple):
    at: float
    actor: str
    api: str
    action: str
    target: str
    outcome: str
    status: int  # 0: not known when the entry was written (in the change's transaction, before the answer)
    error_code: str = ""


def _row(entry: AuditEntry) -> dict[str, Any]:
    row = entry._asdict()
    row["action"], row["target"] = entry.action[:512], entry.target[:1024]
    return row


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._insert = db.prepare(_INSERT)

    def append(self, entry: AuditEntry) -> None:
        """Commits the entry on its own (durably: a write transaction, fsynced on SQLite)."""
        with self.db.write() as conn:
            self._insert.insert(conn, _row(entry))

    def append_in(self, conn: Connection, entry: AuditEntry) -> int:
        """Writes the entry in ``conn``'s transaction (the change's own); its row id."""
        return self._insert.insert(conn, _row(entry))

    def correct(self, row_id: int, **values: Any) -> None:
        """Completes an entry written before the answer was known (its outcome, status, error code, target)."""
        if "target" in values:
            values["target"] = values["target"][:1024]
        with self.db.write() as conn:
            conn.execute(update(_log).where(_log.c.id == row_id).values(**values))

    def since(self, at: float, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Entries at or after ``at`` (oldest first), resuming after the row id ``after_id``."""
        stmt = select(_log).where(_log.c.at >= at, _log.c.id > after_id).order_by(_log.c.id).limit(limit)
        with self.db.read(snapshot=False) as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def prune(self, before: float) -> None:
        with self.db.write() as conn:
            conn.execute(delete(_log).where(_log.c.at < before))
