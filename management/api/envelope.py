"""Cloudflare's v4 envelope: every answer, success or error, is
``{"success", "errors": [{"code", "message"}], "messages", "result", "result_info"}`` (``result_info`` is null
unless the result is a page of a list)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

from management.service.errors import InvalidRequest

MAX_JSON_BODY = 1 << 20


def ok(result: Any = None, *, status: int = 200, result_info: dict[str, Any] | None = None) -> Response[Any]:
    body = {"success": True, "errors": [], "messages": [], "result": result, "result_info": result_info}
    return Response(body, status_code=status, media_type="application/json")


def failure(status: int, code: int, message: str, extra: list[dict[str, Any]] | None = None) -> Response[Any]:
    errors = [{"code": code, "message": message}, *(extra or [])]
    body = {"success": False, "errors": errors, "messages": [], "result": None, "result_info": None}
    return Response(body, status_code=status, media_type="application/json")


async def json_body(request: Request[Any, Any, Any], *, required: bool = True) -> Any:
    """The request's JSON body, whatever its Content-Type says (wrangler and curl users send text/plain too)."""
    raw = await request.body()
    if len(raw) > MAX_JSON_BODY:
        raise InvalidRequest("The request body is too large")
    if not raw.strip():
        if required:
            raise InvalidRequest("A JSON body is required")
        return {}
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise InvalidRequest() from None
