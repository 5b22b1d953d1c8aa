"""View routes: a logic-free layer over ``ViewService``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, head, post
from litestar.params import FromPath, QueryParameter, RawBody

from catalog.api.models import (
    CommitViewRequest,
    CreateViewRequest,
    RegisterViewRequest,
    RenameTableRequest,
    parse,
)
from catalog.api.wire import (
    JSON,
    Caller,
    idempotent,
    json_response,
    no_content,
    ns,
    service_of,
    settings_of,
    storage_config,
)
from catalog.service.views import ViewResult

VIEW = "/namespaces/{namespace:str}/views/{view:str}"


class ViewController(Controller):
    path = "/v1/{prefix:str}"

    @get("/namespaces/{namespace:str}/views", sync_to_thread=True)
    def list_views(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        page_token: Annotated[str | None, QueryParameter(name="pageToken")] = None,
        page_size: Annotated[int | None, QueryParameter(name="pageSize")] = None,
    ) -> Response[bytes]:
        levels = ns(namespace)
        names, token = service_of(request.app.state).views.list_views(
            principal, prefix, levels, page_token, page_size
        )
        body: dict[str, Any] = {"identifiers": [{"namespace": list(levels), "name": n} for n in names]}
        if token is not None:
            body["next-page-token"] = token
        return json_response(body)

    @post("/namespaces/{namespace:str}/views", sync_to_thread=True, status_code=200)
    def create_view(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(CreateViewRequest, body)
            result = service_of(request.app.state).views.create(
                principal,
                prefix,
                ns(namespace),
                req.name,
                req.schema_,
                req.view_version,
                req.location,
                req.properties,
            )
            return _view_response(request, result)

        return idempotent(request, principal, prefix, run)

    @post("/namespaces/{namespace:str}/register-view", sync_to_thread=True, status_code=200)
    def register_view(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(RegisterViewRequest, body)
            result = service_of(request.app.state).views.register(
                principal, prefix, ns(namespace), req.name, req.metadata_location
            )
            return _view_response(request, result)

        return idempotent(request, principal, prefix, run)

    @get(VIEW, sync_to_thread=True)
    def load_view(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        view: FromPath[str],
    ) -> Response[bytes]:
        result = service_of(request.app.state).views.load(principal, prefix, ns(namespace), view)
        return _view_response(request, result)

    @head(VIEW, sync_to_thread=True, status_code=204)
    def view_exists(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        view: FromPath[str],
    ) -> None:
        service_of(request.app.state).views.exists(principal, prefix, ns(namespace), view)

    @post(VIEW, sync_to_thread=True, status_code=200)
    def replace_view(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        view: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(CommitViewRequest, body)
            ident = None if req.identifier is None else (tuple(req.identifier.namespace), req.identifier.name)
            result = service_of(request.app.state).views.replace(
                principal, prefix, ns(namespace), view, req.requirements, req.updates, ident
            )
            return _view_response(request, result)

        return idempotent(request, principal, prefix, run)

    @delete(VIEW, sync_to_thread=True, status_code=200)
    def drop_view(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        view: FromPath[str],
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            service_of(request.app.state).views.drop(principal, prefix, ns(namespace), view)
            return no_content()

        return idempotent(request, principal, prefix, run)

    @post("/views/rename", sync_to_thread=True, status_code=200)
    def rename_view(
        self, request: Request[Any, Any, Any], principal: Caller, prefix: FromPath[str], body: RawBody
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(RenameTableRequest, body)
            src = (tuple(req.source.namespace), req.source.name)
            dst = (tuple(req.destination.namespace), req.destination.name)
            service_of(request.app.state).views.rename(principal, prefix, src, dst)
            return no_content()

        return idempotent(request, principal, prefix, run)


def _view_response(request: Request[Any, Any, Any], result: ViewResult) -> Response[bytes]:
    config = json.dumps(storage_config(settings_of(request.app.state)), separators=(",", ":"))
    location = json.dumps(result.metadata_location)
    body = f'{{"metadata-location":{location},"metadata":{result.metadata_json},"config":{config}}}'
    return Response(body.encode(), media_type=JSON)
