"""Migrations (R2's Super Slurper): a second real lakebox server is the S3-compatible source; the destination
copies from it in a leased background job, through the management API and the lakebox CLI."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import LakeboxServer, running

ENDED = ("completed", "failed", "aborted")
MIB = 1 << 20
SMALL_COUNT = 240


def _api(server: LakeboxServer) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.console_url}/client/v4",
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    )


def _account(server: LakeboxServer) -> str:
    return str(server.root_credentials()["account_id"])


def _body(source: LakeboxServer, source_bucket: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "source_endpoint": source.s3_endpoint,
        "source_region": "auto",
        "source_bucket": source_bucket,
        "source_access_key_id": source.access_key_id,
        "source_secret_access_key": source.secret_access_key,
        **extra,
    }


def start(server: LakeboxServer, body: dict[str, Any]) -> dict[str, Any]:
    with _api(server) as api:
        response = api.post(f"/accounts/{_account(server)}/lakebox/migrations", json=body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["result"]
    return found


def show(server: LakeboxServer, migration_id: str) -> dict[str, Any]:
    with _api(server) as api:
        response = api.get(f"/accounts/{_account(server)}/lakebox/migrations/{migration_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["result"]
    return found


def wait_ended(server: LakeboxServer, migration_id: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = show(server, migration_id)
        if found["state"] in ENDED:
            return found
        time.sleep(0.2)
    raise AssertionError(f"migration {migration_id} did not end: {found}")


def _content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (1 + i % 7)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    with running(tmp_path_factory.mktemp("source") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def dest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    env = {
        "LAKEBOX_MIGRATION_MULTIPART_MIB": "6",
        "LAKEBOX_MIGRATION_PART_MIB": "5",
        "LAKEBOX_JOBS_POLL_MS": "100",
        "LAKEBOX_JOBS_BATCH_SIZE": "50",
    }
    with running(tmp_path_factory.mktemp("dest") / "data", extra_env=env) as srv:
        yield srv


@pytest.fixture(scope="module")
def filled(source: LakeboxServer) -> str:
    """A source bucket of SMALL_COUNT small objects under ``small/``, one multipart-sized object and a few with
    content headers and user metadata under ``meta/``."""
    name = "src-" + secrets.token_hex(4)
    s3 = source.s3()
    s3.create_bucket(Bucket=name)
    for i in range(SMALL_COUNT):
        s3.put_object(Bucket=name, Key=f"small/{i:04d}", Body=_content(i))
    s3.put_object(Bucket=name, Key="big/blob", Body=_big())
    for i in range(3):
        s3.put_object(
            Bucket=name, Key=f"meta/{i}", Body=b"x" * (i + 1), ContentType="text/csv; charset=utf-8",
            ContentEncoding="gzip", CacheControl="max-age=60", ContentDisposition="attachment",
            ContentLanguage="de", Metadata={"owner": f"team-{i}", "x-origin": "s3"},
        )  # fmt: skip
    return name


def _big() -> bytes:
    return hashlib.sha256(b"big").digest() * (12 * MIB // 32) + b"tail"


def _new_bucket(server: LakeboxServer) -> str:
    name = "dst-" + secrets.token_hex(4)
    server.s3().create_bucket(Bucket=name)
    return name


def test_migrates_every_object_with_its_metadata(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    bucket = _new_bucket(dest)
    created = start(dest, _body(source, filled, bucket))
    assert created["state"] in ("queued", "running", "completed")
    assert "source_secret_access_key" not in json.dumps(created)
    assert source.secret_access_key not in json.dumps(created)
    done = wait_ended(dest, created["id"])
    total = SMALL_COUNT + 1 + 3
    assert done["state"] == "completed", done
    assert done["objects_copied"] == total
    assert (done["objects_failed"], done["failures"]) == (0, [])
    assert done["objects_skipped"] == 0
    expected_bytes = sum(len(_content(i)) for i in range(SMALL_COUNT)) + len(_big()) + 1 + 2 + 3
    assert done["bytes_copied"] == expected_bytes
    assert None not in (done["started_at"], done["finished_at"])
    s3 = dest.s3()
    for i in range(SMALL_COUNT):
        assert s3.get_object(Bucket=bucket, Key=f"small/{i:04d}")["Body"].read() == _content(i)
    big = s3.get_object(Bucket=bucket, Key="big/blob")
    assert big["Body"].read() == _big()
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
    bucket = _new_bucket(dest)
    s3 = dest.s3()
    s3.put_object(Bucket=bucket, Key="meta/0", Body=b"already here")
    skipped = wait_ended(
        dest, start(dest, _body(source, filled, bucket, source_prefix="meta/", overwrite=False))["id"]
    )
    assert (skipped["state"], skipped["objects_copied"], skipped["objects_skipped"]) == ("completed", 2, 1)
    assert s3.get_object(Bucket=bucket, Key="meta/0")["Body"].read() == b"already here"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 3  # nothing outside the prefix
    overwritten = wait_ended(dest, start(dest, _body(source, filled, bucket, source_prefix="meta/"))["id"])
    assert (overwritten["objects_copied"], overwritten["objects_skipped"]) == (3, 0)
    assert s3.get_object(Bucket=bucket, Key="meta/0")["Body"].read() == b"x"


def test_object_failures_are_listed_and_the_rest_is_copied(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    bucket = _new_bucket(dest)
    s3 = dest.s3()
    s3.put_object(Bucket=bucket, Key="meta/1", Body=b"locked")
    with _api(dest) as api:
        rule = {"id": "keep", "enabled": True, "prefix": "meta/1", "condition": {"type": "Indefinite"}}
        response = api.put(f"/accounts/{_account(dest)}/r2/buckets/{bucket}/lock", json={"rules": [rule]})
        assert response.status_code == 200, response.text
    done = wait_ended(dest, start(dest, _body(source, filled, bucket, source_prefix="meta/"))["id"])
    assert done["state"] == "completed"
    assert (done["objects_copied"], done["objects_failed"]) == (2, 1)
    assert [f["key"] for f in done["failures"]] == ["meta/1"]
    assert done["failures"][0]["error"].startswith("AccessDenied: Access Denied: the object is locked"), done

    assert s3.get_object(Bucket=bucket, Key="meta/1")["Body"].read() == b"locked"


def test_a_bad_credential_fails_the_migration_and_the_secret_never_shows(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    bucket = _new_bucket(dest)
    secret = "Sup3rSecret" + secrets.token_hex(12)
    body = _body(source, filled, bucket, source_secret_access_key=secret)
    done = wait_ended(dest, start(dest, body)["id"])
    assert done["state"] == "failed"
    assert done["error"].startswith("cannot list the source bucket: SignatureDoesNotMatch"), done["error"]
    assert done["objects_copied"] == 0
    with _api(dest) as api:
        audit = api.get(f"/accounts/{_account(dest)}/lakebox/audit").text
        listed = api.get(f"/accounts/{_account(dest)}/lakebox/migrations").text
    assert "/lakebox/migrations" in audit
    assert dest.log_path is not None
    for text in (audit, listed, json.dumps(done), dest.log_path.read_text(errors="replace")):
        assert secret not in text
        assert source.secret_access_key not in text
    for path in Path(dest.data_dir).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_bad_requests_answer_exact_errors(dest: LakeboxServer, source: LakeboxServer, filled: str) -> None:
    account = _account(dest)
    base = f"/accounts/{account}/lakebox/migrations"
    with _api(dest) as api:
        missing = api.post(base, json=_body(source, filled, "no-such-bucket"))
        assert _error(missing) == (404, 10006)
        no_secret = {k: v for k, v in _body(source, filled, "x").items() if k != "source_secret_access_key"}
        answer = api.post(base, json=no_secret)
        assert _error(answer) == (400, 10040)
        assert "source_secret_access_key" in answer.json()["errors"][0]["message"]
        bad_url = api.post(base, json=_body(source, filled, "x", source_endpoint="ftp://host"))
        assert _error(bad_url) == (400, 10040)
        unknown = api.get(f"{base}/0123456789abcdef0123456789abcdef")
        assert _error(unknown) == (404, 10090)
        unknown_abort = api.post(f"{base}/0123456789abcdef0123456789abcdef/abort")
        assert _error(unknown_abort) == (404, 10090)
    anonymous = httpx.get(f"{dest.console_url}/client/v4{base}", timeout=30)
    assert _error(anonymous) == (401, 10000)
    assert show_all(dest) == show_all(dest)  # reads change nothing


def _error(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, int(response.json()["errors"][0]["code"])


def show_all(server: LakeboxServer) -> list[dict[str, Any]]:
    with _api(server) as api:
        found: list[dict[str, Any]] = api.get(f"/accounts/{_account(server)}/lakebox/migrations").json()[
            "result"
        ]
    return found


MANY = 400


@pytest.fixture(scope="module")
def many(source: LakeboxServer) -> str:
    """A source bucket of MANY tiny objects: a migration of it takes many checkpoints."""
    name = "many-" + secrets.token_hex(4)
    s3 = source.s3()
    s3.create_bucket(Bucket=name)
    for i in range(MANY):
        s3.put_object(Bucket=name, Key=f"k/{i:05d}", Body=_content(i))
    return name


def _wait_copied(server: LakeboxServer, migration_id: str, at_least: int) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = show(server, migration_id)
        if found["objects_copied"] >= at_least or found["state"] in ENDED:
            return found
        time.sleep(0.02)
    raise AssertionError(f"migration {migration_id} copied nothing")


def test_a_killed_destination_resumes_from_its_checkpoint(
    tmp_path: Path, source: LakeboxServer, many: str
) -> None:
    env = {
        "LAKEBOX_JOBS_BATCH_SIZE": "2",
        "LAKEBOX_JOBS_LEASE_SECONDS": "3",
        "LAKEBOX_JOBS_POLL_MS": "100",
    }
    server = LakeboxServer(tmp_path / "data", extra_env=env).start()
    try:
        bucket = _new_bucket(server)
        migration_id = start(server, _body(source, many, bucket))["id"]
        before = _wait_copied(server, migration_id, 40)
        assert before["state"] == "running", before  # mid-migration
        server.kill()
        restarted_at = time.time()
        server.start()
        done = wait_ended(server, migration_id)
        assert done["state"] == "completed", done
        assert done["objects_copied"] == MANY  # each object counted once, across the kill
        assert (done["objects_failed"], done["objects_skipped"]) == (0, 0)
        assert done["bytes_copied"] == sum(len(_content(i)) for i in range(MANY))
        s3 = server.s3()
        listed = s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)
        assert [o["Key"] for o in listed["Contents"]] == [f"k/{i:05d}" for i in range(MANY)]
        for i in range(MANY):
            assert s3.get_object(Bucket=bucket, Key=f"k/{i:05d}")["Body"].read() == _content(i)
        # Resumed, not restarted: what was checkpointed before the kill was not copied again.
        kept = [o for o in listed["Contents"] if o["LastModified"].timestamp() < restarted_at]
        assert len(kept) >= before["objects_copied"] > 0
        with _api(server) as api:
            jobs = api.get(f"/accounts/{_account(server)}/lakebox/jobs", params={"kind": "migration"})
        (job,) = jobs.json()["result"]
        assert (job["target"], job["state"], job["takeovers"]) == (migration_id, "done", 1)
    finally:
        server.stop()


def test_abort_stops_the_copy(source: LakeboxServer, many: str, tmp_path: Path) -> None:
    env = {"LAKEBOX_JOBS_BATCH_SIZE": "2", "LAKEBOX_JOBS_POLL_MS": "100"}
    with running(tmp_path / "data", extra_env=env) as server:
        bucket = _new_bucket(server)
        migration_id = start(server, _body(source, many, bucket))["id"]
        _wait_copied(server, migration_id, 10)
        with _api(server) as api:
            base = f"/accounts/{_account(server)}/lakebox/migrations/{migration_id}"
            aborted = api.post(f"{base}/abort")
            assert aborted.status_code == 200, aborted.text
            assert aborted.json()["result"]["state"] == "aborted"
            assert aborted.json()["result"]["finished_at"] is not None
            assert _error(api.post(f"{base}/abort")) == (409, 10091)
        deadline = time.monotonic() + 120
        while (job := _job(server, migration_id))["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job["state"] == "done"
        final = show(server, migration_id)
        assert final["state"] == "aborted"
        copied = server.s3().list_objects_v2(Bucket=bucket, MaxKeys=1000).get("KeyCount", 0)
        assert final["objects_copied"] <= copied < MANY
        time.sleep(1)
        assert server.s3().list_objects_v2(Bucket=bucket, MaxKeys=1000).get("KeyCount", 0) == copied


def _job(server: LakeboxServer, migration_id: str) -> dict[str, Any]:
    with _api(server) as api:
        jobs = api.get(f"/accounts/{_account(server)}/lakebox/jobs", params={"kind": "migration"})
    found: dict[str, Any] = next(j for j in jobs.json()["result"] if j["target"] == migration_id)
    return found


def test_cli_start_status_list_abort(source: LakeboxServer, dest: LakeboxServer, filled: str) -> None:
    from tests.support import cli

    bucket = _new_bucket(dest)
    env = {
        **cli.server_env(dest),
        "LAKEBOX_SOURCE_ACCESS_KEY_ID": source.access_key_id,
        "LAKEBOX_SOURCE_SECRET_ACCESS_KEY": source.secret_access_key,  # from the environment, not argv
    }
    started = cli.run(
        "migrate", "start", "--source-endpoint", source.s3_endpoint, "--source-bucket", filled,
        "--source-region", "auto", "--prefix", "meta/", "--skip-existing", bucket, "--json", env=env,
    )  # fmt: skip
    assert started.returncode == 0, cli.err(started)
    created = json.loads(started.stdout)
    assert created["source"] == {
        "endpoint": source.s3_endpoint, "region": "auto", "bucket": filled, "prefix": "meta/",
        "access_key_id": source.access_key_id,
    }  # fmt: skip
    assert created["destination"] == {"bucket": bucket, "overwrite": False}
    assert source.secret_access_key not in started.stdout.decode()
    wait_ended(dest, created["id"])
    status = cli.run("migrate", "status", created["id"], "--json", env=env)
    assert status.returncode == 0, cli.err(status)
    shown = json.loads(status.stdout)
    assert (shown["state"], shown["objects_copied"], shown["failures"]) == ("completed", 3, [])
    human = cli.run("migrate", "status", created["id"], env=env).stdout.decode()
    assert f"{created['id']}  completed" in human
    assert "copied=3" in human
    listed = cli.run("migrate", "list", "--json", env=env)
    assert created["id"] in [m["id"] for m in json.loads(listed.stdout)]
    assert created["id"] in cli.run("migrate", "list", env=env).stdout.decode()
    ended = cli.run("migrate", "abort", created["id"], "--json", env=env)
    assert ended.returncode == 1
    assert "MigrationEnded" in cli.err(ended)
    assert len(cli.err(ended).splitlines()) == 1
    missing = cli.run("migrate", "status", "0123456789abcdef0123456789abcdef", env=env)
    assert missing.returncode == 1
    assert "lakebox migrate list shows the migrations" in cli.err(missing)
    no_secret = cli.run(
        "migrate", "start", "--source-endpoint", source.s3_endpoint, "--source-bucket", filled,
        "--source-access-key-id", "x", bucket, env=cli.server_env(dest),
    )  # fmt: skip
    assert no_secret.returncode == 2
    assert "--source-secret-access-key" in cli.err(no_secret)


def test_cli_abort_of_a_running_migration(source: LakeboxServer, many: str, tmp_path: Path) -> None:
    from tests.support import cli

    env = {"LAKEBOX_JOBS_BATCH_SIZE": "2", "LAKEBOX_JOBS_POLL_MS": "100"}
    with running(tmp_path / "data", extra_env=env) as server:
        bucket = _new_bucket(server)
        migration_id = start(server, _body(source, many, bucket))["id"]
        _wait_copied(server, migration_id, 5)
        aborted = cli.run("migrate", "abort", migration_id, "--json", env=cli.server_env(server))
        assert aborted.returncode == 0, cli.err(aborted)
        assert json.loads(aborted.stdout)["state"] == "aborted"


def test_permissions_and_the_audit_entry(source: LakeboxServer, dest: LakeboxServer, filled: str) -> None:
    """Admin Read & Write creates and aborts, Admin Read reads, object tokens reach nothing; the creation is
    audited once with its actor and the migration's id, never the secret."""
    from tests.support.admin import token_policy

    account = _account(dest)
    base = f"/accounts/{account}/lakebox/migrations"
    bucket = _new_bucket(dest)
    with _api(dest) as api:
        tokens = {}
        for permission in ("admin-ro", "object-rw", "object-ro"):
            made = api.post("/user/tokens", json=token_policy(account, permission))
            assert made.status_code == 200, made.text
            tokens[permission] = made.json()["result"]["value"]
        created = api.post(base, json=_body(source, filled, bucket, source_prefix="meta/"))
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

    create_body = _body(source, filled, bucket)
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
        bucket = _new_bucket(server)
        migration_id = start(server, _body(source, many, bucket))["id"]
        _wait_copied(server, migration_id, 5)
        with _api(server) as api:
            # The bucket is not empty: emptied by a second client racing the copy, then deleted.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                s3 = server.s3()
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
                if api.delete(f"/accounts/{_account(server)}/r2/buckets/{bucket}").status_code == 200:
                    break
            else:
                raise AssertionError("the bucket could not be emptied and deleted")
        done = wait_ended(server, migration_id)
        assert (done["state"], done["error"]) == (
            "failed",
            f"the destination bucket {bucket} no longer exists",
        )
        assert done["objects_failed"] == 0


class _LyingSource:
    """An S3 endpoint in front of the source server that forwards every request unchanged (the Host header kept,
    so signatures still verify), except GETs of two keys: ``meta/0`` answers 404 NoSuchKey (deleted after the
    listing) and ``meta/1`` arrives with one byte flipped (its ETag still the MD5 of the true bytes)."""

    def __init__(self, upstream: LakeboxServer) -> None:
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(upstream.s3_endpoint)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0].endswith("/meta/0"):
                    body = b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                    self.send_response(404)
                    self.send_header("content-type", "application/xml")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self._forward(flip=self.path.split("?")[0].endswith("/meta/1"))

            def do_HEAD(self) -> None:
                self._forward(flip=False)

            def _forward(self, flip: bool) -> None:
                conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=60)
                conn.request(self.command, self.path, headers=dict(self.headers.items()))
                answer = conn.getresponse()
                body = answer.read()
                if flip and body:
                    body = bytes([body[0] ^ 1]) + body[1:]
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                conn.close()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_missing_source_key_and_a_corrupt_body_are_listed_as_failures(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    lying = _LyingSource(source)
    try:
        bucket = _new_bucket(dest)
        body = _body(source, filled, bucket, source_prefix="meta/", source_endpoint=lying.endpoint)
        done = wait_ended(dest, start(dest, body)["id"])
    finally:
        lying.close()
    assert done["state"] == "completed", done
    assert (done["objects_copied"], done["objects_failed"]) == (1, 2)
    assert done["failures"] == [
        {"key": "meta/0", "error": "NoSuchKey: The specified key does not exist."},
        {
            "key": "meta/1",
            "error": "BadDigest: The Content-MD5 you specified did not match what we received.",
        },
    ]
    keys = [o["Key"] for o in dest.s3().list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["meta/2"]  # nothing half-written for the two failures
