"""The background jobs of a lakebox node (infra.jobs): which kinds exist, what each does, how often.

| kind | target | what |
|---|---|---|
| ``blob-garbage`` | | deletes the files of replaced and deleted objects once their grace period is over |
| ``multipart-expiry`` | | aborts multipart uploads left incomplete longer than ``multipart_expiry_seconds`` |
| ``analytics-sample`` | | samples every bucket's storage, prunes analytics and the audit log past retention |

Every worker registers the handlers and runs ``JobRunner.run_due`` from a background task; the leases decide which
worker of which node does each run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from infra.jobs import JobRun, JobRunner, JobStore
from lakebox.services import Services
from lakebox.settings import Settings
from objectstore.service.multipart import MultipartService

GARBAGE, MULTIPART_EXPIRY, ANALYTICS_SAMPLE = "blob-garbage", "multipart-expiry", "analytics-sample"


def job_clock(settings: Settings) -> Callable[[], float]:
    offset = float(settings.jobs_clock_offset_seconds)
    if not offset:
        return time.time
    return lambda: time.time() + offset


def build_runner(services: Services, multipart: MultipartService) -> JobRunner:
    """This worker's runner, with every kind's handler registered and every node-wide job scheduled."""
    settings = services.settings
    clock = job_clock(settings)
    runner = JobRunner(
        services.jobs,
        f"{settings.node_id}:{os.getpid()}",
        lease_seconds=float(settings.jobs_lease_seconds),
        clock=clock,
    )
    pause = settings.jobs_batch_pause_ms / 1000
    batch = max(1, settings.jobs_batch_size)

    def reap_garbage(run: JobRun) -> None:
        reaped = services.objects.reap_garbage(
            settings.garbage_grace_seconds, lambda total: run.save(None, {"reaped": total})
        )
        run.progress = {"reaped": reaped}

    def expire_uploads(run: JobRun) -> None:
        # The cutoff is fixed by the run's first claim, so a successor finishes the same pass.
        state = run.checkpoint or {"cutoff": run.now() - settings.multipart_expiry_seconds, "after": None}
        after = tuple(state["after"]) if state["after"] is not None else None
        while True:
            aborted, visited = multipart.expire_batch(state["cutoff"], after, batch)
            if not visited:
                return
            after = visited[-1]
            run.count("aborted", aborted)
            run.count("visited", len(visited))
            run.save({"cutoff": state["cutoff"], "after": list(after)})
            if pause:
                time.sleep(pause)

    def sample_analytics(run: JobRun) -> None:
        run.progress = {"buckets": services.analytics.sample(run.now())}

    runner.register(GARBAGE, reap_garbage)
    runner.register(MULTIPART_EXPIRY, expire_uploads)
    runner.register(ANALYTICS_SAMPLE, sample_analytics)
    return runner


def schedule_node_jobs(jobs: JobStore, settings: Settings) -> None:
    """Creates the node-wide jobs (idempotent: every worker of every node calls it at start)."""
    now = job_clock(settings)()
    jobs.ensure(GARBAGE, interval=float(settings.reap_interval_seconds), first_run_at=now)
    jobs.ensure(
        MULTIPART_EXPIRY, interval=float(settings.multipart_expiry_interval_seconds), first_run_at=now
    )
    jobs.ensure(ANALYTICS_SAMPLE, interval=float(settings.analytics_sample_seconds), first_run_at=now)
