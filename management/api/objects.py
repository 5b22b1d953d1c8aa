"""Object bytes (``/r2/buckets/{bucket}/objects/{key}``), the R2 Data Catalog switch
(``/r2-catalog/{bucket}``) and the Cloudflare routes of features lakebox does not have yet (an envelope error,
HTTP 501)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import unquote

import anyio.to_thread
from litestar import Request, Response, delete, get, post, put, route
from litestar.response import Stream

from auth.service.principal import Action, Principal
from management.api.context import check_account, require, require_key
from management.api.envelope import ok
from management.service.buckets import bucket_ref, check_jurisdiction
from management.service.errors import InvalidRequest, NotImplementedYet
from objectstore.api.response import RETRIEVED_SLOT
from objectstore.service.placement import INFREQUENT_ACCESS

_OBJECT = "/accounts/{account_id:str}/r2/buckets/{bucket:str}/objects/{key:path}"
_MARK = "/objects/"
CATALOG_CHECK = "cf-r2-data-catalog-check"


def object_key(request: Request[Any, Any, Any], bucket: str) -> str:
    """The key as sent: from the raw path (keys arrive unencoded, may hold ``//`` and encoded slashes)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    anchor = f"/r2/buckets/{bucket}{_MARK}"
    at = path.find(anchor)
    if at < 0:
        raise InvalidRequest("The object key is missing")
    key = unquote(path[at + len(anchor) :].partition("?")[0], encoding="utf-8", errors="surrogateescape")
    if not key:
        raise InvalidRequest("The object key is missing")
    return key


@put(_OBJECT)
async def put_object(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str, key: str
) -> Response[Any]:
    found = check_account(request, account_id)
    name = object_key(request, bucket)
    bucket = bucket_ref(bucket, request.headers.get("cf-r2-jurisdiction"))
    require_key(caller, Action.WRITE_OBJECT, bucket, name)
    await anyio.to_thread.run_sync(found.buckets.guard_catalog, bucket, request.headers.get(CATALOG_CHECK))
    result = await found.objects.put(bucket, name, request.headers, request.stream())
    return ok({"key": name, "size": result.size, "etag": result.etag, "storageClass": "Standard"})


@get(_OBJECT)
async def get_object(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str, key: str
) -> Response[Any]:
    found = check_account(request, account_id)
    name = object_key(request, bucket)
    bucket = bucket_ref(bucket, request.headers.get("cf-r2-jurisdiction"))
    require_key(caller, Action.READ_OBJECT, bucket, name)
    download = await found.objects.get(bucket, name)
    meta = download.plan.meta
    # Data retrieval: the analytics count a read of Infrequent Access data (analytics.api.counting).
    slot: Any = request.scope.get(RETRIEVED_SLOT)
    if meta.storage_class == INFREQUENT_ACCESS and slot is not None:
        slot.append((meta.storage_class, None))
    headers = {
        "content-length": str(download.plan.length),
        "etag": f'"{meta.etag}"',
        **{
            header: value
            for header, value in (
                ("content-encoding", meta.content_encoding),
                ("content-disposition", meta.content_disposition),
                ("content-language", meta.content_language),
                ("cache-control", meta.cache_control),
                ("expires", meta.expires),
            )
            if value
        },
    }

    async def body() -> AsyncIterator[bytes]:
        async for chunk in download.body:
            yield (
                chunk if isinstance(chunk, bytes) else bytes(chunk)
            )  # Litestar's Stream sends bytes or str only

    return Stream(
        body(), media_type=meta.content_type or "application/octet-stream", headers=headers, status_code=200
    )


@delete(_OBJECT, status_code=200)
async def delete_object(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str, key: str
) -> Response[Any]:
    found = check_account(request, account_id)
    name = object_key(request, bucket)
    bucket = bucket_ref(bucket, request.headers.get("cf-r2-jurisdiction"))
    require_key(caller, Action.WRITE_OBJECT, bucket, name)
    await anyio.to_thread.run_sync(found.buckets.guard_catalog, bucket, request.headers.get(CATALOG_CHECK))
    await found.objects.delete(bucket, name)
    return ok({})


# -- R2 Data Catalog ---------------------------------------------------------------------------------------


def _default_jurisdiction_only(request: Request[Any, Any, Any]) -> None:
    if check_jurisdiction(request.headers.get("cf-r2-jurisdiction")) is not None:
        raise NotImplementedYet("The R2 Data Catalog of a bucket in a jurisdiction")


@get("/accounts/{account_id:str}/r2-catalog/{bucket:str}")
async def get_catalog(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = check_account(request, account_id)
    _default_jurisdiction_only(request)
    require(caller, Action.READ_CATALOG, bucket)
    return ok(await anyio.to_thread.run_sync(found.buckets.catalog, bucket))


@post("/accounts/{account_id:str}/r2-catalog/{bucket:str}/enable", status_code=200)
async def enable_catalog(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = check_account(request, account_id)
    _default_jurisdiction_only(request)
    require(caller, Action.WRITE_CATALOG, bucket)
    return ok(await anyio.to_thread.run_sync(found.buckets.enable_catalog, bucket))


@post("/accounts/{account_id:str}/r2-catalog/{bucket:str}/disable", status_code=200)
async def disable_catalog(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = check_account(request, account_id)
    _default_jurisdiction_only(request)
    require(caller, Action.WRITE_CATALOG, bucket)
    return ok(await anyio.to_thread.run_sync(found.buckets.disable_catalog, bucket))


# -- not built yet -----------------------------------------------------------------------------------------

_ALL: list[Literal["GET", "PUT", "POST", "PATCH", "DELETE"]] = ["GET", "PUT", "POST", "PATCH", "DELETE"]
_LATER = {
    "/accounts/{account_id:str}/r2/buckets/{bucket:str}/sippy": "Sippy (incremental migration)",
    "/accounts/{account_id:str}/event_notifications/r2/{bucket:str}/configuration": "Event notifications",
    "/accounts/{account_id:str}/event_notifications/r2/{bucket:str}/configuration/queues/{queue:str}": (
        "Event notifications"
    ),
    "/accounts/{account_id:str}/queues": "Queues",
    "/accounts/{account_id:str}/queues/{rest:path}": "Queues",
}


def _later(path: str, feature: str) -> Any:
    async def not_yet(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
        account_id = request.path_params.get("account_id")
        if account_id is not None:
            check_account(request, account_id)
        raise NotImplementedYet(feature)

    return route(path, http_method=_ALL, name=f"later:{path}")(not_yet)


HANDLERS = [
    put_object,
    get_object,
    delete_object,
    get_catalog,
    enable_catalog,
    disable_catalog,
    *(_later(path, feature) for path, feature in _LATER.items()),
]
