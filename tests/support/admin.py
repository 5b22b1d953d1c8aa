"""Tokens and temporary credentials on a live server through the Cloudflare API (``/client/v4``), and boto3
clients for them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
from botocore import UNSIGNED
from botocore.config import Config

from tests.support.server import LakeboxServer

CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})


GROUPS = {  # R2's permission groups: id, account-level
    "admin-rw": ("bf7481a1826f439697cb59a20b22293e", True),
    "admin-ro": ("b4992e1108244f5d8bfbd5744320c2e1", True),
    "object-rw": ("2efd5506f9c8494dacb1fa10a3e7d5b6", False),
    "object-ro": ("6a018a9f2fc74eb6b293b0c548f38b39", False),
}
DEFAULT_TEMP_TTL = 3600


def cf(
    server: LakeboxServer, method: str, path: str, body: Any = None, token: str | None = None
) -> httpx.Response:
    """A request to the Cloudflare API (``/client/v4``); ``{account}`` in ``path`` is the account id."""
    path = path.replace("{account}", f"accounts/{server.root_credentials()['account_id']}")
    return httpx.request(
        method,
        f"{server.console_url}/client/v4{path}",
        json=body,
        headers={"authorization": f"Bearer {token or server.token}"},
        timeout=30,
    )


def token_policy(account_id: str, permission: str, buckets: list[str] | None = None, name: str = "",
                 ttl_seconds: float | None = None) -> dict[str, Any]:  # fmt: skip
    """A ``POST /user/tokens`` body for one of R2's permissions, optionally limited to buckets and expiring."""
    group_id, account_level = GROUPS[permission]
    account = f"com.cloudflare.api.account.{account_id}"
    bucket = "com.cloudflare.edge.r2.bucket."
    if buckets:
        resources: dict[str, Any] = {f"{bucket}{account_id}_default_{b}": "*" for b in buckets}
    else:
        resources = {account: "*"} if account_level else {account: {f"{bucket}*": "*"}}
    body: dict[str, Any] = {
        "name": name,
        "policies": [{"effect": "allow", "resources": resources, "permission_groups": [{"id": group_id}]}],
    }
    if ttl_seconds is not None:
        body["expires_on"] = (datetime.now(UTC) + timedelta(seconds=ttl_seconds)).isoformat()
    return body


def create_token(server: LakeboxServer, permission: str, buckets: list[str] | None = None, name: str = "",
                 ttl_seconds: float | None = None) -> dict[str, Any]:  # fmt: skip
    """An API token: its id, value (``token``), S3 keys (id, SHA-256 of the value) and expiry (``expires_at``)."""
    body = token_policy(server.root_credentials()["account_id"], permission, buckets, name, ttl_seconds)
    response = cf(server, "POST", "/user/tokens", body)
    assert response.status_code == 200, response.text
    created = response.json()["result"]
    return {
        "id": created["id"],
        "token": created["value"],
        "access_key_id": created["id"],
        "secret_access_key": hashlib.sha256(created["value"].encode()).hexdigest(),
        "expires_at": created["expires_on"],
    }


def revoke(server: LakeboxServer, token_id: str) -> None:
    response = cf(server, "DELETE", f"/user/tokens/{token_id}")
    assert response.status_code == 200, response.text


def temp_body(bucket: str, permission: str, ttl_seconds: int = DEFAULT_TEMP_TTL,
              parent_access_key_id: str | None = None, **scope: list[str]) -> dict[str, Any]:  # fmt: skip
    """A ``temp-access-credentials`` body (``scope``: ``prefixes`` and/or ``objects``)."""
    body: dict[str, Any] = {"bucket": bucket, "permission": permission, "ttlSeconds": ttl_seconds, **scope}
    if parent_access_key_id is not None:
        body["parentAccessKeyId"] = parent_access_key_id
    return body


def temp_credentials(server: LakeboxServer, bucket: str, permission: str, **body: Any) -> dict[str, Any]:
    """Temporary credentials (the calling token's unless ``parent_access_key_id``) as boto3 keys."""
    response = cf(
        server, "POST", "{account}/r2/temp-access-credentials", temp_body(bucket, permission, **body)
    )
    assert response.status_code == 200, response.text
    issued = response.json()["result"]
    return {
        "access_key_id": issued["accessKeyId"],
        "secret_access_key": issued["secretAccessKey"],
        "session_token": issued["sessionToken"],
    }


def client(server: LakeboxServer, creds: dict[str, Any] | None, **kwargs: Any) -> Any:
    """A boto3 S3 client for a token (``access_key_id``/``secret_access_key``), a temporary credential (plus
    ``session_token``), or anonymous (``None``)."""
    if creds is None:
        return boto3.client(
            "s3",
            endpoint_url=server.s3_endpoint,
            region_name="auto",
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
        )
    return boto3.client(
        "s3",
        endpoint_url=server.s3_endpoint,
        region_name="auto",
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        aws_session_token=creds.get("session_token"),
        config=kwargs.pop("config", CONFIG),
        **kwargs,
    )
