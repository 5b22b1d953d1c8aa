"""Table metadata mechanics, built on pyiceberg's models.

Requirements are checked with ``requirement.validate``, updates applied with ``update_table_metadata`` (one
handler per action: Iceberg's own rules, not ours)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata, TableMetadataUtil, TableMetadataV1, new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.table.update import (
    AssertCreate,
    TableRequirement,
    TableUpdate,
    update_table_metadata,
)

from catalog.service.errors import BadRequest, CommitFailed


def parse_table_metadata(text: str | bytes) -> TableMetadata:
    try:
        return TableMetadataUtil.parse_raw(text if isinstance(text, str) else text.decode())
    except (ValidationError, ValueError) as exc:
        raise BadRequest(f"Invalid table metadata: {exc}") from exc


def dump_metadata(metadata: Any) -> str:
    return str(metadata.model_dump_json(by_alias=True, exclude_none=True))


def create_metadata(
    schema: Schema,
    location: str,
    spec: PartitionSpec | None,
    order: SortOrder | None,
    properties: dict[str, str],
) -> TableMetadata:
    """Fresh metadata for a new table; the server assigns field, spec and sort-order ids."""
    try:
        return new_table_metadata(
            schema=schema,
            partition_spec=spec or UNPARTITIONED_PARTITION_SPEC,
            sort_order=order or UNSORTED_SORT_ORDER,
            location=location,
            properties=dict(properties),
        )
    except (ValueError, ValidationError) as exc:
        raise BadRequest(f"Invalid table definition: {exc}") from exc


def check_requirements(requirements: Sequence[TableRequirement], base: TableMetadata | None) -> None:
    for requirement in requirements:
        try:
            requirement.validate(base)
        except CommitFailedException as exc:
            message = str(exc)
            if not message.startswith("Requirement failed"):
                message = f"Requirement failed: {message}"
            raise CommitFailed(message) from exc


def is_create(requirements: Sequence[TableRequirement]) -> bool:
    return any(isinstance(r, AssertCreate) for r in requirements)


def apply_updates(
    base: TableMetadata | None, base_location: str | None, updates: Sequence[TableUpdate]
) -> TableMetadata:
    """The metadata after ``updates``; a create (no base) starts from pyiceberg's empty V1 metadata."""
    try:
        if base is None:
            empty = TableMetadataV1.model_construct(last_column_id=-1, schema=Schema())  # type: ignore[call-arg]
            return update_table_metadata(empty, tuple(updates), enforce_validation=True)
        return update_table_metadata(base, tuple(updates), metadata_location=base_location)
    except CommitFailedException as exc:
        raise CommitFailed(str(exc)) from exc
    except (ValueError, ValidationError, KeyError, NotImplementedError) as exc:
        raise BadRequest(f"Invalid table update: {exc}") from exc


def commit_metadata(
    base: TableMetadata | None,
    base_location: str | None,
    requirements: Sequence[TableRequirement],
    updates: Sequence[TableUpdate],
) -> TableMetadata:
    """Checks every requirement against ``base`` (any failing: CommitFailed, nothing changed), applies."""
    check_requirements(requirements, base)
    if base is None and not is_create(requirements):
        raise CommitFailed("Requirement failed: the table does not exist")
    return apply_updates(base, base_location, updates)


def with_referenced_snapshots_only(metadata_json: str) -> str:
    """``snapshots=refs``: only the snapshots a branch or tag points at."""
    doc = json.loads(metadata_json)
    referenced = {ref["snapshot-id"] for ref in (doc.get("refs") or {}).values()}
    if "snapshots" in doc:
        doc["snapshots"] = [s for s in doc["snapshots"] if s.get("snapshot-id") in referenced]
    return json.dumps(doc, separators=(",", ":"))
