"""Snapshot expiration and orphan-file cleanup delete exactly the files no metadata references (checked against
an S3 listing of the bucket), and a SIGKILL of the server during compaction loses no row and leaves no orphan
after the next cleanup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pyiceberg.expressions import EqualTo
from pyiceberg.table import Table

from tests.maintenance.helpers import FAST_JOBS, SCHEMA, SPEC, Lake, referenced, row
from tests.support.server import running

ENV = {**FAST_JOBS, "LAKEBOX_MAINTENANCE_ORPHAN_GRACE_SECONDS": "0", "LAKEBOX_JOBS_BATCH_PAUSE_MS": "4000"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with running(tmp_path_factory.mktemp("cleanup") / "data", extra_env=ENV) as server:
        lake = Lake(server)
        yield lake
        lake.cf.close()


def _table(lake: Lake, appends: int) -> tuple[str, Any, Table]:
    bucket = lake.warehouse()
    catalog = lake.catalog(bucket)
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.events", schema=SCHEMA, partition_spec=SPEC)
    for i in range(appends):
        table.append(row(i))
    return bucket, catalog, table


def _after(run: dict[str, Any]) -> Any:
    return lambda r: r["started_at"] > run["finished_at"] and r["outcome"] == "succeeded"


def test_expiration_and_orphan_cleanup_delete_exactly_the_unreferenced(lake: Lake) -> None:
    bucket, catalog, table = _table(lake, 10)
    table.delete(EqualTo("id", 4))
    prefix = table.location().removeprefix(f"s3://{bucket}/") + "/"
    s3 = lake.server.s3()
    s3.put_object(Bucket=bucket, Key=f"{prefix}data/stray.parquet", Body=b"not referenced")
    s3.put_object(Bucket=bucket, Key="outside/keep.txt", Body=b"not the table's")
    before = lake.keys(bucket, prefix)
    assert referenced(catalog.load_table("ns.events"), bucket) <= set(before)
    rows = sorted(table.scan().to_arrow().column("id").to_pylist())

    time.sleep(1.5)
    lake.configure(
        bucket,
        {"snapshot_expiration": {"state": "enabled", "max_snapshot_age": "1s", "min_snapshots_to_keep": 3}},
    )
    expired = lake.wait_run(bucket, "snapshot-expiration", lambda r: r["outcome"] == "succeeded")
    lake.wait_run(bucket, "orphan-cleanup", _after(expired))
    lake.configure(bucket, {"snapshot_expiration": {"state": "disabled"}})
    time.sleep(3)  # the schedule drops the jobs

    table = catalog.load_table("ns.events")
    assert len(table.metadata.snapshots) == 3
    after = lake.keys(bucket, prefix)
    assert set(after) == referenced(table, bucket)  # nothing unreferenced is left, nothing referenced went
    assert f"{prefix}data/stray.parquet" not in after
    assert "outside/keep.txt" in lake.keys(bucket, "outside/")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == rows
    assert expired["files_after"] < expired["files_before"]


def _jobs(lake: Lake, kind: str) -> list[dict[str, Any]]:
    response = lake.cf.get(f"/accounts/{lake.account}/lakebox/jobs", params={"kind": kind})
    found: list[dict[str, Any]] = response.json()["result"]
    return found


def test_sigkill_during_compaction_loses_nothing_and_leaves_no_orphan(lake: Lake) -> None:
    bucket, catalog, table = _table(lake, 30)
    rows = sorted(table.scan().to_arrow().column("id").to_pylist())
    lake.configure(bucket, {"compaction": {"state": "enabled", "targetSizeMb": 1}})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # a bin is written, the commit has not happened (the pause is between)
        jobs = _jobs(lake, "compaction")
        if jobs and (jobs[0]["checkpoint"] or {}).get("written"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"compaction never wrote a file: {lake.runs(bucket)}")
    lake.server.kill()
    lake.server.start()
    stale, lake.cf = lake.cf, httpx.Client(base_url=lake.cf.base_url, headers=lake.cf.headers, timeout=60)
    stale.close()

    done = lake.wait_run(
        bucket, "compaction", lambda r: r["outcome"] == "succeeded" and r["files_after"] < r["files_before"]
    )
    lake.configure(bucket, {"compaction": {"state": "disabled"}})
    lake.configure(bucket, {"snapshot_expiration": {"state": "enabled", "max_snapshot_age": "36500d"}})
    lake.wait_run(bucket, "orphan-cleanup", _after(done))
    table = catalog.load_table("ns.events")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == rows
    prefix = table.location().removeprefix(f"s3://{bucket}/") + "/"
    assert set(lake.keys(bucket, prefix)) == referenced(table, bucket)
