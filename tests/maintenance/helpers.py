"""A live lakebox with fast maintenance jobs, and what the maintenance tests share."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import And, BooleanExpression, EqualTo
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import _apply_table_update, _TableMetadataUpdateContext
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import IntegerType, LongType, NestedField, StringType

from tests.support.server import LakeboxServer

FAST_JOBS = {
    "LAKEBOX_MAINTENANCE_INTERVAL_SECONDS": "1",
    "LAKEBOX_JOBS_POLL_MS": "200",
}
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "part", IntegerType(), required=False),
    NestedField(3, "payload", StringType(), required=False),
)
SPEC = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="part"))
ARROW = pa.schema(
    [pa.field("id", pa.int64()), pa.field("part", pa.int32()), pa.field("payload", pa.string())]
)


def row(i: int) -> pa.Table:
    return pa.Table.from_pylist([{"id": i, "part": i % 2, "payload": f"row-{i}-" + "x" * 40}], schema=ARROW)


class _Transaction(Transaction):
    """PyIceberg's own transaction (its snapshot producers, manifests, manifest list, summary, requirements and
    commit retries) without the deep copy of the whole table metadata that each read of ``table_metadata``
    makes in pyiceberg 0.12: an append reads it about 20 times, so on a table of 1,000 snapshots the copies
    were 1.7 s of a 1.8 s append. pyiceberg's models are frozen and its updates build new values (the server
    applies updates the same way, catalog/service/metadata.py), so the uncopied metadata is the same value."""

    @property
    def table_metadata(self) -> TableMetadata:
        context = _TableMetadataUpdateContext()
        metadata = self._table.metadata
        for update in self._updates:
            metadata = _apply_table_update(update, metadata, context)
        return metadata


def append(table: Table, data: pa.Table) -> None:
    """``table.append(data)``: one snapshot, one data file per partition of ``data``."""
    transaction = _Transaction(table)
    transaction.append(data)
    transaction.commit_transaction()


def delete(table: Table, predicate: BooleanExpression) -> None:
    """``table.delete(predicate)`` (copy-on-write: files that hold matching rows are dropped or rewritten)."""
    transaction = _Transaction(table)
    transaction.delete(predicate)
    transaction.commit_transaction()


class Lake:
    def __init__(self, server: LakeboxServer) -> None:
        self.server = server
        self.account = str(server.root_credentials()["account_id"])
        self.cf = httpx.Client(
            base_url=f"{server.console_url}/client/v4",
            headers={"authorization": f"Bearer {server.token}"},
            timeout=60,
        )

    def warehouse(self) -> str:
        name = f"mt-{secrets.token_hex(4)}"
        self.server.s3().create_bucket(Bucket=name)
        assert self.cf.post(f"/accounts/{self.account}/r2-catalog/{name}/enable").status_code == 200
        return name

    def catalog(self, bucket: str) -> RestCatalog:
        return RestCatalog("lb", uri=self.server.catalog_uri, warehouse=bucket, token=self.server.token)

    def configure(self, bucket: str, body: dict[str, Any]) -> None:
        response = self.cf.post(
            f"/accounts/{self.account}/r2-catalog/{bucket}/maintenance-configs", json=body
        )
        assert response.status_code == 200, response.text

    def runs(self, bucket: str) -> list[dict[str, Any]]:
        response = self.cf.get(f"/accounts/{self.account}/lakebox/r2-catalog/{bucket}/maintenance-runs")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["result"]
        return found

    def wait_run(
        self, bucket: str, kind: str, accept: Callable[[dict[str, Any]], bool], timeout: float = 240
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run in self.runs(bucket):
                if run["kind"] == kind and run["outcome"] != "running" and accept(run):
                    return run
            time.sleep(0.3)
        raise AssertionError(f"no {kind} run in {timeout}s: {self.runs(bucket)}\n{self.server.log()[-3000:]}")

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        out: dict[str, int] = {}
        for page in self.server.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return out


def _key(bucket: str, location: str) -> str:
    prefix = f"s3://{bucket}/"
    assert location.startswith(prefix), location
    return location[len(prefix) :]


def referenced(table: Table, bucket: str, *, live_only: bool = False) -> set[str]:
    """What the table's metadata references, computed by the client (PyIceberg) for comparison: metadata files
    (current and logged), manifest lists, manifests and data files. ``live_only`` leaves out data files that a
    snapshot's manifests list only as deleted (files no snapshot of the table reads)."""
    keys = {_key(bucket, table.metadata_location)}
    keys |= {_key(bucket, entry.metadata_file) for entry in table.metadata.metadata_log}
    for snapshot in table.metadata.snapshots:
        keys.add(_key(bucket, snapshot.manifest_list))
        for manifest in snapshot.manifests(table.io):
            keys.add(_key(bucket, manifest.manifest_path))
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=live_only):
                keys.add(_key(bucket, entry.data_file.file_path))
    return keys


def files_by_partition(table: Table) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for task in table.scan().plan_files():
        out.setdefault(task.file.partition[0], []).append(task.file.file_size_in_bytes)
    return out


def assert_packed(before: dict[Any, list[int]], after: dict[Any, list[int]], target: int) -> None:
    for part, sizes in before.items():
        assert len(after[part]) <= math.ceil(sum(sizes) / target), (part, sizes, after[part])


class Writer(threading.Thread):
    """A client that keeps appending one row at a time and, every fifth append, deleting one of its own rows
    appended three appends before (which may sit in a file a concurrent compaction is rewriting). ``kept`` and
    ``gone`` are its ledger: the ids it appended and did not delete, and the ids it deleted.

    Writers that share a ``turnstile`` do not starve each other: a delete replans over every manifest of its
    partition on each retry (seconds on a table of 1,000 appends), so a stream of the other writer's one-row
    appends can make it lose every race. A writer whose commit lost its race and pyiceberg's retries holds the
    turnstile for its next attempts, and the other writer waits there before its next commit. Compaction is
    never held back: it races both writers throughout."""

    def __init__(
        self,
        lake: Lake,
        bucket: str,
        first: int,
        make_row: Callable[[int], pa.Table],
        turnstile: threading.Lock | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.lake, self.bucket, self.first, self.make_row = lake, bucket, first, make_row
        self.turnstile = turnstile or threading.Lock()
        self.stop = threading.Event()
        self.kept: set[int] = set()
        self.gone: set[int] = set()
        self.lost: list[str] = []  # commits that lost a race (after pyiceberg's own retries), for the report
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=600)
        assert not self.is_alive(), "a writer did not stop"
        if self.error is not None:
            raise AssertionError(f"writer {self.first} failed; lost races: {self.lost[-10:]}") from self.error

    def _commit(
        self, table: Table, work: Callable[[Table], None], retryable: tuple[type[Exception], ...]
    ) -> Table:
        with self.turnstile:  # wait while the other writer is retrying
            pass
        try:
            work(table)
            return table
        except retryable as exc:
            self.lost.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        with self.turnstile:
            for _attempt in range(20):
                table = table.refresh()
                try:
                    work(table)
                    return table
                except retryable as exc:
                    self.lost.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        raise AssertionError("a commit kept failing")

    def _run(self) -> None:
        table = self.lake.catalog(self.bucket).load_table("ns.events")
        i = self.first
        while not self.stop.is_set():
            data = self.make_row(i)
            table = self._commit(table, partial(append, data=data), (CommitFailedException,))
            self.kept.add(i)
            if i % 5 == 0 and i - 3 >= self.first:
                victim = i - 3
                predicate = And(EqualTo("part", victim % 2), EqualTo("id", victim))
                # ValidationException: a concurrent compaction rewrote the file holding the row, and PyIceberg's
                # retry refuses to delete from a file that is gone; the writer starts over on the new snapshot.
                table = self._commit(
                    table, partial(delete, predicate=predicate), (CommitFailedException, ValidationException)
                )
                self.kept.discard(victim)
                self.gone.add(victim)
            i += 1


def compact_under_two_writers(
    lake: Lake, bucket: str, make_row: Callable[[int], pa.Table], target_mb: int, timeout: float = 240
) -> tuple[dict[str, Any], list[Writer]]:
    """Enables compaction while two writers (sharing a turnstile) append and delete; returns the first run that
    succeeded and reduced the file count, and the finished writers (their ledgers)."""
    turnstile = threading.Lock()
    writers = [Writer(lake, bucket, 1_000_000 * (n + 1), make_row, turnstile) for n in range(2)]
    for writer in writers:
        writer.start()
    try:
        lake.configure(bucket, {"compaction": {"state": "enabled", "targetSizeMb": target_mb}})
        run = lake.wait_run(
            bucket,
            "compaction",
            lambda r: r["outcome"] == "succeeded" and r["files_after"] < r["files_before"],
            timeout=timeout,
        )
    finally:
        for writer in writers:
            writer.finish()
    return run, writers
