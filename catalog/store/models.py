"""Tables of the catalog: warehouses, namespaces, tables and views, idempotency keys.

A namespace's name is its levels joined with 0x1F (the spec's separator); ``parent`` is the name of the level
above ('' for a top-level namespace). Tables and views share one identifier space (``catalog_entity``,
``kind``), as Iceberg requires; ``metadata_location`` is the pointer moved by compare-and-set,
``metadata_json`` the document it points to (kept beside the pointer so a load is one indexed read),
``version`` counts the moves."""

from __future__ import annotations

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from infra.db import OrderedText


class WarehouseRow(SQLModel, table=True):
    __tablename__ = "catalog_warehouse"

    bucket: str = Field(sa_column=Column(OrderedText, primary_key=True))
    warehouse_id: str = Field(max_length=64)
    enabled: bool = True
    created_at: float
    updated_at: float


class NamespaceRow(SQLModel, table=True):
    __tablename__ = "catalog_namespace"
    __table_args__ = (
        UniqueConstraint("warehouse", "name", name="uq_catalog_namespace_name"),
        Index("ix_catalog_namespace_parent", "warehouse", "parent", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    warehouse: str = Field(sa_column=Column(OrderedText, nullable=False))
    name: str = Field(sa_column=Column(OrderedText, nullable=False))
    parent: str = Field(sa_column=Column(OrderedText, nullable=False))
    properties: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: float


class EntityRow(SQLModel, table=True):
    __tablename__ = "catalog_entity"
    __table_args__ = (UniqueConstraint("warehouse", "namespace", "name", name="uq_catalog_entity_ident"),)

    id: str = Field(primary_key=True, max_length=64)
    warehouse: str = Field(sa_column=Column(OrderedText, nullable=False))
    namespace: str = Field(sa_column=Column(OrderedText, nullable=False))
    name: str = Field(sa_column=Column(OrderedText, nullable=False))
    kind: str = Field(max_length=8)  # "table" | "view"
    location: str = Field(sa_column=Column(Text, nullable=False))
    metadata_location: str = Field(sa_column=Column(Text, nullable=False))
    metadata_json: str = Field(sa_column=Column(Text, nullable=False))
    version: int = 0
    created_at: float
    updated_at: float


class IdempotencyRow(SQLModel, table=True):
    __tablename__ = "catalog_idempotency"
    __table_args__ = (Index("ix_catalog_idempotency_expires", "expires_at"),)

    key: str = Field(primary_key=True, max_length=64)
    warehouse: str = Field(sa_column=Column(OrderedText, nullable=False))
    operation: str = Field(max_length=128)
    status_code: int
    response_body: str = Field(sa_column=Column(Text, nullable=False))
    response_headers: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: float
    expires_at: float
