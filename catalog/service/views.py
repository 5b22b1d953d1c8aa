"""View operations: create, load, replace (commit), drop, exists, list, rename, register."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pyiceberg.schema import Schema
from pyiceberg.view.metadata import ViewVersion

from auth.service.principal import Principal
from catalog.errors import AlreadyExists, BadRequest, CommitFailed, NoSuchView
from catalog.service.core import Context
from catalog.service.locations import check_inside
from catalog.service.metadata import dump_metadata
from catalog.service.naming import (
    check_location,
    check_metadata_file_location,
    check_name,
    key_of,
    namespace_name,
    new_location,
    new_metadata_location,
)
from catalog.service.tables import METADATA_CONTENT_TYPE, TableService, check_same_identifier
from catalog.service.view_metadata import (
    AssertViewUUID,
    apply_view_updates,
    new_view_metadata,
    parse_view_metadata,
)
from catalog.store.repository import Entity, PointerMove
from objectstore.service.errors import NoSuchKey

VIEW = "view"


@dataclass(frozen=True, slots=True)
class ViewResult:
    metadata_location: str
    metadata_json: str


class ViewService:
    def __init__(self, ctx: Context, tables: TableService) -> None:
        self.ctx = ctx
        self._tables = tables

    def list_views(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        page_token: str | None,
        page_size: int | None,
    ) -> tuple[list[str], str | None]:
        return self._tables.list_entities(principal, prefix, namespace, page_token, page_size, kind=VIEW)

    def load(self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str) -> ViewResult:
        bucket = self.ctx.warehouse(principal, prefix, write=False)
        entity = self._get(bucket, namespace, name)
        return ViewResult(entity.metadata_location, entity.metadata_json)

    def exists(self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str) -> None:
        self.load(principal, prefix, namespace, name)

    def create(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        name: str,
        schema: Schema,
        version: ViewVersion,
        location: str | None,
        properties: dict[str, str],
    ) -> ViewResult:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(name, VIEW)
        ns = self.ctx.namespace(bucket, namespace)
        existing = self.ctx.repo.get_entity(bucket, ns.name, name)
        if existing is not None:
            raise AlreadyExists(f"{existing.kind.capitalize()} already exists: {'.'.join(namespace)}.{name}")
        loc = (
            check_location(location, bucket)
            if location is not None
            else new_location(bucket, namespace, name)
        )
        metadata = new_view_metadata(loc, schema, version, properties)
        return self._store_new(bucket, ns.name, name, loc, dump_metadata(metadata))

    def register(
        self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str, metadata_location: str
    ) -> ViewResult:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(name, VIEW)
        ns = self.ctx.namespace(bucket, namespace)
        check_metadata_file_location(metadata_location, bucket)
        try:
            raw = self.ctx.files.read(bucket, key_of(metadata_location, bucket))
        except NoSuchKey as exc:
            raise BadRequest(f"Metadata file does not exist: {metadata_location}") from exc
        metadata = parse_view_metadata(raw)
        loc = check_location(metadata.location, bucket)
        check_inside(metadata_location, loc, bucket, "metadata-location")
        text = json.dumps(json.loads(raw), separators=(",", ":"))  # as written
        self.ctx.repo.insert_entity(
            Entity(uuid.uuid4().hex, bucket, ns.name, name, VIEW, loc, metadata_location, text)
        )
        return ViewResult(metadata_location, text)

    def replace(
        self,
        principal: Principal,
        prefix: str,
        namespace: tuple[str, ...],
        name: str,
        requirements: Sequence[AssertViewUUID],
        updates: Sequence[object],
        identifier: tuple[tuple[str, ...], str] | None = None,
    ) -> ViewResult:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_same_identifier(identifier, namespace, name)
        attempts = max(1, self.ctx.settings.commit_retries + 1)
        for attempt in range(attempts):
            entity = self._get(bucket, namespace, name)
            base = parse_view_metadata(entity.metadata_json)
            new = apply_view_updates(base, requirements, updates)
            if new == base:
                return ViewResult(entity.metadata_location, entity.metadata_json)
            loc = check_location(new.location, bucket)
            text = dump_metadata(new)
            metadata_location = new_metadata_location(loc, entity.metadata_location)
            key = key_of(metadata_location, bucket)
            self.ctx.files.write(bucket, key, text.encode(), METADATA_CONTENT_TYPE)
            try:
                self.ctx.repo.commit(
                    [
                        PointerMove(
                            entity.id,
                            entity.metadata_location,
                            metadata_location,
                            text,
                            loc,
                            relocated=loc != entity.location,
                        )
                    ]
                )
                return ViewResult(metadata_location, text)
            except CommitFailed:
                self.ctx.discard(bucket, key)
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def drop(self, principal: Principal, prefix: str, namespace: tuple[str, ...], name: str) -> None:
        bucket = self.ctx.warehouse(principal, prefix, write=True)
        check_name(name, VIEW)
        if self.ctx.repo.delete_entity(bucket, namespace_name(namespace), name, VIEW) is None:
            raise NoSuchView(f"View does not exist: {'.'.join(namespace)}.{name}")

    def rename(
        self,
        principal: Principal,
        prefix: str,
        source: tuple[tuple[str, ...], str],
        destination: tuple[tuple[str, ...], str],
    ) -> None:
        self._tables.rename(principal, prefix, source, destination, kind=VIEW)

    def _store_new(self, bucket: str, ns_name: str, name: str, loc: str, text: str) -> ViewResult:
        metadata_location = new_metadata_location(loc, None)
        key = key_of(metadata_location, bucket)
        self.ctx.files.write(bucket, key, text.encode(), METADATA_CONTENT_TYPE)
        try:
            self.ctx.repo.insert_entity(
                Entity(uuid.uuid4().hex, bucket, ns_name, name, VIEW, loc, metadata_location, text)
            )
        except Exception:
            self.ctx.discard(bucket, key)
            raise
        return ViewResult(metadata_location, text)

    def _get(self, bucket: str, namespace: tuple[str, ...], name: str) -> Entity:
        check_name(name, VIEW)
        entity = self.ctx.repo.get_entity(bucket, namespace_name(namespace), name)
        if entity is None or entity.kind != VIEW:  # in a missing namespace too, as Iceberg's Java catalog
            raise NoSuchView(f"View does not exist: {'.'.join(namespace)}.{name}")
        return entity
