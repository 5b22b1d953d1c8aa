"""``/accounts/{account_id}/r2/buckets/{bucket}/lock``: a bucket's lock rules (what wrangler's ``r2 bucket lock``
commands and the Cloudflare SDK's ``r2.buckets.locks`` send)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, put

from auth.service.principal import Action, Principal
from management.api.context import authorize
from management.api.envelope import json_body, ok

_LOCK = "/accounts/{account_id:str}/r2/buckets/{bucket:str}/lock"


@get(_LOCK)
async def get_lock(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.READ_BUCKET_CONFIG, bucket)
    return ok(await anyio.to_thread.run_sync(found.locks.get, bucket))


@put(_LOCK)
async def put_lock(
    request: Request[Any, Any, Any], caller: Principal, account_id: str, bucket: str
) -> Response[Any]:
    found = authorize(request, account_id, caller, Action.WRITE_BUCKET_CONFIG, bucket)
    body = await json_body(request)
    await anyio.to_thread.run_sync(found.locks.put, bucket, body)
    return ok({})


HANDLERS = [get_lock, put_lock]
