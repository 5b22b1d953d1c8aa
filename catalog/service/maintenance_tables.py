"""A catalog table as pyiceberg's ``Table``, for table maintenance inside the server: files through
``WarehouseIO``, commits and reloads through the catalog service's own commit path (the same requirements
checks and compare-and-set every client's commit gets), and the sets of files a table's metadata references."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import TableRequirement, TableUpdate

from auth.service.principal import Permission, Principal
from catalog.errors import CommitFailed, NoSuchTable
from catalog.service.locations import file_paths
from catalog.service.maintenance_io import WarehouseIO, split_location
from catalog.service.metadata import parse_table_metadata
from catalog.service.naming import namespace_name
from catalog.service.tables import TableService
from catalog.store.repository import CatalogRepository

# Maintenance acts with the server's own rights, as R2's maintenance workers act with the stored credential.
MAINTENANCE = Principal(token_id="lakebox-maintenance", permission=Permission.ADMIN_RW)  # noqa: S106 - an id


@dataclass(frozen=True, slots=True)
class TableRef:
    bucket: str
    namespace: tuple[str, ...]
    name: str

    def target(self) -> str:
        return json.dumps([self.bucket, list(self.namespace), self.name], separators=(",", ":"))

    @classmethod
    def from_target(cls, target: str) -> TableRef:
        bucket, namespace, name = json.loads(target)
        return cls(str(bucket), tuple(str(level) for level in namespace), str(name))

    def __str__(self) -> str:
        return f"{self.bucket}/{'.'.join(self.namespace)}.{self.name}"


class _CatalogPort:
    """What pyiceberg's ``Table`` calls on its catalog: ``commit_table`` and ``load_table`` (refresh)."""

    def __init__(self, maintained: MaintainedTables, ref: TableRef) -> None:
        self._maintained = maintained
        self._ref = ref

    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        ref = self._ref
        try:
            result = self._maintained.tables.commit(
                MAINTENANCE, ref.bucket, ref.namespace, ref.name, requirements, updates
            )
        except CommitFailed as exc:
            raise CommitFailedException(str(exc)) from exc
        assert result.metadata_location is not None
        return CommitTableResponse(
            metadata=parse_table_metadata(result.metadata_json),
            **{"metadata-location": result.metadata_location},
        )

    def supports_server_side_planning(self) -> bool:
        return False

    def load_table(self, identifier: Any) -> Table:
        return self._maintained.load(self._ref)

    def _delete_old_metadata(self, io: Any, base: TableMetadata, metadata: TableMetadata) -> None:
        """Old metadata files go with orphan-file cleanup, not here."""


class MaintainedTables:
    def __init__(self, repo: CatalogRepository, tables: TableService, io: WarehouseIO) -> None:
        self.repo = repo
        self.tables = tables
        self.io = io

    def load(self, ref: TableRef) -> Table:
        entity = self.repo.get_entity(ref.bucket, namespace_name(ref.namespace), ref.name)
        if entity is None or entity.kind != "table":
            raise NoSuchTable(f"Table does not exist: {ref}")
        return Table(
            (*ref.namespace, ref.name),
            parse_table_metadata(entity.metadata_json),
            entity.metadata_location,
            self.io,
            cast(Any, _CatalogPort(self, ref)),
        )

    def metadata_document(self, ref: TableRef) -> tuple[str, dict[str, Any]]:
        entity = self.repo.get_entity(ref.bucket, namespace_name(ref.namespace), ref.name)
        if entity is None or entity.kind != "table":
            raise NoSuchTable(f"Table does not exist: {ref}")
        return entity.metadata_location, json.loads(entity.metadata_json)


def file_key(location: str) -> str:
    """The object key of a file location (``s3://``, ``s3a://``, ``s3n://`` name the same object)."""
    return split_location(location)[1]


def snapshot_files(table: Table, snapshot_ids: Iterable[int], *, live_only: bool) -> set[str]:
    """Keys of the manifest lists, manifests and data/delete files of the snapshots. ``live_only`` leaves out
    files that a snapshot's manifests list as deleted (what the snapshot no longer reads)."""
    io = table.io
    keys: set[str] = set()
    seen_manifests: set[str] = set()
    for snapshot_id in snapshot_ids:
        snapshot = table.metadata.snapshot_by_id(snapshot_id)
        if snapshot is None:
            continue
        keys.add(file_key(snapshot.manifest_list))
        for manifest in snapshot.manifests(io):
            keys.add(file_key(manifest.manifest_path))
            if (
                manifest.manifest_path in seen_manifests
            ):  # a manifest's entries are the same in every snapshot
                continue
            seen_manifests.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                if live_only and entry.status == ManifestEntryStatus.DELETED:
                    continue
                keys.add(file_key(entry.data_file.file_path))
    return keys


def referenced_files(table: Table, metadata_location: str, document: dict[str, Any]) -> set[str]:
    """Every key the table's metadata references: the current and logged metadata files, statistics files, and
    every file of every snapshot (deleted entries included: cleanup is conservative)."""
    keys = {file_key(metadata_location)}
    for _, path in file_paths(document):
        if isinstance(path, str) and "://" in path:
            keys.add(file_key(path))
    keys |= snapshot_files(table, [s.snapshot_id for s in table.metadata.snapshots], live_only=False)
    return keys


def data_files_summary(table: Table) -> tuple[int, int]:
    """(files, bytes) of the current snapshot's live data files."""
    if table.current_snapshot() is None:
        return 0, 0
    tasks = list(table.scan().plan_files())
    return len(tasks), sum(t.file.file_size_in_bytes for t in tasks)
