"""``lakebox token ...`` run as a subprocess against a live server, its endpoint and token found from flags,
the environment or the data dir's root credentials."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import cli
from tests.support.admin import client
from tests.support.server import ROOT, LakeboxServer


def lakebox(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = cli.run(*args, env=env, cwd=ROOT)
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_create_list_revoke_with_the_data_dir(server: LakeboxServer, bucket: str) -> None:
    where = ["--data-dir", str(server.data_dir)]
    created = as_json(
        lakebox("token", "create", "--permission", "object-rw", "--bucket", bucket, "--bucket", "other",
                "--ttl", "30d", "--name", "cli", "--json", *where)
    )  # fmt: skip
    assert {
        "id",
        "token",
        "access_key_id",
        "secret_access_key",
        "permission",
        "buckets",
        "expires_at",
    } <= set(created)
    assert (created["permission"], created["buckets"], created["name"]) == (
        "object-rw",
        [bucket, "other"],
        "cli",
    )
    assert created["expires_at"] is not None
    c = client(server, created)
    c.put_object(Bucket=bucket, Key="from-cli", Body=b"x")
    listed = as_json(lakebox("token", "list", "--json", *where))["tokens"]
    assert created["id"] in [t["id"] for t in listed]
    human = lakebox("token", "list", *where)
    assert created["id"] in human.stdout
    assert created["secret_access_key"] not in human.stdout
    assert as_json(lakebox("token", "revoke", created["id"], "--json", *where))["status"] == "revoked"
    with pytest.raises(ClientError) as info:
        c.get_object(Bucket=bucket, Key="from-cli")
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_temp_credentials_from_env(server: LakeboxServer, bucket: str) -> None:
    server.s3().put_object(Bucket=bucket, Key="logs/a", Body=b"a")
    env = {"LAKEBOX_CONSOLE_URL": server.console_url, "LAKEBOX_TOKEN": server.token}
    creds = as_json(
        lakebox("token", "temp", "--bucket", bucket, "--prefix", "logs/", "--permission", "object-read-only",
                "--ttl", "900", "--json", env=env)
    )  # fmt: skip
    assert {"access_key_id", "secret_access_key", "session_token", "expires_at"} <= set(creds)
    c = client(server, creds)
    assert c.get_object(Bucket=bucket, Key="logs/a")["Body"].read() == b"a"
    with pytest.raises(ClientError):
        c.list_objects_v2(Bucket=bucket)
    shell = lakebox("token", "temp", "--bucket", bucket, "--permission", "object-read-only", env=env)
    assert shell.returncode == 0
    assert "AWS_SESSION_TOKEN=" in shell.stdout


def test_temp_with_named_parent_and_flags(server: LakeboxServer, bucket: str) -> None:
    flags = ["--console-url", server.console_url, "--token", server.token]
    parent = as_json(
        lakebox("token", "create", "--permission", "object-ro", "--bucket", bucket, "--json", *flags)
    )
    creds = as_json(
        lakebox("token", "temp", "--bucket", bucket, "--permission", "object-read-only", "--parent", parent["id"],
                "--ttl", "15m", "--json", *flags)
    )  # fmt: skip
    assert creds["parent_access_key_id"] == parent["id"]
    refused = lakebox("token", "temp", "--bucket", bucket, "--permission", "object-read-write",
                      "--parent", parent["id"], *flags)  # fmt: skip
    assert refused.returncode == 1
    assert "AccessDenied" in refused.stderr


def test_errors(server: LakeboxServer, tmp_path: Any) -> None:
    flags = ["--console-url", server.console_url, "--token", server.token]
    missing = lakebox("token", "revoke", "nope", *flags)
    assert (missing.returncode, "lakebox: NoSuchToken: " in missing.stderr) == (1, True)
    assert missing.stderr.strip().endswith("— lakebox token list shows the tokens")
    bad_ttl = lakebox("token", "create", "--permission", "object-ro", "--ttl", "soon", *flags)
    assert bad_ttl.returncode == 2
    no_server = lakebox("token", "list", "--data-dir", str(tmp_path))
    assert (no_server.returncode, no_server.stderr) == (
        1,
        "lakebox: no lakebox server configured — set --console-url or LAKEBOX_CONSOLE_URL, run lakebox login, "
        "or give --data-dir/LAKEBOX_DATA_DIR of a local server\n",
    )
    bad_token = lakebox("token", "list", "--console-url", server.console_url, "--token", "wrong")
    assert (bad_token.returncode, "lakebox: AuthenticationError: " in bad_token.stderr) == (1, True)


def test_get_and_list_all(server: LakeboxServer, bucket: str) -> None:
    flags = ["--console-url", server.console_url, "--token", server.token]
    created = as_json(
        lakebox("token", "create", "--permission", "admin-ro", "--name", "ro", "--json", *flags)
    )
    got = as_json(lakebox("token", "get", created["id"], "--json", *flags))
    assert got == {
        "id": created["id"], "name": "ro", "permission": "admin-ro", "buckets": [], "status": "active",
        "expires_at": None,
    }  # fmt: skip
    assert "token" not in lakebox("token", "get", created["id"], *flags).stdout.split()
    as_json(lakebox("token", "revoke", created["id"], "--json", *flags))
    # As on Cloudflare, a revoked token is gone from the list (--all adds expired ones); get still shows it.
    for args in ([], ["--all"]):
        listed = [t["id"] for t in as_json(lakebox("token", "list", *args, "--json", *flags))["tokens"]]
        assert created["id"] not in listed
    assert as_json(lakebox("token", "get", created["id"], "--json", *flags))["status"] == "revoked"
