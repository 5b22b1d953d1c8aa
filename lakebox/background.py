"""The background jobs of a lakebox node (infra.jobs): which kinds exist, what each does, how often.

| kind | target | what |
|---|---|---|
| ``blob-garbage`` | | deletes the files of replaced and deleted objects once their grace period is over |
| ``analytics-sample`` | | samples every bucket's storage, prunes analytics and the audit log past retention |
| ``lifecycle-schedule`` | | keeps one ``lifecycle`` job per bucket (adds new buckets', drops deleted ones') |
| ``lifecycle`` | bucket | applies the bucket's lifecycle rules: expirations, transitions, upload aborts |
| ``migration`` | migration id | copies a source bucket into a lakebox bucket (management.service.migration_copy) |
| (catalog maintenance) | table | see ``lakebox.maintenance_jobs`` |

Every worker registers the handlers and runs ``JobRunner.run_due`` from a background task; the leases decide which
worker of which node does each run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Row
from sqlalchemy.engine import Connection

from infra.jobs import JobRun, JobRunner, JobStore
from lakebox import maintenance_jobs
from lakebox.services import Services
from lakebox.settings import Settings
from management.service.migration_copy import CopyLimits, MigrationCopier
from management.service.migrations import MIGRATION
from objectstore.service.lifecycle import (
    LifecycleEnforcer,
    Rule,
    abort_after,
    decide,
    rules_in_effect,
    walk_plan,
)
from objectstore.service.multipart import MultipartService
from objectstore.service.tiers import transition_to_infrequent_access

GARBAGE, ANALYTICS_SAMPLE = "blob-garbage", "analytics-sample"
LIFECYCLE, LIFECYCLE_SCHEDULE = "lifecycle", "lifecycle-schedule"
LIFECYCLE_DELETION, LIFECYCLE_TRANSITION = "LifecycleDeletion", "LifecycleStorageTierTransition"


def job_clock(settings: Settings) -> Callable[[], float]:
    offset = float(settings.jobs_clock_offset_seconds)
    if not offset:
        return time.time
    return lambda: time.time() + offset


def build_runner(services: Services, multipart: MultipartService) -> JobRunner:
    """This worker's runner, with every kind's handler registered."""
    settings = services.settings
    runner = JobRunner(
        services.jobs,
        f"{settings.node_id}:{os.getpid()}",
        lease_seconds=float(settings.jobs_lease_seconds),
        clock=job_clock(settings),
    )

    def reap_garbage(run: JobRun) -> None:
        reaped = services.objects.reap_garbage(
            settings.garbage_grace_seconds, lambda total: run.save(None, {"reaped": total})
        )
        run.progress = {"reaped": reaped}

    def sample_analytics(run: JobRun) -> None:
        run.progress = {"buckets": services.analytics.sample(run.now())}

    runner.register(GARBAGE, reap_garbage)
    runner.register(ANALYTICS_SAMPLE, sample_analytics)
    runner.register(LIFECYCLE_SCHEDULE, lambda run: schedule_lifecycle(services, run))
    runner.register(LIFECYCLE, Lifecycle(services, multipart).run)
    limits = CopyLimits(
        batch=max(1, settings.jobs_batch_size),
        multipart_bytes=max(1, settings.migration_multipart_mib) << 20,
        part_bytes=max(5, settings.migration_part_mib) << 20,
    )
    copier = MigrationCopier(services.migrations, services.secret_box, services.objects, multipart, limits)
    runner.register(MIGRATION, copier.run)
    maintenance_jobs.register(runner, services)
    return runner


def schedule_node_jobs(jobs: JobStore, settings: Settings) -> None:
    """Creates the node-wide jobs (idempotent: every worker of every node calls it at start)."""
    now = job_clock(settings)()
    jobs.ensure(GARBAGE, interval=float(settings.reap_interval_seconds), first_run_at=now)
    jobs.ensure(ANALYTICS_SAMPLE, interval=float(settings.analytics_sample_seconds), first_run_at=now)
    jobs.ensure(LIFECYCLE_SCHEDULE, interval=float(settings.lifecycle_interval_seconds), first_run_at=now)
    maintenance_jobs.schedule_jobs(jobs, settings, now)


def schedule_lifecycle(services: Services, run: JobRun) -> None:
    """One ``lifecycle`` job per bucket: new buckets get theirs, deleted buckets' jobs go."""
    names: set[str] = set()
    after = ""
    while page := services.buckets.repo.list_buckets(start_after=after, limit=1000):
        names.update(row.name for row in page)
        after = page[-1].name
    jobs, interval = services.jobs, float(services.settings.lifecycle_interval_seconds)
    scheduled = set(jobs.targets(LIFECYCLE))
    for name in sorted(names - scheduled):
        jobs.ensure(LIFECYCLE, name, interval=interval, first_run_at=run.now())
    for name in sorted(scheduled - names):
        jobs.remove(LIFECYCLE, name)
    run.progress = {"buckets": len(names), "added": len(names - scheduled), "removed": len(scheduled - names)}


class Lifecycle:
    """One pass of a bucket's lifecycle rules (objectstore.service.lifecycle.walk_plan): the objects the Days
    rules can act on, in (last_modified, key) order, then the key ranges of the passed Date rules, in key order,
    then the uploads, in (initiated_at, upload_id) order. The checkpoint holds the pass's clock reading, the phase
    and the last row done, so a successor finishes the same pass; each step re-checks the row in its own
    transaction, so a step done twice changes nothing the second time."""

    def __init__(self, services: Services, multipart: MultipartService) -> None:
        self.settings = services.settings
        self.repo = services.buckets.repo
        self.objects = services.objects
        self.analytics = services.analytics.repo
        self.enforcer = LifecycleEnforcer(self.repo, multipart.uploads.abort_upload)
        self.batch = max(1, self.settings.jobs_batch_size)
        self.pause = self.settings.jobs_batch_pause_ms / 1000

    def _counted_once(self, bucket: str, action: str, code: int) -> Callable[[Connection], None]:
        """One ``action`` added to the bucket's analytics in the transaction of the change itself."""
        count = self._counted(bucket, action, code)
        return lambda conn: count(conn, 1)

    def _counted(self, bucket: str, action: str, code: int) -> Callable[[Connection, int], None]:
        """Adds ``n`` ``action``s to the bucket's analytics in the transaction of the change itself."""

        def count(conn: Connection, n: int = 1) -> None:
            minute = int(time.time()) // 60 * 60
            self.analytics.add_counts_in(conn, {(minute, bucket, action, "success", code): n})

        return count

    def _step(
        self, run: JobRun, rules: tuple[Rule, ...], now: float, rows: list[Row[Any]], checkpoint: Any
    ) -> None:
        """Transitions the objects of a batch that are due for it, then expires those due for expiration in one
        transaction that also saves ``checkpoint``: a successor never redoes or recounts a committed batch."""
        bucket = run.target
        actions = [(decide(rules, r.key, r.last_modified, r.storage_class, now), r) for r in rows]
        for action, row in actions:
            if action == "transition" and transition_to_infrequent_access(
                self.objects, bucket, row.key, etag=row.etag, last_modified=row.last_modified,
                also=self._counted_once(bucket, LIFECYCLE_TRANSITION, 200),
            ):  # fmt: skip
                run.count("transitioned")
        run.count("objects_visited", len(rows))
        doomed = [row for action, row in actions if action == "expire"]
        if not doomed:
            run.save(checkpoint)
            return
        count_deletions = self._counted(bucket, LIFECYCLE_DELETION, 204)

        def commit(conn: Connection, deleted: int) -> None:
            if deleted:
                count_deletions(conn, deleted)
            run.count("expired", deleted)
            run.save_in(conn, checkpoint)

        self.enforcer.expire(bucket, doomed, commit)
        run.stop_point()

    def run(self, run: JobRun) -> None:
        bucket = run.target
        exists, stored = self.enforcer.stored_rules(bucket)
        if not exists:
            return  # deleted: lifecycle-schedule drops the job
        rules = rules_in_effect(stored, float(self.settings.multipart_expiry_seconds))
        state: dict[str, Any] = run.checkpoint or {"now": run.now(), "phase": "objects", "after": None}
        now = float(state["now"])
        plan = walk_plan(rules, now)
        if state["phase"] == "objects":
            after = tuple(state["after"]) if state["after"] else None
            while plan.horizon is not None and (
                rows := self.enforcer.objects_batch(bucket, plan.horizon, after, self.batch)
            ):
                after = (rows[-1].last_modified, rows[-1].key)
                self._step(run, rules, now, rows, {"now": now, "phase": "objects", "after": list(after)})
                self._rest()
            state = {"now": now, "phase": "ranges", "after": None}
            run.save(state)
        if state["phase"] == "ranges":
            last_key: str | None = state["after"]
            while rows := self.enforcer.ranges_batch(bucket, plan.ranges, last_key, self.batch):
                last_key = rows[-1].key
                self._step(run, rules, now, rows, {"now": now, "phase": "ranges", "after": last_key})
                self._rest()
            state = {"now": now, "phase": "uploads", "after": None}
            run.save(state)
        ages = [r.abort_seconds for r in rules if r.abort_seconds is not None]
        if not ages:
            return
        before = now - min(ages)
        position = tuple(state["after"]) if state["after"] else None
        while uploads := self.enforcer.uploads_batch(bucket, before, position, self.batch):
            for upload in uploads:
                age = abort_after(rules, upload.key)
                due = age is not None and upload.initiated_at + age <= now
                if due and self.enforcer.abort_upload(upload.upload_id):
                    run.count("aborted")
            run.count("uploads_visited", len(uploads))
            position = (uploads[-1].initiated_at, uploads[-1].upload_id)
            run.save({"now": now, "phase": "uploads", "after": list(position)})
            self._rest()

    def _rest(self) -> None:
        if self.pause:
            time.sleep(self.pause)
