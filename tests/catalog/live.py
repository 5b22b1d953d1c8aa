"""The catalog's end-to-end tests against a real ``lakebox serve`` (tests/support/server.py), with the same
interface as the in-process ``Stack`` (tests/catalog/stack.py) so a test module can run on either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from auth.service.principal import Permission
from tests.support.admin import cf, create_token
from tests.support.server import LakeboxServer


@dataclass(frozen=True)
class Credentials:
    token: str
    access_key_id: str
    secret_access_key: str


@dataclass
class LiveLake:
    server: LakeboxServer

    @property
    def catalog_uri(self) -> str:
        return self.server.catalog_uri

    @property
    def s3_endpoint(self) -> str:
        return self.server.s3_endpoint

    @property
    def root(self) -> Credentials:
        return Credentials(self.server.token, self.server.access_key_id, self.server.secret_access_key)

    def management(self, method: str, path: str, body: Any = None) -> Any:
        """The Cloudflare API's result (``{account}`` in ``path``: the account's path)."""
        r = cf(self.server, method, path, body)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def s3(self, token: Credentials | None = None, **creds: str) -> Any:
        token = token or self.root
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="auto",
            aws_access_key_id=creds.get("key", token.access_key_id),
            aws_secret_access_key=creds.get("secret", token.secret_access_key),
            aws_session_token=creds.get("session"),
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def token(self, permission: Permission) -> Credentials:
        made = create_token(self.server, permission.value, name="catalog-test")
        return Credentials(made["token"], made["access_key_id"], made["secret_access_key"])

    def warehouse(self, bucket: str) -> str:
        self.s3().create_bucket(Bucket=bucket)
        info = self.management("POST", f"{{account}}/r2-catalog/{bucket}/enable")
        assert info["name"] == bucket, info
        return bucket

    def supports_multipart(self, bucket: str) -> bool:
        return True
