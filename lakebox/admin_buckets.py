"""Admin API for buckets and their catalogs (what wrangler's ``r2 bucket`` commands do on R2):
list/create/delete buckets, and enable/disable/get the R2 Data Catalog of a bucket."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post

from auth.service.principal import Principal
from catalog.errors import CatalogError, NoSuchWarehouse
from objectstore.service.buckets import BucketInfo, BucketService
from objectstore.service.errors import StoreError
from objectstore.service.public import PublicAccess as PublicState

if TYPE_CHECKING:
    from catalog.service.catalog import CatalogService
    from lakebox.services import Services
    from lakebox.settings import Settings

log = logging.getLogger("lakebox.admin")


class BucketCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    location: str = "auto"
    storage_class: str = "Standard"


class Bucket(msgspec.Struct, kw_only=True):
    name: str
    created_at: datetime
    location: str
    storage_class: str


class BucketList(msgspec.Struct, kw_only=True):
    buckets: list[Bucket]


class Catalog(msgspec.Struct, kw_only=True):
    """A bucket's R2 Data Catalog: what a client needs to connect (catalog URI and warehouse name)."""

    bucket: str
    enabled: bool
    warehouse: str
    catalog_uri: str
    warehouse_id: str | None = None


class PublicAccess(msgspec.Struct, kw_only=True):
    """The bucket's public development URL (R2's r2.dev): anonymous GET/HEAD of its objects when enabled."""

    bucket: str
    enabled: bool
    public_id: str | None
    url: str | None


def _bucket(info: BucketInfo) -> Bucket:
    return Bucket(
        name=info.name,
        created_at=datetime.fromtimestamp(info.created_at, UTC),
        location=info.location,
        storage_class=info.storage_class,
    )


def _buckets(request: Request[Any, Any, Any]) -> BucketService:
    service: BucketService = request.app.state["buckets"]
    return service


def _catalog(request: Request[Any, Any, Any]) -> CatalogService:
    service: CatalogService = request.app.state["services"].catalog
    return service


class BucketController(Controller):
    path = "/buckets"
    tags = ["buckets"]

    @get("/", sync_to_thread=True, summary="List buckets")
    def list_buckets(self, request: Request[Any, Any, Any], caller: Principal) -> BucketList:
        page, _truncated = _buckets(request).list(max_keys=1000)
        return BucketList(buckets=[_bucket(b) for b in page])

    @post("/", sync_to_thread=True, status_code=201, summary="Create a bucket")
    def create_bucket(self, request: Request[Any, Any, Any], caller: Principal, data: BucketCreate) -> Bucket:
        _buckets(request).create(data.name, data.location, data.storage_class)
        log.info("bucket %s created by %s", data.name, caller.token_id)
        return _bucket(_buckets(request).get(data.name))

    @get("/{bucket:str}", sync_to_thread=True, summary="Get a bucket")
    def get_bucket(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> Bucket:
        return _bucket(_buckets(request).get(bucket))

    @delete("/{bucket:str}", sync_to_thread=True, status_code=204, summary="Delete an empty bucket")
    def delete_bucket(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> None:
        _buckets(request).delete(bucket)
        log.info("bucket %s deleted by %s", bucket, caller.token_id)

    @get("/{bucket:str}/catalog", sync_to_thread=True, summary="Get the bucket's catalog status")
    def get_catalog(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> Catalog:
        _buckets(request).get(bucket)
        info = _catalog(request).get_warehouse(bucket)
        return self._view(
            request, bucket, info.enabled if info else False, info.warehouse_id if info else None
        )

    @post("/{bucket:str}/catalog/enable", sync_to_thread=True, status_code=200, summary="Enable the catalog")
    def enable_catalog(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> Catalog:
        _buckets(request).get(bucket)
        info = _catalog(request).enable_warehouse(bucket)
        log.info("catalog of bucket %s enabled by %s", bucket, caller.token_id)
        return self._view(request, bucket, info.enabled, info.warehouse_id)

    @post(
        "/{bucket:str}/catalog/disable", sync_to_thread=True, status_code=200, summary="Disable the catalog"
    )
    def disable_catalog(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> Catalog:
        _buckets(request).get(bucket)
        info = _catalog(request).disable_warehouse(bucket)
        log.info("catalog of bucket %s disabled by %s", bucket, caller.token_id)
        return self._view(request, bucket, info.enabled, info.warehouse_id)

    @get("/{bucket:str}/public", sync_to_thread=True, summary="Get the bucket's public development URL")
    def get_public(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> PublicAccess:
        return _public_view(request, request.app.state["services"].public.get(bucket))

    @post("/{bucket:str}/public/enable", sync_to_thread=True, status_code=200, summary="Allow public access")
    def enable_public(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> PublicAccess:
        state = request.app.state["services"].public.set(bucket, True)
        log.info("public access to bucket %s enabled by %s", bucket, caller.token_id)
        return _public_view(request, state)

    @post(
        "/{bucket:str}/public/disable", sync_to_thread=True, status_code=200, summary="Refuse public access"
    )
    def disable_public(self, request: Request[Any, Any, Any], caller: Principal, bucket: str) -> PublicAccess:
        state = request.app.state["services"].public.set(bucket, False)
        log.info("public access to bucket %s disabled by %s", bucket, caller.token_id)
        return _public_view(request, state)

    @staticmethod
    def _view(
        request: Request[Any, Any, Any], bucket: str, enabled: bool, warehouse_id: str | None
    ) -> Catalog:
        uri: str = request.app.state["catalog_uri"]
        return Catalog(
            bucket=bucket, enabled=enabled, warehouse=bucket, catalog_uri=uri, warehouse_id=warehouse_id
        )


def _public_view(request: Request[Any, Any, Any], state: PublicState) -> PublicAccess:
    settings: Settings = request.app.state["services"].settings
    url = settings.public_bucket_url(state.public_id) if state.public_id and state.enabled else None
    return PublicAccess(bucket=state.bucket, enabled=state.enabled, public_id=state.public_id, url=url)


_STORE_STATUS = {"NoSuchBucket": 404, "BucketNotEmpty": 409, "BucketAlreadyOwnedByYou": 409}


def store_error(_: Request[Any, Any, Any], exc: StoreError) -> Response[dict[str, Any]]:
    status = _STORE_STATUS.get(exc.code, 400)
    return Response({"error": {"code": exc.code, "message": exc.message}}, status_code=status)


def catalog_error(_: Request[Any, Any, Any], exc: CatalogError) -> Response[dict[str, Any]]:
    status = 404 if isinstance(exc, NoSuchWarehouse) else 400
    return Response({"error": {"code": type(exc).__name__, "message": exc.message}}, status_code=status)


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
    StoreError: store_error,
    CatalogError: catalog_error,
}


def install(services: Services) -> dict[str, Any]:
    return {
        "buckets": services.buckets,
        "services": services,
        "catalog_uri": services.settings.catalog_uri,
    }
