"""What a new table and view hold, as Iceberg's Java reference catalog writes them (each checked against it):
the properties ``TableMetadata`` persists, stage-create's ``created-at``, v3 column defaults and row lineage, and a
view whose version refers to the schema sent with it."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from litestar.testing import TestClient

from tests.catalog.helpers import P, create_namespace

Client = TestClient  # type: ignore[type-arg]
S: dict[str, Any] = {
    "type": "struct",
    "schema-id": 3,
    "fields": [
        {"id": 7, "name": "id", "type": "long", "required": True},
        {"id": 9, "name": "n", "type": "long", "required": False, "initial-default": 7, "write-default": 8},
        {"id": 11, "name": "ts", "type": "timestamp_ns", "required": False},
    ],
}
RESERVED = {
    "format-version": "3",
    "uuid": "x",
    "snapshot-count": "1",
    "current-snapshot-id": "5",
    "current-schema": "x",
    "default-partition-spec": "x",
    "default-sort-order": "x",
    "current-snapshot-summary": "x",
    "current-snapshot-timestamp-ms": "1",
}


def test_new_table_properties_defaults_and_row_lineage(client: Client) -> None:
    create_namespace(client, "db")
    r = client.post(
        f"{P}/namespaces/db/tables", json={"name": "t", "schema": S, "properties": RESERVED | {"a": "b"}}
    )
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert meta["properties"] == {
        "a": "b",
        "write.parquet.compression-codec": "zstd",
    }  # reserved ones dropped
    assert meta["format-version"] == 3
    assert meta["next-row-id"] == 0
    fields = meta["schemas"][0]["fields"]
    assert [f["id"] for f in fields] == [1, 2, 3]  # fresh ids, defaults kept
    assert (fields[1]["initial-default"], fields[1]["write-default"]) == (7, 8)
    assert fields[2]["type"] == "timestamp_ns"

    body = {"name": "g", "schema": S, "properties": {"write.parquet.compression-codec": "gzip"}}
    r = client.post(f"{P}/namespaces/db/tables", json=body)
    assert r.status_code == 400  # timestamp_ns needs v3
    body["schema"] = {**S, "fields": S["fields"][:1]}
    r = client.post(f"{P}/namespaces/db/tables", json=body)
    assert r.json()["metadata"]["properties"] == {"write.parquet.compression-codec": "gzip"}


def test_stage_create_records_created_at(client: Client) -> None:
    create_namespace(client, "db")
    r = client.post(
        f"{P}/namespaces/db/tables",
        json={"name": "s", "schema": S | {"fields": S["fields"][:1]}, "stage-create": True},
    )
    assert r.status_code == 200, r.text
    props = r.json()["metadata"]["properties"]
    assert set(props) == {"created-at", "write.parquet.compression-codec"}
    assert props["created-at"].endswith("Z")
    datetime.fromisoformat(props["created-at"])
    assert client.head(f"{P}/namespaces/db/tables/s").status_code == 404


def test_view_version_takes_the_schema_sent_with_it(client: Client) -> None:
    create_namespace(client, "db")
    schema = copy.deepcopy(S) | {"schema-id": 5, "fields": S["fields"][:1]}
    version = {
        "version-id": 9,
        "schema-id": 3,
        "timestamp-ms": 1,
        "summary": {"engine-name": "spark"},
        "representations": [{"type": "sql", "sql": "select 1", "dialect": "spark"}],
        "default-namespace": ["db"],
    }
    r = client.post(f"{P}/namespaces/db/views", json={"name": "v", "schema": schema, "view-version": version})
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert [s["schema-id"] for s in meta["schemas"]] == [0]
    assert meta["schemas"][0]["fields"][0]["id"] == 7  # field ids as sent
    assert (meta["versions"][0]["version-id"], meta["versions"][0]["schema-id"]) == (1, 0)
    assert meta["current-version-id"] == 1


def test_view_version_ids_as_java_assigns_them(client: Client) -> None:
    """Java keeps a new version's id unless an existing one is as high (then highest + 1); schemas get highest + 1.
    The same requests to the reference gave versions [(1, 0), (3, 1), (9, 0)], current 9."""
    create_namespace(client, "db")
    schema = copy.deepcopy(S) | {"fields": S["fields"][:1]}

    def version(schema_id: int, version_id: int) -> dict[str, Any]:
        sql = [{"type": "sql", "sql": f"select {version_id}", "dialect": "spark"}]
        return {
            "version-id": version_id,
            "schema-id": schema_id,
            "timestamp-ms": 1,
            "summary": {},
            "representations": sql,
            "default-namespace": ["db"],
        }

    r = client.post(
        f"{P}/namespaces/db/views", json={"name": "v", "schema": schema, "view-version": version(0, 1)}
    )
    assert r.status_code == 200, r.text
    other = schema | {
        "schema-id": 7,
        "fields": [{"id": 1, "name": "other", "type": "long", "required": True}],
    }
    for updates in (
        [
            {"action": "add-schema", "schema": other},
            {"action": "add-view-version", "view-version": version(-1, 3)},
        ],
        [{"action": "add-view-version", "view-version": version(0, 9)}],
    ):
        updates.append({"action": "set-current-view-version", "view-version-id": -1})
        r = client.post(f"{P}/namespaces/db/views/v", json={"requirements": [], "updates": updates})
        assert r.status_code == 200, r.text
    meta = client.get(f"{P}/namespaces/db/views/v").json()["metadata"]
    assert [s["schema-id"] for s in meta["schemas"]] == [0, 1]
    assert [(v["version-id"], v["schema-id"]) for v in meta["versions"]] == [(1, 0), (3, 1), (9, 0)]
    assert meta["current-version-id"] == 9
