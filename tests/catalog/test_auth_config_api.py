"""Authentication (401/403), disabled warehouses, /v1/config and the OAuth2 token endpoint."""

from __future__ import annotations

from litestar.testing import TestClient

from catalog.service.catalog import CatalogService
from tests.catalog.helpers import P, create_namespace, create_table
from tests.catalog.test_namespaces_api import error

Client = TestClient  # type: ignore[type-arg]


def test_missing_or_bad_token_is_401(client: Client) -> None:
    del client.headers["Authorization"]
    assert error(client.get(f"{P}/namespaces")) == (401, "NotAuthorizedException")
    assert error(client.get("/v1/config", params={"warehouse": "lake"})) == (401, "NotAuthorizedException")
    for value in ("Bearer nope", "Bearer old-token", "Basic cnctdG9rZW4=", "Bearer ", "rw-token"):
        r = client.get(f"{P}/namespaces", headers={"Authorization": value})
        assert error(r) == (401, "NotAuthorizedException"), value


def test_object_tokens_are_forbidden(client: Client) -> None:
    r = client.get(f"{P}/namespaces", headers={"Authorization": "Bearer obj-token"})
    assert error(r) == (403, "ForbiddenException")
    r = client.get("/v1/config", params={"warehouse": "lake"}, headers={"Authorization": "Bearer obj-token"})
    assert error(r) == (403, "ForbiddenException")


def test_admin_read_only_reads_but_cannot_write(client: Client) -> None:
    create_namespace(client, "db")
    create_table(client, "db", "t")
    ro = {"Authorization": "Bearer ro-token"}
    assert client.get(f"{P}/namespaces", headers=ro).status_code == 200
    assert client.get(f"{P}/namespaces/db/tables/t", headers=ro).status_code == 200
    writes = [
        client.post(f"{P}/namespaces", json={"namespace": ["x"]}, headers=ro),
        client.delete(f"{P}/namespaces/db/tables/t", headers=ro),
        client.post(f"{P}/namespaces/db/tables/t", json={"updates": []}, headers=ro),
        client.post(f"{P}/transactions/commit", json={"table-changes": []}, headers=ro),
        client.post(f"{P}/namespaces/db/properties", json={"updates": {"a": "b"}}, headers=ro),
    ]
    for r in writes:
        assert error(r) == (403, "ForbiddenException")
    assert client.head(f"{P}/namespaces/db/tables/t").status_code == 204


def test_unknown_and_disabled_warehouse(client: Client, service: CatalogService) -> None:
    assert error(client.get("/v1/nowhere/namespaces")) == (404, "NoSuchWarehouseException")
    assert error(client.get("/v1/other/namespaces")) == (
        404,
        "NoSuchWarehouseException",
    )  # bucket, catalog off
    create_namespace(client, "db")
    create_table(client, "db", "t")
    service.disable_warehouse("lake")
    assert error(client.get(f"{P}/namespaces")) == (404, "NoSuchWarehouseException")
    assert error(client.get("/v1/config", params={"warehouse": "lake"})) == (404, "NoSuchWarehouseException")
    service.enable_warehouse("lake")
    assert client.head(f"{P}/namespaces/db/tables/t").status_code == 204  # tables kept
    info = service.get_warehouse("lake")
    assert info is not None
    assert info.enabled
    assert service.get_warehouse("other") is None


def test_config(client: Client) -> None:
    r = client.get("/v1/config", params={"warehouse": "lake"})
    assert r.status_code == 200
    body = r.json()
    assert body["overrides"] == {"prefix": "lake"}
    assert body["defaults"] == {}
    assert body["idempotency-key-lifetime"] == "PT30M"
    assert "POST /v1/{prefix}/transactions/commit" in body["endpoints"]
    assert "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials" in body["endpoints"]
    assert "HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}" in body["endpoints"]
    assert not any("/config" in e or "oauth" in e for e in body["endpoints"])
    assert client.get("/v1/config", params={"warehouse": "s3://lake"}).json()["overrides"] == {
        "prefix": "lake"
    }
    assert error(client.get("/v1/config")) == (400, "BadRequestException")


def test_oauth_client_credentials(client: Client) -> None:
    del client.headers["Authorization"]
    form = {
        "grant_type": "client_credentials",
        "client_id": "anything",
        "client_secret": "rw-token",
        "scope": "catalog",
    }
    r = client.post("/v1/oauth/tokens", data=form)
    assert r.status_code == 200
    body = r.json()
    assert body["access_token"] == "rw-token"
    assert body["token_type"] == "bearer"
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert (
        client.get(f"{P}/namespaces", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code
        == 200
    )

    r = client.post("/v1/oauth/tokens", data=form | {"client_secret": "wrong"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    r = client.post("/v1/oauth/tokens", data=form | {"client_secret": "obj-token"})
    assert r.status_code == 401
    r = client.post("/v1/oauth/tokens", data={"grant_type": "password"})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"
    r = client.post("/v1/oauth/tokens", data={"grant_type": "client_credentials"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_unknown_route_is_iceberg_json(client: Client) -> None:
    assert error(client.get("/v1/lake/nothing/here")) == (404, "NoSuchEndpointException")
    r = client.put(f"{P}/namespaces")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == 405
