"""R2 Data Catalog maintenance over the management API: the warehouse's and the tables' configurations, the
catalog credential wrangler stores before enabling maintenance, and the record of maintenance runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from management.service.errors import InvalidRequest
from objectstore.service.buckets import BucketService

if TYPE_CHECKING:
    from catalog.service.catalog import CatalogService
    from catalog.service.maintenance_config import MaintenanceConfigService
    from catalog.store.maintenance import MaintenanceRepository, MaintenanceRun


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_json(run: MaintenanceRun) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "namespace": run.namespace.split("\x1f"),
        "table": run.name,
        "kind": run.kind,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "files_before": run.files_before,
        "bytes_before": run.bytes_before,
        "files_after": run.files_after,
        "bytes_after": run.bytes_after,
        "outcome": run.outcome,
        "detail": run.detail,
    }


class R2Maintenance:
    def __init__(self, buckets: BucketService, catalog: Callable[[], CatalogService]) -> None:
        self.buckets = buckets
        self._catalog = catalog
        self._configs: MaintenanceConfigService | None = None
        self._repo: MaintenanceRepository | None = None

    def _service(self) -> MaintenanceConfigService:
        if self._configs is None:
            from catalog.service.maintenance_config import MaintenanceConfigService
            from catalog.store.maintenance import MaintenanceRepository

            repo = self._catalog().ctx.repo
            self._repo = MaintenanceRepository(repo.db)
            self._configs = MaintenanceConfigService(repo, self._repo)
        return self._configs

    def set_config(
        self, bucket: str, body: Any, namespace: tuple[str, ...] | None = None, name: str | None = None
    ) -> dict[str, Any]:
        self.buckets.get(bucket)
        return self._service().set(bucket, body, namespace, name)

    def get_config(
        self, bucket: str, namespace: tuple[str, ...] | None = None, name: str | None = None
    ) -> dict[str, Any]:
        self.buckets.get(bucket)
        return self._service().get(bucket, namespace, name)

    def store_credential(self, bucket: str, body: Any) -> dict[str, Any]:
        """wrangler sends an API token for R2's maintenance workers; lakebox's run in process with the server's
        own rights, so the token is checked for shape and not kept (a secret not stored is never leaked)."""
        self.buckets.get(bucket)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip() or len(token) > 4096:
            raise InvalidRequest('The body must be {"token": "<API token>"}')
        self._service().get(bucket)  # the catalog must have been enabled
        return {}

    def runs(self, bucket: str, limit: int) -> list[dict[str, Any]]:
        self.buckets.get(bucket)
        self._service()
        assert self._repo is not None
        return [run_json(r) for r in self._repo.runs(bucket, limit)]
