"""Views over HTTP: create, load, replace, drop, exists, list, rename, register; shared identifiers with tables."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.catalog.helpers import SCHEMA, P, create_namespace, create_table
from tests.catalog.test_namespaces_api import error

Client = TestClient  # type: ignore[type-arg]


def view_version(sql: str, schema_id: int = 0) -> dict[str, Any]:
    return {
        "version-id": 1,
        "schema-id": schema_id,
        "timestamp-ms": 1_700_000_000_000,
        "summary": {"engine-name": "spark"},
        "representations": [{"type": "sql", "sql": sql, "dialect": "spark"}],
        "default-namespace": ["db"],
    }


def create_view(client: Client, name: str, sql: str = "select 1") -> dict[str, Any]:
    body = {"name": name, "schema": SCHEMA, "view-version": view_version(sql), "properties": {"p": "1"}}
    r = client.post(f"{P}/namespaces/db/views", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_view_lifecycle(client: Client) -> None:
    create_namespace(client, "db")
    v = create_view(client, "v")
    meta = v["metadata"]
    assert meta["format-version"] == 1
    assert meta["current-version-id"] == 1
    assert meta["location"].startswith("s3://lake/__lakebox/db/v-")
    assert v["metadata-location"].startswith(meta["location"] + "/metadata/00000-")
    assert client.head(f"{P}/namespaces/db/views/v").status_code == 204
    assert client.get(f"{P}/namespaces/db/views/v").json()["metadata"] == meta
    assert client.get(f"{P}/namespaces/db/views").json() == {
        "identifiers": [{"namespace": ["db"], "name": "v"}]
    }
    assert client.get(f"{P}/namespaces/db/tables").json() == {"identifiers": []}

    # replace: a new version with a new schema (-1: the one added in this commit), made current
    new_schema = {**SCHEMA, "schema-id": 1, "fields": SCHEMA["fields"][:1]}
    updates = [
        {"action": "add-schema", "schema": new_schema},
        {"action": "add-view-version", "view-version": view_version("select 2", schema_id=-1)},
        {"action": "set-current-view-version", "view-version-id": -1},
        {"action": "set-properties", "updates": {"q": "2"}},
        {"action": "remove-properties", "removals": ["p"]},
    ]
    reqs = [{"type": "assert-view-uuid", "uuid": meta["view-uuid"]}]
    r = client.post(f"{P}/namespaces/db/views/v", json={"requirements": reqs, "updates": updates})
    assert r.status_code == 200, r.text
    new = r.json()["metadata"]
    assert new["current-version-id"] == 2
    assert [s["schema-id"] for s in new["schemas"]] == [0, 1]
    assert new["versions"][-1]["schema-id"] == 1
    assert new["properties"] == {"q": "2"}
    assert [e["version-id"] for e in new["version-log"]] == [1, 2]

    bad = [{"type": "assert-view-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}]
    r = client.post(f"{P}/namespaces/db/views/v", json={"requirements": bad, "updates": updates})
    assert error(r) == (409, "CommitFailedException")

    assert client.delete(f"{P}/namespaces/db/views/v").status_code == 204
    assert client.head(f"{P}/namespaces/db/views/v").status_code == 404
    assert error(client.get(f"{P}/namespaces/db/views/v")) == (404, "NoSuchViewException")
    assert error(client.delete(f"{P}/namespaces/db/views/v")) == (404, "NoSuchViewException")


def test_views_and_tables_share_identifiers(client: Client) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "t")
    create_view(client, "v")
    body = {"name": "t", "schema": SCHEMA, "view-version": view_version("select 1")}
    assert error(client.post(f"{P}/namespaces/db/views", json=body)) == (409, "AlreadyExistsException")
    r = client.post(f"{P}/namespaces/db/tables", json={"name": "v", "schema": SCHEMA})
    assert error(r) == (409, "AlreadyExistsException")
    assert error(client.get(f"{P}/namespaces/db/tables/v")) == (404, "NoSuchTableException")
    assert error(client.get(f"{P}/namespaces/db/views/t")) == (404, "NoSuchViewException")
    assert error(client.delete(f"{P}/namespaces/db/views/t")) == (404, "NoSuchViewException")
    assert client.head(f"{P}/namespaces/db/tables/t").status_code == 204
    assert error(client.delete(f"{P}/namespaces/db")) == (409, "NamespaceNotEmptyException")


def test_rename_and_register_view(client: Client) -> None:
    create_namespace(client, "db")
    create_namespace(client, "other")
    v = create_view(client, "v")
    body = {
        "source": {"namespace": ["db"], "name": "v"},
        "destination": {"namespace": ["other"], "name": "w"},
    }
    assert client.post(f"{P}/views/rename", json=body).status_code == 204
    assert (
        client.get(f"{P}/namespaces/other/views/w").json()["metadata"]["view-uuid"]
        == v["metadata"]["view-uuid"]
    )
    assert error(client.post(f"{P}/views/rename", json=body)) == (404, "NoSuchViewException")
    # tables/rename does not move views
    body = {
        "source": {"namespace": ["other"], "name": "w"},
        "destination": {"namespace": ["db"], "name": "x"},
    }
    assert error(client.post(f"{P}/tables/rename", json=body)) == (404, "NoSuchTableException")

    reg = {"name": "again", "metadata-location": v["metadata-location"]}
    r = client.post(f"{P}/namespaces/db/register-view", json=reg)
    assert error(r) == (400, "BadRequestException")  # the live view owns that location
    assert client.delete(f"{P}/namespaces/other/views/w").status_code == 204
    r = client.post(f"{P}/namespaces/db/register-view", json=reg)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["view-uuid"] == v["metadata"]["view-uuid"]
    assert error(client.post(f"{P}/namespaces/db/register-view", json=reg)) == (409, "AlreadyExistsException")


def test_view_bad_requests(client: Client) -> None:
    create_namespace(client, "db")
    create_view(client, "v")
    body = {"name": "x", "schema": SCHEMA}
    assert error(client.post(f"{P}/namespaces/db/views", json=body)) == (400, "IllegalArgumentException")
    upd = [{"action": "set-current-view-version", "view-version-id": 99}]
    r = client.post(f"{P}/namespaces/db/views/v", json={"updates": upd})
    assert error(r) == (400, "IllegalArgumentException")
    upd = [{"action": "add-view-version", "view-version": view_version("x", schema_id=-1)}]
    r = client.post(f"{P}/namespaces/db/views/v", json={"updates": upd})
    assert error(r) == (400, "ValidationException")
    r = client.post(f"{P}/namespaces/db/views/nope", json={"updates": []})
    assert error(r) == (404, "NoSuchViewException")
