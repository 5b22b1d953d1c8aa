"""Background jobs across nodes: two lakebox nodes (different node ids) on one database; the node holding a
bucket's lifecycle job is SIGKILLed in the middle of its scan, and the other node takes the job over when the lease
lapses and finishes the pass from the checkpoint: every expired object is deleted once, none skipped, nothing else
touched. The jobs are visible through the management API, the CLI and ``/metrics``."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import cli
from tests.support.admin import create_token
from tests.support.server import ROOT, LakeboxServer, postgres_database

OBJECTS, KEPT, BATCH = 45, 15, 3
EIGHT_DAYS = 8 * 86400


def jobs(server: LakeboxServer, kind: str | None = None) -> list[dict[str, Any]]:
    account = server.root_credentials()["account_id"]
    response = httpx.get(
        f"{server.console_url}/client/v4/accounts/{account}/lakebox/jobs",
        params={"kind": kind} if kind else None,
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["errors"] == []
    found: list[dict[str, Any]] = body["result"]
    return found


def node(data_dir: Path, name: str, database_url: str | None, **env: str) -> LakeboxServer:
    base = {"LAKEBOX_NODE_ID": name, "LAKEBOX_JOBS_POLL_MS": "200", "LAKEBOX_JOBS_LEASE_SECONDS": "4"}
    server = LakeboxServer(data_dir, database_url=database_url, extra_env={**base, **env})
    return server


def launch_together(*servers: LakeboxServer) -> None:
    """Starts the servers' processes at once (each claims jobs as soon as it runs), then waits for each."""
    for server in servers:
        server.data_dir.mkdir(parents=True, exist_ok=True)
        server.log_path = server.data_dir.parent / f"{server.extra_env['LAKEBOX_NODE_ID']}-server.log"
        with open(server.log_path, "ab") as log:
            server.process = subprocess.Popen(
                server.command(), env=server.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
    for server in servers:
        server.wait_ready(60)


def lifecycle_job(server: LakeboxServer, bucket: str) -> dict[str, Any] | None:
    return next((j for j in jobs(server, "lifecycle") if j["target"] == bucket), None)


def lifecycle_deletions(server: LakeboxServer, bucket: str) -> int:
    """LifecycleDeletion requests in the bucket's analytics (GraphQL, as R2's dashboard asks)."""
    query = """query ($a: string!, $b: string) { viewer { accounts(filter: {accountTag: $a})
      { r2OperationsAdaptiveGroups(limit: 100, filter: {bucketName: $b}) { sum { requests } dimensions { actionType } } } } }"""
    account = server.root_credentials()["account_id"]
    response = httpx.post(
        f"{server.console_url}/client/v4/graphql",
        json={"query": query, "variables": {"a": account, "b": bucket}},
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    groups = response.json()["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
    return sum(g["sum"]["requests"] for g in groups if g["dimensions"]["actionType"] == "LifecycleDeletion")


def test_a_node_killed_mid_scan_is_taken_over_and_the_pass_completes_once(tmp_path: Path) -> None:
    data_dir, database_url = tmp_path / "data", postgres_database()
    first = node(data_dir, "node-a", database_url, LAKEBOX_LIFECYCLE_INTERVAL_SECONDS="1")
    first.start()
    try:
        s3 = first.s3()
        s3.create_bucket(Bucket="aging")
        for i in range(OBJECTS):
            s3.put_object(Bucket="aging", Key=f"logs/{i:03d}", Body=b"x")
        for i in range(KEPT):
            s3.put_object(Bucket="aging", Key=f"keep/{i:03d}", Body=b"x")
        rule = {"ID": "week", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 7}}
        s3.put_bucket_lifecycle_configuration(Bucket="aging", LifecycleConfiguration={"Rules": [rule]})
        deadline = time.monotonic() + 60
        while (before := lifecycle_job(first, "aging")) is None or before["runs"] < 1:
            assert time.monotonic() < deadline, before
            time.sleep(0.2)
    finally:
        first.stop()

    # Eight days later (the nodes' job clock runs ahead): every logs/ object is past its 7 days.
    aged = {
        "LAKEBOX_JOBS_CLOCK_OFFSET_SECONDS": str(EIGHT_DAYS),
        "LAKEBOX_JOBS_BATCH_SIZE": str(BATCH),
        "LAKEBOX_JOBS_BATCH_PAUSE_MS": "500",
    }
    a = node(data_dir, "node-a", database_url, **aged)
    b = node(data_dir, "node-b", database_url, **aged)
    a.token, b.token = first.token, first.token
    a.access_key_id = b.access_key_id = first.access_key_id
    total = OBJECTS + KEPT
    try:
        launch_together(a, b)
        deadline = time.monotonic() + 120
        while True:
            job = lifecycle_job(b, "aging")
            assert job is not None
            progress = job["progress"] or {}
            visited, expired = progress.get("objects_visited", 0), progress.get("expired", 0)
            if job["lease_owner"] and expired and 2 * BATCH <= visited < total - 2 * BATCH:
                break
            assert job["lease_owner"] or not expired, "the pass ended before a holder could be killed"
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        holder, survivor = (a, b) if job["lease_owner"].startswith("node-a:") else (b, a)
        holder.kill()
        survivor_name = "node-b" if holder is a else "node-a"

        deadline = time.monotonic() + 180
        runs, takeovers = job["runs"], job["takeovers"]
        while (job := lifecycle_job(survivor, "aging"))["runs"] == runs:  # type: ignore[index]
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job is not None
        assert job["state"] == "scheduled"
        assert job["lease_owner"] is None
        assert job["checkpoint"] is None
        assert job["last_error"] is None
        assert job["last_owner"].startswith(survivor_name + ":")
        assert job["takeovers"] == takeovers + 1
        # The successor carried the checkpoint's counters on: only the step the holder died in (at most one
        # batch, whose objects were already deleted and so not visited again) is missing from them.
        progress = job["progress"]
        assert total - BATCH <= progress["objects_visited"] <= total
        assert OBJECTS - BATCH <= progress["expired"] <= OBJECTS
        remaining = {o["Key"] for o in survivor.s3().list_objects_v2(Bucket="aging").get("Contents", [])}
        assert remaining == {f"keep/{i:03d}" for i in range(KEPT)}  # nothing skipped, nothing else
        # Counted in the deleting transactions, whichever node deleted: exactly once per object.
        assert lifecycle_deletions(survivor, "aging") == OBJECTS

        # The CLI and /metrics show the same job.
        env = cli.server_env(survivor)
        listed = cli.run("jobs", "list", "--json", env=env)
        assert listed.returncode == 0, cli.err(listed)
        by_kind = {(j["kind"], j["target"]): j for j in json.loads(listed.stdout)}
        assert set(by_kind) == {
            ("analytics-sample", ""), ("blob-garbage", ""), ("lifecycle-schedule", ""), ("lifecycle", "aging"),
            ("catalog-maintenance-schedule", ""),
        }  # fmt: skip
        assert by_kind["lifecycle", "aging"]["takeovers"] == job["takeovers"]
        text = cli.run("jobs", "list", "--kind", "lifecycle", env=env)
        assert text.returncode == 0, cli.err(text)
        assert "aging" in text.stdout.decode()
        assert "blob-garbage" not in text.stdout.decode()
        metrics = httpx.get(f"{survivor.console_url}/metrics", timeout=60).text
        assert f'lakebox_job_takeovers{{kind="lifecycle"}} {float(job["takeovers"])}' in metrics
        assert 'lakebox_jobs{kind="blob-garbage",state=' in metrics
        assert 'lakebox_job_runs{kind="lifecycle"}' in metrics
    finally:
        for server in (a, b):
            if server.process is not None and server.process.poll() is None:
                server.stop()


def test_jobs_route_needs_admin_read(tmp_path: Path) -> None:
    server = node(tmp_path / "data", "solo", postgres_database()).start()
    try:
        account = server.root_credentials()["account_id"]
        url = f"{server.console_url}/client/v4/accounts/{account}/lakebox/jobs"
        anonymous = httpx.get(url, timeout=60)
        assert anonymous.status_code == 401
        assert anonymous.json()["errors"][0]["code"] == 10000
        made = create_token(server, "object-rw")
        refused = httpx.get(url, headers={"authorization": f"Bearer {made['token']}"}, timeout=60)
        assert refused.status_code == 403
        assert refused.json()["success"] is False
        assert refused.json()["errors"][0]["code"] == 10000
        wrong = httpx.get(
            url.replace(account, "0" * 32), headers={"authorization": f"Bearer {server.token}"}, timeout=60
        )
        assert wrong.status_code == 404
        assert wrong.json()["success"] is False
        assert (
            len(jobs(server)) == 4
        )  # blob-garbage, analytics-sample, lifecycle- and catalog-maintenance-schedule
    finally:
        server.stop()
