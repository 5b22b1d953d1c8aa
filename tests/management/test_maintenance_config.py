"""Catalog maintenance configuration over the Cloudflare API: wrangler 4.86's compaction and snapshot-expiration
commands (warehouse and table routes, each with its own spelling), raw bodies, and every bad input's answer."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.management.conftest import Wrangler
from tests.support.server import LakeboxServer


def _warehouse(server: LakeboxServer, cf: httpx.Client, account_id: str) -> str:
    name = f"mt-{secrets.token_hex(4)}"
    server.s3().create_bucket(Bucket=name)
    assert cf.post(f"/accounts/{account_id}/r2-catalog/{name}/enable").status_code == 200
    return name


def _table(server: LakeboxServer, bucket: str) -> None:
    catalog = RestCatalog("lb", uri=server.catalog_uri, warehouse=bucket, token=server.token)
    catalog.create_namespace("ns")
    catalog.create_table("ns.tbl", schema=pa.schema([pa.field("id", pa.int64())]))


def _config(cf: httpx.Client, account_id: str, bucket: str, table: bool = False) -> dict[str, Any]:
    path = f"/accounts/{account_id}/r2-catalog/{bucket}"
    if table:
        path += "/namespaces/ns/tables/tbl"
    response = cf.get(f"{path}/maintenance-configs")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def test_wrangler_compaction_and_snapshot_expiration(
    wrangler: Wrangler, server: LakeboxServer, cf: httpx.Client, account_id: str
) -> None:
    bucket = _warehouse(server, cf, account_id)
    _table(server, bucket)
    token = server.token
    wrangler.run(
        "r2", "bucket", "catalog", "compaction", "enable", bucket, "--token", token, "--target-size", "256"
    )
    config = _config(cf, account_id, bucket)
    assert config["compaction"] == {"state": "enabled", "target_size_mb": 256, "targetSizeMb": 256}
    wrangler.run(
        "r2", "bucket", "catalog", "compaction", "enable", bucket, "ns", "tbl", "--target-size", "64"
    )
    assert _config(cf, account_id, bucket, table=True)["compaction"]["target_size_mb"] == 64
    assert _config(cf, account_id, bucket)["compaction"]["target_size_mb"] == 256  # the warehouse's is kept
    wrangler.run("r2", "bucket", "catalog", "compaction", "disable", bucket)
    assert _config(cf, account_id, bucket)["compaction"]["state"] == "disabled"
    assert (
        _config(cf, account_id, bucket, table=True)["compaction"]["state"] == "enabled"
    )  # the table overrides

    wrangler.run(
        "r2", "bucket", "catalog", "snapshot-expiration", "enable", bucket,
        "--token", token, "--older-than-days", "7", "--retain-last", "3",
    )  # fmt: skip
    expiration = _config(cf, account_id, bucket)["snapshot_expiration"]
    assert (expiration["state"], expiration["max_snapshot_age"], expiration["min_snapshots_to_keep"]) == (
        "enabled", "7d", 3,
    )  # fmt: skip
    wrangler.run("r2", "bucket", "catalog", "snapshot-expiration", "enable", bucket, "ns", "tbl")
    table = _config(cf, account_id, bucket, table=True)["snapshot_expiration"]
    assert (table["older_than_days"], table["retain_last"]) == (30, 5)  # wrangler's defaults for a table
    wrangler.run("r2", "bucket", "catalog", "snapshot-expiration", "disable", bucket)
    assert _config(cf, account_id, bucket)["snapshot_expiration"]["state"] == "disabled"


BAD_BODIES: list[tuple[Any, str]] = [
    ({}, "The body must be a JSON object with 'compaction' and/or 'snapshot_expiration'"),
    ([], "The body must be a JSON object with 'compaction' and/or 'snapshot_expiration'"),
    ({"vacuum": {}}, "Unknown maintenance section(s): vacuum"),
    ({"compaction": "on"}, "compaction must be an object"),
    ({"compaction": {"state": "on"}}, "compaction.state must be 'enabled' or 'disabled', not 'on'"),
    ({"compaction": {"state": "enabled", "targetSizeMb": 0}}, "compaction.target_size_mb must be an integer from 1 to 512, not 0"),
    ({"compaction": {"state": "enabled", "target_size_mb": 513}}, "compaction.target_size_mb must be an integer from 1 to 512, not 513"),
    ({"compaction": {"state": "enabled", "target_size_mb": True}}, "compaction.target_size_mb must be an integer from 1 to 512"),
    ({"snapshot_expiration": {"state": "enabled", "max_snapshot_age": "7 days"}}, "snapshot_expiration.max_snapshot_age must look like '7d', '12h' or '30m', not '7 days'"),
    ({"snapshot_expiration": {"state": "enabled", "max_snapshot_age": "0d"}}, "snapshot_expiration.max_snapshot_age must be positive"),
    ({"snapshot_expiration": {"state": "enabled", "retain_last": 0}}, "snapshot_expiration.retain_last must be an integer from 1 to 100000, not 0"),
    ({"snapshot_expiration": {"state": "enabled", "older_than_days": "x"}}, "snapshot_expiration.older_than_days must be an integer from 1 to 36500"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_bodies_are_refused_and_change_nothing(
    server: LakeboxServer, cf: httpx.Client, account_id: str, body: Any, message: str
) -> None:
    bucket = _warehouse(server, cf, account_id)
    before = _config(cf, account_id, bucket)
    response = cf.post(f"/accounts/{account_id}/r2-catalog/{bucket}/maintenance-configs", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"code": 10040, "message": message}
    assert _config(cf, account_id, bucket) == before


def test_missing_targets(server: LakeboxServer, cf: httpx.Client, account_id: str) -> None:
    base = f"/accounts/{account_id}/r2-catalog"
    body = {"compaction": {"state": "enabled"}}
    no_bucket = cf.post(f"{base}/no-such-bucket-{secrets.token_hex(3)}/maintenance-configs", json=body)
    assert (no_bucket.status_code, no_bucket.json()["errors"][0]["code"]) == (404, 10006)
    plain = f"mt-{secrets.token_hex(4)}"
    server.s3().create_bucket(Bucket=plain)
    never = cf.post(f"{base}/{plain}/maintenance-configs", json=body)
    assert (never.status_code, never.json()["errors"][0]["code"]) == (404, 40401)
    bucket = _warehouse(server, cf, account_id)
    table = cf.post(f"{base}/{bucket}/namespaces/ns/tables/nope/maintenance-configs", json=body)
    assert table.status_code == 404
    assert table.json()["errors"][0] == {"code": 40402, "message": "Table does not exist: ns.nope"}
    bad_json = cf.post(f"{base}/{bucket}/maintenance-configs", content=b"{not json")
    assert (bad_json.status_code, bad_json.json()["errors"][0]["code"]) == (400, 10040)
    credential = cf.post(f"{base}/{bucket}/credential", json={"token": ""})
    assert credential.json()["errors"][0] == {
        "code": 10040,
        "message": 'The body must be {"token": "<API token>"}',
    }


def test_read_only_token_cannot_configure(server: LakeboxServer, cf: httpx.Client, account_id: str) -> None:
    from tests.management.conftest import make_token

    bucket = _warehouse(server, cf, account_id)
    reader = make_token(cf, "admin-ro")
    headers = {"authorization": f"Bearer {reader['token']}"}
    url = f"{cf.base_url}/accounts/{account_id}/r2-catalog/{bucket}/maintenance-configs"
    assert httpx.get(url, headers=headers, timeout=30).status_code == 200
    refused = httpx.post(url, headers=headers, json={"compaction": {"state": "enabled"}}, timeout=30)
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (403, 10000)
