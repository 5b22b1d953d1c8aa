"""The catalog service: one object the HTTP edge and the composition package hold."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from auth.service.principal import Principal
from catalog.errors import BadRequest, NoSuchWarehouse
from catalog.service.core import CatalogSettings, Context, bucket_of
from catalog.service.namespaces import NamespaceService
from catalog.service.ports import CredentialVendor, MetadataFiles
from catalog.service.tables import TableService
from catalog.service.views import ViewService
from catalog.store.repository import CatalogRepository, StoredResponse
from infra.db import Database


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    bucket: str
    warehouse: str  # the warehouse name clients pass (the bucket name)
    warehouse_id: str
    enabled: bool


class CatalogService:
    def __init__(
        self,
        db: Database,
        files: MetadataFiles,
        vendor: CredentialVendor | None = None,
        settings: CatalogSettings | None = None,
    ) -> None:
        self.ctx = Context(CatalogRepository(db), files, vendor, settings or CatalogSettings())
        # SQLite in this process: a point read (a token, a table's existence) costs less than the hop to a worker
        # thread, so the edge may run those on the event loop; over a network (PostgreSQL) they must not block it.
        self.reads_in_process = db.is_sqlite
        self.namespaces = NamespaceService(self.ctx)
        self.tables = TableService(self.ctx)
        self.views = ViewService(self.ctx, self.tables)

    @property
    def settings(self) -> CatalogSettings:
        return self.ctx.settings

    # -- warehouses (admin API / CLI: `lakebox bucket catalog enable|disable|get`)
    def enable_warehouse(self, bucket: str) -> WarehouseInfo:
        if not self.ctx.files.bucket_exists(bucket):
            raise NoSuchWarehouse(f"The bucket {bucket!r} does not exist")
        wh = self.ctx.repo.set_warehouse(bucket, enabled=True, warehouse_id=uuid.uuid4().hex)
        return WarehouseInfo(wh.bucket, wh.bucket, wh.warehouse_id, wh.enabled)

    def disable_warehouse(self, bucket: str) -> WarehouseInfo:
        """Refuses catalog requests for the warehouse until re-enabled; its tables are kept."""
        if self.ctx.repo.get_warehouse(bucket) is None:
            raise NoSuchWarehouse(f"The catalog of bucket {bucket!r} was never enabled")
        wh = self.ctx.repo.set_warehouse(bucket, enabled=False, warehouse_id=uuid.uuid4().hex)
        return WarehouseInfo(wh.bucket, wh.bucket, wh.warehouse_id, wh.enabled)

    def get_warehouse(self, bucket: str) -> WarehouseInfo | None:
        wh = self.ctx.repo.get_warehouse(bucket)
        return None if wh is None else WarehouseInfo(wh.bucket, wh.bucket, wh.warehouse_id, wh.enabled)

    # -- config
    def resolve_config(self, principal: Principal, warehouse: str | None) -> str:
        """The ``prefix`` override for ``GET /v1/config?warehouse=``: the enabled warehouse's bucket."""
        if not warehouse:
            self.ctx.authorize(principal, None, write=False)
            raise BadRequest("The 'warehouse' query parameter is required (the bucket name)")
        return self.ctx.warehouse(principal, bucket_of(warehouse), write=False)

    def authorize_token(self, principal: Principal) -> None:
        """The OAuth2 token endpoint hands out only tokens that may use the catalog."""
        self.ctx.authorize(principal, None, write=False)

    # -- idempotency
    def replay(self, key: str) -> StoredResponse | None:
        return self.ctx.repo.get_response(key, time.time())

    def finalize(self, key: str, warehouse: str, operation: str, response: StoredResponse) -> None:
        now = time.time()
        self.ctx.repo.put_response(
            key, warehouse, operation, response, now, now + self.ctx.settings.idempotency_lifetime_s
        )
