"""Compaction on a live server: many single-row PyIceberg appends are bin-packed per partition into at most
ceil(total size / target) files while two writers keep appending and deleting; every row is there exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.maintenance.helpers import (
    FAST_JOBS,
    SCHEMA,
    SPEC,
    Lake,
    assert_packed,
    compact_under_two_writers,
    files_by_partition,
    row,
)
from tests.support.server import running

TARGET_MB = 1


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    env = {**FAST_JOBS, "LAKEBOX_MAINTENANCE_ORPHAN_GRACE_SECONDS": "3600"}
    with running(tmp_path_factory.mktemp("maint") / "data", extra_env=env) as server:
        lake = Lake(server)
        yield lake
        lake.cf.close()


def _compact_with_writers(lake: Lake, appends: int) -> None:
    bucket = lake.warehouse()
    catalog = lake.catalog(bucket)
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.events", schema=SCHEMA, partition_spec=SPEC)
    for i in range(appends):
        table.append(row(i))
    before = files_by_partition(table.refresh())
    assert sum(len(v) for v in before.values()) == appends

    first, writers = compact_under_two_writers(lake, bucket, row, TARGET_MB)
    assert first["files_before"] >= appends
    expected = set(range(appends)).union(*(w.kept for w in writers))
    gone = set().union(*(w.gone for w in writers))
    ids = catalog.load_table("ns.events").scan().to_arrow().column("id").to_pylist()
    assert len(ids) == len(set(ids))  # every row once
    assert set(ids) == expected
    assert not (set(ids) & gone)

    # Quiet now: the next run packs everything, at most ceil(total / target) files per partition.
    quiet = files_by_partition(catalog.load_table("ns.events"))
    since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lake.wait_run(bucket, "compaction", lambda r: r["started_at"] > since and r["outcome"] == "succeeded")
    table = catalog.load_table("ns.events")
    after = files_by_partition(table)
    assert_packed(quiet, after, TARGET_MB << 20)
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == sorted(expected)
    operations = [s.summary.operation.value for s in table.metadata.snapshots if s.summary]
    assert "replace" in operations


def test_compaction_with_concurrent_writers(lake: Lake) -> None:
    # The property at 60 appends; the 1,000 are tests/maintenance/test_scale.py's (slow).
    _compact_with_writers(lake, 60)
