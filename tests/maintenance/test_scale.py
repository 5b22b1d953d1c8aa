"""The maintenance acceptance at the issue's scale: after 1,000 single-row appends (each its own PyIceberg commit,
its own snapshot and its own data file, over two partitions), compaction packs every partition into at most
ceil(total size / target) files while two writers keep appending and deleting, and every row is there exactly
once, checked against the ledger the test and its writers keep.

"Total size" is the sum of the sizes (``file_size_in_bytes``) of the data files the compaction rewrote in that
partition: the files its snapshot removes. Those are the 1,000 appended files plus whatever small files the
writers had committed when it planned; files committed after that are not its to pack and stay as they are
until the next run, which the test lets happen once the writers have stopped and then checks the whole table
against the same bound.

Then snapshot expiration and orphan-file cleanup on that history delete exactly the files nothing references
(checked against a listing of the bucket), as tests/maintenance/test_cleanup.py checks on a small table; the
SIGKILL-during-compaction clause is test_cleanup.py's."""

from __future__ import annotations

import base64
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from catalog.service.maintenance_compaction import RUN_PROPERTY
from tests.maintenance.helpers import (
    ARROW,
    FAST_JOBS,
    SCHEMA,
    SPEC,
    Lake,
    append,
    assert_packed,
    compact_under_two_writers,
    files_by_partition,
    referenced,
)
from tests.support.server import running

pytestmark = pytest.mark.slow

APPENDS = 1000
TARGET_MB = 1
TARGET = TARGET_MB << 20
PAYLOAD_BYTES = 3000  # random, so it does not compress away: with the value in the Parquet statistics too a
# file is ~20 KB and a partition ~10 MiB, which packs into several target-size files, not one


def big_row(i: int) -> pa.Table:
    payload = base64.b64encode(random.Random(i).randbytes(PAYLOAD_BYTES)).decode()
    return pa.Table.from_pylist([{"id": i, "part": i % 2, "payload": payload}], schema=ARROW)


def expected_rows(ids: set[int]) -> list[tuple[int, int, str]]:
    return sorted((r["id"], r["part"], r["payload"]) for i in ids for r in big_row(i).to_pylist())


def table_rows(table: Table) -> list[tuple[int, int, str]]:
    return sorted((r["id"], r["part"], r["payload"]) for r in table.scan().to_arrow().to_pylist())


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    # A pause between bins (some 20 here) lengthens the run the writers race, as a slower store would.
    env = {
        **FAST_JOBS,
        "LAKEBOX_MAINTENANCE_ORPHAN_GRACE_SECONDS": "3600",
        "LAKEBOX_JOBS_BATCH_PAUSE_MS": "250",
    }
    with running(tmp_path_factory.mktemp("scale") / "data", extra_env=env) as server:
        lake = Lake(server)
        yield lake
        lake.cf.close()


def live_paths(table: Table) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = defaultdict(dict)
    for task in table.scan().plan_files():
        out[task.file.partition[0]][task.file.file_path] = task.file.file_size_in_bytes
    return out


def changed_by(table: Table, snapshot: Snapshot) -> tuple[list[DataFile], list[DataFile]]:
    """(added, removed) data files of one snapshot, from its manifests."""
    added, removed = [], []
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
            if entry.snapshot_id != snapshot.snapshot_id:
                continue
            if entry.status == ManifestEntryStatus.ADDED:
                added.append(entry.data_file)
            elif entry.status == ManifestEntryStatus.DELETED:
                removed.append(entry.data_file)
    return added, removed


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.mark.timeout(1800)
def test_compaction_after_1000_single_row_appends_with_two_writers(lake: Lake) -> None:
    started = time.monotonic()
    bucket = lake.warehouse()
    catalog = lake.catalog(bucket)
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.events", schema=SCHEMA, partition_spec=SPEC)
    for i in range(APPENDS):
        append(table, big_row(i))
    appended_in = time.monotonic() - started

    table = catalog.load_table("ns.events")
    snapshots = table.metadata.snapshots
    assert len(snapshots) == APPENDS
    assert all(s.summary is not None and s.summary.operation.value == "append" for s in snapshots)
    assert all(s.summary is not None and s.summary["added-data-files"] == "1" for s in snapshots)
    appended = live_paths(table)
    assert sorted(len(files) for files in appended.values()) == [APPENDS // 2, APPENDS // 2]

    run, writers = compact_under_two_writers(lake, bucket, big_row, TARGET_MB, timeout=900)

    # Every row exactly once: the 1,000 appended, the writers' own appends, none of the rows they deleted.
    kept = set(range(APPENDS)).union(*(w.kept for w in writers))
    gone = set().union(*(w.gone for w in writers))
    assert gone
    assert all(w.kept for w in writers)
    table = catalog.load_table("ns.events")
    assert table_rows(table) == expected_rows(kept)

    # The run's replace snapshot: per partition at most ceil(size it rewrote / target) files, and what it
    # rewrote includes every one of the 1,000 appended files.
    (replace,) = [
        s
        for s in table.metadata.snapshots
        if s.summary is not None and (s.summary.get(RUN_PROPERTY) or "").split("-")[0] == run["id"]
    ]
    assert replace.summary is not None
    assert replace.summary.operation.value == "replace"
    added, removed = changed_by(table, replace)
    for part, files in appended.items():
        inputs = [f for f in removed if f.partition[0] == part]
        outputs = [f for f in added if f.partition[0] == part]
        total = sum(f.file_size_in_bytes for f in inputs)
        assert set(files) <= {f.file_path for f in inputs}, part
        assert 1 < len(outputs) <= math.ceil(total / TARGET), (
            part,
            total,
            [f.file_size_in_bytes for f in outputs],
        )
    # The writers committed while the run was running (between its start and its end), so it ran "during" them.
    writes = [
        s.timestamp_ms for s in table.metadata.snapshots[APPENDS:] if s.snapshot_id != replace.snapshot_id
    ]
    assert any(_ms(run["started_at"]) <= at <= _ms(run["finished_at"]) for at in writes), run

    # Quiet now: the next run packs the whole table, at most ceil(total / target) files per partition.
    quiet = files_by_partition(table)
    since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lake.wait_run(bucket, "compaction", lambda r: r["started_at"] > since and r["outcome"] == "succeeded")
    lake.configure(bucket, {"compaction": {"state": "disabled"}})
    table = catalog.load_table("ns.events")
    assert_packed(quiet, files_by_partition(table), TARGET)
    assert table_rows(table) == expected_rows(kept)
    compacted_in = time.monotonic() - started - appended_in

    # Expiration then orphan cleanup on this history (1,000+ snapshots, the metadata files that fell out of the
    # metadata log, the files compaction replaced) delete exactly what nothing references: the bucket's
    # listing equals the files the metadata references. A grace period of 0 now that no writer is running.
    lake.server.stop()
    lake.server.extra_env["LAKEBOX_MAINTENANCE_ORPHAN_GRACE_SECONDS"] = "0"
    lake.server.start()
    stale, lake.cf = lake.cf, httpx.Client(base_url=lake.cf.base_url, headers=lake.cf.headers, timeout=60)
    stale.close()
    prefix = table.location().removeprefix(f"s3://{bucket}/") + "/"
    before = lake.keys(bucket, prefix)
    metadata_files = [k for k in before if k.endswith(".metadata.json")]
    assert len(metadata_files) > len(table.metadata.metadata_log) + 1  # some fell out of the log
    since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lake.configure(
        bucket,
        {"snapshot_expiration": {"state": "enabled", "max_snapshot_age": "1s", "min_snapshots_to_keep": 3}},
    )
    expired = lake.wait_run(
        bucket, "snapshot-expiration", lambda r: r["started_at"] > since and r["outcome"] == "succeeded"
    )
    lake.wait_run(
        bucket,
        "orphan-cleanup",
        lambda r: r["started_at"] > expired["finished_at"] and r["outcome"] == "succeeded",
    )
    lake.configure(bucket, {"snapshot_expiration": {"state": "disabled"}})
    table = catalog.load_table("ns.events")
    assert len(table.metadata.snapshots) == 3
    after = lake.keys(bucket, prefix)
    # Referenced as what a kept snapshot reads. A data file that a kept snapshot lists only as deleted (its delete
    # entry; the snapshot that last read it expired) goes too: expiration deletes it (maintenance.py, live_only),
    # though orphan cleanup alone, which counts every manifest entry, would have kept it.
    assert set(after) == referenced(table, bucket, live_only=True)
    assert table_rows(table) == expected_rows(kept)
    print(
        f"\n{APPENDS} appends {appended_in:.0f} s, compaction (under writers, then quiet) {compacted_in:.0f} s, "
        f"expiration and cleanup {len(before)} -> {len(after)} files "
        f"({len(writers)} writers: {sum(len(w.kept) + len(w.gone) for w in writers)} appends, {len(gone)} deletes, "
        f"{sum(len(w.lost) for w in writers)} lost races), total {time.monotonic() - started:.0f} s"
    )
