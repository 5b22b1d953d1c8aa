"""The catalog's metadata repository over ``infra.db.Database``.

Every invariant that spans requests is enforced inside one database transaction: a namespace is dropped only
if no table, view or child namespace is in it (checked in the same write transaction), and a table's pointer
moves only by ``UPDATE ... WHERE id = :id AND metadata_location = :expected`` (compare-and-set), all moves of
a multi-table commit in one transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, insert, not_, or_, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from catalog.errors import (
    AlreadyExists,
    BadRequest,
    CommitFailed,
    NamespaceNotEmpty,
    NoSuchNamespace,
)
from catalog.store.models import EntityRow, IdempotencyRow, NamespaceRow, WarehouseRow
from infra.db import Database

SEP = "\x1f"

_WAREHOUSE: Table = WarehouseRow.__table__  # type: ignore[attr-defined]
_NAMESPACE: Table = NamespaceRow.__table__  # type: ignore[attr-defined]
_ENTITY: Table = EntityRow.__table__  # type: ignore[attr-defined]
_IDEMPOTENCY: Table = IdempotencyRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Warehouse:
    bucket: str
    warehouse_id: str
    enabled: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str  # levels joined with 0x1F
    properties: dict[str, str]

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(self.name.split(SEP))


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    warehouse: str
    namespace: str
    name: str
    kind: str
    location: str
    metadata_location: str
    metadata_json: str
    version: int = 0


@dataclass(frozen=True, slots=True)
class PointerMove:
    """Move ``entity_id``'s pointer from ``expected`` to ``new_location`` (compare-and-set)."""

    entity_id: str
    expected: str
    new_location: str
    new_json: str
    new_location_root: str
    relocated: bool = False  # the table's location changes: it must not overlap another's


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str]
    operation: str


def parent_of(name: str) -> str:
    return name.rsplit(SEP, 1)[0] if SEP in name else ""


def _entity(row: RowMapping) -> Entity:
    return Entity(
        id=row["id"],
        warehouse=row["warehouse"],
        namespace=row["namespace"],
        name=row["name"],
        kind=row["kind"],
        location=row["location"],
        metadata_location=row["metadata_location"],
        metadata_json=row["metadata_json"],
        version=row["version"],
    )


class CatalogRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        # What every catalog request reads, compiled once (see Prepared): one autocommit statement each.
        self._warehouse = db.prepare(select(_WAREHOUSE).where(_WAREHOUSE.c.bucket == bindparam("b_")))
        self._entity = db.prepare(
            select(_ENTITY).where(
                _ENTITY.c.warehouse == bindparam("w_"),
                _ENTITY.c.namespace == bindparam("n_"),
                _ENTITY.c.name == bindparam("e_"),
            )
        )
        self._move_pointer = db.prepare(  # compare-and-set of a table's metadata location
            update(_ENTITY)
            .where(_ENTITY.c.id == bindparam("id_"), _ENTITY.c.metadata_location == bindparam("expected_"))
            .values(
                metadata_location=bindparam("location_"),
                metadata_json=bindparam("json_"),
                location=bindparam("root_"),
                version=_ENTITY.c.version + 1,
                updated_at=bindparam("now_"),
            )
        )

    # -- warehouses
    def get_warehouse(self, bucket: str) -> Warehouse | None:
        row = self._warehouse.first({"b_": bucket})
        if row is None:
            return None
        return Warehouse(row.bucket, row.warehouse_id, bool(row.enabled), row.created_at)

    def set_warehouse(self, bucket: str, *, enabled: bool, warehouse_id: str) -> Warehouse:
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(select(_WAREHOUSE).where(_WAREHOUSE.c.bucket == bucket)).mappings().first()
            if row is None:
                conn.execute(
                    insert(_WAREHOUSE).values(
                        bucket=bucket,
                        warehouse_id=warehouse_id,
                        enabled=enabled,
                        created_at=now,
                        updated_at=now,
                    )
                )
                return Warehouse(bucket, warehouse_id, enabled, now)
            conn.execute(
                update(_WAREHOUSE)
                .where(_WAREHOUSE.c.bucket == bucket)
                .values(enabled=enabled, updated_at=now)
            )
            return Warehouse(bucket, row["warehouse_id"], enabled, row["created_at"])

    # -- namespaces
    def create_namespace(self, warehouse: str, name: str, properties: dict[str, str]) -> Namespace:
        parent = parent_of(name)
        with self.db.write() as conn:
            if parent and self._namespace_row(conn, warehouse, parent) is None:
                raise NoSuchNamespace(f"Parent namespace does not exist: {_dotted(parent)}")
            if self._namespace_row(conn, warehouse, name) is not None:
                raise AlreadyExists(f"Namespace already exists: {_dotted(name)}")
            try:
                conn.execute(
                    insert(_NAMESPACE).values(
                        warehouse=warehouse,
                        name=name,
                        parent=parent,
                        properties=json.dumps(properties),
                        created_at=time.time(),
                    )
                )
            except IntegrityError as exc:
                raise AlreadyExists(f"Namespace already exists: {_dotted(name)}") from exc
        return Namespace(name, dict(properties))

    def get_namespace(self, warehouse: str, name: str) -> Namespace | None:
        with self.db.read() as conn:
            row = self._namespace_row(conn, warehouse, name)
        return None if row is None else Namespace(row["name"], json.loads(row["properties"]))

    def list_namespaces(self, warehouse: str, parent: str, after: str | None, limit: int | None) -> list[str]:
        q = select(_NAMESPACE.c.name).where(
            _NAMESPACE.c.warehouse == warehouse, _NAMESPACE.c.parent == parent
        )
        if after is not None:
            q = q.where(_NAMESPACE.c.name > after)
        q = q.order_by(_NAMESPACE.c.name)
        if limit is not None:
            q = q.limit(limit)
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(q)]

    def update_namespace_properties(
        self, warehouse: str, name: str, removals: Sequence[str], updates: dict[str, str]
    ) -> tuple[list[str], list[str], list[str]]:
        with self.db.write() as conn:
            row = self._namespace_row(conn, warehouse, name, for_update=True)
            if row is None:
                raise NoSuchNamespace(f"Namespace does not exist: {_dotted(name)}")
            props: dict[str, str] = json.loads(row["properties"])
            removed = [k for k in removals if k in props]
            missing = [k for k in removals if k not in props]
            for k in removed:
                del props[k]
            props.update(updates)
            conn.execute(
                update(_NAMESPACE).where(_NAMESPACE.c.id == row["id"]).values(properties=json.dumps(props))
            )
        return removed, list(updates), missing

    def drop_namespace(self, warehouse: str, name: str) -> None:
        with self.db.write() as conn:
            row = self._namespace_row(conn, warehouse, name, for_update=True)
            if row is None:
                raise NoSuchNamespace(f"Namespace does not exist: {_dotted(name)}")
            children = conn.execute(
                select(func.count())
                .select_from(_NAMESPACE)
                .where(_NAMESPACE.c.warehouse == warehouse, _NAMESPACE.c.parent == name)
            ).scalar_one()
            entities = conn.execute(
                select(func.count())
                .select_from(_ENTITY)
                .where(_ENTITY.c.warehouse == warehouse, _ENTITY.c.namespace == name)
            ).scalar_one()
            if children or entities:
                raise NamespaceNotEmpty(f"Namespace is not empty: {_dotted(name)}")
            conn.execute(delete(_NAMESPACE).where(_NAMESPACE.c.id == row["id"]))

    def _namespace_row(
        self, conn: Connection, warehouse: str, name: str, *, for_update: bool = False
    ) -> RowMapping | None:
        q = select(_NAMESPACE).where(_NAMESPACE.c.warehouse == warehouse, _NAMESPACE.c.name == name)
        if for_update and not self.db.is_sqlite:
            q = q.with_for_update()
        return conn.execute(q).mappings().first()

    # -- tables and views
    def get_entity(self, warehouse: str, namespace: str, name: str) -> Entity | None:
        row = self._entity.first({"w_": warehouse, "n_": namespace, "e_": name})
        if row is None:
            return None
        return Entity(
            row.id,
            row.warehouse,
            row.namespace,
            row.name,
            row.kind,
            row.location,
            row.metadata_location,
            row.metadata_json,
            row.version,
        )

    def list_entities(
        self, warehouse: str, namespace: str, kind: str, after: str | None, limit: int | None
    ) -> list[str] | None:
        """Names of the namespace's tables or views, or None when the namespace does not exist."""
        q = select(_ENTITY.c.name).where(
            _ENTITY.c.warehouse == warehouse, _ENTITY.c.namespace == namespace, _ENTITY.c.kind == kind
        )
        if after is not None:
            q = q.where(_ENTITY.c.name > after)
        q = q.order_by(_ENTITY.c.name)
        if limit is not None:
            q = q.limit(limit)
        with self.db.read() as conn:
            if self._namespace_row(conn, warehouse, namespace) is None:
                return None
            return [r[0] for r in conn.execute(q)]

    def overlapping_location(
        self, warehouse: str, location: str, exclude_id: str | None = None
    ) -> str | None:
        """The location of a table or view that contains ``location`` or lies inside it, if any."""
        with self.db.read() as conn:
            return self._overlapping(conn, warehouse, location, exclude_id)

    def live_locations(self, warehouse: str) -> list[str]:
        with self.db.read() as conn:
            return [
                r[0] for r in conn.execute(select(_ENTITY.c.location).where(_ENTITY.c.warehouse == warehouse))
            ]

    def _overlapping(
        self, conn: Connection, warehouse: str, location: str, exclude: Any = None
    ) -> str | None:
        """Equal to ``location``, one of its ancestors, or inside it; ``exclude`` is an id or a condition."""
        loc = location.rstrip("/")
        head, _, rest = loc.partition("://")
        parts = rest.split("/")
        ancestors = [f"{head}://{'/'.join(parts[:i])}" for i in range(1, len(parts) + 1)]
        inside = loc + "/"
        q = select(_ENTITY.c.location).where(
            _ENTITY.c.warehouse == warehouse,
            or_(
                _ENTITY.c.location.in_(ancestors + [a + "/" for a in ancestors]),
                func.substr(_ENTITY.c.location, 1, len(inside)) == inside,
            ),
        )
        if isinstance(exclude, str):
            q = q.where(_ENTITY.c.id != exclude)
        elif exclude is not None:
            q = q.where(not_(exclude))
        row = conn.execute(q.limit(1)).first()
        return None if row is None else str(row[0])

    def _claim_location(self, conn: Connection, warehouse: str, location: str, exclude: Any = None) -> None:
        """Refuses a location overlapping another live table's or view's, inside the write transaction (on
        PostgreSQL the warehouse row is locked first, so two concurrent claims are serialised)."""
        if not self.db.is_sqlite:
            conn.execute(
                select(_WAREHOUSE.c.bucket).where(_WAREHOUSE.c.bucket == warehouse).with_for_update()
            )
        taken = self._overlapping(conn, warehouse, location, exclude)
        if taken is not None:
            raise BadRequest(
                f"Location {location!r} overlaps the location of another table or view: {taken!r}"
            )

    def insert_entity(self, entity: Entity, *, replace: bool = False) -> Entity:
        """Creates a table or view; ``replace`` overwrites one of the same kind (register)."""
        with self.db.write() as conn:
            self._insert_entity(conn, entity, replace=replace)
        return entity

    def _insert_entity(self, conn: Connection, entity: Entity, *, replace: bool) -> None:
        if self._namespace_row(conn, entity.warehouse, entity.namespace) is None:
            raise NoSuchNamespace(f"Namespace does not exist: {_dotted(entity.namespace)}")
        ident = and_(
            _ENTITY.c.warehouse == entity.warehouse,
            _ENTITY.c.namespace == entity.namespace,
            _ENTITY.c.name == entity.name,
        )
        existing = conn.execute(select(_ENTITY.c.kind).where(ident)).first()
        if existing is not None and (not replace or existing[0] != entity.kind):
            raise AlreadyExists(f"{_kind_word(existing[0])} already exists: {_ident(entity)}")
        self._claim_location(conn, entity.warehouse, entity.location, ident if existing is not None else None)
        if existing is not None:
            conn.execute(delete(_ENTITY).where(ident))
        now = time.time()
        values: dict[str, Any] = {
            "id": entity.id,
            "warehouse": entity.warehouse,
            "namespace": entity.namespace,
            "name": entity.name,
            "kind": entity.kind,
            "location": entity.location,
            "metadata_location": entity.metadata_location,
            "metadata_json": entity.metadata_json,
            "version": entity.version,
            "created_at": now,
            "updated_at": now,
        }
        try:
            conn.execute(insert(_ENTITY).values(**values))
        except IntegrityError as exc:
            raise AlreadyExists(f"Table or view already exists: {_ident(entity)}") from exc

    def delete_entity(self, warehouse: str, namespace: str, name: str, kind: str) -> Entity | None:
        with self.db.write() as conn:
            row = (
                conn.execute(
                    select(_ENTITY).where(
                        _ENTITY.c.warehouse == warehouse,
                        _ENTITY.c.namespace == namespace,
                        _ENTITY.c.name == name,
                        _ENTITY.c.kind == kind,
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            conn.execute(delete(_ENTITY).where(_ENTITY.c.id == row["id"]))
        return _entity(row)

    def rename_entity(self, warehouse: str, kind: str, src: tuple[str, str], dst: tuple[str, str]) -> bool:
        """Renames; False when the source does not exist; NoSuchNamespace / AlreadyExists for the target."""
        with self.db.write() as conn:
            row = conn.execute(
                select(_ENTITY.c.id).where(
                    _ENTITY.c.warehouse == warehouse,
                    _ENTITY.c.namespace == src[0],
                    _ENTITY.c.name == src[1],
                    _ENTITY.c.kind == kind,
                )
            ).first()
            if row is None:
                return False
            if self._namespace_row(conn, warehouse, dst[0]) is None:
                raise NoSuchNamespace(f"Namespace does not exist: {_dotted(dst[0])}")
            taken = conn.execute(
                select(_ENTITY.c.kind).where(
                    _ENTITY.c.warehouse == warehouse, _ENTITY.c.namespace == dst[0], _ENTITY.c.name == dst[1]
                )
            ).first()
            if taken is not None:
                raise AlreadyExists(f"{_kind_word(taken[0])} already exists: {_dotted(dst[0])}.{dst[1]}")
            try:
                conn.execute(
                    update(_ENTITY)
                    .where(_ENTITY.c.id == row[0])
                    .values(namespace=dst[0], name=dst[1], updated_at=time.time())
                )
            except IntegrityError as exc:
                raise AlreadyExists(f"Already exists: {_dotted(dst[0])}.{dst[1]}") from exc
        return True

    def commit(
        self, moves: Sequence[PointerMove], creates: Sequence[Entity] = (), conn: Connection | None = None
    ) -> None:
        """Moves every pointer and creates every entity in one transaction, or nothing (CommitFailed); in the
        caller's write transaction ``conn`` when given (the one that stores the new metadata files)."""
        if conn is None:
            with self.db.write() as own:
                self._commit_in(own, moves, creates)
        else:
            self._commit_in(conn, moves, creates)

    def _commit_in(self, conn: Connection, moves: Sequence[PointerMove], creates: Sequence[Entity]) -> None:
        now = time.time()
        for move in moves:
            if move.relocated:
                self._claim_location(
                    conn, self._warehouse_of(conn, move.entity_id), move.new_location_root, move.entity_id
                )
            moved = self._move_pointer.execute(
                conn,
                {
                    "id_": move.entity_id,
                    "expected_": move.expected,
                    "location_": move.new_location,
                    "json_": move.new_json,
                    "root_": move.new_location_root,
                    "now_": now,
                },
            )
            if moved != 1:
                raise CommitFailed(
                    "Commit failed: the table was changed concurrently (its metadata location moved); "
                    "reload and retry"
                )
        for entity in creates:
            try:
                self._insert_entity(conn, entity, replace=False)
            except AlreadyExists as exc:
                raise CommitFailed(f"Commit failed: {exc.message}") from exc

    def _warehouse_of(self, conn: Connection, entity_id: str) -> str:
        row = conn.execute(select(_ENTITY.c.warehouse).where(_ENTITY.c.id == entity_id)).first()
        if row is None:
            raise CommitFailed("Commit failed: the table was dropped concurrently")
        return str(row[0])

    # -- idempotency
    def get_response(self, key: str, now: float) -> StoredResponse | None:
        with self.db.read() as conn:
            row = (
                conn.execute(
                    select(_IDEMPOTENCY).where(_IDEMPOTENCY.c.key == key, _IDEMPOTENCY.c.expires_at > now)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return StoredResponse(
            row["status_code"], row["response_body"], json.loads(row["response_headers"]), row["operation"]
        )

    def put_response(
        self,
        key: str,
        warehouse: str,
        operation: str,
        response: StoredResponse,
        now: float,
        expires_at: float,
    ) -> None:
        try:
            with self.db.write() as conn:
                self._put_response(conn, key, warehouse, operation, response, now, expires_at)
        except IntegrityError:
            pass  # a concurrent retry finalised first (another node); its result stands

    def _put_response(
        self,
        conn: Connection,
        key: str,
        warehouse: str,
        operation: str,
        response: StoredResponse,
        now: float,
        expires_at: float,
    ) -> None:
        conn.execute(delete(_IDEMPOTENCY).where(_IDEMPOTENCY.c.expires_at <= now))
        if conn.execute(select(_IDEMPOTENCY.c.key).where(_IDEMPOTENCY.c.key == key)).first() is not None:
            return  # a concurrent retry finalised first; its result stands
        conn.execute(
            insert(_IDEMPOTENCY).values(
                key=key,
                warehouse=warehouse,
                operation=operation,
                status_code=response.status_code,
                response_body=response.body,
                response_headers=json.dumps(response.headers),
                created_at=now,
                expires_at=expires_at,
            )
        )


def _dotted(name: str) -> str:
    return name.replace(SEP, ".")


def _ident(entity: Entity) -> str:
    return f"{_dotted(entity.namespace)}.{entity.name}"


def _kind_word(kind: str) -> str:
    return "View" if kind == "view" else "Table"
