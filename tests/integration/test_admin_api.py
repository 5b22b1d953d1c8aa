"""The admin JSON API on the console port: authentication, token lifecycle, errors and its OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.admin import admin, client, create_token
from tests.support.server import LakeboxServer


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_authentication_is_required(server: LakeboxServer) -> None:
    url = f"{server.console_url}/api/v1/tokens"
    assert error_of(httpx.get(url)) == (401, "AccessDenied")
    assert error_of(httpx.get(url, headers={"authorization": "Basic abc"})) == (401, "AccessDenied")
    assert error_of(admin(server, "GET", "/tokens", token="not-a-token")) == (401, "InvalidToken")


@pytest.mark.parametrize("permission", ["admin-ro", "object-rw", "object-ro"])
def test_only_admin_read_write_tokens(server: LakeboxServer, permission: str) -> None:
    weak = create_token(server, permission)
    for method, path, body in [
        ("GET", "/tokens", None),
        ("POST", "/tokens", {"permission": "admin-rw"}),
        ("DELETE", f"/tokens/{weak['id']}", None),
        ("POST", "/temp-credentials", {"bucket": "x-bucket", "permission": "object-read-only"}),
    ]:
        assert error_of(admin(server, method, path, body, token=weak["token"])) == (403, "AccessDenied")


def test_expired_and_revoked_callers(server: LakeboxServer) -> None:
    revoked = create_token(server, "admin-rw")
    assert admin(server, "DELETE", f"/tokens/{revoked['id']}").status_code == 200
    assert error_of(admin(server, "GET", "/tokens", token=revoked["token"])) == (401, "InvalidToken")


def test_token_lifecycle(server: LakeboxServer) -> None:
    created = create_token(server, "object-ro", buckets=["alpha", "beta"], name="reader", ttl_seconds=3600)
    assert set(created) >= {
        "id",
        "token",
        "access_key_id",
        "secret_access_key",
        "permission",
        "buckets",
        "expires_at",
    }
    assert (created["permission"], created["buckets"], created["name"]) == (
        "object-ro",
        ["alpha", "beta"],
        "reader",
    )
    assert created["id"] == created["access_key_id"]
    got = admin(server, "GET", f"/tokens/{created['id']}").json()
    assert "token" not in got
    assert "secret_access_key" not in got
    assert (got["status"], got["expires_at"]) == ("active", created["expires_at"])
    listed = admin(server, "GET", "/tokens").json()["tokens"]
    assert created["id"] in [t["id"] for t in listed]
    assert all("secret_access_key" not in t and "token" not in t for t in listed)
    revoked = admin(server, "DELETE", f"/tokens/{created['id']}").json()
    assert revoked["status"] == "revoked"
    assert created["id"] not in [t["id"] for t in admin(server, "GET", "/tokens").json()["tokens"]]
    everything = admin(server, "GET", "/tokens?include_revoked=true").json()["tokens"]
    assert created["id"] in [t["id"] for t in everything]
    assert error_of(admin(server, "GET", "/tokens/unknown")) == (404, "NoSuchToken")
    assert error_of(admin(server, "DELETE", "/tokens/unknown")) == (404, "NoSuchToken")


def test_created_token_works_for_s3(server: LakeboxServer, bucket: str) -> None:
    token = create_token(server, "object-rw", buckets=[bucket])
    c = client(server, token)
    c.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


@pytest.mark.parametrize(
    "body",
    [
        {"permission": "superuser"},
        {"permission": "admin-rw", "buckets": ["a-bucket"]},
        {"permission": "object-rw", "buckets": ["no/slash"]},
        {"permission": "object-rw", "ttl_seconds": -5},
        {"permission": "object-rw", "unknown": 1},
        {"permission": "object-rw", "expires_at": "2001-01-01T00:00:00Z"},
        {},
    ],
)
def test_invalid_token_requests(server: LakeboxServer, body: dict[str, Any]) -> None:
    assert error_of(admin(server, "POST", "/tokens", body)) == (400, "InvalidArgument")


def test_openapi_document(server: LakeboxServer) -> None:
    doc = httpx.get(f"{server.console_url}/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/tokens"])
    assert {"get", "delete"} <= set(paths["/api/v1/tokens/{token_id}"])
    assert "post" in paths["/api/v1/temp-credentials"]
    schemas = doc["components"]["schemas"]
    assert {"TokenCreate", "TokenCreated", "TempCredentialCreate", "TempCredential"} <= set(schemas)
