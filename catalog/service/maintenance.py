"""Table maintenance runs: compaction, snapshot expiration (then removal of what only expired snapshots
referenced) and orphan-file cleanup, each recorded (table, kind, times, files and bytes before and after,
outcome). The composition package runs them as leased background jobs, one job per table and kind.

Each run is idempotent and resumable. Compaction checkpoints the files it has written; a successor whose
predecessor died finds in the table whether that run committed (its snapshot carries the run id) and, if not,
deletes those files before starting over. A file written but not yet in the checkpoint when a run dies is an
orphan that orphan-file cleanup removes once its grace period is over."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.table import Table
from pyiceberg.table.snapshots import ancestors_of
from pyiceberg.table.update import AssertRefSnapshotId, AssertTableUUID, RemoveSnapshotsUpdate

from catalog.errors import NoSuchTable
from catalog.service.locations import key_prefix
from catalog.service.maintenance_compaction import RUN_PROPERTY, commit_replace, plan_bins, write_bin
from catalog.service.maintenance_config import MaintenanceConfigService
from catalog.service.maintenance_io import WarehouseFiles, split_location
from catalog.service.maintenance_tables import (
    MaintainedTables,
    TableRef,
    data_files_summary,
    referenced_files,
    snapshot_files,
)
from catalog.store.maintenance import MaintenanceRepository

log = logging.getLogger("lakebox.catalog.maintenance")
COMPACTION, EXPIRATION, ORPHANS = "compaction", "snapshot-expiration", "orphan-cleanup"
_COMMIT_ATTEMPTS = 5


class RunControl(Protocol):
    """What a run needs of the job that runs it (``infra.jobs.JobRun`` has this shape)."""

    checkpoint: Any

    def now(self) -> float: ...
    def save(self, checkpoint: Any, progress: Mapping[str, Any] | None = None) -> None: ...


class TableMaintenance:
    def __init__(
        self,
        tables: MaintainedTables,
        files: WarehouseFiles,
        configs: MaintenanceConfigService,
        runs: MaintenanceRepository,
        orphan_grace_seconds: float,
        pause_seconds: float = 0.0,
    ) -> None:
        self.tables = tables
        self.files = files
        self.configs = configs
        self.runs = runs
        self.orphan_grace = orphan_grace_seconds
        self.pause = pause_seconds  # between two bins (spares foreground requests)

    def _recorded(self, ref: TableRef, kind: str, work: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        ns = "\x1f".join(ref.namespace)
        run_id = self.runs.start_run(ref.bucket, ns, ref.name, kind, time.time())
        try:
            result = work(run_id)
        except Exception as exc:
            self.runs.finish_run(run_id, time.time(), "failed", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        counts = {
            k: int(result.get(k, 0)) for k in ("files_before", "bytes_before", "files_after", "bytes_after")
        }
        self.runs.finish_run(
            run_id, time.time(), str(result.get("outcome", "succeeded")), result.get("detail"), **counts
        )
        return result

    def _listing(self, table: Table, bucket: str) -> list[Any]:
        return list(self.files.list_files(bucket, key_prefix(table.location(), bucket)))

    # -- compaction
    def compact(self, ref: TableRef, control: RunControl) -> dict[str, Any]:
        config = self.configs.effective(ref.bucket, "\x1f".join(ref.namespace), ref.name).compaction
        self._recover(ref, control)
        if not config.enabled:
            return {"outcome": "skipped", "detail": "compaction is disabled"}
        return self._recorded(
            ref, COMPACTION, lambda run_id: self._compact(ref, control, config.target_size_mb << 20, run_id)
        )

    def _recover(self, ref: TableRef, control: RunControl) -> None:
        """After a run that died: its files stay if it committed, else they go."""
        state = control.checkpoint
        if not state or not state.get("written"):
            return
        table = self.tables.load(ref)
        committed = any(
            s.summary is not None and s.summary.get(RUN_PROPERTY) == state["run"]
            for s in table.metadata.snapshots
        )
        if not committed:
            self.files.delete_keys(ref.bucket, list(state["written"]))
            log.info(
                "compaction of %s: removed %d files of a run that did not commit", ref, len(state["written"])
            )
        control.save(None)

    def _compact(self, ref: TableRef, control: RunControl, target: int, run_id: int) -> dict[str, Any]:
        table = self.tables.load(ref)
        files_before, bytes_before = data_files_summary(table)
        bins = plan_bins(table, target)
        if not bins:
            return {"files_before": files_before, "bytes_before": bytes_before, "files_after": files_before,
                    "bytes_after": bytes_before, "detail": "nothing to compact"}  # fmt: skip
        marker = f"{run_id}-{uuid.uuid4().hex[:8]}"
        written: list[str] = []
        removed, added = [], []

        def read(path: str) -> bytes:
            return self.files.read(*split_location(path))

        def write(path: str, body: bytes) -> None:
            bucket, key = split_location(path)
            written.append(key)
            control.save({"run": marker, "written": written})  # before the write: a successor can clean up
            self.files.write(bucket, key, body, "application/octet-stream")

        for work in bins:
            out = write_bin(table, work, read, write)
            removed.extend(work.files)
            added.append(out.data_file)
            if self.pause:
                time.sleep(self.pause)
        try:
            commit_replace(table, removed, added, marker)
        except (CommitFailedException, ValidationException) as exc:
            self.files.delete_keys(ref.bucket, written)
            control.save(None)
            return {"files_before": files_before, "bytes_before": bytes_before, "files_after": files_before,
                    "bytes_after": bytes_before, "outcome": "conflict", "detail": str(exc)[:2000]}  # fmt: skip
        control.save(None)
        files_after, bytes_after = data_files_summary(self.tables.load(ref))
        return {"files_before": files_before, "bytes_before": bytes_before, "files_after": files_after,
                "bytes_after": bytes_after, "rewritten": len(removed), "written": len(added)}  # fmt: skip

    # -- snapshot expiration
    def expire(self, ref: TableRef, control: RunControl) -> dict[str, Any]:
        config = self.configs.effective(ref.bucket, "\x1f".join(ref.namespace), ref.name).snapshot_expiration
        if not config.enabled:
            return {"outcome": "skipped", "detail": "snapshot expiration is disabled"}
        return self._recorded(
            ref, EXPIRATION, lambda _: self._expire(ref, control, config.max_age_seconds, config.retain_last)
        )

    def _expire(self, ref: TableRef, control: RunControl, max_age: int, retain_last: int) -> dict[str, Any]:
        table = self.tables.load(ref)
        listing = self._listing(table, ref.bucket)
        before = (len(listing), sum(int(f.size) for f in listing))
        cutoff_ms = int((control.now() - max_age) * 1000)
        doomed: set[str] = set()
        for _ in range(_COMMIT_ATTEMPTS):
            meta = table.metadata
            keep = {r.snapshot_id for r in meta.refs.values()}
            keep |= {s.snapshot_id for s in list(ancestors_of(table.current_snapshot(), meta))[:retain_last]}
            expired = [
                s.snapshot_id
                for s in meta.snapshots
                if s.timestamp_ms < cutoff_ms and s.snapshot_id not in keep
            ]
            if not expired:
                break
            live = [s.snapshot_id for s in meta.snapshots if s.snapshot_id not in expired]
            candidates = snapshot_files(table, expired, live_only=False) - snapshot_files(
                table, live, live_only=True
            )
            requirements: list[Any] = [AssertTableUUID(uuid=meta.table_uuid)]
            requirements += [
                AssertRefSnapshotId(ref=name, snapshot_id=r.snapshot_id) for name, r in meta.refs.items()
            ]
            try:
                table.catalog.commit_table(
                    table, tuple(requirements), (RemoveSnapshotsUpdate(snapshot_ids=expired),)
                )
            except CommitFailedException:
                table = self.tables.load(ref)  # a concurrent commit: plan again on the new metadata
                continue
            committed = self.tables.load(ref)
            still = snapshot_files(
                committed, [s.snapshot_id for s in committed.metadata.snapshots], live_only=True
            )
            doomed = candidates - still
            control.save(None, {"expired_snapshots": len(expired), "deleting": len(doomed)})
            self.files.delete_keys(ref.bucket, sorted(doomed))
            break
        else:
            return {"files_before": before[0], "bytes_before": before[1], "files_after": before[0],
                    "bytes_after": before[1], "outcome": "conflict", "detail": "the table kept changing"}  # fmt: skip
        after = self._listing(self.tables.load(ref), ref.bucket)
        return {"files_before": before[0], "bytes_before": before[1], "files_after": len(after),
                "bytes_after": sum(int(f.size) for f in after), "deleted": len(doomed)}  # fmt: skip

    # -- orphan files
    def remove_orphans(self, ref: TableRef, control: RunControl) -> dict[str, Any]:
        return self._recorded(ref, ORPHANS, lambda _: self._remove_orphans(ref, control))

    def _remove_orphans(self, ref: TableRef, control: RunControl) -> dict[str, Any]:
        metadata_location, document = self.tables.metadata_document(ref)
        table = self.tables.load(ref)
        if table.metadata_location != metadata_location:  # moved between the two reads: use the newer
            metadata_location, document = table.metadata_location, self.tables.metadata_document(ref)[1]
        referenced = referenced_files(table, metadata_location, document)
        listing = self._listing(table, ref.bucket)
        horizon = control.now() - self.orphan_grace
        orphans = sorted(
            f.key for f in listing if f.key not in referenced and float(f.last_modified) < horizon
        )
        # A commit that landed after the listing references only files newer than the horizon; re-check that
        # the table did not move to be safe with a grace period shorter than a commit.
        if self.tables.metadata_document(ref)[0] != metadata_location:
            return {
                "outcome": "conflict",
                "detail": "the table changed during the scan; the next run retries",
            }
        control.save(None, {"orphans": len(orphans)})
        self.files.delete_keys(ref.bucket, orphans)
        gone = set(orphans)
        after = [f for f in listing if f.key not in gone]
        return {"files_before": len(listing), "bytes_before": sum(int(f.size) for f in listing),
                "files_after": len(after), "bytes_after": sum(int(f.size) for f in after),
                "deleted": len(orphans)}  # fmt: skip

    # -- which tables need which jobs
    def wanted_jobs(self) -> set[tuple[str, str]]:
        """(kind, target) of every job the configurations call for."""
        wanted: set[tuple[str, str]] = set()
        warehouses = {w for w, _, _, _ in self.runs.configured()}
        for bucket in sorted(warehouses):
            for namespace, name in self.runs.tables_of(bucket):
                config = self.configs.effective(bucket, namespace, name)
                ref = TableRef(bucket, tuple(namespace.split("\x1f")), name)
                if config.compaction.enabled:
                    wanted.add((COMPACTION, ref.target()))
                if config.snapshot_expiration.enabled:
                    wanted.add((EXPIRATION, ref.target()))
                if config.compaction.enabled or config.snapshot_expiration.enabled:
                    wanted.add((ORPHANS, ref.target()))
        return wanted


def run_safely(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A dropped table ends its job's run quietly (the schedule drops the job)."""
    try:
        return work()
    except NoSuchTable:
        return {"outcome": "skipped", "detail": "the table no longer exists"}
