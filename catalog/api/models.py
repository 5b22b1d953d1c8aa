"""Request payloads, with the spec's names; parsed from the raw body so every malformed request is a 400."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortOrder
from pyiceberg.table.update import TableRequirement
from pyiceberg.view.metadata import ViewVersion

from catalog.api.errors import INVALID_INPUT, bad_request
from catalog.errors import BadRequest
from catalog.service.encryption import CatalogTableUpdate
from catalog.service.metadata import INVALID_INPUT as MODEL_ERRORS
from catalog.service.view_metadata import ViewRequirement, ViewUpdate

M = TypeVar("M", bound=BaseModel)
PARTITION_DATA_ID_START = 1000


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", arbitrary_types_allowed=True)


class CreateNamespaceRequest(_Model):
    namespace: list[str]
    properties: dict[str, str] = Field(default_factory=dict)


class UpdateNamespacePropertiesRequest(_Model):
    removals: list[str] = Field(default_factory=list)
    updates: dict[str, str] = Field(default_factory=dict)


class CreateTableRequest(_Model):
    name: str
    location: str | None = None
    schema_: Schema = Field(alias="schema")
    partition_spec: PartitionSpec | None = Field(default=None, alias="partition-spec")
    write_order: SortOrder | None = Field(default=None, alias="write-order")
    stage_create: bool = Field(default=False, alias="stage-create")
    properties: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _assign_partition_field_ids(cls, data: Any) -> Any:
        """The spec makes ``field-id`` optional in a create request; assign the usual ids from 1000."""
        spec = data.get("partition-spec") if isinstance(data, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("fields"), list):
            fields = []
            for i, f in enumerate(spec["fields"]):
                if isinstance(f, dict) and "field-id" not in f:
                    f = {**f, "field-id": PARTITION_DATA_ID_START + i}
                fields.append(f)
            data = {**data, "partition-spec": {**spec, "fields": fields}}
        return data


class RegisterTableRequest(_Model):
    name: str
    metadata_location: str = Field(alias="metadata-location")
    overwrite: bool = False


class TableIdentifier(_Model):
    namespace: list[str]
    name: str


class CommitTableRequest(_Model):
    identifier: TableIdentifier | None = None
    requirements: list[TableRequirement] = Field(default_factory=list)
    updates: list[CatalogTableUpdate] = Field(default_factory=list)


class TableChangeRequest(CommitTableRequest):
    identifier: TableIdentifier


class CommitTransactionRequest(_Model):
    table_changes: list[TableChangeRequest] = Field(alias="table-changes")


class RenameTableRequest(_Model):
    source: TableIdentifier
    destination: TableIdentifier


class CreateViewRequest(_Model):
    name: str
    location: str | None = None
    schema_: Schema = Field(alias="schema")
    view_version: ViewVersion = Field(alias="view-version")
    properties: dict[str, str] = Field(default_factory=dict)


class CommitViewRequest(_Model):
    identifier: TableIdentifier | None = None
    requirements: list[ViewRequirement] = Field(default_factory=list)
    updates: list[ViewUpdate] = Field(default_factory=list)


class RegisterViewRequest(_Model):
    name: str
    metadata_location: str = Field(alias="metadata-location")

    @field_validator("metadata_location")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v:
            raise ValueError("metadata-location must not be empty")
        return v


def parse(model: type[M], body: bytes) -> M:
    if not body:
        raise BadRequest("Malformed request: a JSON body is required")
    try:
        return model.model_validate_json(body)
    except (*INVALID_INPUT, *MODEL_ERRORS) as exc:
        # pyiceberg's validators assume well-typed input (e.g. ``{"updates": [...]}`` for set-properties
        # raises AttributeError): whatever they raise while parsing a body is the body's fault
        raise bad_request(exc) from exc


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
