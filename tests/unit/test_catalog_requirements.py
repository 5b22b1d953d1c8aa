"""Requirement checks and update application (catalog.service.metadata), built on pyiceberg's models."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.types import LongType, NestedField, StringType

from catalog.errors import BadRequest, CommitFailed
from catalog.service.metadata import commit_metadata, create_metadata, dump_metadata, parse_table_metadata

REQS: TypeAdapter[list[TableRequirement]] = TypeAdapter(list[TableRequirement])
UPDATES: TypeAdapter[list[TableUpdate]] = TypeAdapter(list[TableUpdate])


@pytest.fixture
def base() -> TableMetadata:
    schema = Schema(NestedField(1, "id", LongType(), required=True), NestedField(2, "s", StringType()))
    meta = create_metadata(schema, "s3://lake/t", None, None, {})
    snap = {
        "snapshot-id": 10,
        "sequence-number": 1,
        "timestamp-ms": 1_700_000_000_000,
        "manifest-list": "s3://lake/t/metadata/snap-10.avro",
        "summary": {"operation": "append"},
        "schema-id": 0,
    }
    updates = UPDATES.validate_python(
        [
            {"action": "add-snapshot", "snapshot": snap},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 10},
        ]
    )
    return commit_metadata(meta, "s3://lake/t/metadata/00000-a.metadata.json", [], updates)


def _failing(base: TableMetadata) -> list[dict[str, Any]]:
    return [
        {"type": "assert-create"},
        {"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"},
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 99},
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": base.last_column_id + 1},
        {"type": "assert-current-schema-id", "current-schema-id": base.current_schema_id + 1},
        {"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 1234},
        {"type": "assert-default-spec-id", "default-spec-id": base.default_spec_id + 1},
        {"type": "assert-default-sort-order-id", "default-sort-order-id": base.default_sort_order_id + 1},
    ]


REQUIREMENT_TYPES = [
    "assert-create",
    "assert-table-uuid",
    "assert-ref-snapshot-id",
    "assert-last-assigned-field-id",
    "assert-current-schema-id",
    "assert-last-assigned-partition-id",
    "assert-default-spec-id",
    "assert-default-sort-order-id",
]


@pytest.mark.parametrize("req_type", REQUIREMENT_TYPES)
def test_each_failing_requirement_is_commit_failed_and_changes_nothing(
    base: TableMetadata, req_type: str
) -> None:
    before = dump_metadata(base)
    failing = next(r for r in _failing(base) if r["type"] == req_type)
    set_prop = UPDATES.validate_python([{"action": "set-properties", "updates": {"k": "v"}}])
    with pytest.raises(CommitFailed, match="Requirement failed"):
        commit_metadata(
            base, "s3://lake/t/metadata/00001-b.metadata.json", REQS.validate_python([failing]), set_prop
        )
    assert dump_metadata(base) == before


def test_each_requirement_passes_when_true(base: TableMetadata) -> None:
    ok = [
        {"type": "assert-table-uuid", "uuid": str(base.table_uuid)},
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 10},
        {"type": "assert-ref-snapshot-id", "ref": "feature", "snapshot-id": None},
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": base.last_column_id},
        {"type": "assert-current-schema-id", "current-schema-id": base.current_schema_id},
        {"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": base.last_partition_id},
        {"type": "assert-default-spec-id", "default-spec-id": base.default_spec_id},
        {"type": "assert-default-sort-order-id", "default-sort-order-id": base.default_sort_order_id},
    ]
    updates = UPDATES.validate_python([{"action": "set-properties", "updates": {"k": "v"}}])
    new = commit_metadata(
        base, "s3://lake/t/metadata/00001-b.metadata.json", REQS.validate_python(ok), updates
    )
    assert new.properties["k"] == "v"
    assert new.metadata_log[-1].metadata_file == "s3://lake/t/metadata/00001-b.metadata.json"


def test_ref_must_not_exist_when_snapshot_id_null(base: TableMetadata) -> None:
    req = REQS.validate_python([{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None}])
    with pytest.raises(CommitFailed):
        commit_metadata(base, None, req, [])


def test_create_from_updates_without_base() -> None:
    schema = {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "x", "type": "long", "required": False}],
    }
    updates = UPDATES.validate_python(
        [
            {"action": "assign-uuid", "uuid": "6f0a6e0a-7d0f-4c1f-9d3a-2b8c0f1e2d3c"},
            {"action": "upgrade-format-version", "format-version": 2},
            {"action": "add-schema", "schema": schema},
            {"action": "set-current-schema", "schema-id": -1},
            {"action": "add-spec", "spec": {"spec-id": 0, "fields": []}},
            {"action": "set-default-spec", "spec-id": -1},
            {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
            {"action": "set-default-sort-order", "sort-order-id": -1},
            {"action": "set-location", "location": "s3://lake/new"},
            {"action": "set-properties", "updates": {"owner": "me"}},
        ]
    )
    meta = commit_metadata(None, None, REQS.validate_python([{"type": "assert-create"}]), updates)
    assert meta.format_version == 2
    assert str(meta.table_uuid) == "6f0a6e0a-7d0f-4c1f-9d3a-2b8c0f1e2d3c"
    assert meta.location == "s3://lake/new"
    assert meta.properties == {"owner": "me"}
    assert parse_table_metadata(dump_metadata(meta)) == meta


def test_update_without_base_needs_assert_create() -> None:
    with pytest.raises(CommitFailed):
        commit_metadata(None, None, [], [])


@pytest.mark.parametrize(
    "update",
    [
        {"action": "set-current-schema", "schema-id": 42},
        {"action": "set-default-spec", "spec-id": 42},
        {"action": "set-default-sort-order", "sort-order-id": 42},
        {"action": "set-snapshot-ref", "ref-name": "b", "type": "branch", "snapshot-id": 4242},
        {"action": "upgrade-format-version", "format-version": 1},
    ],
)
def test_invalid_updates_are_bad_requests(base: TableMetadata, update: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        commit_metadata(base, None, [], UPDATES.validate_python([update]))


def test_every_update_action_applies(base: TableMetadata) -> None:
    new_schema = {
        "type": "struct",
        "schema-id": 1,
        "fields": [
            {"id": 1, "name": "id", "type": "long", "required": True},
            {"id": 2, "name": "s", "type": "string", "required": False},
            {"id": 3, "name": "n", "type": "int", "required": False},
        ],
    }
    snap2 = {
        "snapshot-id": 11,
        "parent-snapshot-id": 10,
        "sequence-number": 2,
        "timestamp-ms": 1_700_000_000_100,
        "manifest-list": "s3://lake/t/metadata/snap-11.avro",
        "summary": {"operation": "append"},
        "schema-id": 0,
    }
    stats = {
        "snapshot-id": 10,
        "statistics-path": "s3://lake/t/stats.puffin",
        "file-size-in-bytes": 10,
        "file-footer-size-in-bytes": 4,
        "blob-metadata": [],
    }
    pstats = {"snapshot-id": 10, "statistics-path": "s3://lake/t/p.parquet", "file-size-in-bytes": 5}
    updates = UPDATES.validate_python(
        [
            {"action": "assign-uuid", "uuid": str(base.table_uuid)},
            {"action": "upgrade-format-version", "format-version": 2},
            {"action": "add-schema", "schema": new_schema, "last-column-id": 3},
            {"action": "set-current-schema", "schema-id": -1},
            {
                "action": "add-spec",
                "spec": {
                    "spec-id": 1,
                    "fields": [{"source-id": 1, "field-id": 1000, "name": "id_b", "transform": "bucket[4]"}],
                },
            },
            {"action": "set-default-spec", "spec-id": -1},
            {
                "action": "add-sort-order",
                "sort-order": {
                    "order-id": 1,
                    "fields": [
                        {
                            "source-id": 1,
                            "transform": "identity",
                            "direction": "asc",
                            "null-order": "nulls-first",
                        }
                    ],
                },
            },
            {"action": "set-default-sort-order", "sort-order-id": -1},
            {"action": "add-snapshot", "snapshot": snap2},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 11},
            {"action": "set-snapshot-ref", "ref-name": "tag1", "type": "tag", "snapshot-id": 10},
            {"action": "remove-snapshot-ref", "ref-name": "tag1"},
            {"action": "set-statistics", "statistics": stats},
            {"action": "remove-statistics", "snapshot-id": 10},
            {"action": "set-partition-statistics", "partition-statistics": pstats},
            {"action": "remove-partition-statistics", "snapshot-id": 10},
            {"action": "remove-snapshots", "snapshot-ids": [10]},
            {"action": "set-location", "location": "s3://lake/t"},
            {"action": "set-properties", "updates": {"a": "1", "b": "2"}},
            {"action": "remove-properties", "removals": ["a"]},
        ]
    )
    new = commit_metadata(base, "s3://lake/t/metadata/00001-b.metadata.json", [], updates)
    assert new.current_schema_id == 1
    assert new.default_spec_id == 1
    assert new.default_sort_order_id == 1
    assert new.current_snapshot_id == 11
    assert [s.snapshot_id for s in new.snapshots] == [11]
    assert "tag1" not in new.refs
    assert new.properties == {"b": "2", "write.parquet.compression-codec": "zstd"}
    # the two removals of unused schema/spec ids
    more = UPDATES.validate_python(
        [
            {"action": "remove-schemas", "schema-ids": [0]},
            {"action": "remove-partition-specs", "spec-ids": [0]},
        ]
    )
    newer = commit_metadata(new, None, [], more)
    assert [s.schema_id for s in newer.schemas] == [1]
    assert [s.spec_id for s in newer.partition_specs] == [1]
