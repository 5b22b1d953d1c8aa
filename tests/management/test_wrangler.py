"""Real wrangler 4.86 manages lakebox through the Cloudflare API at ``/client/v4``; every effect is checked
through the S3 API (boto3), the catalog or the public bucket URL."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import botocore.exceptions
import httpx
import pytest

from tests.management.conftest import Wrangler
from tests.support import cli
from tests.support.server import LakeboxServer


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _s3_error(call: object) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()  # type: ignore[operator]
    return str(info.value.response["Error"]["Code"])


def test_bucket_create_list_info_update_delete(wrangler: Wrangler, server: LakeboxServer) -> None:
    name = _name("wr-bucket")
    out = wrangler.run("r2", "bucket", "create", name, "--location", "weur")
    assert f"Created bucket '{name}'" in out.stdout
    s3 = server.s3()
    s3.head_bucket(Bucket=name)

    listed = wrangler.run("r2", "bucket", "list").stdout
    assert f"name:           {name}" in listed

    info = wrangler.run("r2", "bucket", "info", name).stdout
    assert name in info
    assert "WEUR" in info
    assert "Standard" in info

    wrangler.run("r2", "bucket", "update", "storage-class", name, "--storage-class", "InfrequentAccess")
    assert "InfrequentAccess" in wrangler.run("r2", "bucket", "info", name).stdout

    # A bucket that holds an object is not deleted: wrangler shows R2's error and code.
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    refused = wrangler.run("r2", "bucket", "delete", name, check=False)
    assert refused.returncode != 0
    assert "[code: 10008]" in refused.stdout + refused.stderr
    s3.delete_object(Bucket=name, Key="k")

    wrangler.run("r2", "bucket", "delete", name)
    assert _s3_error(lambda: s3.head_bucket(Bucket=name)) == "404"


def test_bucket_create_existing_and_invalid(wrangler: Wrangler, server: LakeboxServer) -> None:
    name = _name("wr-dup")
    wrangler.run("r2", "bucket", "create", name)
    again = wrangler.run("r2", "bucket", "create", name, check=False)
    assert again.returncode != 0
    assert "[code: 10004]" in again.stdout + again.stderr
    bad = wrangler.run("r2", "bucket", "info", "no-such-bucket-here", check=False)
    assert bad.returncode != 0
    assert "[code: 10006]" in bad.stdout + bad.stderr


def test_cors_set_list_delete(wrangler: Wrangler, server: LakeboxServer, tmp_path: Path) -> None:
    name = _name("wr-cors")
    server.s3().create_bucket(Bucket=name)
    rules = {
        "rules": [
            {
                "allowed": {
                    "origins": ["https://example.com"],
                    "methods": ["GET", "PUT"],
                    "headers": ["x-a"],
                },
                "exposeHeaders": ["ETag"],
                "maxAgeSeconds": 600,
            }
        ]
    }
    path = tmp_path / "cors.json"
    path.write_text(json.dumps(rules))
    wrangler.run("r2", "bucket", "cors", "set", name, "--file", str(path), "--force")
    cors = server.s3().get_bucket_cors(Bucket=name)["CORSRules"]
    assert cors == [
        {
            "AllowedOrigins": ["https://example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["x-a"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
    listed = wrangler.run("r2", "bucket", "cors", "list", name).stdout
    assert "https://example.com" in listed
    assert "GET, PUT" in listed

    wrangler.run("r2", "bucket", "cors", "delete", name, "--force")
    assert _s3_error(lambda: server.s3().get_bucket_cors(Bucket=name)) == "NoSuchCORSConfiguration"


def test_lifecycle_add_list_remove(wrangler: Wrangler, server: LakeboxServer) -> None:
    name = _name("wr-life")
    s3 = server.s3()
    s3.create_bucket(Bucket=name)
    wrangler.run(
        "r2", "bucket", "lifecycle", "add", name, "expire-logs", "logs/", "--expire-days", "30", "--force"
    )
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules["expire-logs"]["Expiration"] == {"Days": 30}
    assert rules["expire-logs"]["Filter"] == {"Prefix": "logs/"}
    assert rules["expire-logs"]["Status"] == "Enabled"
    assert "Default Multipart Abort Rule" in rules  # the rule R2 shows for every bucket is kept

    listed = wrangler.run("r2", "bucket", "lifecycle", "list", name).stdout
    assert "expire-logs" in listed
    assert "Expire objects after 30 days" in listed

    wrangler.run("r2", "bucket", "lifecycle", "remove", name, "--name", "expire-logs")
    ids = [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]]
    assert ids == ["Default Multipart Abort Rule"]


def test_dev_url_enable_get_disable(wrangler: Wrangler, server: LakeboxServer) -> None:
    name = _name("wr-dev")
    s3 = server.s3()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="hello.txt", Body=b"public hello")
    assert "is disabled" in wrangler.run("r2", "bucket", "dev-url", "get", name).stdout

    out = wrangler.run("r2", "bucket", "dev-url", "enable", name, "--force").stdout
    shown = out.split("Public access enabled at '", 1)[1].split("'", 1)[0]
    # wrangler prints R2's https://<domain>; this server serves the domain over plain http.
    url = shown.replace("https://", f"{server.scheme}://", 1)
    assert httpx.get(f"{url}/hello.txt", timeout=30).content == b"public hello"
    assert shown in wrangler.run("r2", "bucket", "dev-url", "get", name).stdout

    wrangler.run("r2", "bucket", "dev-url", "disable", name, "--force")
    assert httpx.get(f"{url}/hello.txt", timeout=30).status_code in (403, 404)


def test_catalog_enable_get_disable(wrangler: Wrangler, server: LakeboxServer, tmp_path: Path) -> None:
    name = _name("wr-cat")
    server.s3().create_bucket(Bucket=name)
    config = f"{server.catalog_uri}/v1/config?warehouse={name}"
    auth = {"authorization": f"Bearer {server.token}"}

    enabled = wrangler.run("r2", "bucket", "catalog", "enable", name).stdout
    assert "Successfully enabled data catalog" in enabled
    assert httpx.get(config, headers=auth, timeout=30).status_code == 200
    got = wrangler.run("r2", "bucket", "catalog", "get", name).stdout
    assert "active" in got
    assert name in got

    # R2 answers 10081 to an object put without --force while the catalog is on; wrangler asks (in CI: the
    # default, yes) and sends it again without the check.
    source = tmp_path / "f.txt"
    source.write_bytes(b"beside the catalog")
    put = wrangler.run("r2", "object", "put", f"{name}/notes/f.txt", "--file", str(source), "--remote")
    assert "Data catalog is enabled for this bucket" in put.stdout
    assert server.s3().get_object(Bucket=name, Key="notes/f.txt")["Body"].read() == b"beside the catalog"

    wrangler.run("r2", "bucket", "catalog", "disable", name)
    assert httpx.get(config, headers=auth, timeout=30).status_code != 200
    assert "inactive" in wrangler.run("r2", "bucket", "catalog", "get", name).stdout


def test_object_put_get_delete(wrangler: Wrangler, server: LakeboxServer, tmp_path: Path) -> None:
    name = _name("wr-obj")
    s3 = server.s3()
    s3.create_bucket(Bucket=name)
    data = secrets.token_bytes(300_000)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    key = "dir/a file+ü.bin"
    wrangler.run(
        "r2", "object", "put", f"{name}/{key}", "--file", str(source), "--remote", "--content-type", "x/y"
    )
    stored = s3.get_object(Bucket=name, Key=key)
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "x/y"

    target = tmp_path / "out.bin"
    wrangler.run("r2", "object", "get", f"{name}/{key}", "--file", str(target), "--remote")
    assert target.read_bytes() == data

    wrangler.run("r2", "object", "delete", f"{name}/{key}", "--remote")
    assert _s3_error(lambda: s3.head_object(Bucket=name, Key=key)) == "404"
    missing = wrangler.run(
        "r2", "object", "get", f"{name}/{key}", "--file", str(target), "--remote", check=False
    )
    assert missing.returncode != 0
    assert "does not exist" in missing.stdout + missing.stderr


def test_bulk_put_same_list_as_lakebox(wrangler: Wrangler, server: LakeboxServer, tmp_path: Path) -> None:
    """One list file, uploaded by wrangler's ``r2 bulk put`` and by ``lakebox bulk put``: the same objects."""
    s3 = server.s3()
    by_wrangler, by_lakebox = _name("wr-bulk"), _name("lb-bulk")
    entries = []
    for i in range(12):
        source = tmp_path / f"f{i}.txt"
        source.write_bytes(secrets.token_bytes(100 + i))
        entries.append({"key": f"d/ü {i}", "file": str(source)})
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps(entries))
    for name in (by_wrangler, by_lakebox):
        s3.create_bucket(Bucket=name)
    done = wrangler.run("r2", "bulk", "put", by_wrangler, "--filename", str(listing), "--remote", "-y")
    assert (
        f"Starting bulk upload of 12 objects to bucket {by_wrangler} using a concurrency of 20" in done.stdout
    )
    ours = cli.run("bulk", "put", by_lakebox, "--filename", str(listing), env=cli.server_env(server))
    assert ours.returncode == 0, cli.err(ours)
    assert (
        f"Starting bulk upload of 12 objects to bucket {by_lakebox} using a concurrency of 20"
        in ours.stdout.decode()
    )

    def objects(bucket: str) -> list[tuple[str, int, str]]:
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
        return [(o["Key"], o["Size"], o["ETag"]) for o in listed]

    assert objects(by_wrangler) == objects(by_lakebox)
    assert len(objects(by_lakebox)) == 12
