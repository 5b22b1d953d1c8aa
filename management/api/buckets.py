"""``/accounts/{account_id}/r2/buckets``: buckets, and under each its CORS rules, lifecycle rules and r2.dev
development URL (what wrangler's ``r2 bucket`` commands send)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, patch, post, put

from auth.service.principal import Action, Principal
from management.api.context import check_account, require
from management.api.envelope import json_body, ok
from management.service.buckets import bucket_ref

_JURISDICTION = "cf-r2-jurisdiction"
_BUCKET = "/{bucket:str}"


class BucketRoutes(Controller):
    path = "/accounts/{account_id:str}/r2/buckets"

    @get("/")
    async def list_buckets(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        require(caller, Action.LIST_BUCKETS)
        q = request.query_params
        page = await anyio.to_thread.run_sync(
            lambda: found.buckets.list(
                name_contains=q.get("name_contains") or "",
                per_page=q.get("per_page"),
                cursor=q.get("cursor"),
                direction=q.get("direction"),
                order=q.get("order"),
                start_after=q.get("start_after"),
                jurisdiction=request.headers.get(_JURISDICTION),
            )
        )
        info: dict[str, Any] = {"per_page": page.per_page}
        if page.cursor is not None:
            info["cursor"] = page.cursor
        return ok({"buckets": page.buckets}, result_info=info)

    @post("/")
    async def create_bucket(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        require(caller, Action.CREATE_BUCKET)
        body = await json_body(request)
        if not isinstance(body, dict):
            body = {"name": None}
        jurisdiction = request.headers.get(_JURISDICTION)
        if "cf-r2-storage-class" in request.headers and "storageClass" not in body:
            body = {**body, "storageClass": request.headers["cf-r2-storage-class"]}
        created = await anyio.to_thread.run_sync(found.buckets.create, body, jurisdiction)
        return ok(created)

    @get(_BUCKET)
    async def get_bucket(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.READ_BUCKET_CONFIG, bucket)
        return ok(await anyio.to_thread.run_sync(found.buckets.get, bucket))

    @patch(_BUCKET)
    async def update_bucket(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
        storage_class = request.headers.get("cf-r2-storage-class")
        return ok(await anyio.to_thread.run_sync(found.buckets.set_storage_class, bucket, storage_class))

    @delete(_BUCKET, status_code=200)
    async def delete_bucket(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.DELETE_BUCKET, bucket)
        await anyio.to_thread.run_sync(found.buckets.delete, bucket)
        return ok({})

    # -- CORS ------------------------------------------------------------------------------------------------

    @get(_BUCKET + "/cors")
    async def get_cors(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.READ_BUCKET_CONFIG, bucket)
        return ok(await anyio.to_thread.run_sync(found.config.cors, bucket))

    @put(_BUCKET + "/cors")
    async def put_cors(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
        body = await json_body(request)
        await anyio.to_thread.run_sync(found.config.put_cors, bucket, body)
        return ok({})

    @delete(_BUCKET + "/cors", status_code=200)
    async def delete_cors(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
        await anyio.to_thread.run_sync(found.config.delete_cors, bucket)
        return ok({})

    # -- lifecycle -------------------------------------------------------------------------------------------

    @get(_BUCKET + "/lifecycle")
    async def get_lifecycle(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.READ_BUCKET_CONFIG, bucket)
        return ok(await anyio.to_thread.run_sync(found.config.lifecycle, bucket))

    @put(_BUCKET + "/lifecycle")
    async def put_lifecycle(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
        body = await json_body(request)
        check = request.headers.get("cf-r2-data-catalog-check")
        await anyio.to_thread.run_sync(found.buckets.guard_catalog, bucket, check)
        await anyio.to_thread.run_sync(found.config.put_lifecycle, bucket, body)
        return ok({})

    # -- r2.dev: the public development URL ------------------------------------------------------------------

    @get(_BUCKET + "/domains/managed")
    async def get_managed_domain(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.READ_BUCKET_CONFIG, bucket)
        return ok(await anyio.to_thread.run_sync(found.buckets.managed_domain, bucket))

    @put(_BUCKET + "/domains/managed")
    async def put_managed_domain(
        self, request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
    ) -> Response[Any]:
        found = check_account(request, account_id)
        bucket = bucket_ref(bucket, request.headers.get(_JURISDICTION))
        require(caller, Action.WRITE_BUCKET_CONFIG, bucket)
        body = await json_body(request)
        if not isinstance(body, dict):
            body = {}
        return ok(await anyio.to_thread.run_sync(found.buckets.set_managed_domain, bucket, body))
