"""Vended credentials against the real S3 server: they read the table's files with boto3, are refused outside
the table's prefix and after expiry, and an Admin Read only token's credentials cannot write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from auth.service.principal import Permission, Principal
from auth.service.temporary import IssuedTemporaryCredential, TemporaryCredentials, TempPermission
from tests.catalog.live import LiveLake
from tests.catalog.stack import Stack, running_stack

Lake = LiveLake | Stack

SCHEMA = Schema(NestedField(1, "id", LongType(), required=False))
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}


def prepare(lake: Lake) -> Lake:
    lake.warehouse("lake")
    cat = RestCatalog("lake", uri=lake.catalog_uri, warehouse="lake", token=lake.root.token)
    cat.create_namespace("v")
    cat.create_table("v.t", SCHEMA)
    cat.create_table("v.t2", SCHEMA)
    return lake


@pytest.fixture(scope="module")
def stack(lake: LiveLake) -> Lake:
    """``lakebox serve``."""
    return prepare(lake)


@pytest.fixture(scope="module")
def inprocess(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same apps in this process, where the credential vendor can be swapped for a short-lived one."""
    with running_stack(tmp_path_factory.mktemp("vend") / "data") as s:
        prepare(s)
        yield s


def load(stack: Lake, token: str, table: str = "t") -> dict[str, Any]:
    import httpx

    r = httpx.get(
        f"{stack.catalog_uri}/v1/lake/namespaces/v/tables/{table}",
        headers=VENDED | {"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def client_from(stack: Lake, config: dict[str, str]) -> Any:
    assert config["s3.endpoint"] == stack.s3_endpoint
    return stack.s3(
        key=config["s3.access-key-id"],
        secret=config["s3.secret-access-key"],
        session=config["s3.session-token"],
    )


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_vended_credentials_are_scoped_to_the_table(stack: Lake) -> None:
    body = load(stack, stack.root.token)
    cfg = body["storage-credentials"][0]["config"]
    assert body["storage-credentials"][0]["prefix"] == body["metadata"]["location"]
    s3 = client_from(stack, cfg)
    key = body["metadata-location"].removeprefix("s3://lake/")
    assert s3.get_object(Bucket="lake", Key=key)["Body"].read()
    prefix = body["metadata"]["location"].removeprefix("s3://lake/") + "/"
    s3.put_object(Bucket="lake", Key=prefix + "data/x.parquet", Body=b"x")
    listed = s3.list_objects_v2(Bucket="lake", Prefix=prefix)
    assert {o["Key"] for o in listed["Contents"]} >= {key, prefix + "data/x.parquet"}

    other = load(stack, stack.root.token, "t2")
    other_key = other["metadata-location"].removeprefix("s3://lake/")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="lake", Key=other_key)
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="lake", Prefix="__lakebox/")
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="lake", Key=prefix.rstrip("/") + "x/evil", Body=b"x")  # a sibling prefix
    assert code(exc) == "AccessDenied"


def test_admin_read_only_credentials_cannot_write(stack: Lake) -> None:
    ro = stack.token(Permission.ADMIN_RO)
    body = load(stack, ro.token)
    s3 = client_from(stack, body["config"])
    key = body["metadata-location"].removeprefix("s3://lake/")
    assert s3.get_object(Bucket="lake", Key=key)["Body"].read()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="lake", Key=key + ".evil", Body=b"x")
    assert code(exc) == "AccessDenied"


class ShortLived:
    """The real vendor with a 2-second lifetime, to see expiry."""

    def __init__(self, temporary: TemporaryCredentials) -> None:
        self.temporary = temporary

    def vend(
        self, principal: Principal, bucket: str, prefix: str, read_only: bool
    ) -> IssuedTemporaryCredential:
        perm = TempPermission.READ_ONLY if read_only else TempPermission.READ_WRITE
        return self.temporary.issue(principal.token_id, bucket, perm, ttl_seconds=2, prefixes=(prefix,))


def test_vended_credentials_expire(inprocess: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = inprocess
    monkeypatch.setattr(stack.catalog.ctx, "vendor", ShortLived(stack.tokens.temporary))
    body = load(stack, stack.root.token)
    expires_ms = int(body["config"]["s3.session-token-expires-at-ms"])
    assert 0 < expires_ms - time.time() * 1000 <= 2500
    s3 = client_from(stack, body["config"])
    key = body["metadata-location"].removeprefix("s3://lake/")
    assert s3.get_object(Bucket="lake", Key=key)["Body"].read()
    time.sleep(2.5)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="lake", Key=key)
    assert code(exc) in ("ExpiredToken", "AccessDenied", "InvalidAccessKeyId")
