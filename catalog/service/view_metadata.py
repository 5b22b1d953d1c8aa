"""View metadata: the spec's view updates and requirement, applied to pyiceberg's ``ViewMetadata`` model.

pyiceberg has the view metadata models but no view update handlers, so the eight view actions live here
(reusing pyiceberg's update models where the action is shared with tables)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter
from pyiceberg.schema import Schema
from pyiceberg.table.update import (
    AddSchemaUpdate,
    AssignUUIDUpdate,
    RemovePropertiesUpdate,
    SetLocationUpdate,
    SetPropertiesUpdate,
    UpgradeFormatVersionUpdate,
)
from pyiceberg.typedef import IcebergBaseModel
from pyiceberg.view.metadata import ViewHistoryEntry, ViewMetadata, ViewVersion

from catalog.errors import BadRequest, CommitFailed, InvalidArgument, InvalidMetadata
from catalog.service.metadata import INVALID_INPUT


class AddViewVersionUpdate(IcebergBaseModel):
    action: Literal["add-view-version"] = Field(default="add-view-version")
    view_version: ViewVersion = Field(alias="view-version")


class SetCurrentViewVersionUpdate(IcebergBaseModel):
    action: Literal["set-current-view-version"] = Field(default="set-current-view-version")
    view_version_id: int = Field(alias="view-version-id")


class AssertViewUUID(IcebergBaseModel):
    type: Literal["assert-view-uuid"] = Field(default="assert-view-uuid")
    uuid: str

    def validate(self, base: ViewMetadata) -> None:  # type: ignore[override]
        if base.view_uuid != self.uuid:
            raise CommitFailed(
                f"Requirement failed: view UUID does not match: {self.uuid} != {base.view_uuid}"
            )


ViewUpdate = Annotated[
    AssignUUIDUpdate
    | UpgradeFormatVersionUpdate
    | AddSchemaUpdate
    | SetLocationUpdate
    | SetPropertiesUpdate
    | RemovePropertiesUpdate
    | AddViewVersionUpdate
    | SetCurrentViewVersionUpdate,
    Field(discriminator="action"),
]
ViewRequirement = Annotated[AssertViewUUID, Field(discriminator="type")]
VIEW_UPDATES: TypeAdapter[list[ViewUpdate]] = TypeAdapter(list[ViewUpdate])
VIEW_REQUIREMENTS: TypeAdapter[list[ViewRequirement]] = TypeAdapter(list[ViewRequirement])


def parse_view_metadata(text: str | bytes) -> ViewMetadata:
    try:
        return ViewMetadata.model_validate_json(text)
    except INVALID_INPUT as exc:
        raise BadRequest(f"Invalid view metadata: {exc!s:.500}") from exc


def new_view_metadata(
    location: str, schema: Schema, version: ViewVersion, properties: dict[str, str]
) -> ViewMetadata:
    """As Iceberg's Java view builder: the version's schema is the one sent with it, whatever ids the request
    gave either; the server assigns schema id 0 and version id 1."""
    if not version.representations:
        raise BadRequest("Cannot create view without specifying a query")
    now = int(time.time() * 1000)
    schema = schema.model_copy(update={"schema_id": 0})
    version = version.model_copy(update={"schema_id": 0, "version_id": 1, "timestamp_ms": now})
    return ViewMetadata(
        view_uuid=str(uuid.uuid4()),
        format_version=1,
        location=location,
        schemas=[schema],
        current_version_id=1,
        versions=[version],
        version_log=[ViewHistoryEntry(timestamp_ms=now, version_id=1)],
        properties=dict(properties),
    )


def apply_view_updates(
    base: ViewMetadata, requirements: Sequence[AssertViewUUID], updates: Sequence[object]
) -> ViewMetadata:
    for requirement in requirements:
        requirement.validate(base)
    meta = base.model_copy(deep=True)
    last_schema: int | None = None
    last_version: int | None = None
    for update in updates:
        if isinstance(update, AssignUUIDUpdate):
            if str(update.uuid) != meta.view_uuid:
                raise BadRequest("Cannot reassign a view's UUID")
        elif isinstance(update, UpgradeFormatVersionUpdate):
            if update.format_version != 1:
                raise BadRequest(f"Unsupported view format version: {update.format_version}")
        elif isinstance(update, AddSchemaUpdate):
            meta, last_schema = _add_schema(meta, update.schema_)
        elif isinstance(update, SetLocationUpdate):
            meta = meta.model_copy(update={"location": update.location})
        elif isinstance(update, SetPropertiesUpdate):
            meta = meta.model_copy(update={"properties": {**meta.properties, **update.updates}})
        elif isinstance(update, RemovePropertiesUpdate):
            props = {k: v for k, v in meta.properties.items() if k not in set(update.removals)}
            meta = meta.model_copy(update={"properties": props})
        elif isinstance(update, AddViewVersionUpdate):
            meta, last_version = _add_version(meta, update.view_version, last_schema)
        elif isinstance(update, SetCurrentViewVersionUpdate):
            meta = _set_current(meta, update.view_version_id, last_version)
        else:  # pragma: no cover - the union above is exhaustive
            raise BadRequest(f"Unsupported view update: {update!r}")
    return meta


def _add_schema(meta: ViewMetadata, schema: Schema) -> tuple[ViewMetadata, int]:
    for existing in meta.schemas:
        if existing.fields == schema.fields and existing.identifier_field_ids == schema.identifier_field_ids:
            return meta, existing.schema_id
    new_id = max((s.schema_id for s in meta.schemas), default=-1) + 1
    schemas = [*meta.schemas, schema.model_copy(update={"schema_id": new_id})]
    return meta.model_copy(update={"schemas": schemas}), new_id


def _add_version(
    meta: ViewMetadata, version: ViewVersion, last_schema: int | None
) -> tuple[ViewMetadata, int]:
    schema_id = version.schema_id
    if schema_id == -1:
        if last_schema is None:
            raise InvalidMetadata("Cannot set schema-id -1: no schema was added in this commit")
        schema_id = last_schema
    if schema_id not in {s.schema_id for s in meta.schemas}:
        raise InvalidArgument(f"Cannot add version with unknown schema: {schema_id}")
    for existing in meta.versions:
        if (
            existing.schema_id == schema_id
            and existing.representations == version.representations
            and existing.default_namespace == version.default_namespace
            and existing.default_catalog == version.default_catalog
        ):
            return meta, existing.version_id
    new_id = max(version.version_id, max((v.version_id for v in meta.versions), default=0) + 1)  # as Java
    versions = [*meta.versions, version.model_copy(update={"version_id": new_id, "schema_id": schema_id})]
    return meta.model_copy(update={"versions": versions}), new_id


def _set_current(meta: ViewMetadata, version_id: int, last_version: int | None) -> ViewMetadata:
    if version_id == -1:
        if last_version is None:
            raise InvalidMetadata("Cannot set current version to -1: no version was added in this commit")
        version_id = last_version
    if version_id not in {v.version_id for v in meta.versions}:
        raise InvalidArgument(f"Cannot set current version to unknown version: {version_id}")
    if version_id == meta.current_version_id:
        return meta
    entry = ViewHistoryEntry(timestamp_ms=int(time.time() * 1000), version_id=version_id)
    return meta.model_copy(
        update={"current_version_id": version_id, "version_log": [*meta.version_log, entry]}
    )
