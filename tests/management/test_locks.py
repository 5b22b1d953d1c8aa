"""Bucket locks managed by real clients: wrangler 4.86's ``r2 bucket lock`` commands and the pinned ``cloudflare``
SDK's ``r2.buckets.locks``; each effect is checked through the API and the S3 API (boto3), where a locked object
cannot be overwritten or deleted."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions
import cloudflare
import httpx
import pytest

from tests.management.conftest import Wrangler
from tests.support.server import LakeboxServer


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _rules(cf: httpx.Client, account_id: str, bucket: str) -> list[dict[str, Any]]:
    response = cf.get(f"/accounts/{account_id}/r2/buckets/{bucket}/lock")
    assert response.status_code == 200, response.text
    rules: list[dict[str, Any]] = response.json()["result"]["rules"]
    return rules


def _s3_code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def sdk(server: LakeboxServer) -> Iterator[cloudflare.Cloudflare]:
    with cloudflare.Cloudflare(
        api_token=server.token, base_url=f"{server.console_url}/client/v4", max_retries=0
    ) as client:
        yield client


def test_wrangler_lock_add_list_remove_set(
    wrangler: Wrangler, server: LakeboxServer, cf: httpx.Client, account_id: str, tmp_path: Path
) -> None:
    name = _name("wr-lock")
    s3 = server.s3()
    s3.create_bucket(Bucket=name)
    assert "There are no lock rules" in wrangler.run("r2", "bucket", "lock", "list", name).stdout

    wrangler.run("r2", "bucket", "lock", "add", name, "keep-data", "data/", "--retention-days", "7")
    wrangler.run(
        "r2", "bucket", "lock", "add", name, "until", "--prefix", "dated/", "--retention-date", "2099-01-31"
    )
    wrangler.run(
        "r2",
        "bucket",
        "lock",
        "add",
        name,
        "--name",
        "forever",
        "--prefix",
        "",
        "--retention-indefinite",
        "--force",
    )
    assert _rules(cf, account_id, name) == [
        {"id": "keep-data", "enabled": True, "prefix": "data/", "condition": {"type": "Age", "maxAgeSeconds": 604800}},
        {"id": "until", "enabled": True, "prefix": "dated/", "condition": {"type": "Date", "date": "2099-01-31T00:00:00.000Z"}},
        {"id": "forever", "enabled": True, "condition": {"type": "Indefinite"}},
    ]  # fmt: skip
    listed = wrangler.run("r2", "bucket", "lock", "list", name).stdout
    for rule_id in ("keep-data", "until", "forever"):
        assert rule_id in listed

    # The rules act: an object under them is neither overwritten nor deleted.
    s3.put_object(Bucket=name, Key="data/x", Body=b"1")
    assert _s3_code(lambda: s3.put_object(Bucket=name, Key="data/x", Body=b"2")) == "AccessDenied"
    assert _s3_code(lambda: s3.delete_object(Bucket=name, Key="data/x")) == "AccessDenied"
    refused = wrangler.run("r2", "object", "delete", f"{name}/data/x", "--remote", check=False)
    assert refused.returncode != 0
    assert "403: Forbidden" in refused.stderr
    assert '"code":10003' in refused.stderr
    assert "locked by bucket lock rule 'forever' indefinitely" in refused.stderr
    assert s3.get_object(Bucket=name, Key="data/x")["Body"].read() == b"1"

    wrangler.run("r2", "bucket", "lock", "remove", name, "--name", "forever")
    assert [r["id"] for r in _rules(cf, account_id, name)] == ["keep-data", "until"]
    missing = wrangler.run("r2", "bucket", "lock", "remove", name, "--name", "forever", check=False)
    assert missing.returncode != 0
    assert "Lock rule with ID 'forever' not found" in missing.stdout + missing.stderr

    rules_file = tmp_path / "lock.json"
    rules_file.write_text(
        json.dumps({"rules": [{"id": "all-off", "enabled": False, "condition": {"type": "Indefinite"}}]})
    )
    wrangler.run("r2", "bucket", "lock", "set", name, "--file", str(rules_file), "--force")
    assert _rules(cf, account_id, name) == [
        {"id": "all-off", "enabled": False, "condition": {"type": "Indefinite"}}
    ]
    s3.delete_object(Bucket=name, Key="data/x")  # no enabled rule left

    # A configuration lakebox refuses: wrangler shows the envelope's error, and nothing changes.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"id": "x", "enabled": True, "condition": {"type": "Forever"}}]}))
    out = wrangler.run("r2", "bucket", "lock", "set", name, "--file", str(bad), "--force", check=False)
    assert out.returncode != 0
    assert (
        "'rules[0].condition.type' must be Age, Date or Indefinite [code: 10040]" in out.stdout + out.stderr
    )
    assert [r["id"] for r in _rules(cf, account_id, name)] == ["all-off"]


def test_sdk_get_and_update(sdk: cloudflare.Cloudflare, server: LakeboxServer, account_id: str) -> None:
    name = _name("sdk-lock")
    s3 = server.s3()
    s3.create_bucket(Bucket=name)
    assert sdk.r2.buckets.locks.get(name, account_id=account_id).rules == []
    sdk.r2.buckets.locks.update(
        name,
        account_id=account_id,
        rules=[
            {"id": "age", "enabled": True, "prefix": "logs/", "condition": {"type": "Age", "max_age_seconds": 3600}},
            {"id": "date", "enabled": True, "condition": {"type": "Date", "date": datetime(2099, 5, 1, tzinfo=UTC)}},
            {"id": "off", "enabled": False, "prefix": "x/", "condition": {"type": "Indefinite"}},
        ],
    )  # fmt: skip
    got = sdk.r2.buckets.locks.get(name, account_id=account_id).rules or []
    assert [(r.id, r.enabled, r.prefix, r.condition.type) for r in got] == [
        ("age", True, "logs/", "Age"),
        ("date", True, None, "Date"),
        ("off", False, "x/", "Indefinite"),
    ]
    assert got[0].condition.max_age_seconds == 3600  # type: ignore[union-attr]
    assert got[1].condition.date == datetime(2099, 5, 1, tzinfo=UTC)  # type: ignore[union-attr]

    s3.put_object(Bucket=name, Key="any", Body=b"v")
    assert _s3_code(lambda: s3.delete_object(Bucket=name, Key="any")) == "AccessDenied"  # the date rule

    with pytest.raises(cloudflare.BadRequestError) as too_many:
        sdk.r2.buckets.locks.update(
            name,
            account_id=account_id,
            rules=[
                {"id": f"r{i}", "enabled": True, "condition": {"type": "Indefinite"}} for i in range(1001)
            ],
        )
    body = too_many.value.body
    assert isinstance(body, dict)
    assert body["errors"] == [
        {"code": 10040, "message": "A bucket lock configuration can hold at most 1,000 rules, not 1,001"}
    ]
    assert len(sdk.r2.buckets.locks.get(name, account_id=account_id).rules or []) == 3

    sdk.r2.buckets.locks.update(name, account_id=account_id, rules=[])
    assert sdk.r2.buckets.locks.get(name, account_id=account_id).rules == []
    s3.delete_object(Bucket=name, Key="any")

    with pytest.raises(cloudflare.NotFoundError) as missing:
        sdk.r2.buckets.locks.get("no-such-bucket", account_id=account_id)
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["errors"][0]["code"] == 10006
