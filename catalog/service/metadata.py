"""Table metadata mechanics, built on pyiceberg's models.

Requirements are checked with ``requirement.validate``, updates applied with ``update_table_metadata`` (one
handler per action: Iceberg's own rules, not ours)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata, TableMetadataUtil, TableMetadataV1, new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.table.update import (
    AssertCreate,
    AssignUUIDUpdate,
    TableRequirement,
    TableUpdate,
    _apply_table_update,
    _TableMetadataUpdateContext,
    _update_table_metadata_log,
    update_table_metadata,
)
from pyiceberg.transforms import BucketTransform, Transform, TruncateTransform, UnknownTransform
from pyiceberg.utils.datetime import datetime_to_millis

from catalog.errors import BadRequest, CommitFailed, InvalidArgument, InvalidMetadata
from catalog.service.exact import model_json
from catalog.service.format_v3 import check_row_lineage, with_defaults_of, with_next_row_id
from catalog.service.update_rules import with_java_rules

INVALID_INPUT = (
    ValidationError,
    IcebergValidationError,
    ValueError,
    TypeError,
    AttributeError,
    LookupError,
    ArithmeticError,
    RecursionError,
    StopIteration,
)
"""What pydantic's and pyiceberg's validators and update handlers raise for input that cannot be valid (a 400,
never a 500). pyiceberg finds ids with ``next()``: a StopIteration must never leave a handler's worker thread,
where asyncio cannot carry it and the request would hang without a response."""
WRITABLE_FORMAT_VERSIONS = ("1", "2", "3")
RESERVED_PROPERTIES = frozenset(
    {
        "format-version",
        "uuid",
        "snapshot-count",
        "current-snapshot-id",
        "current-snapshot-summary",
        "current-snapshot-timestamp-ms",
        "current-schema",
        "default-partition-spec",
        "default-sort-order",
    }
)
"""Iceberg's ``TableProperties.RESERVED_PROPERTIES``: derived from the metadata, never stored as properties."""
NEW_TABLE_PROPERTIES = {"write.parquet.compression-codec": "zstd"}
"""What Iceberg's Java ``TableMetadata`` persists in every new table unless the request sets it."""


def parse_table_metadata(text: str | bytes) -> TableMetadata:
    try:
        return TableMetadataUtil.parse_raw(text if isinstance(text, str) else text.decode())
    except (*INVALID_INPUT, UnicodeDecodeError) as exc:
        raise BadRequest(f"Invalid table metadata: {exc!s:.500}") from exc


def dump_metadata(metadata: Any) -> str:
    try:
        return model_json(metadata)
    except INVALID_INPUT as exc:
        raise BadRequest(f"Invalid metadata: {exc!s:.500}") from exc


def check_transforms(fields: Sequence[tuple[int, Transform[Any, Any]]], schema: Schema, what: str) -> None:
    """Each (source id, transform) of a partition spec or sort order: a known transform with a valid
    parameter, applied to a column of the schema whose type it can transform."""
    for source_id, transform in fields:
        if isinstance(transform, UnknownTransform):
            raise BadRequest(f"Invalid {what}: unknown transform {str(transform)!r}")
        if isinstance(transform, BucketTransform) and transform.num_buckets < 1:
            raise BadRequest(f"Invalid {what}: {transform} needs a positive number of buckets")
        if isinstance(transform, TruncateTransform) and transform.width < 1:
            raise BadRequest(f"Invalid {what}: {transform} needs a positive width")
        try:
            source = schema.find_type(source_id)
        except ValueError as exc:
            raise InvalidMetadata(f"Invalid {what}: cannot find source column {source_id}") from exc
        if not transform.can_transform(source):
            raise InvalidArgument(f"Invalid {what}: {transform} cannot transform a column of type {source}")


def check_new_specs_and_orders(base: TableMetadata | None, new: TableMetadata) -> None:
    """Partition specs and sort orders a commit added are checked against the table's current schema."""
    old_specs = {s.spec_id for s in base.partition_specs} if base is not None else set()
    old_orders = {o.order_id for o in base.sort_orders} if base is not None else set()
    schema = new.schema()
    for spec in new.partition_specs:
        if spec.spec_id not in old_specs:
            check_transforms([(f.source_id, f.transform) for f in spec.fields], schema, "partition spec")
    for order in new.sort_orders:
        if order.order_id not in old_orders:
            check_transforms([(f.source_id, f.transform) for f in order.fields], schema, "sort order")


def check_format_version(properties: dict[str, str]) -> None:
    version = properties.get("format-version")
    if version is not None and str(version) not in WRITABLE_FORMAT_VERSIONS:
        raise BadRequest(
            f"Unsupported format-version {version!r}: this catalog creates tables of format version "
            + " or ".join(WRITABLE_FORMAT_VERSIONS)
        )


def create_metadata(
    schema: Schema,
    location: str,
    spec: PartitionSpec | None,
    order: SortOrder | None,
    properties: dict[str, str],
) -> TableMetadata:
    """Fresh metadata for a new table; the server assigns field, spec and sort-order ids."""
    check_format_version(properties)
    persisted = NEW_TABLE_PROPERTIES | {k: v for k, v in properties.items() if k not in RESERVED_PROPERTIES}
    if "format-version" in properties:  # read (and dropped) by pyiceberg's new_table_metadata
        persisted["format-version"] = properties["format-version"]
    try:
        return _create_metadata(schema, location, spec, order, persisted)
    except INVALID_INPUT as exc:
        raise BadRequest(f"Invalid table definition: {exc!s:.500}") from exc


def _create_metadata(
    schema: Schema,
    location: str,
    spec: PartitionSpec | None,
    order: SortOrder | None,
    properties: dict[str, str],
) -> TableMetadata:
    if spec is not None:
        check_transforms([(f.source_id, f.transform) for f in spec.fields], schema, "partition spec")
    if order is not None:
        check_transforms([(f.source_id, f.transform) for f in order.fields], schema, "sort order")
    metadata = new_table_metadata(
        schema=schema,
        partition_spec=spec or UNPARTITIONED_PARTITION_SPEC,
        sort_order=order or UNSORTED_SORT_ORDER,
        location=location,
        properties=dict(properties),
    )
    return with_next_row_id(with_defaults_of(metadata, schema))


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
    """The metadata after ``updates``; a create (no base) starts from pyiceberg's empty V1 metadata.

    pyiceberg lets ``assign-uuid`` replace a table's UUID; Iceberg forbids it ("Cannot reassign uuid", a 400)."""
    for update in updates:
        if isinstance(update, AssignUUIDUpdate) and base is not None and update.uuid != base.table_uuid:
            raise BadRequest(f"Cannot reassign uuid: the table's UUID is {base.table_uuid}")
    actions = with_java_rules(tuple(updates))
    try:
        if base is None:
            empty = TableMetadataV1.model_construct(last_column_id=-1, schema=Schema())  # type: ignore[call-arg]
            new = update_table_metadata(empty, actions, enforce_validation=True)
        else:
            new = _updated(base, actions, base_location)
        check_row_lineage(actions, new)
        check_new_specs_and_orders(base, new)
    except CommitFailedException as exc:
        raise CommitFailed(str(exc)) from exc
    except StopIteration as exc:  # pyiceberg looked up the current schema, spec or sort order: there is none
        raise BadRequest(
            "Invalid table update: the metadata has no current schema, partition spec or sort order "
            "(a table created by a commit needs add-schema, add-spec and add-sort-order and the actions "
            "that make them current)"
        ) from exc
    except (*INVALID_INPUT, NotImplementedError) as exc:
        raise update_error(exc) from exc
    return new


def _updated(
    base: TableMetadata, actions: tuple[TableUpdate, ...], base_location: str | None
) -> TableMetadata:
    """pyiceberg's ``update_table_metadata`` without its closing deep copy (4 ms on a table with a long
    metadata log): pyiceberg's models are frozen and its updates build new values, so ``base`` (cached and
    shared between commits) stays as it was."""
    context = _TableMetadataUpdateContext()
    new = base
    for action in actions:
        new = _apply_table_update(action, new, context)
    if context.has_changes():
        if base_location:
            new = _update_table_metadata_log(new, base_location, base.last_updated_ms)
        if base.last_updated_ms == new.last_updated_ms:
            new = new.model_copy(update={"last_updated_ms": datetime_to_millis(datetime.now().astimezone())})
    new.spec().check_compatible(new.schema())
    new.sort_order().check_compatible(new.schema())
    return new


JAVA_VALIDATION_FAILURES = ("already exists", "unknown snapshot", "no schema has been added", "first row id")
"""Update failures Iceberg's Java ``TableMetadata.Builder`` reports as ``ValidationException`` (by the words of
pyiceberg's message for the same rule); its other failed checks are ``IllegalArgumentException``."""


def update_error(exc: BaseException) -> BadRequest:
    message = f"Invalid table update: {exc!s:.500}"
    if isinstance(exc, ValidationError) or not isinstance(exc, ValueError | IcebergValidationError):
        return BadRequest(message)  # a malformed value, not a broken rule
    if isinstance(exc, IcebergValidationError) or any(m in str(exc) for m in JAVA_VALIDATION_FAILURES):
        return InvalidMetadata(message)
    return InvalidArgument(message)


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
