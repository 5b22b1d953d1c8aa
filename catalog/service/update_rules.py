"""Where Iceberg's Java ``TableMetadata.Builder`` and pyiceberg's update handlers disagree, the Java rule: each
such update is swapped for a subclass with its own handler (pyiceberg's handlers stay as they are for its own
classes)."""

from __future__ import annotations

from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import (
    RemovePartitionStatisticsUpdate,
    RemoveStatisticsUpdate,
    TableUpdate,
    UpgradeFormatVersionUpdate,
    _apply_table_update,
    _TableMetadataUpdateContext,
)

from catalog.service.format_v3 import UpgradeFormatVersion


class RemoveStatistics(RemoveStatisticsUpdate):
    """Removing statistics a snapshot does not have is a no-op (pyiceberg refuses it)."""


class RemovePartitionStatistics(RemovePartitionStatisticsUpdate):
    """Removing partition statistics a snapshot does not have is a no-op (pyiceberg refuses it)."""


def with_java_rules(updates: tuple[TableUpdate, ...]) -> tuple[TableUpdate, ...]:
    return tuple(_java_rule(u) for u in updates)


def _java_rule(update: TableUpdate) -> TableUpdate:
    if type(update) is UpgradeFormatVersionUpdate:
        return UpgradeFormatVersion(format_version=update.format_version)
    if type(update) is RemoveStatisticsUpdate:
        return RemoveStatistics(snapshot_id=update.snapshot_id)
    if type(update) is RemovePartitionStatisticsUpdate:
        return RemovePartitionStatistics(snapshot_id=update.snapshot_id)
    return update


@_apply_table_update.register(RemoveStatistics)
def _remove_statistics(
    update: RemoveStatistics, base: TableMetadata, context: _TableMetadataUpdateContext
) -> TableMetadata:
    if not any(s.snapshot_id == update.snapshot_id for s in base.statistics):
        return base
    remove = _apply_table_update.dispatch(RemoveStatisticsUpdate)
    return remove(update, base, context)


@_apply_table_update.register(RemovePartitionStatistics)
def _remove_partition_statistics(
    update: RemovePartitionStatistics, base: TableMetadata, context: _TableMetadataUpdateContext
) -> TableMetadata:
    if not any(s.snapshot_id == update.snapshot_id for s in base.partition_statistics):
        return base
    remove = _apply_table_update.dispatch(RemovePartitionStatisticsUpdate)
    return remove(update, base, context)
