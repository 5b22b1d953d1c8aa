"""Migrations (R2's Super Slurper) through the management API: copy, metadata, skip/overwrite, failures, bad
input, permissions and audit, a SIGKILL mid-copy, abort."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.migrate import (
    MANY,
    SMALL_COUNT,
    account_of,
    api_client,
    big_body,
    content,
    dest_server,
    error_of,
    filled_bucket,
    job_of,
    many_bucket,
    migration_body,
    new_bucket,
    show,
    show_all,
    source_server,
    start,
    wait_copied,
    wait_ended,
)  # fmt: skip
from tests.support.server import LakeboxServer, postgres_database, running

FIXTURES = (source_server, dest_server, filled_bucket, many_bucket)  # module-scoped, by their names


def test_migrates_every_object_with_its_metadata(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    bucket = new_bucket(dest)
    created = start(dest, migration_body(source, filled, bucket))
    assert created["state"] in ("queued", "running", "completed")
    assert "source_secret_access_key" not in json.dumps(created)
    assert source.secret_access_key not in json.dumps(created)
    done = wait_ended(dest, created["id"])
    total = SMALL_COUNT + 1 + 3
    assert done["state"] == "completed", done
    assert done["objects_copied"] == total
    assert (done["objects_failed"], done["failures"]) == (0, [])
    assert done["objects_skipped"] == 0
    expected_bytes = sum(len(content(i)) for i in range(SMALL_COUNT)) + len(big_body()) + 1 + 2 + 3
    assert done["bytes_copied"] == expected_bytes
    assert None not in (done["started_at"], done["finished_at"])
    s3 = dest.s3()
    for i in range(SMALL_COUNT):
        assert s3.get_object(Bucket=bucket, Key=f"small/{i:04d}")["Body"].read() == content(i)
    big = s3.get_object(Bucket=bucket, Key="big/blob")
    assert big["Body"].read() == big_body()
    assert big["ETag"].strip('"').endswith("-3")  # copied in three parts of 5, 5 and 2 MiB
    for i in range(3):
        head = s3.head_object(Bucket=bucket, Key=f"meta/{i}")
        assert head["ContentType"] == "text/csv; charset=utf-8"
        assert head["ContentEncoding"] == "gzip"
        assert head["CacheControl"] == "max-age=60"
        assert head["ContentDisposition"] == "attachment"
        assert head["ContentLanguage"] == "de"
        assert head["Metadata"] == {"owner": f"team-{i}", "x-origin": "s3"}
        assert head["ContentLength"] == i + 1
    listed = s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)
    assert listed["KeyCount"] == total


def test_prefix_and_skip_versus_overwrite(source: LakeboxServer, dest: LakeboxServer, filled: str) -> None:
    bucket = new_bucket(dest)
    s3 = dest.s3()
    s3.put_object(Bucket=bucket, Key="meta/0", Body=b"already here")
    skipped = wait_ended(
        dest,
        start(dest, migration_body(source, filled, bucket, source_prefix="meta/", overwrite=False))["id"],
    )
    assert (skipped["state"], skipped["objects_copied"], skipped["objects_skipped"]) == ("completed", 2, 1)
    assert s3.get_object(Bucket=bucket, Key="meta/0")["Body"].read() == b"already here"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 3  # nothing outside the prefix
    overwritten = wait_ended(
        dest, start(dest, migration_body(source, filled, bucket, source_prefix="meta/"))["id"]
    )
    assert (overwritten["objects_copied"], overwritten["objects_skipped"]) == (3, 0)
    assert s3.get_object(Bucket=bucket, Key="meta/0")["Body"].read() == b"x"


def test_object_failures_are_listed_and_the_rest_is_copied(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    bucket = new_bucket(dest)
    s3 = dest.s3()
    s3.put_object(Bucket=bucket, Key="meta/1", Body=b"locked")
    with api_client(dest) as api:
        rule = {"id": "keep", "enabled": True, "prefix": "meta/1", "condition": {"type": "Indefinite"}}
        response = api.put(f"/accounts/{account_of(dest)}/r2/buckets/{bucket}/lock", json={"rules": [rule]})
        assert response.status_code == 200, response.text
    done = wait_ended(dest, start(dest, migration_body(source, filled, bucket, source_prefix="meta/"))["id"])
    assert done["state"] == "completed"
    assert (done["objects_copied"], done["objects_failed"]) == (2, 1)
    assert [f["key"] for f in done["failures"]] == ["meta/1"]
    assert done["failures"][0]["error"].startswith("AccessDenied: Access Denied: the object is locked"), done

    assert s3.get_object(Bucket=bucket, Key="meta/1")["Body"].read() == b"locked"


def test_a_bad_credential_fails_the_migration_and_the_secret_never_shows(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    bucket = new_bucket(dest)
    secret = "Sup3rSecret" + secrets.token_hex(12)
    body = migration_body(source, filled, bucket, source_secret_access_key=secret)
    done = wait_ended(dest, start(dest, body)["id"])
    assert done["state"] == "failed"
    assert done["error"].startswith("cannot list the source bucket: SignatureDoesNotMatch"), done["error"]
    assert done["objects_copied"] == 0
    with api_client(dest) as api:
        audit = api.get(f"/accounts/{account_of(dest)}/lakebox/audit").text
        listed = api.get(f"/accounts/{account_of(dest)}/lakebox/migrations").text
    assert "/lakebox/migrations" in audit
    assert dest.log_path is not None
    for text in (audit, listed, json.dumps(done), dest.log_path.read_text(errors="replace")):
        assert secret not in text
        assert source.secret_access_key not in text
    for path in Path(dest.data_dir).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_bad_requests_answer_exact_errors(dest: LakeboxServer, source: LakeboxServer, filled: str) -> None:
    account = account_of(dest)
    base = f"/accounts/{account}/lakebox/migrations"
    with api_client(dest) as api:
        missing = api.post(base, json=migration_body(source, filled, "no-such-bucket"))
        assert error_of(missing) == (404, 10006)
        no_secret = {
            k: v for k, v in migration_body(source, filled, "x").items() if k != "source_secret_access_key"
        }
        answer = api.post(base, json=no_secret)
        assert error_of(answer) == (400, 10040)
        assert "source_secret_access_key" in answer.json()["errors"][0]["message"]
        bad_url = api.post(base, json=migration_body(source, filled, "x", source_endpoint="ftp://host"))
        assert error_of(bad_url) == (400, 10040)
        unknown = api.get(f"{base}/0123456789abcdef0123456789abcdef")
        assert error_of(unknown) == (404, 10090)
        unknown_abort = api.post(f"{base}/0123456789abcdef0123456789abcdef/abort")
        assert error_of(unknown_abort) == (404, 10090)
    anonymous = httpx.get(f"{dest.console_url}/client/v4{base}", timeout=30)
    assert error_of(anonymous) == (401, 10000)
    assert show_all(dest) == show_all(dest)  # reads change nothing


def test_a_killed_destination_resumes_from_its_checkpoint(
    tmp_path: Path, source: LakeboxServer, many: str
) -> None:
    env = {
        "LAKEBOX_JOBS_BATCH_SIZE": "2",
        "LAKEBOX_JOBS_LEASE_SECONDS": "3",
        "LAKEBOX_JOBS_POLL_MS": "100",
    }
    server = LakeboxServer(tmp_path / "data", extra_env=env, database_url=postgres_database()).start(
        timeout=120
    )
    try:
        bucket = new_bucket(server)
        migration_id = start(server, migration_body(source, many, bucket))["id"]
        before = wait_copied(server, migration_id, 40)
        assert before["state"] == "running", before  # mid-migration
        server.kill()
        restarted_at = time.time()
        server.start(timeout=120)
        done = wait_ended(server, migration_id)
        assert done["state"] == "completed", done
        assert done["objects_copied"] == MANY  # each object counted once, across the kill
        assert (done["objects_failed"], done["objects_skipped"]) == (0, 0)
        assert done["bytes_copied"] == sum(len(content(i)) for i in range(MANY))
        s3 = server.s3()
        listed = s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)
        assert [o["Key"] for o in listed["Contents"]] == [f"k/{i:05d}" for i in range(MANY)]
        for i in range(MANY):
            assert s3.get_object(Bucket=bucket, Key=f"k/{i:05d}")["Body"].read() == content(i)
        # Resumed, not restarted: what was checkpointed before the kill was not copied again.
        kept = [o for o in listed["Contents"] if o["LastModified"].timestamp() < restarted_at]
        assert len(kept) >= before["objects_copied"] > 0
        with api_client(server) as api:
            jobs = api.get(f"/accounts/{account_of(server)}/lakebox/jobs", params={"kind": "migration"})
        (job,) = jobs.json()["result"]
        assert (job["target"], job["state"], job["takeovers"]) == (migration_id, "done", 1)
    finally:
        server.stop()


def test_abort_stops_the_copy(source: LakeboxServer, many: str, tmp_path: Path) -> None:
    env = {"LAKEBOX_JOBS_BATCH_SIZE": "2", "LAKEBOX_JOBS_POLL_MS": "100"}
    with running(tmp_path / "data", extra_env=env) as server:
        bucket = new_bucket(server)
        migration_id = start(server, migration_body(source, many, bucket))["id"]
        wait_copied(server, migration_id, 10)
        with api_client(server) as api:
            base = f"/accounts/{account_of(server)}/lakebox/migrations/{migration_id}"
            aborted = api.post(f"{base}/abort")
            assert aborted.status_code == 200, aborted.text
            assert aborted.json()["result"]["state"] == "aborted"
            assert aborted.json()["result"]["finished_at"] is not None
            assert error_of(api.post(f"{base}/abort")) == (409, 10091)
        deadline = time.monotonic() + 120
        while (job := job_of(server, migration_id))["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job["state"] == "done"
        final = show(server, migration_id)
        assert final["state"] == "aborted"
        copied = server.s3().list_objects_v2(Bucket=bucket, MaxKeys=1000).get("KeyCount", 0)
        assert final["objects_copied"] <= copied < MANY
        time.sleep(1)
        assert server.s3().list_objects_v2(Bucket=bucket, MaxKeys=1000).get("KeyCount", 0) == copied


def test_permissions_and_the_audit_entry(source: LakeboxServer, dest: LakeboxServer, filled: str) -> None:
    """Admin Read & Write creates and aborts, Admin Read reads, object tokens reach nothing; the creation is
    audited once with its actor and the migration's id, never the secret."""
    from tests.support.admin import token_policy

    account = account_of(dest)
    base = f"/accounts/{account}/lakebox/migrations"
    bucket = new_bucket(dest)
    with api_client(dest) as api:
        tokens = {}
        for permission in ("admin-ro", "object-rw", "object-ro"):
            made = api.post("/user/tokens", json=token_policy(account, permission))
            assert made.status_code == 200, made.text
            tokens[permission] = made.json()["result"]["value"]
        created = api.post(base, json=migration_body(source, filled, bucket, source_prefix="meta/"))
        assert created.status_code == 200, created.text
        migration_id = created.json()["result"]["id"]
        wait_ended(dest, migration_id)
        entries = api.get(f"/accounts/{account}/lakebox/audit").json()["result"]
    mine = [e for e in entries if e["action"] == f"POST /client/v4{base}" and e["target"] == migration_id]
    assert len(mine) == 1, entries
    assert (mine[0]["actor"], mine[0]["outcome"]) == (dest.access_key_id, "success")
    assert source.secret_access_key not in json.dumps(entries)

    def call(token: str, method: str, path: str, body: Any = None) -> tuple[int, int]:
        with httpx.Client(base_url=f"{dest.console_url}/client/v4", timeout=60) as client:
            answer = client.request(method, path, json=body, headers={"authorization": f"Bearer {token}"})
        code = 0 if answer.status_code == 200 else int(answer.json()["errors"][0]["code"])
        return answer.status_code, code

    create_body = migration_body(source, filled, bucket)
    reader = tokens["admin-ro"]
    assert call(reader, "GET", base) == (200, 0)
    assert call(reader, "GET", f"{base}/{migration_id}") == (200, 0)
    assert call(reader, "POST", base, create_body) == (403, 10000)
    assert call(reader, "POST", f"{base}/{migration_id}/abort") == (403, 10000)
    for permission in ("object-rw", "object-ro"):
        token = tokens[permission]
        assert call(token, "GET", base) == (403, 10000)
        assert call(token, "GET", f"{base}/{migration_id}") == (403, 10000)
        assert call(token, "POST", base, create_body) == (403, 10000)
    assert len(show_all(dest)) == len({m["id"] for m in show_all(dest)})


def test_a_destination_deleted_mid_copy_fails_the_migration(
    source: LakeboxServer, many: str, tmp_path: Path
) -> None:
    env = {"LAKEBOX_JOBS_BATCH_SIZE": "2", "LAKEBOX_JOBS_POLL_MS": "100"}
    with running(tmp_path / "data", extra_env=env) as server:
        bucket = new_bucket(server)
        migration_id = start(server, migration_body(source, many, bucket))["id"]
        wait_copied(server, migration_id, 5)
        with api_client(server) as api:
            # The bucket is not empty: emptied by a second client racing the copy, then deleted.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                s3 = server.s3()
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
                if api.delete(f"/accounts/{account_of(server)}/r2/buckets/{bucket}").status_code == 200:
                    break
            else:
                raise AssertionError("the bucket could not be emptied and deleted")
        done = wait_ended(server, migration_id)
        assert (done["state"], done["error"]) == (
            "failed",
            f"the destination bucket {bucket} no longer exists",
        )
        assert done["objects_failed"] == 0
