"""The official ``cloudflare`` Python SDK (pinned) manages lakebox: buckets, CORS, lifecycle, the r2.dev URL,
tokens and temporary credentials; effects are checked through the S3 API."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import cloudflare
import pytest
from botocore.config import Config

from tests.support.server import LakeboxServer

ITEM_WRITE = {"id": "2efd5506f9c8494dacb1fa10a3e7d5b6", "name": "Workers R2 Storage Bucket Item Write"}
STORAGE_READ = {"id": "b4992e1108244f5d8bfbd5744320c2e1", "name": "Workers R2 Storage Read"}


@pytest.fixture(scope="module")
def sdk(server: LakeboxServer) -> Iterator[cloudflare.Cloudflare]:
    with cloudflare.Cloudflare(
        api_token=server.token, base_url=f"{server.console_url}/client/v4", max_retries=0
    ) as client:
        yield client


def _s3(server: LakeboxServer, key_id: str, secret: str, session: str | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.s3_endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=session,
        region_name="auto",
        config=Config(retries={"max_attempts": 1}),
    )


def _code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def _api_error(call: Any) -> tuple[int, int, str]:
    with pytest.raises(cloudflare.APIStatusError) as info:
        call()
    body = info.value.body
    assert isinstance(body, dict)
    assert body["success"] is False
    error = body["errors"][0]
    return info.value.status_code, error["code"], error["message"]


def test_buckets(sdk: cloudflare.Cloudflare, server: LakeboxServer, account_id: str) -> None:
    names = sorted(f"sdk-b{i}-{secrets.token_hex(3)}" for i in range(3))
    for name in names:
        created = sdk.r2.buckets.create(account_id=account_id, name=name, location_hint="enam")
        assert created.name == name
        assert created.location == "ENAM"
        assert created.storage_class == "Standard"
    server.s3().head_bucket(Bucket=names[0])

    first = sdk.r2.buckets.list(account_id=account_id, name_contains="sdk-b", per_page=2)
    assert [b.name for b in first.buckets or []] == names[:2]
    desc = sdk.r2.buckets.list(account_id=account_id, name_contains="sdk-b", direction="desc", per_page=3)
    assert [b.name for b in desc.buckets or []] == names[::-1]

    edited = sdk.r2.buckets.edit(names[0], account_id=account_id, storage_class="InfrequentAccess")
    assert edited.storage_class == "InfrequentAccess"
    assert sdk.r2.buckets.get(names[0], account_id=account_id).storage_class == "InfrequentAccess"

    for name in names:
        sdk.r2.buckets.delete(name, account_id=account_id)
    assert _code(lambda: server.s3().head_bucket(Bucket=names[0])) == "404"
    assert _api_error(lambda: sdk.r2.buckets.get(names[0], account_id=account_id)) == (
        404,
        10006,
        "The specified bucket does not exist.",
    )


def test_bucket_errors(sdk: cloudflare.Cloudflare, server: LakeboxServer, account_id: str) -> None:
    assert _api_error(lambda: sdk.r2.buckets.create(account_id=account_id, name="No_Such")) == (
        400,
        10005,
        "The specified bucket is not valid.",
    )
    status, code, message = _api_error(
        lambda: sdk.r2.buckets.create(account_id=account_id, name="sdk-eu-bucket", cf_r2_jurisdiction="eu")
    )
    assert (status, code) == (400, 10040)  # this server has no storage location for the eu jurisdiction
    assert message == "The eu jurisdiction has no storage location on this server"
    status, code, _ = _api_error(
        lambda: sdk.r2.buckets.create(account_id=account_id, name="sdk-bad-hint", location_hint="mars")  # type: ignore[arg-type]
    )
    assert (status, code) == (400, 10040)
    names = [b["Name"] for b in server.s3().list_buckets()["Buckets"]]
    assert not {"sdk-eu-bucket", "sdk-bad-hint"} & set(names)


def test_cors_and_lifecycle(
    sdk: cloudflare.Cloudflare, server: LakeboxServer, bucket: str, account_id: str
) -> None:
    assert _api_error(lambda: sdk.r2.buckets.cors.get(bucket, account_id=account_id)) == (
        404,
        10059,
        "The CORS configuration does not exist.",
    )
    sdk.r2.buckets.cors.update(
        bucket,
        account_id=account_id,
        rules=[
            {"id": "r1", "allowed": {"origins": ["*"], "methods": ["GET", "HEAD"]}, "max_age_seconds": 30}
        ],
    )
    assert server.s3().get_bucket_cors(Bucket=bucket)["CORSRules"] == [
        {"ID": "r1", "AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"], "MaxAgeSeconds": 30}
    ]
    rules = sdk.r2.buckets.cors.get(bucket, account_id=account_id).rules or []
    assert rules[0].id == "r1"
    assert rules[0].allowed.methods == ["GET", "HEAD"]

    # A rule S3 would refuse is refused here too, and the stored configuration is unchanged.
    status, code, message = _api_error(
        lambda: sdk.r2.buckets.cors.update(
            bucket, account_id=account_id, rules=[{"allowed": {"origins": ["*"], "methods": ["PATCH"]}}]
        )
    )
    assert (status, code) == (400, 10040)
    assert "PATCH" in message
    assert server.s3().get_bucket_cors(Bucket=bucket)["CORSRules"][0]["ID"] == "r1"
    sdk.r2.buckets.cors.delete(bucket, account_id=account_id)
    assert _code(lambda: server.s3().get_bucket_cors(Bucket=bucket)) == "NoSuchCORSConfiguration"

    sdk.r2.buckets.lifecycle.update(
        bucket,
        account_id=account_id,
        rules=[
            {
                "id": "tier",
                "enabled": True,
                "conditions": {"prefix": "logs/"},
                "storage_class_transitions": [
                    {"condition": {"type": "Age", "max_age": 86400 * 10}, "storage_class": "InfrequentAccess"}
                ],
                "abort_multipart_uploads_transition": {"condition": {"type": "Age", "max_age": 86400 * 2}},
            }
        ],
    )
    (rule,) = server.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Transitions"] == [{"Days": 10, "StorageClass": "STANDARD_IA"}]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    got = sdk.r2.buckets.lifecycle.get(bucket, account_id=account_id).rules or []
    assert got[0].id == "tier"
    assert got[0].conditions.prefix == "logs/"

    status, code, message = _api_error(
        lambda: sdk.r2.buckets.lifecycle.update(
            bucket,
            account_id=account_id,
            rules=[
                {
                    "id": "odd",
                    "enabled": True,
                    "conditions": {"prefix": ""},
                    "delete_objects_transition": {"condition": {"type": "Age", "max_age": 3600}},
                }
            ],
        )
    )
    assert (status, code) == (400, 10040)
    assert "whole days" in message
    assert server.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["ID"] == "tier"

    sdk.r2.buckets.lifecycle.update(bucket, account_id=account_id, rules=[])
    assert sdk.r2.buckets.lifecycle.get(bucket, account_id=account_id).rules == []


def test_managed_domain(
    sdk: cloudflare.Cloudflare, server: LakeboxServer, bucket: str, account_id: str
) -> None:
    assert sdk.r2.buckets.domains.managed.list(bucket, account_id=account_id).enabled is False
    enabled = sdk.r2.buckets.domains.managed.update(bucket, account_id=account_id, enabled=True)
    assert enabled.enabled is True
    assert "pub-" in enabled.domain
    disabled = sdk.r2.buckets.domains.managed.update(bucket, account_id=account_id, enabled=False)
    assert disabled.enabled is False
    assert disabled.domain == enabled.domain  # the address is kept for the next enable, as on R2


def test_token_creation_gives_s3_keys(
    sdk: cloudflare.Cloudflare, server: LakeboxServer, bucket: str, account_id: str
) -> None:
    other = "t-" + secrets.token_hex(6)
    server.s3().create_bucket(Bucket=other)
    token = sdk.user.tokens.create(
        name="writer",
        policies=[
            {
                "effect": "allow",
                "resources": {f"com.cloudflare.edge.r2.bucket.{account_id}_default_{bucket}": "*"},
                "permission_groups": [ITEM_WRITE],
            }
        ],
    )
    assert token.id
    assert token.value
    secret = hashlib.sha256(token.value.encode()).hexdigest()
    assert token.value not in server.log()
    assert secret not in server.log()
    s3 = _s3(server, token.id, hashlib.sha256(token.value.encode()).hexdigest())
    s3.put_object(Bucket=bucket, Key="k", Body=b"by token")
    assert server.s3().get_object(Bucket=bucket, Key="k")["Body"].read() == b"by token"
    assert _code(lambda: s3.put_object(Bucket=other, Key="k", Body=b"x")) == "AccessDenied"

    as_token = cloudflare.Cloudflare(
        api_token=token.value, base_url=f"{server.console_url}/client/v4", max_retries=0
    )
    assert as_token.user.tokens.verify().id == token.id
    assert _api_error(lambda: as_token.r2.buckets.list(account_id=account_id)) == (
        403,
        10000,
        "Authentication error",
    )

    reader = sdk.user.tokens.create(
        name="reader",
        policies=[
            {
                "effect": "allow",
                "resources": {f"com.cloudflare.api.account.{account_id}": "*"},
                "permission_groups": [STORAGE_READ],
            }
        ],
    )
    assert reader.value
    as_reader = cloudflare.Cloudflare(
        api_token=reader.value, base_url=f"{server.console_url}/client/v4", max_retries=0
    )
    assert bucket in [
        b.name for b in as_reader.r2.buckets.list(account_id=account_id, per_page=1000).buckets or []
    ]
    assert _api_error(lambda: as_reader.r2.buckets.create(account_id=account_id, name="nope-" + other)) == (
        403,
        10000,
        "Authentication error",
    )


def test_token_policy_errors(sdk: cloudflare.Cloudflare, account_id: str) -> None:
    bad_account = {
        "effect": "allow",
        "resources": {"com.cloudflare.api.account.0123456789abcdef0123456789abcdef": "*"},
        "permission_groups": [STORAGE_READ],
    }
    status, code, message = _api_error(lambda: sdk.user.tokens.create(name="x", policies=[bad_account]))
    assert (status, code) == (400, 10040)
    assert "Unknown account" in message
    mixed = [
        {
            "effect": "allow",
            "resources": {f"com.cloudflare.api.account.{account_id}": "*"},
            "permission_groups": [STORAGE_READ],
        },
        {
            "effect": "allow",
            "resources": {f"com.cloudflare.edge.r2.bucket.{account_id}_default_somebucket": "*"},
            "permission_groups": [ITEM_WRITE],
        },
    ]
    status, code, message = _api_error(lambda: sdk.user.tokens.create(name="x", policies=mixed))
    assert (status, code) == (400, 10040)
    assert "one R2 permission" in message


def test_temporary_credentials(
    sdk: cloudflare.Cloudflare, server: LakeboxServer, bucket: str, account_id: str
) -> None:
    server.s3().put_object(Bucket=bucket, Key="in/a", Body=b"a")
    server.s3().put_object(Bucket=bucket, Key="out/b", Body=b"b")
    creds = sdk.r2.temporary_credentials.create(
        account_id=account_id,
        bucket=bucket,
        parent_access_key_id=server.access_key_id,
        permission="object-read-only",
        ttl_seconds=600,
        prefixes=["in/"],
    )
    assert creds.access_key_id
    assert creds.secret_access_key
    s3 = _s3(server, creds.access_key_id, creds.secret_access_key, creds.session_token)
    assert s3.get_object(Bucket=bucket, Key="in/a")["Body"].read() == b"a"
    assert _code(lambda: s3.get_object(Bucket=bucket, Key="out/b")) == "AccessDenied"
    assert _code(lambda: s3.put_object(Bucket=bucket, Key="in/c", Body=b"c")) == "AccessDenied"

    status, code, _ = _api_error(
        lambda: sdk.r2.temporary_credentials.create(
            account_id=account_id,
            bucket=bucket,
            parent_access_key_id=server.access_key_id,
            permission="object-read-only",
            ttl_seconds=0,
        )
    )
    assert (status, code) == (400, 10040)


def test_token_list_get_revoke(sdk: cloudflare.Cloudflare, server: LakeboxServer, account_id: str) -> None:
    token = sdk.user.tokens.create(
        name="short-lived",
        policies=[
            {
                "effect": "allow",
                "resources": {f"com.cloudflare.api.account.{account_id}": "*"},
                "permission_groups": [STORAGE_READ],
            }
        ],
    )
    assert token.id
    assert token.value
    listed = {t.id: t for t in sdk.user.tokens.list(per_page=1000)}
    assert listed[token.id].name == "short-lived"
    assert listed[server.access_key_id].status == "active"
    got = sdk.user.tokens.get(token.id)
    assert got.policies is not None
    assert got.policies[0].permission_groups[0].name == "Workers R2 Storage Read"
    assert got.policies[0].resources == {f"com.cloudflare.api.account.{account_id}": "*"}

    assert sdk.user.tokens.delete(token.id).id == token.id
    revoked = cloudflare.Cloudflare(
        api_token=token.value, base_url=f"{server.console_url}/client/v4", max_retries=0
    )
    assert _api_error(lambda: revoked.user.tokens.verify()) == (401, 10000, "Authentication error")
    assert token.id not in {t.id for t in sdk.user.tokens.list(per_page=1000)}
