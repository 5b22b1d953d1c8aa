"""R2 Data Catalog maintenance routes: ``/r2-catalog/{bucket}/maintenance-configs`` (the warehouse's),
``/r2-catalog/{bucket}/namespaces/{ns}/tables/{t}/maintenance-configs`` (a table's), ``/r2-catalog/{bucket}/credential``,
and lakebox's ``/lakebox/r2-catalog/{bucket}/maintenance-runs`` (the record of runs, in the same envelope style)."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post

from auth.service.principal import Action, Principal
from catalog.service.naming import parse_namespace_param
from management.api.context import authorize
from management.api.envelope import ok
from management.service.errors import InvalidRequest

_WAREHOUSE = "/accounts/{account_id:str}/r2-catalog/{bucket:str}"
_TABLE = _WAREHOUSE + "/namespaces/{namespace:str}/tables/{table:str}/maintenance-configs"
MAX_BODY = 64 * 1024


async def _json_body(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidRequest("The body is too large")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise InvalidRequest() from None


@post(_WAREHOUSE + "/maintenance-configs", status_code=200)
async def set_warehouse_config(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.WRITE_CATALOG, bucket)
    body = await _json_body(request)
    return ok(await anyio.to_thread.run_sync(found.maintenance.set_config, bucket, body))


@get(_WAREHOUSE + "/maintenance-configs")
async def get_warehouse_config(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.READ_CATALOG, bucket)
    return ok(await anyio.to_thread.run_sync(found.maintenance.get_config, bucket))


@post(_TABLE, status_code=200)
async def set_table_config(
    request: Request[Any, Any, Any],
    caller: Principal,
    account_id: str,
    bucket: str,
    namespace: str,
    table: str,
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.WRITE_CATALOG, bucket)
    body = await _json_body(request)
    levels = parse_namespace_param(namespace)
    return ok(await anyio.to_thread.run_sync(found.maintenance.set_config, bucket, body, levels, table))


@get(_TABLE)
async def get_table_config(
    request: Request[Any, Any, Any],
    caller: Principal,
    account_id: str,
    bucket: str,
    namespace: str,
    table: str,
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.READ_CATALOG, bucket)
    levels = parse_namespace_param(namespace)
    return ok(await anyio.to_thread.run_sync(found.maintenance.get_config, bucket, levels, table))


@post(_WAREHOUSE + "/credential", status_code=200)
async def store_credential(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.WRITE_CATALOG, bucket)
    body = await _json_body(request)
    return ok(await anyio.to_thread.run_sync(found.maintenance.store_credential, bucket, body))


@get("/accounts/{account_id:str}/lakebox/r2-catalog/{bucket:str}/maintenance-runs")
async def list_runs(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.READ_CATALOG, bucket)
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise InvalidRequest("limit must be an integer") from None
    runs = await anyio.to_thread.run_sync(found.maintenance.runs, bucket, max(1, min(limit, 1000)))
    return ok(runs, result_info={"count": len(runs)})


HANDLERS = [
    set_warehouse_config,
    get_warehouse_config,
    set_table_config,
    get_table_config,
    store_credential,
    list_runs,
]
