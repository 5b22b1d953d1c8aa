"""``/accounts/{account_id}/lakebox/migrations``: migrations as R2's Super Slurper (create and abort need Admin
Read & Write, reading needs Admin Read). Cloudflare has no public route for these; they follow its style. The
source's secret goes in and never comes out."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post

from auth.service.principal import Action, Principal
from management.api.context import check_account, require
from management.api.envelope import json_body, ok
from management.service.migrations import Migrations

STATE_KEY = "migrations"
_BASE = "/accounts/{account_id:str}/lakebox/migrations"


def _service(request: Request[Any, Any, Any], account_id: str) -> Migrations:
    check_account(request, account_id)
    found: Migrations = request.app.state[STATE_KEY]
    return found


@post(_BASE)
async def create_migration(
    request: Request[Any, Any, Any], caller: Principal, account_id: str
) -> Response[Any]:
    service = _service(request, account_id)
    require(caller, Action.CREATE_BUCKET)  # Admin Read & Write
    body = await json_body(request)
    return ok(await anyio.to_thread.run_sync(service.create, body, caller.token_id))


@get(_BASE)
async def list_migrations(
    request: Request[Any, Any, Any], caller: Principal, account_id: str
) -> Response[Any]:
    service = _service(request, account_id)
    require(caller, Action.LIST_BUCKETS)  # Admin Read
    found = await anyio.to_thread.run_sync(service.all)
    return ok(found, result_info={"count": len(found)})


@get(_BASE + "/{migration_id:str}")
async def get_migration(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, migration_id: str
) -> Response[Any]:
    service = _service(request, account_id)
    require(caller, Action.LIST_BUCKETS)
    return ok(await anyio.to_thread.run_sync(service.show, migration_id))


@post(_BASE + "/{migration_id:str}/abort")
async def abort_migration(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, migration_id: str
) -> Response[Any]:
    service = _service(request, account_id)
    require(caller, Action.CREATE_BUCKET)
    return ok(await anyio.to_thread.run_sync(service.abort, migration_id))


HANDLERS = [create_migration, list_migrations, get_migration, abort_migration]
