"""Migrations through the lakebox CLI, and from a source that lies (a key gone after listing, a corrupt body)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.migrate import (
    LyingSource,
    account_of,
    api_client,
    dest_server,
    filled_bucket,
    many_bucket,
    migration_body,
    new_bucket,
    show,
    source_server,
    start,
    wait_copied,
    wait_ended,
)  # fmt: skip
from tests.support.server import LakeboxServer, running

FIXTURES = (source_server, dest_server, filled_bucket, many_bucket)  # module-scoped, by their names


def test_cli_start_status_list_abort(source: LakeboxServer, dest: LakeboxServer, filled: str) -> None:
    from tests.support import cli

    bucket = new_bucket(dest)
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
        bucket = new_bucket(server)
        migration_id = start(server, migration_body(source, many, bucket))["id"]
        wait_copied(server, migration_id, 5)
        aborted = cli.run("migrate", "abort", migration_id, "--json", env=cli.server_env(server))
        assert aborted.returncode == 0, cli.err(aborted)
        assert json.loads(aborted.stdout)["state"] == "aborted"


def test_a_missing_key_a_corrupt_body_and_an_archived_object_are_listed_as_failures(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    lying = LyingSource(source)
    try:
        bucket = new_bucket(dest)
        body = migration_body(source, filled, bucket, source_prefix="meta/", source_endpoint=lying.endpoint)
        done = wait_ended(dest, start(dest, body)["id"])
    finally:
        lying.close()
    assert done["state"] == "completed", done
    assert (done["objects_copied"], done["objects_failed"]) == (0, 3)
    bad_digest = "BadDigest: The Content-MD5 you specified did not match what we received."
    assert done["failures"] == [
        {"key": "meta/0", "error": "NoSuchKey: The specified key does not exist."},
        {"key": "meta/1", "error": bad_digest},
        {
            "key": "meta/2",
            "error": "InvalidObjectState: stored in GLACIER; restore it and copy it separately",
        },
    ]
    assert "Contents" not in dest.s3().list_objects_v2(Bucket=bucket)  # nothing half-written


def test_an_unreachable_source_is_retried_and_can_be_aborted(
    source: LakeboxServer, dest: LakeboxServer, filled: str
) -> None:
    from tests.support.server import free_port

    bucket = new_bucket(dest)
    body = migration_body(source, filled, bucket, source_endpoint=f"http://127.0.0.1:{free_port()}")
    migration_id = start(dest, body)["id"]
    deadline = time.monotonic() + 120
    while (found := show(dest, migration_id))["last_error"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found["state"] == "running"  # a transient error: the job retries from its checkpoint
    assert "EndpointConnectionError" in found["last_error"]
    assert found["attempts"] >= 1
    with api_client(dest) as api:
        aborted = api.post(f"/accounts/{account_of(dest)}/lakebox/migrations/{migration_id}/abort")
    assert aborted.json()["result"]["state"] == "aborted"
    assert "Contents" not in dest.s3().list_objects_v2(Bucket=bucket)
