"""``lakebox bucket ...`` and ``lakebox bucket catalog ...`` against a live server (wrangler's r2 commands)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from tests.support.server import LakeboxServer


def lakebox(server: LakeboxServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LAKEBOX_CONSOLE_URL=server.console_url, LAKEBOX_TOKEN=server.token)
    return subprocess.run([sys.executable, "-m", "lakebox", *args], env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_bucket_commands(server: LakeboxServer) -> None:
    created = lakebox(server, "bucket", "create", "cli-made", "--location", "weur", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["location"] == "weur"
    listed = json.loads(lakebox(server, "bucket", "list", "--json").stdout)
    assert "cli-made" in [b["name"] for b in listed["buckets"]]
    again = lakebox(server, "bucket", "create", "cli-made")
    assert again.returncode == 1
    assert "BucketAlreadyOwnedByYou" in again.stderr
    assert lakebox(server, "bucket", "delete", "cli-made").returncode == 0
    missing = lakebox(server, "bucket", "info", "cli-made")
    assert (missing.returncode, "NoSuchBucket" in missing.stderr) == (1, True)


def test_catalog_enable_disable_keeps_tables(server: LakeboxServer) -> None:
    server.s3().create_bucket(Bucket="cli-warehouse")
    config = f"{server.catalog_uri}/v1/config?warehouse=cli-warehouse"
    auth = {"Authorization": f"Bearer {server.token}"}
    assert httpx.get(config, headers=auth).status_code == 404

    enabled = lakebox(server, "bucket", "catalog", "enable", "cli-warehouse")
    assert enabled.returncode == 0, enabled.stderr
    assert f"Catalog URI:  {server.catalog_uri}" in enabled.stdout
    assert "Warehouse:    cli-warehouse" in enabled.stdout
    assert httpx.get(config, headers=auth).json()["overrides"]["prefix"] == "cli-warehouse"
    ns = httpx.post(
        f"{server.catalog_uri}/v1/cli-warehouse/namespaces", json={"namespace": ["kept"]}, headers=auth
    )
    assert ns.status_code == 200

    assert lakebox(server, "bucket", "catalog", "disable", "cli-warehouse").returncode == 0
    assert (
        json.loads(lakebox(server, "bucket", "catalog", "get", "cli-warehouse", "--json").stdout)["enabled"]
        is False
    )
    refused = httpx.get(f"{server.catalog_uri}/v1/cli-warehouse/namespaces", headers=auth)
    assert refused.status_code == 404

    assert lakebox(server, "bucket", "catalog", "enable", "cli-warehouse").returncode == 0
    namespaces = httpx.get(f"{server.catalog_uri}/v1/cli-warehouse/namespaces", headers=auth).json()[
        "namespaces"
    ]
    assert ["kept"] in namespaces


def test_catalog_enable_of_a_missing_bucket(server: LakeboxServer) -> None:
    result = lakebox(server, "bucket", "catalog", "enable", "no-such-bucket")
    assert result.returncode == 1
    assert "NoSuchBucket" in result.stderr
