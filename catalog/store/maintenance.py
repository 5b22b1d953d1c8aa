"""Table maintenance in the database: configurations (per warehouse, and per table overriding it) and the
record of every maintenance run.

A configuration row with ``namespace == name == ''`` is the warehouse's; ``config`` holds only the sections that
were set (``{"compaction": {...}, "snapshot_expiration": {...}}``), so a table inherits what it does not set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Index, Text, delete, insert, select, update
from sqlmodel import Field, SQLModel

from infra.db import Database, OrderedText


class MaintenanceConfigRow(SQLModel, table=True):
    __tablename__ = "catalog_maintenance_config"

    warehouse: str = Field(sa_column=Column(OrderedText, primary_key=True))
    namespace: str = Field(sa_column=Column(OrderedText, primary_key=True))  # '' for the warehouse's
    name: str = Field(sa_column=Column(OrderedText, primary_key=True))
    config: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    updated_at: float


class MaintenanceRunRow(SQLModel, table=True):
    __tablename__ = "catalog_maintenance_run"
    __table_args__ = (Index("ix_catalog_maintenance_run_table", "warehouse", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse: str = Field(sa_column=Column(OrderedText, nullable=False))
    namespace: str = Field(sa_column=Column(OrderedText, nullable=False))
    name: str = Field(sa_column=Column(OrderedText, nullable=False))
    kind: str = Field(max_length=32)
    started_at: float
    finished_at: float | None = None
    files_before: int = 0
    bytes_before: int = 0
    files_after: int = 0
    bytes_after: int = 0
    outcome: str = Field(default="running", max_length=32)  # running | succeeded | failed | skipped
    detail: str | None = Field(default=None, sa_column=Column(Text))


_CONFIG = MaintenanceConfigRow.__table__  # type: ignore[attr-defined]
_RUN = MaintenanceRunRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class MaintenanceRun:
    id: int
    warehouse: str
    namespace: str
    name: str
    kind: str
    started_at: float
    finished_at: float | None
    files_before: int
    bytes_before: int
    files_after: int
    bytes_after: int
    outcome: str
    detail: str | None


class MaintenanceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- configurations
    def get_config(self, warehouse: str, namespace: str = "", name: str = "") -> dict[str, Any]:
        with self.db.read(snapshot=False) as conn:
            row = conn.execute(
                select(_CONFIG.c.config).where(
                    _CONFIG.c.warehouse == warehouse, _CONFIG.c.namespace == namespace, _CONFIG.c.name == name
                )
            ).first()
        return {} if row is None else dict(json.loads(row[0]))

    def merge_config(
        self, warehouse: str, namespace: str, name: str, sections: dict[str, Any], now: float
    ) -> dict[str, Any]:
        """Replaces the given sections (others are kept), in one transaction; returns the stored config."""
        where = (_CONFIG.c.warehouse == warehouse, _CONFIG.c.namespace == namespace, _CONFIG.c.name == name)
        with self.db.write() as conn:
            row = conn.execute(select(_CONFIG.c.config).where(*where)).first()
            merged = {**(json.loads(row[0]) if row else {}), **sections}
            encoded = json.dumps(merged, sort_keys=True)
            if row is None:
                conn.execute(
                    insert(_CONFIG).values(
                        warehouse=warehouse, namespace=namespace, name=name, config=encoded, updated_at=now
                    )
                )
            else:
                conn.execute(update(_CONFIG).where(*where).values(config=encoded, updated_at=now))
        return merged

    def configured(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """Every configuration (warehouse, namespace, name, config)."""
        with self.db.read(snapshot=False) as conn:
            rows = conn.execute(
                select(_CONFIG.c.warehouse, _CONFIG.c.namespace, _CONFIG.c.name, _CONFIG.c.config)
            )
            return [(w, ns, n, dict(json.loads(c))) for w, ns, n, c in rows]

    def drop_configs(self, warehouse: str, namespace: str, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                delete(_CONFIG).where(
                    _CONFIG.c.warehouse == warehouse, _CONFIG.c.namespace == namespace, _CONFIG.c.name == name
                )
            )

    def tables_of(self, warehouse: str) -> list[tuple[str, str]]:
        """(namespace, name) of every table of the warehouse."""
        from catalog.store.models import EntityRow

        entity = EntityRow.__table__  # type: ignore[attr-defined]
        query = select(entity.c.namespace, entity.c.name).where(
            entity.c.warehouse == warehouse, entity.c.kind == "table"
        )
        with self.db.read(snapshot=False) as conn:
            return [(ns, name) for ns, name in conn.execute(query)]

    # -- runs
    def start_run(self, warehouse: str, namespace: str, name: str, kind: str, now: float) -> int:
        with self.db.write() as conn:
            result = conn.execute(
                insert(_RUN).values(
                    warehouse=warehouse,
                    namespace=namespace,
                    name=name,
                    kind=kind,
                    started_at=now,
                    outcome="running",
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, now: float, outcome: str, detail: str | None, **counts: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(_RUN)
                .where(_RUN.c.id == run_id)
                .values(finished_at=now, outcome=outcome, detail=detail, **counts)
            )

    def runs(self, warehouse: str, limit: int = 100) -> list[MaintenanceRun]:
        query = (
            select(_RUN).where(_RUN.c.warehouse == warehouse).order_by(_RUN.c.id.desc()).limit(max(1, limit))
        )
        with self.db.read(snapshot=False) as conn:
            return [MaintenanceRun(**dict(r._mapping)) for r in conn.execute(query)]
