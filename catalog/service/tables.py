"""Table operations.

A commit writes the new metadata file first, then moves the table's pointer by compare-and-set; a lost race
is re-validated against the new base (as Iceberg's own server does) a few times before the client gets 409
CommitFailed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.sorting import SortOrder
from pyiceberg.table.update import TableRequirement

from auth.service.principal import Principal
from catalog.errors import AlreadyExists, BadRequest, CommitFailed, InvalidArgument, NoSuchTable, NoSuchView
from catalog.service.base_cache import BaseCache, ParsedBase, built_base
from catalog.service.core import Context
from catalog.service.encryption import (
    CatalogTableUpdate,
    apply_key_updates,
    is_key_update,
    keys_of,
    with_keys,
)
from catalog.service.exact import merged_json
from catalog.service.locations import check_inside, check_metadata_paths, known_paths
from catalog.service.metadata import (
    commit_metadata,
    create_metadata,
    dump_metadata,
    is_create,
    parse_table_metadata,
    with_referenced_snapshots_only,
)
from catalog.service.naming import (
    check_location,
    check_metadata_file_location,
    check_name,
    check_page_size,
    decode_page_token,
    encode_page_token,
    key_of,
    namespace_name,
    new_location,
    new_metadata_location,
)
from catalog.service.ports import VendedCredentials
from catalog.service.purge import purge_table
from catalog.store.repository import Entity, PointerMove
from objectstore.service.errors import NoSuchKey

TABLE = "table"
METADATA_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class TableResult:
    bucket: str
    location: str
    metadata_location: str | None  # None for a staged create
    metadata_json: str
    credentials: VendedCredentials | None = None


@dataclass(frozen=True, slots=True)
class CreateTable:
    name: str
    schema: Schema
    location: str | None = None
    partition_spec: PartitionSpec | None = None
    write_order: SortOrder | None = None
    properties: dict[str, str] | None = None
    stage_create: bool = False


@dataclass(frozen=True, slots=True)
class TableChange:
    namespace: tuple[str, ...]
    name: str
    requirements: Sequence[TableRequirement]
    updates: Sequence[CatalogTableUpdate]


@dataclass(frozen=True, slots=True)
class _Planned:
    entity: Entity | None  # None: created by this commit
    metadata: TableMetadata
    metadata_location: str
    metadata_json: str
    namespace: str
    name: str
    location: str  # normalised by the location policy
    parsed: ParsedBase | None = None  # the new metadata as the cache holds it, when built without a re-parse


class TableService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._bases = BaseCache()

    # -- reads
    def list_entities(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        page_token: str | None,
        page_size: int | None,
        kind: str = TABLE,
    ) -> tuple[list[str], str | None]:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        limit = check_page_size(page_size)
        names = self.ctx.repo.list_entities(
            bucket,
            namespace_name(namespace),
            kind,
            decode_page_token(page_token),
            None if limit is None else limit + 1,
        )
        if names is None:
            self.ctx.namespace(bucket, namespace)  # raises NoSuchNamespace
            names = []
        token = None
        if limit is not None and len(names) > limit:
            names = names[:limit]
            token = encode_page_token(names[-1])
        return names, token

    def load(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        name: str,
        *,
        snapshots: str = "all",
        vend: bool = False,
    ) -> TableResult:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        entity = self._get(bucket, namespace, name)
        text = entity.metadata_json
        if snapshots == "refs":
            text = with_referenced_snapshots_only(text)
        creds = self.ctx.vend(principal, bucket, entity.location) if vend else None
        return TableResult(bucket, entity.location, entity.metadata_location, text, creds)

    def with_credentials(self, principal: Principal, result: TableResult) -> TableResult:
        """``result`` plus credentials scoped to the table's location (after an ETag check found it changed)."""
        creds = self.ctx.vend(principal, result.bucket, result.location)
        return TableResult(
            result.bucket, result.location, result.metadata_location, result.metadata_json, creds
        )

    def exists(self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str) -> None:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        self._get(bucket, namespace, name)

    def credentials(
        self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str
    ) -> tuple[str, VendedCredentials | None]:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        entity = self._get(bucket, namespace, name)
        return entity.location, self.ctx.vend(principal, bucket, entity.location)

    def report_metrics(
        self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str
    ) -> None:
        """Metrics reports are accepted (204) and not stored, for any table name (as Iceberg's reference)."""
        self.ctx.warehouse(principal, prefix, write=False)
        check_name(name)

    # -- create / register / drop / rename
    def create(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        req: CreateTable,
        *,
        vend: bool = False,
    ) -> TableResult:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(req.name)
        ns = self.ctx.namespace(bucket, namespace)
        if self.ctx.repo.get_entity(bucket, ns.name, req.name) is not None:
            raise _already_exists(namespace, req.name)
        if req.location is not None:
            location = check_location(req.location, bucket)
            taken = self.ctx.repo.overlapping_location(bucket, location)  # checked again when stored
            if taken is not None:
                raise BadRequest(f"Location {location!r} overlaps the location of another table: {taken!r}")
        else:
            location = new_location(bucket, namespace, req.name)
        properties = dict(req.properties or {})
        if req.stage_create:  # as Iceberg's CatalogHandlers.stageTableCreate
            properties = {"created-at": datetime.now(UTC).isoformat().replace("+00:00", "Z")} | properties
        metadata = create_metadata(req.schema, location, req.partition_spec, req.write_order, properties)
        text = dump_metadata(metadata)
        check_metadata_paths(json.loads(text), bucket)
        creds = self.ctx.vend(principal, bucket, location) if vend else None
        if req.stage_create:
            return TableResult(bucket, location, None, text, creds)
        metadata_location = new_metadata_location(location, None)
        self.ctx.files.write(bucket, key_of(metadata_location, bucket), text.encode(), METADATA_CONTENT_TYPE)
        entity = Entity(uuid.uuid4().hex, bucket, ns.name, req.name, TABLE, location, metadata_location, text)
        try:
            self.ctx.repo.insert_entity(entity)
        except Exception:
            self.ctx.discard(bucket, key_of(metadata_location, bucket))
            raise
        return TableResult(bucket, location, metadata_location, text, creds)

    def register(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        name: str,
        metadata_location: str,
        *,
        overwrite: bool = False,
        vend: bool = False,
    ) -> TableResult:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(name)
        ns = self.ctx.namespace(bucket, namespace)
        if not overwrite and self.ctx.repo.get_entity(bucket, ns.name, name) is not None:
            raise _already_exists(namespace, name)  # before the file is read, as Iceberg's reference
        check_metadata_file_location(metadata_location, bucket)
        try:
            raw = self.ctx.files.read(bucket, key_of(metadata_location, bucket))
        except NoSuchKey as exc:
            raise BadRequest(f"Metadata file does not exist: {metadata_location}") from exc
        parse_table_metadata(raw)  # a valid table metadata document
        doc = json.loads(raw)
        location = check_metadata_paths(doc, bucket)  # the table's own area, and every file it names
        check_inside(metadata_location, location, bucket, "metadata-location")
        text = json.dumps(doc, separators=(",", ":"))  # as written: fields pyiceberg drops are kept
        entity = Entity(uuid.uuid4().hex, bucket, ns.name, name, TABLE, location, metadata_location, text)
        self.ctx.repo.insert_entity(entity, replace=overwrite)
        creds = self.ctx.vend(principal, bucket, location) if vend else None
        return TableResult(bucket, location, metadata_location, text, creds)

    def drop(
        self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str, *, purge: bool = False
    ) -> None:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(name)
        entity = self.ctx.repo.delete_entity(bucket, namespace_name(namespace), name, TABLE)
        if entity is None:
            raise NoSuchTable(f"Table does not exist: {'.'.join(namespace)}.{name}")
        if purge:
            others = self.ctx.repo.live_locations(bucket)
            purge_table(
                self.ctx.files,
                bucket,
                entity.location,
                entity.metadata_location,
                entity.metadata_json,
                others,
            )

    def rename(
        self,
        principal: Principal,
        prefix: str,
        source: tuple[tuple[str, ...], str],
        destination: tuple[tuple[str, ...], str],
        kind: str = TABLE,
    ) -> None:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(source[1], kind)
        check_name(destination[1], kind)
        src = (namespace_name(source[0]), source[1])
        if source == destination:  # a no-op, as Iceberg's reference, when it exists
            existing = self.ctx.repo.get_entity(bucket, *src)
            if existing is None or existing.kind != kind:
                missing = NoSuchTable if kind == TABLE else NoSuchView
                raise missing(f"{kind.capitalize()} does not exist: {'.'.join(source[0])}.{source[1]}")
            return
        if not self.ctx.repo.rename_entity(
            bucket, kind, src, (namespace_name(destination[0]), destination[1])
        ):  # a missing namespace too: Iceberg's Java catalog answers "no such table (view)" for it
            missing = NoSuchTable if kind == TABLE else NoSuchView
            raise missing(f"{kind.capitalize()} does not exist: {'.'.join(source[0])}.{source[1]}")

    # -- commits
    def commit(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        name: str,
        requirements: Sequence[TableRequirement],
        updates: Sequence[CatalogTableUpdate],
        identifier: tuple[tuple[str, ...], str] | None = None,
    ) -> TableResult:
        """``identifier``, when the body names one, must be the table of the URL."""
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_same_identifier(identifier, namespace, name)
        change = TableChange(namespace, name, requirements, updates)
        planned = self._commit_with_retries(bucket, [change])[0]
        return TableResult(
            bucket, planned.metadata.location, planned.metadata_location, planned.metadata_json, None
        )

    def commit_transaction(self, principal: Principal, prefix: str, changes: Sequence[TableChange]) -> None:
        """Every table's requirements hold and every pointer moves, in one DB transaction, or nothing."""
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        if not changes:
            raise InvalidArgument("Invalid table changes: empty")
        self._commit_with_retries(bucket, _merge_by_identifier(changes))

    def _commit_with_retries(self, bucket: str, changes: Sequence[TableChange]) -> list[_Planned]:
        attempts = max(1, self.ctx.settings.commit_retries + 1)
        for attempt in range(attempts):
            plans = [self._plan(bucket, change) for change in changes]
            written = [
                p for p in plans if p.entity is None or p.metadata_location != p.entity.metadata_location
            ]
            moves = [
                PointerMove(
                    p.entity.id,
                    p.entity.metadata_location,
                    p.metadata_location,
                    p.metadata_json,
                    p.location,
                    relocated=p.location != p.entity.location,
                )
                for p in written
                if p.entity is not None
            ]
            creates = [
                Entity(
                    uuid.uuid4().hex,
                    bucket,
                    p.namespace,
                    p.name,
                    TABLE,
                    p.location,
                    p.metadata_location,
                    p.metadata_json,
                )
                for p in written
                if p.entity is None
            ]
            files = [
                (key_of(p.metadata_location, bucket), p.metadata_json.encode(), METADATA_CONTENT_TYPE)
                for p in written
            ]

            def move_pointers(
                tx: object, moves: list[PointerMove] = moves, creates: list[Entity] = creates
            ) -> None:
                self.ctx.repo.commit(moves, creates, tx)  # type: ignore[arg-type]

            try:
                if files:  # the files and the pointer moves in one transaction: a lost race leaves no file
                    self.ctx.files.write_then(bucket, files, move_pointers)
                for p in written:
                    if p.entity is None:
                        continue
                    if p.parsed is not None:
                        self._bases.put(p.entity.id, p.metadata_location, p.parsed)
                    else:
                        self._bases.warm(p.entity.id, p.metadata_location, p.metadata_json)
                return plans
            except CommitFailed:
                if attempt == attempts - 1 or creates:
                    raise
        raise AssertionError("unreachable")

    def _plan(self, bucket: str, change: TableChange) -> _Planned:
        check_name(change.name)
        ns_name = namespace_name(change.namespace)
        entity = self.ctx.repo.get_entity(bucket, ns_name, change.name)
        if entity is not None and entity.kind != TABLE:
            if is_create(change.requirements):
                raise CommitFailed(f"A view already exists: {'.'.join(change.namespace)}.{change.name}")
            entity = None
        if entity is None:
            if not is_create(change.requirements):
                raise NoSuchTable(f"Table does not exist: {'.'.join(change.namespace)}.{change.name}")
            self.ctx.namespace(bucket, change.namespace)
        parsed = (
            self._bases.get(entity.id, entity.metadata_location, entity.metadata_json)
            if entity is not None
            else None
        )
        base = parsed.metadata if parsed is not None else None
        base_location = entity.metadata_location if entity is not None else None
        table_updates = [u for u in change.updates if not is_key_update(u)]
        new = commit_metadata(base, base_location, change.requirements, table_updates)  # type: ignore[arg-type]
        keys = apply_key_updates(keys_of(entity.metadata_json if entity else None), change.updates)
        if entity is not None and not change.updates:
            return _Planned(
                entity,
                new,
                entity.metadata_location,
                entity.metadata_json,
                ns_name,
                change.name,
                entity.location,
            )
        if entity is None or parsed is None:
            after_doc = json.loads(dump_metadata(new))
            new_doc = dict(after_doc)
            known = known_paths(None)
        else:  # what pyiceberg does not model is kept as the table's last writer wrote it
            after_doc = json.loads(dump_metadata(new))
            new_doc = (
                dict(after_doc)  # pyiceberg models every field: nothing to merge back
                if parsed.exact
                else merged_json(parsed.doc, parsed.model_doc, after_doc)
            )
            known = parsed.known | {entity.metadata_location}
        with_keys(new_doc, keys)
        location = check_metadata_paths(new_doc, bucket, known)
        moved = entity is None or location != entity.location
        taken = (
            self.ctx.repo.overlapping_location(bucket, location, entity.id if entity else None)
            if moved
            else None
        )
        if taken is not None:
            raise BadRequest(f"Location {location!r} overlaps the location of another table: {taken!r}")
        # pyiceberg models every field of what is stored: the next commit's base is ``new`` itself, no re-parse
        exact = new_doc == after_doc
        return _Planned(
            entity,
            new,
            new_metadata_location(location, base_location),
            json.dumps(new_doc, separators=(",", ":")),
            ns_name,
            change.name,
            location,
            built_base(new, new_doc) if exact else None,
        )

    def _get(self, bucket: str, namespace: tuple[str, ...], name: str) -> Entity:
        check_name(name)
        entity = self.ctx.repo.get_entity(bucket, namespace_name(namespace), name)
        if entity is None or entity.kind != TABLE:  # in a missing namespace too, as Iceberg's Java catalog
            raise NoSuchTable(f"Table does not exist: {'.'.join(namespace)}.{name}")
        return entity


def check_same_identifier(
    identifier: tuple[tuple[str, ...], str] | None, namespace: tuple[str, ...], name: str
) -> None:
    if identifier is not None and (tuple(identifier[0]), identifier[1]) != (tuple(namespace), name):
        named = ".".join((*identifier[0], identifier[1]))
        raise BadRequest(
            f"The request body names {named!r}, but the URL names {'.'.join((*namespace, name))!r}"
        )


def _already_exists(namespace: tuple[str, ...], name: str) -> Exception:
    return AlreadyExists(f"Table already exists: {'.'.join(namespace)}.{name}")


def _merge_by_identifier(changes: Sequence[TableChange]) -> list[TableChange]:
    merged: dict[tuple[tuple[str, ...], str], TableChange] = {}
    for c in changes:
        key = (c.namespace, c.name)
        if key in merged:
            prev = merged[key]
            merged[key] = TableChange(
                c.namespace, c.name, [*prev.requirements, *c.requirements], [*prev.updates, *c.updates]
            )
        else:
            merged[key] = c
    return list(merged.values())
