"""Catalog table maintenance as background jobs (infra.jobs): one job per table and kind.

| kind | target | what |
|---|---|---|
| ``catalog-maintenance-schedule`` | | keeps one job per table and enabled kind (adds, and drops what was disabled) |
| ``compaction`` | table | bin-packs small data files (catalog.service.maintenance) |
| ``snapshot-expiration`` | table | expires old snapshots, deletes what only they referenced |
| ``orphan-cleanup`` | table | deletes unreferenced files older than the grace period |

A table's target is ``["bucket", [namespace levels], "name"]`` as JSON."""

from __future__ import annotations

from typing import Any, cast

from infra.jobs import JobRun, JobRunner, JobStore
from lakebox.services import Services
from lakebox.settings import Settings

SCHEDULE = "catalog-maintenance-schedule"
SCHEDULE_EVERY_SECONDS = 60.0


def _maintenance(services: Services) -> Any:
    """Built on first use (pyiceberg is a large import the S3 API never needs)."""
    cached = getattr(services, "_table_maintenance", None)
    if cached is not None:
        return cached
    from catalog.service.maintenance import TableMaintenance
    from catalog.service.maintenance_config import MaintenanceConfigService
    from catalog.service.maintenance_io import WarehouseFiles, WarehouseIO
    from catalog.service.maintenance_tables import MaintainedTables
    from catalog.store.maintenance import MaintenanceRepository

    catalog = services.catalog
    files = cast(WarehouseFiles, catalog.ctx.files)
    runs = MaintenanceRepository(services.db)
    built = TableMaintenance(
        MaintainedTables(catalog.ctx.repo, catalog.tables, WarehouseIO(files)),
        files,
        MaintenanceConfigService(catalog.ctx.repo, runs),
        runs,
        float(services.settings.maintenance_orphan_grace_seconds),
        services.settings.jobs_batch_pause_ms / 1000,
    )
    services._table_maintenance = built  # type: ignore[attr-defined]
    return built


def register(runner: JobRunner, services: Services) -> None:
    from catalog.service.maintenance import COMPACTION, EXPIRATION, ORPHANS, run_safely
    from catalog.service.maintenance_tables import TableRef

    def schedule(run: JobRun) -> None:
        wanted = _maintenance(services).wanted_jobs()
        interval = float(services.settings.maintenance_interval_seconds)
        jobs = services.jobs
        added = removed = 0
        for kind in (COMPACTION, EXPIRATION, ORPHANS):
            have = set(jobs.targets(kind))
            want = {t for k, t in wanted if k == kind}
            for target in sorted(want - have):
                jobs.ensure(kind, target, interval=interval, first_run_at=run.now())
                added += 1
            for target in sorted(have - want):
                jobs.remove(kind, target)
                removed += 1
        run.progress = {"jobs": len(wanted), "added": added, "removed": removed}

    def handler(method: str) -> Any:
        def run(job: JobRun) -> None:
            work = getattr(_maintenance(services), method)
            job.progress = run_safely(lambda: work(TableRef.from_target(job.target), job))

        return run

    runner.register(SCHEDULE, schedule)
    runner.register(COMPACTION, handler("compact"))
    runner.register(EXPIRATION, handler("expire"))
    runner.register(ORPHANS, handler("remove_orphans"))


def schedule_jobs(jobs: JobStore, settings: Settings, now: float) -> None:
    every = min(SCHEDULE_EVERY_SECONDS, float(settings.maintenance_interval_seconds))
    jobs.ensure(SCHEDULE, interval=every, first_run_at=now)
