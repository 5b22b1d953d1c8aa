"""Format version 3 where pyiceberg 0.12 stops short of it: upgrading a table to v3, the v3 row-lineage rules of
Iceberg's ``TableMetadata.Builder``, and column defaults kept when a new table's ids are assigned."""

from __future__ import annotations

from typing import Any

from pyiceberg.schema import Schema, _SetFreshIDs, index_by_id, pre_order_visit
from pyiceberg.table.metadata import TableMetadata, TableMetadataV3
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    TableUpdate,
    UpgradeFormatVersionUpdate,
    _apply_table_update,
    _TableMetadataUpdateContext,
)
from pyiceberg.types import NestedField, StructType

LATEST_FORMAT_VERSION = 3
INITIAL_ROW_ID = 0


class UpgradeFormatVersion(UpgradeFormatVersionUpdate):
    """``upgrade-format-version`` to any version up to 3 (pyiceberg's own handler stops at 2)."""


@_apply_table_update.register(UpgradeFormatVersion)
def _upgrade(
    update: UpgradeFormatVersion, base: TableMetadata, context: _TableMetadataUpdateContext
) -> TableMetadata:
    target = update.format_version
    if target > LATEST_FORMAT_VERSION:
        raise ValueError(f"Cannot upgrade table to unsupported format version: v{target} (supported: v3)")
    if target < base.format_version:
        raise ValueError(f"Cannot downgrade v{base.format_version} table to v{target}")
    if target == base.format_version:
        return base
    upgrade_to_v2 = _apply_table_update.dispatch(UpgradeFormatVersionUpdate)
    if base.format_version == 1:
        base = upgrade_to_v2(UpgradeFormatVersionUpdate(format_version=2), base, context)
    if target == 2:
        return base
    context.add_update(update)
    fields = {k: v for k, v in dict(base).items() if k != "format_version"}
    return TableMetadataV3.model_construct(**fields, format_version=3, next_row_id=INITIAL_ROW_ID)


def check_row_lineage(updates: tuple[TableUpdate, ...], new: TableMetadata) -> None:
    """Iceberg's v3 rule pyiceberg does not enforce: a snapshot added to a v3 table says how many rows it adds."""
    if new.format_version < 3:
        return
    for update in updates:
        if isinstance(update, AddSnapshotUpdate) and update.snapshot.added_rows is None:
            raise ValueError("Cannot add a snapshot: added-rows is null")


def with_next_row_id(metadata: TableMetadata) -> TableMetadata:
    """A new v3 table starts its row ids at 0 (``next-row-id``), as Iceberg's Java writes it."""
    if isinstance(metadata, TableMetadataV3) and metadata.next_row_id is None:
        return metadata.model_copy(update={"next_row_id": INITIAL_ROW_ID})
    return metadata


class _FreshIdsKeepingDefaults(_SetFreshIDs):
    def struct(self, struct: StructType, field_results: list[Any]) -> StructType:
        fresh = super().struct(struct, field_results)
        return StructType(
            *(
                NestedField(
                    field_id=new.field_id,
                    name=new.name,
                    field_type=new.field_type,
                    required=new.required,
                    doc=new.doc,
                    initial_default=old.initial_default,
                    write_default=old.write_default,
                )
                for new, old in zip(fresh.fields, struct.fields, strict=True)
            )
        )


def with_defaults_of(metadata: TableMetadata, requested: Schema) -> TableMetadata:
    """``metadata`` whose one schema got fresh ids from ``requested``, with the ``initial-default`` and
    ``write-default`` of ``requested`` (pyiceberg's id assignment drops them; Iceberg keeps them)."""
    if not any(
        f.initial_default is not None or f.write_default is not None for f in index_by_id(requested).values()
    ):
        return metadata
    fresh = pre_order_visit(requested, _FreshIdsKeepingDefaults())
    assert isinstance(fresh, Schema)
    schema = Schema(
        *fresh.fields,
        schema_id=metadata.schemas[0].schema_id,
        identifier_field_ids=fresh.identifier_field_ids,
    )
    changes: dict[str, Any] = {"schemas": [schema]}
    if metadata.format_version == 1:
        changes["schema_"] = schema
    return metadata.model_copy(update=changes)
