"""``lakebox bucket ...`` (wrangler's ``r2 bucket`` commands) against a live server through ``/client/v4``, each
effect checked through boto3, the Iceberg REST catalog or the public port."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support import cli
from tests.support.cli import err
from tests.support.server import LakeboxServer


def lakebox(server: LakeboxServer, *args: str) -> subprocess.CompletedProcess[bytes]:
    return cli.run(*args, env=cli.server_env(server))


def as_json(server: LakeboxServer, *args: str) -> Any:
    result = lakebox(server, *args, "--json")
    assert result.returncode == 0, err(result)
    return json.loads(result.stdout)


def test_bucket_commands(server: LakeboxServer) -> None:
    created = as_json(server, "bucket", "create", "cli-made", "--location", "weur", "-s", "InfrequentAccess")
    assert (created["name"], created["location"], created["storage_class"]) == (
        "cli-made",
        "WEUR",
        "InfrequentAccess",
    )
    server.s3().head_bucket(Bucket="cli-made")
    assert "cli-made" in [b["name"] for b in as_json(server, "bucket", "list")["buckets"]]
    human = lakebox(server, "bucket", "list")
    assert "name:                   cli-made" in human.stdout.decode()
    info = as_json(server, "bucket", "info", "cli-made")
    assert (info["name"], info["storage_class"]) == ("cli-made", "InfrequentAccess")
    updated = as_json(server, "bucket", "update", "storage-class", "cli-made", "--storage-class", "Standard")
    assert updated["storage_class"] == "Standard"
    assert as_json(server, "bucket", "info", "cli-made")["storage_class"] == "Standard"

    again = lakebox(server, "bucket", "create", "cli-made")
    assert (again.returncode, err(again)) == (
        1,
        "lakebox: BucketAlreadyOwnedByYou: The bucket you tried to create already exists, and you own it. "
        "[code 10004]",
    )
    assert as_json(server, "bucket", "delete", "cli-made") == {"deleted": "cli-made"}
    with pytest.raises(ClientError):
        server.s3().head_bucket(Bucket="cli-made")
    missing = lakebox(server, "bucket", "info", "cli-made")
    assert (missing.returncode, err(missing)) == (
        1,
        "lakebox: NoSuchBucket: The specified bucket does not exist. [code 10006] — lakebox bucket list shows "
        "the buckets",
    )


def test_jurisdiction_flag_reaches_the_server(server: LakeboxServer) -> None:
    assert as_json(server, "bucket", "list", "-J", "default")["buckets"] is not None
    eu = lakebox(server, "bucket", "create", "eu-bucket", "-J", "eu")  # this server has no eu location
    assert (eu.returncode, err(eu)) == (
        1,
        "lakebox: The eu jurisdiction has no storage location on this server [code 10040]",
    )
    with pytest.raises(ClientError):
        server.s3().head_bucket(Bucket="eu-bucket")


def test_bucket_list_follows_every_page(server: LakeboxServer) -> None:
    # The v4 API pages by cursor; the CLI asks for every page (the server's page is 1000 buckets).
    names = {f"page-{i:02d}" for i in range(3)}
    for name in names:
        server.s3().create_bucket(Bucket=name)
    assert names <= {b["name"] for b in as_json(server, "bucket", "list")["buckets"]}


def test_lifecycle_commands(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    default = "Default Multipart Abort Rule"  # every new bucket's, as on R2
    assert [r["id"] for r in as_json(server, "bucket", "lifecycle", "list", bucket)["rules"]] == [default]
    added = as_json(server, "bucket", "lifecycle", "add", bucket, "expire-logs", "logs/", "--expire-days", "30",
                    "--ia-transition-days", "7", "--force")  # fmt: skip
    assert added["rule"]["id"] == "expire-logs"
    as_json(server, "bucket", "lifecycle", "add", bucket, "--id", "abort", "--abort-multipart-days", "2")
    rules = server.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    by_id = {r["ID"]: r for r in rules}
    assert by_id["expire-logs"]["Expiration"] == {"Days": 30}
    assert by_id["expire-logs"]["Transitions"][0]["Days"] == 7
    assert by_id["abort"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    human = lakebox(server, "bucket", "lifecycle", "list", bucket).stdout.decode()
    assert "action:   Expire objects after 30 days, Transition to Infrequent Access after 7 days" in human

    duplicate = lakebox(server, "bucket", "lifecycle", "add", bucket, "abort", "--expire-days", "1")
    assert (duplicate.returncode, err(duplicate)) == (
        1,
        f"lakebox: bucket '{bucket}' already has a lifecycle rule 'abort' — remove it first or pick another name",
    )
    no_action = lakebox(server, "bucket", "lifecycle", "add", bucket, "x")
    assert no_action.returncode == 2
    assert as_json(server, "bucket", "lifecycle", "remove", bucket, "--name", "abort")["removed"] == "abort"
    assert [r["ID"] for r in server.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == [
        default,
        "expire-logs",
    ]
    unknown = lakebox(server, "bucket", "lifecycle", "remove", bucket, "--id", "abort")
    assert unknown.returncode == 1
    assert f"has no lifecycle rule 'abort' — lakebox bucket lifecycle list {bucket}" in err(unknown)

    rules_file = tmp_path / "lifecycle.json"
    rules_file.write_text(json.dumps({"rules": [
        {"id": "only", "enabled": True, "conditions": {"prefix": "tmp/"},
         "deleteObjectsTransition": {"condition": {"type": "Age", "maxAge": 86400}}},
    ]}))  # fmt: skip
    assert len(as_json(server, "bucket", "lifecycle", "set", bucket, "--file", str(rules_file))["rules"]) == 1
    rules = server.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(r["ID"], r["Expiration"]) for r in rules] == [("only", {"Days": 1})]

    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"id": "x"}]}')
    refused = lakebox(server, "bucket", "lifecycle", "set", bucket, "--file", str(bad))
    assert (refused.returncode, err(refused)) == (1, "lakebox: 'enabled' must be true or false [code 10040]")
    assert [r["ID"] for r in server.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == [
        "only"
    ]


def test_cors_commands(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    assert as_json(server, "bucket", "cors", "list", bucket) == {"bucket": bucket, "rules": []}
    rules = {"rules": [{"allowed": {"origins": ["https://example.com"], "methods": ["GET", "PUT"],
                                    "headers": ["x-custom"]}, "exposeHeaders": ["etag"], "maxAgeSeconds": 600}]}  # fmt: skip
    path = tmp_path / "cors.json"
    path.write_text(json.dumps(rules))
    assert (
        as_json(server, "bucket", "cors", "set", bucket, "--file", str(path), "--force")["rules"]
        == rules["rules"]
    )
    s3_rules = server.s3().get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert s3_rules[0]["AllowedOrigins"] == ["https://example.com"]
    assert s3_rules[0]["MaxAgeSeconds"] == 600
    listed = as_json(server, "bucket", "cors", "list", bucket)["rules"]
    assert listed[0]["allowed"]["methods"] == ["GET", "PUT"]
    assert (
        "allowed_origins:  https://example.com"
        in lakebox(server, "bucket", "cors", "list", bucket).stdout.decode()
    )
    assert as_json(server, "bucket", "cors", "delete", bucket, "--force") == {
        "bucket": bucket,
        "deleted": True,
    }
    with pytest.raises(ClientError) as info:
        server.s3().get_bucket_cors(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"

    missing = lakebox(server, "bucket", "cors", "set", bucket, "--file", str(tmp_path / "none.json"))
    assert missing.returncode == 2
    not_rules = tmp_path / "not-rules.json"
    not_rules.write_text('{"allowed": 1}')
    refused = lakebox(server, "bucket", "cors", "set", bucket, "--file", str(not_rules))
    assert (refused.returncode, err(refused)) == (1, f'lakebox: {not_rules} must hold {{"rules": [...]}}')


def test_dev_url_commands(server: LakeboxServer, bucket: str) -> None:
    server.s3().put_object(Bucket=bucket, Key="hello.txt", Body=b"hi")
    assert as_json(server, "bucket", "dev-url", "get", bucket)["enabled"] is False
    enabled = as_json(server, "bucket", "dev-url", "enable", bucket, "--force")
    assert enabled["enabled"] is True
    assert httpx.get(f"{enabled['url']}/hello.txt").content == b"hi"
    human = lakebox(server, "bucket", "dev-url", "get", bucket).stdout.decode()
    assert human == f"Public access is enabled at '{enabled['url']}'.\n"
    assert as_json(server, "bucket", "dev-url", "disable", bucket, "-y")["enabled"] is False
    assert httpx.get(f"{enabled['url']}/hello.txt").status_code == 404


def test_catalog_enable_disable_keeps_tables(server: LakeboxServer) -> None:
    server.s3().create_bucket(Bucket="cli-warehouse")
    config = f"{server.catalog_uri}/v1/config?warehouse=cli-warehouse"
    auth = {"Authorization": f"Bearer {server.token}"}
    assert httpx.get(config, headers=auth).status_code == 404

    enabled = lakebox(server, "bucket", "catalog", "enable", "cli-warehouse")
    assert enabled.returncode == 0, err(enabled)
    assert f"Catalog URI:  {server.catalog_uri}" in enabled.stdout.decode()
    assert "Warehouse:    cli-warehouse" in enabled.stdout.decode()
    assert httpx.get(config, headers=auth).json()["overrides"]["prefix"] == "cli-warehouse"
    ns = httpx.post(
        f"{server.catalog_uri}/v1/cli-warehouse/namespaces", json={"namespace": ["kept"]}, headers=auth
    )
    assert ns.status_code == 200

    disabled = as_json(server, "bucket", "catalog", "disable", "cli-warehouse")
    assert (disabled["enabled"], disabled["status"], disabled["catalog_uri"]) == (
        False,
        "inactive",
        server.catalog_uri,
    )
    assert as_json(server, "bucket", "catalog", "get", "cli-warehouse")["enabled"] is False
    refused = httpx.get(f"{server.catalog_uri}/v1/cli-warehouse/namespaces", headers=auth)
    assert refused.status_code == 404

    assert as_json(server, "bucket", "catalog", "enable", "cli-warehouse")["warehouse"] == "cli-warehouse"
    namespaces = httpx.get(f"{server.catalog_uri}/v1/cli-warehouse/namespaces", headers=auth).json()[
        "namespaces"
    ]
    assert ["kept"] in namespaces


def test_catalog_enable_of_a_missing_bucket(server: LakeboxServer) -> None:
    result = lakebox(server, "bucket", "catalog", "enable", "no-such-bucket")
    assert result.returncode == 1
    assert err(result).startswith("lakebox: NoSuchBucket: ")


@pytest.mark.parametrize(
    ("args", "feature"),
    [
        (["bucket", "sippy", "enable", "b", "--provider", "AWS"], "sippy (incremental migration)"),
        (["bucket", "notification", "list", "b"], "event notifications"),
    ],
)
def test_commands_of_features_not_built_say_so(server: LakeboxServer, args: list[str], feature: str) -> None:
    result = lakebox(server, *args)
    assert (result.returncode, err(result)) == (
        1,
        f"lakebox: lakebox has no {feature} yet — the README lists what it has",
    )
