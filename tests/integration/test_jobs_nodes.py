"""Background jobs across nodes: two lakebox nodes (different node ids) on one database; the node holding the
multipart-expiry job is SIGKILLed in the middle of its pass, and the other node takes the job over when the lease
lapses and finishes the pass from the checkpoint: every stale upload is aborted, none twice, none skipped. The jobs
are visible through the management API, the CLI and ``/metrics``."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import cli
from tests.support.server import ROOT, LakeboxServer, postgres_database

UPLOADS, BATCH = 60, 3
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


def expiry_job(server: LakeboxServer) -> dict[str, Any]:
    (job,) = jobs(server, "multipart-expiry")
    return job


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


def test_a_killed_holder_is_taken_over_and_the_pass_completes_once(tmp_path: Path) -> None:
    data_dir, database_url = tmp_path / "data", postgres_database()
    first = node(data_dir, "node-a", database_url).start()
    try:
        s3 = first.s3()
        s3.create_bucket(Bucket="stale")
        created = {
            s3.create_multipart_upload(Bucket="stale", Key=f"k{i:03d}")["UploadId"] for i in range(UPLOADS)
        }
        before = expiry_job(first)
    finally:
        first.stop()
    assert before["runs"] >= 1  # the pass at start found nothing to do

    # Eight days later (the nodes' job clock runs ahead): every upload is past R2's 7 days.
    aged = {
        "LAKEBOX_JOBS_CLOCK_OFFSET_SECONDS": str(EIGHT_DAYS),
        "LAKEBOX_JOBS_BATCH_SIZE": str(BATCH),
        "LAKEBOX_JOBS_BATCH_PAUSE_MS": "500",
    }
    a = node(data_dir, "node-a", database_url, **aged)
    b = node(data_dir, "node-b", database_url, **aged)
    a.token, b.token = first.token, first.token
    a.access_key_id = b.access_key_id = first.access_key_id
    try:
        launch_together(a, b)
        deadline = time.monotonic() + 120
        while True:
            job = expiry_job(b)
            visited = (job["progress"] or {}).get("visited", 0)
            if (
                job["lease_owner"]
                and job["runs"] == before["runs"]
                and 2 * BATCH <= visited < UPLOADS - BATCH
            ):
                break
            assert job["runs"] == before["runs"], "the pass ended before a holder could be killed"
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        holder, survivor = (a, b) if job["lease_owner"].startswith("node-a:") else (b, a)
        holder.kill()
        survivor_name = "node-b" if holder is a else "node-a"

        deadline = time.monotonic() + 180
        while (job := expiry_job(survivor))["runs"] == before["runs"]:
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "scheduled"
        assert job["lease_owner"] is None
        assert job["checkpoint"] is None
        assert job["last_error"] is None
        assert job["last_owner"].startswith(survivor_name + ":")
        assert job["takeovers"] == before["takeovers"] + 1
        progress = job["progress"]
        # The successor carried the checkpoint's counters on: only the step the holder died in (at most one
        # batch, its uploads already aborted and so not visited again) is missing from them.
        assert UPLOADS - BATCH <= progress["visited"] <= UPLOADS
        assert progress["aborted"] == progress["visited"]
        remaining = survivor.s3().list_multipart_uploads(Bucket="stale").get("Uploads", [])
        assert remaining == []
        assert len(created) == UPLOADS

        # The CLI and /metrics show the same job.
        env = cli.server_env(survivor)
        listed = cli.run("jobs", "list", "--json", env=env)
        assert listed.returncode == 0, cli.err(listed)
        by_kind = {j["kind"]: j for j in json.loads(listed.stdout)}
        assert set(by_kind) == {"analytics-sample", "blob-garbage", "multipart-expiry"}
        assert by_kind["multipart-expiry"]["takeovers"] == job["takeovers"]
        text = cli.run("jobs", "list", "--kind", "multipart-expiry", env=env)
        assert text.returncode == 0, cli.err(text)
        assert "multipart-expiry" in text.stdout.decode()
        assert "blob-garbage" not in text.stdout.decode()
        metrics = httpx.get(f"{survivor.console_url}/metrics", timeout=60).text
        assert 'lakebox_job_takeovers{kind="multipart-expiry"} ' + f"{float(job['takeovers'])}" in metrics
        assert 'lakebox_jobs{kind="blob-garbage",state=' in metrics
        assert 'lakebox_job_runs{kind="multipart-expiry"}' in metrics
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
        made = httpx.post(
            f"{server.console_url}/api/v1/tokens",
            json={"permission": "object-rw", "buckets": []},
            headers={"authorization": f"Bearer {server.token}"},
            timeout=60,
        )
        assert made.status_code == 201, made.text
        refused = httpx.get(url, headers={"authorization": f"Bearer {made.json()['token']}"}, timeout=60)
        assert refused.status_code == 403
        assert refused.json()["success"] is False
        assert refused.json()["errors"][0]["code"] == 10000
        wrong = httpx.get(
            url.replace(account, "0" * 32), headers={"authorization": f"Bearer {server.token}"}, timeout=60
        )
        assert wrong.status_code == 404
        assert wrong.json()["success"] is False
        assert len(jobs(server)) == 3
    finally:
        server.stop()
