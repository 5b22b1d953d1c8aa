"""``POST /graphql`` under the management mount: R2's analytics datasets, for Admin Read tokens."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, post

from analytics.api.schema import run_query
from analytics.service.analytics import AnalyticsService
from auth.service.principal import Action, Principal
from management.api.context import management, require
from management.api.envelope import json_body
from management.service.errors import InvalidRequest

STATE_KEY = "analytics"


@post("/graphql", status_code=200)
async def graphql(request: Request[Any, Any, Any], caller: Principal) -> Response[Any]:
    require(caller, Action.LIST_BUCKETS)  # Admin Read
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise InvalidRequest("The body must be a JSON object with a 'query' string")
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise InvalidRequest("'variables' must be a JSON object")
    operation = body.get("operationName")
    service: AnalyticsService = request.app.state[STATE_KEY]
    answer = await anyio.to_thread.run_sync(
        run_query,
        service,
        management(request).account_id,
        body["query"],
        variables,
        operation if isinstance(operation, str) else None,
    )
    return Response(answer, status_code=200, media_type="application/json")


HANDLERS = [graphql]
