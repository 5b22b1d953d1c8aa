"""The audit log: every configuration change through the Cloudflare API, the admin API and S3 appears once with
its actor, target and outcome; object data and reads do not; no secret used in the test is anywhere in the log
(table, API answer, CLI output or server log)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.management.conftest import make_token
from tests.support.server import ROOT, LakeboxServer

DEV_POLICY = "b4992e1108244f5d8bfbd5744320c2e1"  # Workers R2 Storage Write (Admin Read & Write)


def _audit(cf: httpx.Client, account_id: str, **params: Any) -> list[dict[str, Any]]:
    response = cf.get(f"/accounts/{account_id}/lakebox/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["result"]
    return entries


def test_every_change_kind_once_with_actor_and_no_secret(
    cf: httpx.Client, account_id: str, server: LakeboxServer
) -> None:
    started = time.time() - 1
    root = server.access_key_id
    other = make_token(cf, "admin-rw")  # audited too (filtered out below)
    other_cf = httpx.Client(
        base_url=str(cf.base_url), headers={"authorization": f"Bearer {other['token']}"}, timeout=60
    )
    acct = f"/accounts/{account_id}"
    cf_bucket, s3_bucket = "au-cf-" + secrets.token_hex(4), "au-s3-" + secrets.token_hex(4)

    # Cloudflare API (root, then the second token).
    assert cf.post(f"{acct}/r2/buckets", json={"name": cf_bucket}).status_code == 200
    cors = {"rules": [{"allowed": {"origins": ["*"], "methods": ["GET"]}}]}
    with other_cf:
        assert other_cf.put(f"{acct}/r2/buckets/{cf_bucket}/cors", json=cors).status_code == 200
    assert cf.put(f"{acct}/r2/buckets/{cf_bucket}/lifecycle", json={"rules": []}).status_code == 200
    assert cf.post(f"{acct}/r2-catalog/{cf_bucket}/enable").status_code == 200
    policy = {
        "effect": "allow",
        "resources": {f"com.cloudflare.api.account.{account_id}": "*"},
        "permission_groups": [{"id": DEV_POLICY}],
    }
    created = cf.post("/user/tokens", json={"name": "audited", "policies": [policy]}).json()["result"]
    temp = cf.post(
        f"{acct}/r2/temp-access-credentials",
        json={"bucket": cf_bucket, "permission": "object-read-only", "ttlSeconds": 60},
    ).json()["result"]
    assert cf.delete(f"/user/tokens/{created['id']}").status_code == 200
    assert cf.post(f"{acct}/r2/buckets", json={"name": cf_bucket}).status_code == 409  # a failure
    # Object data and reads are not configuration changes.
    assert cf.put(f"{acct}/r2/buckets/{cf_bucket}/objects/data", content=b"x").status_code == 200
    assert cf.get(f"{acct}/r2/buckets/{cf_bucket}/cors").status_code == 200

    # S3 (root).
    s3 = server.s3()
    s3.create_bucket(Bucket=s3_bucket)
    s3.put_bucket_cors(
        Bucket=s3_bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    s3.delete_bucket_cors(Bucket=s3_bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=s3_bucket,
        LifecycleConfiguration={
            "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 3}}]
        },
    )
    s3.delete_bucket_lifecycle(Bucket=s3_bucket)
    s3.put_object(Bucket=s3_bucket, Key="plain", Body=b"y")
    s3.delete_object(Bucket=s3_bucket, Key="plain")
    s3.delete_bucket(Bucket=s3_bucket)
    with contextlib.suppress(ClientError):
        s3.delete_bucket(Bucket=s3_bucket)

    entries = [e for e in _audit(cf, account_id, since=started) if e["target"] != other["id"]]
    found = [(e["api"], e["action"], e["actor"], e["target"], e["outcome"], e["status"]) for e in entries]
    assert found == [
        ("cloudflare", f"POST /client/v4{acct}/r2/buckets", root, cf_bucket, "success", None),
        (
            "cloudflare",
            f"PUT /client/v4{acct}/r2/buckets/{cf_bucket}/cors",
            other["id"],
            cf_bucket,
            "success",
            None,
        ),
        (
            "cloudflare",
            f"PUT /client/v4{acct}/r2/buckets/{cf_bucket}/lifecycle",
            root,
            cf_bucket,
            "success",
            None,
        ),
        (
            "cloudflare",
            f"POST /client/v4{acct}/r2-catalog/{cf_bucket}/enable",
            root,
            cf_bucket,
            "success",
            None,
        ),
        ("cloudflare", "POST /client/v4/user/tokens", root, created["id"], "success", None),
        (
            "cloudflare",
            f"POST /client/v4{acct}/r2/temp-access-credentials",
            root,
            temp["accessKeyId"],
            "success",
            None,
        ),
        (
            "cloudflare",
            f"DELETE /client/v4/user/tokens/{created['id']}",
            root,
            created["id"],
            "success",
            None,
        ),
        ("cloudflare", f"POST /client/v4{acct}/r2/buckets", root, "", "failure", 409),
        ("s3", "CreateBucket", root, s3_bucket, "success", None),
        ("s3", "PutBucketCors", root, s3_bucket, "success", None),
        ("s3", "DeleteBucketCors", root, s3_bucket, "success", None),
        ("s3", "PutBucketLifecycleConfiguration", root, s3_bucket, "success", None),
        ("s3", "DeleteBucketLifecycle", root, s3_bucket, "success", None),
        ("s3", "DeleteBucket", root, s3_bucket, "success", None),
        ("s3", "DeleteBucket", root, s3_bucket, "failure", 404),
    ]
    assert entries[7]["error_code"] == "10004"
    assert entries[-1]["error_code"] == "NoSuchBucket"
    first = _audit(cf, account_id, since=started - 60)
    assert (
        next(e for e in first if e["target"] == other["id"])["action"] == "POST /client/v4/user/tokens"
    )  # the second token's creation

    # No secret anywhere: the table, the API's and the CLI's answers, the server log.
    secrets_used = [
        server.token,
        server.secret_access_key,
        other["token"],
        created["value"],
        hashlib.sha256(created["value"].encode()).hexdigest(),
        temp["secretAccessKey"],
        temp["sessionToken"],
    ]
    cli = subprocess.run(
        [sys.executable, "-m", "lakebox", "audit", "list", "--json", "--since", str(started)],
        env={**os.environ, "LAKEBOX_CONSOLE_URL": server.console_url, "LAKEBOX_TOKEN": server.token},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    listed = json.loads(cli.stdout)
    assert [e["id"] for e in listed if e["target"] != other["id"]] == [e["id"] for e in entries]
    api_text = json.dumps(_audit(cf, account_id))
    audit_rows = _db_rows(server)
    for secret in secrets_used:
        assert secret not in api_text
        assert secret not in cli.stdout
        assert secret not in server.log()
        assert secret not in audit_rows


def _db_rows(server: LakeboxServer) -> str:
    """Every audit row as text, read straight from the database."""
    from sqlalchemy import create_engine, text

    url = server.database_url or f"sqlite:///{server.data_dir / 'lakebox.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return json.dumps([list(map(str, row)) for row in conn.execute(text("SELECT * FROM audit_log"))])
    finally:
        engine.dispose()


def test_audit_route_permissions_and_bad_input(cf: httpx.Client, account_id: str) -> None:
    reader = make_token(cf, "admin-ro")
    objects = make_token(cf, "object-rw")
    url = f"/accounts/{account_id}/lakebox/audit"
    as_reader = cf.get(url, headers={"authorization": f"Bearer {reader['token']}"})
    assert as_reader.status_code == 200
    as_objects = cf.get(url, headers={"authorization": f"Bearer {objects['token']}"})
    assert (as_objects.status_code, as_objects.json()["errors"][0]["code"]) == (403, 10000)
    bad = cf.get(url, params={"since": "last week"})
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (400, 10040)
    bad = cf.get(url, params={"per_page": "0"})
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (400, 10040)
    page = cf.get(url, params={"per_page": "1"}).json()
    assert len(page["result"]) == 1
    assert page["result_info"]["cursor"]
    following = cf.get(url, params={"per_page": "1", "cursor": page["result_info"]["cursor"]}).json()
    assert int(following["result"][0]["id"]) > int(page["result"][0]["id"])


def _sql(server: LakeboxServer, *statements: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server.database_url or f"sqlite:///{server.data_dir / 'lakebox.db'}")
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_entry_and_change_commit_together(cf: httpx.Client, account_id: str, server: LakeboxServer) -> None:
    """The entry is written in the change's transaction: when writing it fails (a unique violation injected
    through a partial index), the change is rolled back with it and the log holds only the failure; once the
    index is gone the same change commits with exactly one success entry, by the right actor."""
    root = server.access_key_id
    s3 = server.s3(config=Config(retries={"total_max_attempts": 1}))  # one request, one entry
    via_s3, via_cf = "au-inj-" + secrets.token_hex(4), "au-inj-" + secrets.token_hex(4)
    cors_url = f"/accounts/{account_id}/r2/buckets/{via_cf}/cors"
    cors = {"rules": [{"allowed": {"origins": ["*"], "methods": ["GET"]}}]}
    # Its creation's entry (a success naming via_cf) is what the next change's entry collides with.
    assert cf.post(f"/accounts/{account_id}/r2/buckets", json={"name": via_cf}).status_code == 200
    _sql(
        server,
        "INSERT INTO audit_log (at, actor, api, action, target, outcome, status, error_code) "
        f"VALUES (0, 'planted', 's3', 'CreateBucket', '{via_s3}', 'success', 0, '')",
        "CREATE UNIQUE INDEX audit_inject ON audit_log (target) WHERE outcome = 'success' AND target LIKE 'au-inj-%'",
    )
    try:
        with pytest.raises(ClientError) as refused:
            s3.create_bucket(Bucket=via_s3)
        assert refused.value.response["Error"]["Code"] == "InternalError"
        response = cf.put(cors_url, json=cors)
        assert response.status_code == 500, response.text
    finally:
        _sql(server, "DROP INDEX audit_inject")
    with pytest.raises(ClientError) as missing:
        s3.head_bucket(Bucket=via_s3)
    assert missing.value.response["Error"]["Code"] == "404"
    no_cors = cf.get(cors_url).json()
    assert (no_cors["success"], no_cors["errors"][0]["code"]) == (False, 10059), no_cors

    def rows(target: str) -> list[tuple[str, str, str, str, int | None]]:
        return [
            (e["actor"], e["api"], e["action"].rpartition("/")[2], e["outcome"], e["status"])
            for e in _audit(cf, account_id)
            if e["target"] == target and e["actor"] != "planted"
        ]

    assert rows(via_s3) == [(root, "s3", "CreateBucket", "failure", 500)]
    assert rows(via_cf) == [
        (root, "cloudflare", "buckets", "success", None),
        (root, "cloudflare", "cors", "failure", 500),
    ]

    s3.create_bucket(Bucket=via_s3)
    assert cf.put(cors_url, json=cors).status_code == 200
    assert rows(via_s3) == [
        (root, "s3", "CreateBucket", "failure", 500),
        (root, "s3", "CreateBucket", "success", None),
    ]
    assert rows(via_cf)[1:] == [
        (root, "cloudflare", "cors", "failure", 500),
        (root, "cloudflare", "cors", "success", None),
    ]
