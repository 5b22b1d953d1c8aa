"""Exact metadata: a table whose metadata carries every optional field of the spec plus fields no model knows
(written by another client, registered here) is committed through many update kinds; every field the updates did
not touch loads back equal in value, and what they changed is exactly what they asked for."""

from __future__ import annotations

import copy
import json
from typing import Any

from litestar.testing import TestClient

from tests.catalog.doubles import MemoryFiles
from tests.catalog.helpers import P, create_namespace

Client = TestClient  # type: ignore[type-arg]
LOC = "s3://lake/exact/t"
S1, S2, S3 = 3051729675574597004, 3055729675574597004, 3060729675574597004


def snap(snapshot_id: int, seq: int, parent: int | None, **extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "snapshot-id": snapshot_id,
        "sequence-number": seq,
        "timestamp-ms": 1_700_000_000_000 + seq,
        "manifest-list": f"{LOC}/metadata/snap-{snapshot_id}.avro",
        "summary": {"operation": "append", "added-data-files": "1", "spark.app.id": "local-1"},
        "schema-id": 0,
        **extra,
    }
    if parent is not None:
        s["parent-snapshot-id"] = parent
    return s


def full_metadata() -> dict[str, Any]:
    """v2 metadata with every optional field of the spec and unknown ones at every level."""
    return {
        "format-version": 2,
        "table-uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1",
        "location": LOC,
        "last-sequence-number": 2,
        "last-updated-ms": 1_700_000_000_002,
        "last-column-id": 4,
        "current-schema-id": 0,
        "schemas": [
            {
                "type": "struct",
                "schema-id": 0,
                "identifier-field-ids": [1],
                "x-schema-extra": {"kept": True},
                "fields": [
                    {"id": 1, "name": "id", "type": "long", "required": True, "doc": "the key"},
                    {"id": 2, "name": "ts", "type": "timestamptz", "required": False},
                    {
                        "id": 3,
                        "name": "tags",
                        "type": {
                            "type": "list",
                            "element-id": 4,
                            "element": "string",
                            "element-required": False,
                        },
                        "required": False,
                        "x-field-extra": 7,
                    },
                ],
            }
        ],
        "default-spec-id": 0,
        "partition-specs": [
            {
                "spec-id": 0,
                "fields": [{"name": "ts_day", "transform": "day", "source-id": 2, "field-id": 1000}],
            }
        ],
        "last-partition-id": 1000,
        "default-sort-order-id": 1,
        "sort-orders": [
            {"order-id": 0, "fields": []},
            {
                "order-id": 1,
                "fields": [
                    {"transform": "identity", "source-id": 1, "direction": "asc", "null-order": "nulls-first"}
                ],
            },
        ],
        "properties": {
            "owner": "spark",
            "write.format.default": "parquet",
            "x.unknown.property": "kept",
            "to-remove": "gone after the commit",
        },
        "current-snapshot-id": S2,
        "snapshots": [
            snap(S1, 1, None),
            snap(S2, 2, S1, **{"x-snapshot-extra": [1, 2]}),
        ],
        "refs": {
            "main": {
                "snapshot-id": S2,
                "type": "branch",
                "min-snapshots-to-keep": 5,
                "max-snapshot-age-ms": 86_400_000,
                "max-ref-age-ms": 604_800_000,
            },
            "audit": {"snapshot-id": S1, "type": "branch", "min-snapshots-to-keep": 2, "x-ref-extra": "kept"},
            "v1": {"snapshot-id": S1, "type": "tag", "max-ref-age-ms": 1_000_000},
        },
        "snapshot-log": [
            {"timestamp-ms": 1_700_000_000_001, "snapshot-id": S1},
            {"timestamp-ms": 1_700_000_000_002, "snapshot-id": S2},
        ],
        "metadata-log": [
            {"timestamp-ms": 1_699_999_999_999, "metadata-file": f"{LOC}/metadata/00000-a.metadata.json"}
        ],
        "statistics": [
            {
                "snapshot-id": S2,
                "statistics-path": f"{LOC}/metadata/stats-{S2}.puffin",
                "file-size-in-bytes": 413,
                "file-footer-size-in-bytes": 42,
                "key-metadata": "AAEC",
                "blob-metadata": [
                    {
                        "type": "apache-datasketches-theta-v1",
                        "snapshot-id": S2,
                        "sequence-number": 2,
                        "fields": [1],
                        "properties": {"ndv": "3"},
                    }
                ],
            }
        ],
        "partition-statistics": [
            {
                "snapshot-id": S1,
                "statistics-path": f"{LOC}/metadata/partition-stats-{S1}.parquet",
                "file-size-in-bytes": 43,
            }
        ],
        "x-top-level-unknown": {"nested": ["a", {"b": None}], "n": 1.5},
    }


def register(client: Client, files: MemoryFiles, doc: dict[str, Any]) -> None:
    files.write(
        "lake", "exact/t/metadata/00001-b.metadata.json", json.dumps(doc).encode(), "application/json"
    )
    body = {"name": "t", "metadata-location": f"{LOC}/metadata/00001-b.metadata.json"}
    r = client.post(f"{P}/namespaces/db/register", json=body)
    assert r.status_code == 200, r.text


def commit(client: Client, updates: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post(f"{P}/namespaces/db/tables/t", json={"requirements": [], "updates": updates})
    assert r.status_code == 200, r.text
    loaded: dict[str, Any] = client.get(f"{P}/namespaces/db/tables/t").json()["metadata"]
    assert r.json()["metadata"] == loaded
    return loaded


def test_every_untouched_field_survives_every_update_kind(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    doc = full_metadata()
    register(client, files, doc)
    expected = copy.deepcopy(doc)

    def check(got: dict[str, Any], *changed: str) -> None:
        for key in expected:
            if key not in changed and key not in ("last-updated-ms", "metadata-log"):
                assert got[key] == expected[key], key
        for key in got:
            assert key in expected or key in changed, key
        log = got["metadata-log"]
        assert (
            log[: len(expected["metadata-log"])] == expected["metadata-log"]
        )  # appended to, never rewritten
        expected["metadata-log"] = log
        for key in changed:
            expected[key] = got[key]

    got = commit(client, [{"action": "set-properties", "updates": {"added": "1", "owner": "trino"}}])
    assert got["properties"] == doc["properties"] | {"added": "1", "owner": "trino"}
    check(got, "properties")

    got = commit(client, [{"action": "remove-properties", "removals": ["to-remove"]}])
    assert "to-remove" not in got["properties"]
    assert got["properties"]["x.unknown.property"] == "kept"
    check(got, "properties")

    new_schema = copy.deepcopy(doc["schemas"][0])
    new_schema["schema-id"] = 1
    new_schema["fields"].append({"id": 5, "name": "extra", "type": "int", "required": False})
    got = commit(
        client,
        [{"action": "add-schema", "schema": new_schema}, {"action": "set-current-schema", "schema-id": -1}],
    )
    assert got["schemas"][0] == doc["schemas"][0]  # the old schema with its unknown keys
    assert got["current-schema-id"] == 1
    assert got["last-column-id"] == 5
    check(got, "schemas", "current-schema-id", "last-column-id")

    spec = {
        "spec-id": 1,
        "fields": [{"name": "id_b", "transform": "bucket[4]", "source-id": 1, "field-id": 1001}],
    }
    got = commit(
        client, [{"action": "add-spec", "spec": spec}, {"action": "set-default-spec", "spec-id": -1}]
    )
    assert got["partition-specs"][0] == doc["partition-specs"][0]
    check(got, "partition-specs", "default-spec-id", "last-partition-id")

    order = {
        "order-id": 2,
        "fields": [
            {"transform": "identity", "source-id": 5, "direction": "desc", "null-order": "nulls-last"}
        ],
    }
    got = commit(
        client,
        [
            {"action": "add-sort-order", "sort-order": order},
            {"action": "set-default-sort-order", "sort-order-id": -1},
        ],
    )
    check(got, "sort-orders", "default-sort-order-id")

    got = commit(
        client,
        [
            {"action": "add-snapshot", "snapshot": snap(S3, 3, S2) | {"schema-id": 1}},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": S3},
        ],
    )
    assert got["snapshots"][:2] == doc["snapshots"]  # the old snapshots, unknown keys included
    assert got["refs"]["audit"] == doc["refs"]["audit"]
    assert got["refs"]["v1"] == doc["refs"]["v1"]
    assert got["refs"]["main"]["snapshot-id"] == S3
    assert got["snapshot-log"][:2] == doc["snapshot-log"]
    check(got, "snapshots", "refs", "current-snapshot-id", "last-sequence-number", "snapshot-log")

    stats = {
        "snapshot-id": S3,
        "statistics-path": f"{LOC}/metadata/stats-{S3}.puffin",
        "file-size-in-bytes": 9,
        "file-footer-size-in-bytes": 4,
        "blob-metadata": [],
    }
    got = commit(client, [{"action": "set-statistics", "statistics": stats}])
    assert got["statistics"][0] == doc["statistics"][0]
    check(got, "statistics")

    got = commit(client, [{"action": "remove-snapshot-ref", "ref-name": "v1"}])
    assert set(got["refs"]) == {"main", "audit"}
    assert got["refs"]["audit"] == doc["refs"]["audit"]
    check(got, "refs")

    got = commit(client, [{"action": "remove-partition-statistics", "snapshot-id": S1}])
    check(got, "partition-statistics")

    got = commit(client, [{"action": "upgrade-format-version", "format-version": 3}])
    assert got["format-version"] == 3
    assert got["next-row-id"] == 0
    check(got, "format-version", "next-row-id")

    assert got["x-top-level-unknown"] == doc["x-top-level-unknown"]
    assert got["schemas"][0]["x-schema-extra"] == {"kept": True}
    assert got["schemas"][0]["fields"][2]["x-field-extra"] == 7
    assert got["snapshots"][1]["x-snapshot-extra"] == [1, 2]
    assert got["statistics"][0]["key-metadata"] == "AAEC"


def test_a_commit_without_changes_rewrites_nothing(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    register(client, files, full_metadata())
    before = client.get(f"{P}/namespaces/db/tables/t").json()
    r = client.post(f"{P}/namespaces/db/tables/t", json={"requirements": [], "updates": []})
    assert r.status_code == 200, r.text
    assert client.get(f"{P}/namespaces/db/tables/t").json() == before
