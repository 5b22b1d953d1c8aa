"""The admin API from tests: tokens and temporary credentials on a live server, and boto3 clients for them."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
from botocore import UNSIGNED
from botocore.config import Config

from tests.support.server import LakeboxServer

CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})


def admin(
    server: LakeboxServer, method: str, path: str, body: Any = None, token: str | None = None
) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.console_url}/api/v1{path}",
        json=body,
        headers={"authorization": f"Bearer {token or server.token}"},
        timeout=30,
    )


def create_token(server: LakeboxServer, permission: str, **body: Any) -> dict[str, Any]:
    response = admin(server, "POST", "/tokens", {"permission": permission, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def revoke(server: LakeboxServer, token_id: str) -> None:
    response = admin(server, "DELETE", f"/tokens/{token_id}")
    assert response.status_code == 200, response.text


def temp_credentials(server: LakeboxServer, bucket: str, permission: str, **body: Any) -> dict[str, Any]:
    response = admin(
        server, "POST", "/temp-credentials", {"bucket": bucket, "permission": permission, **body}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


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
