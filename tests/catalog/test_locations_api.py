"""The location policy (issue 14 item 1) through the catalog API: every way a table's location or a path its
metadata names can be set is checked, refused with 400 BadRequestException, and leaves nothing behind."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import insert

from catalog.service.catalog import CatalogService
from catalog.store.models import EntityRow
from tests.catalog.doubles import MemoryFiles, RecordingVendor
from tests.catalog.helpers import (
    SCHEMA,
    T_LOCATION,
    P,
    add_snapshot_updates,
    commit,
    create_namespace,
    create_table,
)
from tests.catalog.test_namespaces_api import error

Client = TestClient  # type: ignore[type-arg]

BAD_LOCATIONS = [
    "file:///tmp/t",
    "s3://other/t",
    "s3a://lake/t",
    "s3://lakehouse/t",
    "s3://lake",
    "s3://lake/",
    "s3://lake/a/../b",
    "s3://lake/a/..",
    "s3://lake/./a",
    "s3://lake/a/%2e%2e/b",
    "s3://lake/a/%2E%2e/b",
    "s3://lake/a/%252e%252e/b",
    "s3://lake/a/%2fb",
    "s3://lake/a//b",
    "s3://lake/a?b",
    "s3://lake/a#b",
    "s3://lake/a\\..\\b",
    "s3://lake/a\nb",
    "s3://lake/__lakebox",
    "s3://lake/__lakebox/",
    "s3://lake/__lakebox/db",
    "s3://lake/" + "x" * 100_000,
    "",
]


@pytest.fixture
def table(client: Client) -> dict[str, Any]:
    create_namespace(client, "db")
    create_table(client, "db", "t", location=T_LOCATION)
    r = commit(client, "db", "t", [], add_snapshot_updates(1, 1))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_create_refuses_a_location_outside_the_rules(
    client: Client, files: MemoryFiles, location: str
) -> None:
    create_namespace(client, "db")
    before = files.keys("lake")
    for stage in (False, True):
        body = {"name": "t", "schema": SCHEMA, "location": location, "stage-create": stage}
        assert error(client.post(f"{P}/namespaces/db/tables", json=body)) == (400, "BadRequestException")
    body = {"name": "v", "schema": SCHEMA, "location": location, "view-version": _view_version()}
    assert error(client.post(f"{P}/namespaces/db/views", json=body)) == (400, "BadRequestException")
    assert files.keys("lake") == before
    assert client.head(f"{P}/namespaces/db/tables/t").status_code == 404


@pytest.mark.parametrize("prop", ["write.data.path", "write.metadata.path", "write.object-storage.path"])
def test_create_refuses_path_properties_outside_the_table(
    client: Client, files: MemoryFiles, prop: str
) -> None:
    create_namespace(client, "db")
    before = files.keys("lake")
    for path in ("s3://lake/elsewhere", "file:///tmp/x", "s3://other/x", "s3://lake/t/../u"):
        body = {"name": "t", "schema": SCHEMA, "location": "s3://lake/t", "properties": {prop: path}}
        assert error(client.post(f"{P}/namespaces/db/tables", json=body)) == (400, "BadRequestException")
    assert files.keys("lake") == before
    body = {
        "name": "t",
        "schema": SCHEMA,
        "location": "s3://lake/t",
        "properties": {prop: "s3://lake/t/files"},
    }
    assert client.post(f"{P}/namespaces/db/tables", json=body).status_code == 200


def test_create_refuses_overlapping_another_table(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "a", location="s3://lake/shared/a")
    before = files.keys("lake")
    for location in ("s3://lake/shared", "s3://lake/shared/a", "s3://lake/shared/a/", "s3://lake/shared/a/x"):
        body = {"name": "b", "schema": SCHEMA, "location": location}
        assert error(client.post(f"{P}/namespaces/db/tables", json=body)) == (400, "BadRequestException")
    assert files.keys("lake") == before
    create_table(client, "db", "b", location="s3://lake/shared/ab")  # a sibling sharing a name prefix is fine
    create_table(client, "db", "c", location="s3://lake/__lakebox/db/chosen")  # a table folder of the area


@pytest.mark.parametrize(
    ("updates", "what"),
    [
        ([{"action": "set-location", "location": "file:///etc"}], "set-location"),
        ([{"action": "set-location", "location": "s3://lake/__lakebox"}], "catalog area"),
        ([{"action": "set-location", "location": "relative/path"}], "relative"),
        ([{"action": "set-properties", "updates": {"write.data.path": "s3://lake/elsewhere"}}], "data path"),
        ([{"action": "set-properties", "updates": {"write.data.path": "file:///tmp"}}], "data path file"),
        ([{"action": "set-properties", "updates": {"write.metadata.path": "s3://other/m"}}], "metadata path"),
        (
            [{"action": "set-properties", "updates": {"write.object-storage.path": f"{T_LOCATION}/../x"}}],
            "object storage path",
        ),
        (
            [
                {
                    "action": "add-snapshot",
                    "snapshot": {
                        "snapshot-id": 2,
                        "parent-snapshot-id": 1,
                        "sequence-number": 2,
                        "timestamp-ms": 1_700_000_000_002,
                        "manifest-list": "s3://lake/someone-else/snap-2.avro",
                        "summary": {"operation": "append"},
                        "schema-id": 0,
                    },
                }
            ],
            "manifest list",
        ),
        (
            [
                {
                    "action": "set-statistics",
                    "snapshot-id": 1,
                    "statistics": {
                        "snapshot-id": 1,
                        "statistics-path": "s3://lake/other/stats.puffin",
                        "file-size-in-bytes": 1,
                        "file-footer-size-in-bytes": 1,
                        "blob-metadata": [],
                    },
                }
            ],
            "statistics",
        ),
        (
            [
                {
                    "action": "set-partition-statistics",
                    "partition-statistics": {
                        "snapshot-id": 1,
                        "statistics-path": f"{T_LOCATION}/%2e%2e/x/p.parquet",
                        "file-size-in-bytes": 1,
                    },
                }
            ],
            "partition statistics",
        ),
        ([{"action": "assign-uuid", "uuid": "00000000-0000-0000-0000-000000000001"}], "assign-uuid"),
    ],
)
def test_commit_updates_are_checked(
    client: Client, files: MemoryFiles, table: dict[str, Any], updates: list[Any], what: str
) -> None:
    before = files.keys("lake")
    r = commit(client, "db", "t", [], updates)
    assert error(r) == (400, "BadRequestException"), what
    assert files.keys("lake") == before  # no metadata file written
    loaded = client.get(f"{P}/namespaces/db/tables/t").json()
    assert loaded["metadata-location"] == table["metadata-location"]
    # the same update inside a multi-table transaction: nothing moves
    body = {"table-changes": [{"identifier": {"namespace": ["db"], "name": "t"}, "updates": updates}]}
    assert error(client.post(f"{P}/transactions/commit", json=body)) == (400, "BadRequestException")
    assert client.get(f"{P}/namespaces/db/tables/t").json()["metadata-location"] == table["metadata-location"]


def test_paths_inside_the_table_are_accepted(client: Client, table: dict[str, Any]) -> None:
    props = {
        "write.data.path": f"{T_LOCATION}/data",
        "write.metadata.path": f"{T_LOCATION}/metadata/",
        "write.object-storage.path": f"{T_LOCATION}/objects",
    }
    r = commit(client, "db", "t", [], [{"action": "set-properties", "updates": props}])
    assert r.status_code == 200, r.text
    same_uuid = [{"action": "assign-uuid", "uuid": table["metadata"]["table-uuid"]}]
    r = commit(client, "db", "t", [], same_uuid)  # assigning the UUID it has is a no-op, as in Iceberg
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["table-uuid"] == table["metadata"]["table-uuid"]


def test_commit_body_naming_another_table_is_refused(client: Client, table: dict[str, Any]) -> None:
    create_table(client, "db", "u")
    upd = [{"action": "set-properties", "updates": {"x": "1"}}]
    for ident in ({"namespace": ["db"], "name": "u"}, {"namespace": ["other"], "name": "t"}):
        r = client.post(f"{P}/namespaces/db/tables/t", json={"identifier": ident, "updates": upd})
        assert error(r) == (400, "BadRequestException")
    assert "x" not in client.get(f"{P}/namespaces/db/tables/u").json()["metadata"]["properties"]
    r = client.post(
        f"{P}/namespaces/db/tables/t", json={"identifier": {"namespace": ["db"], "name": "t"}, "updates": upd}
    )
    assert r.status_code == 200, r.text


def test_register_refuses_the_catalog_area_and_other_tables(client: Client, files: MemoryFiles) -> None:
    create_namespace(client, "db")
    a = create_table(client, "db", "a")
    a_location = a["metadata"]["location"]
    create_table(client, "db", "b", location="s3://lake/shared/b")
    cases = {
        "s3://lake/__lakebox": "catalog area",
        "s3://lake/__lakebox/db": "the namespace folder holding table a",
        a_location: "table a itself",
        a_location + "/inside": "inside table a",
        "s3://lake/shared": "a prefix of table b",
        "s3://lake/shared/b/x": "inside table b",
    }
    for i, (location, why) in enumerate(cases.items()):
        key = f"{location.removeprefix('s3://lake/')}/metadata/v{i}.metadata.json"
        files.write("lake", key, _metadata_with(a["metadata"], location), "application/json")
        body = {"name": f"evil{i}", "metadata-location": f"s3://lake/{key}"}
        assert error(client.post(f"{P}/namespaces/db/register", json=body)) == (400, "BadRequestException"), (
            why
        )
    # a metadata file outside the location it names; a metadata naming a file of another table
    files.write(
        "lake", "loose/v.metadata.json", _metadata_with(a["metadata"], "s3://lake/mine"), "application/json"
    )
    body = {"name": "loose", "metadata-location": "s3://lake/loose/v.metadata.json"}
    assert error(client.post(f"{P}/namespaces/db/register", json=body)) == (400, "BadRequestException")
    doc = json.loads(_metadata_with(a["metadata"], "s3://lake/mine"))
    doc["properties"] = {"write.data.path": "s3://lake/shared/b/data"}
    files.write("lake", "mine/metadata/v.metadata.json", json.dumps(doc).encode(), "application/json")
    body = {"name": "mine", "metadata-location": "s3://lake/mine/metadata/v.metadata.json"}
    assert error(client.post(f"{P}/namespaces/db/register", json=body)) == (400, "BadRequestException")
    for bad in ("s3://lake/" + "m" * 100_000, "file:///etc/passwd", "s3://lake/x/%2e%2e/y.json", 7, None):
        body = {"name": "x", "metadata-location": bad}
        assert error(client.post(f"{P}/namespaces/db/register", json=body)) == (400, "BadRequestException")
    assert [i["name"] for i in client.get(f"{P}/namespaces/db/tables").json()["identifiers"]] == ["a", "b"]


def test_rename_keeps_the_location_and_a_new_table_gets_a_fresh_one(client: Client) -> None:
    create_namespace(client, "db")
    t = create_table(client, "db", "t")
    body = {"source": {"namespace": ["db"], "name": "t"}, "destination": {"namespace": ["db"], "name": "u"}}
    assert client.post(f"{P}/tables/rename", json=body).status_code == 204
    assert (
        client.get(f"{P}/namespaces/db/tables/u").json()["metadata"]["location"] == t["metadata"]["location"]
    )
    again = create_table(client, "db", "t")
    assert again["metadata"]["location"] != t["metadata"]["location"]


def test_vended_credentials_cover_only_the_table(
    client: Client, vendor: RecordingVendor, service: CatalogService
) -> None:
    create_namespace(client, "db")
    t = create_table(client, "db", "t")
    headers = {"X-Iceberg-Access-Delegation": "vended-credentials"}
    assert client.get(f"{P}/namespaces/db/tables/t", headers=headers).status_code == 200
    assert vendor.calls[-1][1:3] == ("lake", t["metadata"]["location"].removeprefix("s3://lake/") + "/")
    # a table stored before the policy existed, at the catalog's own area: no credentials for it
    _insert_legacy(service, "legacy", "s3://lake/__lakebox")
    calls = len(vendor.calls)
    r = client.get(f"{P}/namespaces/db/tables/legacy", headers=headers)
    assert error(r) == (400, "BadRequestException")
    assert error(client.get(f"{P}/namespaces/db/tables/legacy/credentials")) == (400, "BadRequestException")
    assert len(vendor.calls) == calls


def test_purging_a_legacy_overlapping_table_spares_the_others(
    client: Client, files: MemoryFiles, service: CatalogService
) -> None:
    """A table stored before the policy at the catalog's area whose metadata names another table's files:
    its purge deletes nothing of the other table (nor anything else: its location is not a valid one)."""
    create_namespace(client, "db")
    other = create_table(client, "db", "other")
    other_keys = files.keys("lake", other["metadata"]["location"].removeprefix("s3://lake/"))
    assert other_keys
    _insert_legacy(service, "legacy", "s3://lake/__lakebox", metadata_location=other["metadata-location"])
    r = client.delete(f"{P}/namespaces/db/tables/legacy", params={"purgeRequested": "true"})
    assert r.status_code == 204
    assert files.keys("lake", other["metadata"]["location"].removeprefix("s3://lake/")) == other_keys
    assert client.get(f"{P}/namespaces/db/tables/other").status_code == 200


def _insert_legacy(
    service: CatalogService, name: str, location: str, metadata_location: str | None = None
) -> None:
    doc = {"format-version": 2, "location": location}
    now = time.time()
    with service.ctx.repo.db.write() as conn:
        conn.execute(
            insert(EntityRow.__table__).values(  # type: ignore[attr-defined]
                id=f"legacy-{name}",
                warehouse="lake",
                namespace="db",
                name=name,
                kind="table",
                location=location,
                metadata_location=metadata_location or f"{location}/metadata/00000-x.metadata.json",
                metadata_json=json.dumps(doc),
                version=0,
                created_at=now,
                updated_at=now,
            )
        )


def _metadata_with(metadata: dict[str, Any], location: str) -> bytes:
    return json.dumps({**metadata, "location": location}).encode()


def _view_version() -> dict[str, Any]:
    return {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 1_700_000_000_000,
        "summary": {},
        "representations": [{"type": "sql", "sql": "select 1", "dialect": "spark"}],
        "default-namespace": ["db"],
    }
