"""``lakebox bucket catalog compaction|snapshot-expiration|maintenance`` against a live server, with --json."""

from __future__ import annotations

import secrets

import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog

from tests.integration.test_bucket_cli import as_json, lakebox
from tests.support.cli import err
from tests.support.server import LakeboxServer


def test_maintenance_commands(server: LakeboxServer) -> None:
    name = f"cli-mt-{secrets.token_hex(3)}"
    server.s3().create_bucket(Bucket=name)
    as_json(server, "bucket", "catalog", "enable", name)
    catalog = RestCatalog("lb", uri=server.catalog_uri, warehouse=name, token=server.token)
    catalog.create_namespace("ns")
    catalog.create_table("ns.tbl", schema=pa.schema([pa.field("id", pa.int64())]))

    on = as_json(server, "bucket", "catalog", "compaction", "enable", name, "--target-size", "64")
    assert on["compaction"]["state"] == "enabled"
    assert on["compaction"]["target_size_mb"] == 64
    table = as_json(
        server, "bucket", "catalog", "compaction", "enable", name, "ns", "tbl", "--target-size", "32"
    )
    assert table["compaction"]["target_size_mb"] == 32
    off = as_json(server, "bucket", "catalog", "compaction", "disable", name)
    assert off["compaction"]["state"] == "disabled"

    exp = as_json(
        server, "bucket", "catalog", "snapshot-expiration", "enable", name,
        "--older-than-days", "7", "--retain-last", "3",
    )  # fmt: skip
    assert (exp["snapshot_expiration"]["max_snapshot_age"], exp["snapshot_expiration"]["retain_last"]) == (
        "7d",
        3,
    )
    exp_table = as_json(
        server,
        "bucket",
        "catalog",
        "snapshot-expiration",
        "enable",
        name,
        "ns",
        "tbl",
        "--older-than-days",
        "2",
    )
    assert exp_table["snapshot_expiration"]["older_than_days"] == 2
    assert exp_table["snapshot_expiration"]["retain_last"] == 3  # inherited from the warehouse
    assert (
        as_json(server, "bucket", "catalog", "snapshot-expiration", "disable", name)["snapshot_expiration"][
            "state"
        ]
        == "disabled"
    )

    runs = as_json(server, "bucket", "catalog", "maintenance", "runs", name)
    assert isinstance(runs, list)
    text = lakebox(server, "bucket", "catalog", "maintenance", "runs", name)
    assert text.returncode == 0

    url = f"{server.console_url}/client/v4/accounts/{server.root_credentials()['account_id']}"
    stored = httpx.get(
        f"{url}/r2-catalog/{name}/namespaces/ns/tables/tbl/maintenance-configs",
        headers={"authorization": f"Bearer {server.token}"},
        timeout=30,
    ).json()["result"]
    assert stored["compaction"]["target_size_mb"] == 32


def test_maintenance_command_errors(server: LakeboxServer) -> None:
    half = lakebox(server, "bucket", "catalog", "compaction", "enable", "some-bucket", "ns")
    assert (half.returncode, err(half)) == (
        1,
        "lakebox: Give both NAMESPACE and TABLE, or neither (the warehouse's configuration)",
    )
    too_big = lakebox(server, "bucket", "catalog", "compaction", "enable", "b", "--target-size", "513")
    assert too_big.returncode == 2
    missing = lakebox(server, "bucket", "catalog", "compaction", "enable", f"nope-{secrets.token_hex(3)}")
    assert missing.returncode == 1
    assert err(missing).startswith("lakebox: NoSuchBucket: ")
