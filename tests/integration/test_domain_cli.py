"""``lakebox bucket domain ...`` (wrangler's ``r2 bucket domain`` commands) against a live server, each effect checked
by fetching an object over the public port with the domain as Host."""

from __future__ import annotations

import json
import secrets
import subprocess
from typing import Any

import httpx

from tests.support import cli
from tests.support.cli import err
from tests.support.server import LakeboxServer


def lakebox(server: LakeboxServer, *args: str) -> subprocess.CompletedProcess[bytes]:
    return cli.run(*args, env=cli.server_env(server))


def as_json(server: LakeboxServer, *args: str) -> Any:
    result = lakebox(server, *args, "--json")
    assert result.returncode == 0, err(result)
    return json.loads(result.stdout)


def _fetch(server: LakeboxServer, host: str) -> httpx.Response:
    return httpx.get(f"{server.public_url}/a/b.txt", headers={"host": host}, timeout=30)


def test_domain_commands(server: LakeboxServer) -> None:
    bucket = "cli-dom-" + secrets.token_hex(4)
    server.s3().create_bucket(Bucket=bucket)
    server.s3().put_object(Bucket=bucket, Key="a/b.txt", Body=b"served")
    name = f"{bucket}.example.org"
    assert as_json(server, "bucket", "domain", "list", bucket) == {"bucket": bucket, "domains": []}

    added = as_json(
        server, "bucket", "domain", "add", bucket, "--domain", name, "--zone-id", "zone-9", "--min-tls", "1.2"
    )
    shown = {
        "bucket": bucket,
        "domain": name,
        "enabled": True,
        "ownership_status": "active",
        "ssl_status": "active",
        "min_tls": "1.2",
        "zone_id": "zone-9",
        "zone_name": "example.org",
    }
    assert added == shown
    assert _fetch(server, name).content == b"served"
    assert as_json(server, "bucket", "domain", "list", bucket) == {"bucket": bucket, "domains": [shown]}
    assert as_json(server, "bucket", "domain", "get", bucket, "--domain", name) == shown
    text = lakebox(server, "bucket", "domain", "get", bucket, "--domain", name).stdout.decode()
    assert f"domain:            {name}" in text
    assert "min_tls_version:   1.2" in text

    updated = as_json(server, "bucket", "domain", "update", bucket, "--domain", name, "--min-tls", "1.3")
    assert updated == shown | {"min_tls": "1.3"}
    off = as_json(server, "bucket", "domain", "update", bucket, "--domain", name, "--disabled")
    assert off["enabled"] is False
    assert _fetch(server, name).status_code == 404
    as_json(server, "bucket", "domain", "update", bucket, "--domain", name, "--enabled")
    assert _fetch(server, name).content == b"served"

    removed = as_json(server, "bucket", "domain", "remove", bucket, "--domain", name, "--force")
    assert removed == {"bucket": bucket, "domain": name, "removed": True}
    assert _fetch(server, name).status_code == 404
    assert lakebox(server, "bucket", "domain", "list", bucket).stdout.decode().strip() == (
        f"There are no custom domains for bucket '{bucket}'."
    )


def test_domain_command_errors(server: LakeboxServer) -> None:
    bucket, other = "cli-dom-e-" + secrets.token_hex(4), "cli-dom-o-" + secrets.token_hex(4)
    server.s3().create_bucket(Bucket=bucket)
    server.s3().create_bucket(Bucket=other)
    name = f"{bucket}.example.org"
    as_json(server, "bucket", "domain", "add", bucket, "--domain", name, "--zone-id", "z")

    taken = lakebox(server, "bucket", "domain", "add", other, "--domain", name, "--zone-id", "z")
    assert (taken.returncode, err(taken)) == (
        1,
        f"lakebox: CustomDomainInUse: The domain {name} is already connected to another bucket. [code 10062]"
        " — remove it from the bucket that has it first",
    )
    missing = lakebox(server, "bucket", "domain", "get", other, "--domain", name)
    assert (missing.returncode, err(missing)) == (
        1,
        "lakebox: NoSuchCustomDomain: The custom domain does not exist on this bucket. [code 10061]"
        " — lakebox bucket domain list <bucket> shows the bucket's domains",
    )
    bad = lakebox(server, "bucket", "domain", "add", other, "--domain", "Bad.Example.org", "--zone-id", "z")
    assert (bad.returncode, err(bad)) == (
        1,
        "lakebox: 'Bad.Example.org' is not a valid domain name (lowercase hostname, no port). [code 10040]",
    )
    tls = lakebox(server, "bucket", "domain", "update", bucket, "--domain", name, "--min-tls", "1.4")
    assert tls.returncode == 2
    assert "'1.4' is not one of '1.0', '1.1', '1.2', '1.3'" in err(tls)
    no_bucket = lakebox(server, "bucket", "domain", "list", "no-such-bucket-dom")
    assert (no_bucket.returncode, err(no_bucket)) == (
        1,
        "lakebox: NoSuchBucket: The specified bucket does not exist. [code 10006] — lakebox bucket list shows "
        "the buckets",
    )
    assert as_json(server, "bucket", "domain", "list", other)["domains"] == []
    assert as_json(server, "bucket", "domain", "get", bucket, "--domain", name)["min_tls"] == "1.0"
