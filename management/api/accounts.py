"""The account and token routes: ``/memberships``, ``/accounts``, ``/user/tokens`` (verify, create) and
``/accounts/{account_id}/r2/temp-access-credentials``."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, delete, get, post

from auth.service.principal import Action, Principal
from management.api.context import check_account, management, require
from management.api.envelope import json_body, ok

# R2 routes decide by R2's table; token administration needs what creating a bucket needs: Admin Read & Write.
_ADMIN_RW = Action.CREATE_BUCKET


def _account(request: Request[Any, Any, Any]) -> dict[str, Any]:
    found = management(request)
    return {
        "id": found.account_id,
        "name": found.account_name,
        "type": "standard",
        "settings": {"enforce_twofactor": False},
    }


@get("/memberships")
async def memberships(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
    found = management(request)
    membership = {
        "id": found.account_id,
        "status": "accepted",
        "account": {"id": found.account_id, "name": found.account_name},
        "roles": [caller.permission.value],
    }
    return ok([membership], result_info=_page_info(1))


@get("/accounts")
async def accounts(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
    return ok([_account(request)], result_info=_page_info(1))


@get("/accounts/{account_id:str}")
async def account(request: Request[Any, Any, Any], caller: Principal, account_id: str) -> Response[Any]:
    check_account(request, account_id)
    return ok(_account(request))


@get("/user/tokens/verify")
async def verify_token(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
    return ok(management(request).r2_tokens.verify(caller))


@post("/user/tokens")
async def create_token(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
    require(caller, _ADMIN_RW)
    body = await json_body(request)
    created = await anyio.to_thread.run_sync(management(request).r2_tokens.create, body)
    return ok(created)


@get("/user/tokens")
async def list_tokens(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
    require(caller, _ADMIN_RW)
    q = request.query_params
    tokens, info = await anyio.to_thread.run_sync(
        management(request).r2_tokens.list, q.get("page"), q.get("per_page")
    )
    return ok(tokens, result_info=info)


@get("/user/tokens/{token_id:str}")
async def get_token(request: Request[Any, Any, Any], caller: Principal, token_id: str) -> Response[Any]:
    require(caller, _ADMIN_RW)
    return ok(await anyio.to_thread.run_sync(management(request).r2_tokens.get, token_id))


@delete("/user/tokens/{token_id:str}", status_code=200)
async def revoke_token(request: Request[Any, Any, Any], caller: Principal, token_id: str) -> Response[Any]:
    require(caller, _ADMIN_RW)
    return ok(await anyio.to_thread.run_sync(management(request).r2_tokens.revoke, token_id))


@post("/accounts/{account_id:str}/tokens")
async def create_account_token(
    request: Request[Any, Any, Any], caller: Principal, account_id: str
) -> Response[Any]:
    check_account(request, account_id)
    require(caller, _ADMIN_RW)
    body = await json_body(request)
    created = await anyio.to_thread.run_sync(management(request).r2_tokens.create, body)
    return ok(created)


@post("/accounts/{account_id:str}/r2/temp-access-credentials")
async def temp_access_credentials(
    request: Request[Any, Any, Any], caller: Principal, account_id: str
) -> Response[Any]:
    found = check_account(request, account_id)
    require(caller, _ADMIN_RW)
    body = await json_body(request)
    if isinstance(body, dict) and isinstance(body.get("bucket"), str) and body["bucket"]:
        await anyio.to_thread.run_sync(
            found.buckets.get, body["bucket"]
        )  # 404 for a bucket that does not exist
    issued = await anyio.to_thread.run_sync(found.r2_tokens.temporary, caller, body)
    return ok(issued)


def _page_info(count: int) -> dict[str, Any]:
    return {"page": 1, "per_page": 20, "count": count, "total_count": count, "total_pages": 1}


HANDLERS = [
    list_tokens,
    get_token,
    revoke_token,
    memberships,
    accounts,
    account,
    verify_token,
    create_token,
    create_account_token,
    temp_access_credentials,
]
