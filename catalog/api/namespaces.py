"""Namespace routes: a logic-free layer over ``NamespaceService``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, head, post
from litestar.params import FromPath, FromQuery, QueryParameter, RawBody

from catalog.api.models import CreateNamespaceRequest, UpdateNamespacePropertiesRequest, parse
from catalog.api.wire import Caller, idempotent, json_response, no_content, ns, service_of
from catalog.service.naming import parse_namespace_param


class NamespaceController(Controller):
    path = "/v1/{prefix:str}/namespaces"

    @get("/", sync_to_thread=True)
    def list_namespaces(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        parent: FromQuery[str | None] = None,
        page_token: Annotated[str | None, QueryParameter(name="pageToken")] = None,
        page_size: Annotated[int | None, QueryParameter(name="pageSize")] = None,
    ) -> Response[bytes]:
        levels = parse_namespace_param(parent) if parent else None
        page = service_of(request.app.state).namespaces.list_namespaces(
            principal, prefix, levels, page_token, page_size
        )
        body: dict[str, Any] = {"namespaces": [list(n) for n in page.namespaces]}
        if page.next_page_token is not None:
            body["next-page-token"] = page.next_page_token
        return json_response(body)

    @post("/", sync_to_thread=True, status_code=200)
    def create_namespace(
        self, request: Request[Any, Any, Any], principal: Caller, prefix: FromPath[str], body: RawBody
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(CreateNamespaceRequest, body)
            levels, props = service_of(request.app.state).namespaces.create(
                principal, prefix, tuple(req.namespace), req.properties
            )
            return json_response({"namespace": list(levels), "properties": props})

        return idempotent(request, principal, prefix, run)

    @get("/{namespace:str}", sync_to_thread=True)
    def load_namespace(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
    ) -> Response[bytes]:
        levels = ns(namespace)
        props = service_of(request.app.state).namespaces.load(principal, prefix, levels)
        return json_response({"namespace": list(levels), "properties": props})

    @head("/{namespace:str}", sync_to_thread=True, status_code=204)
    def namespace_exists(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
    ) -> None:
        service_of(request.app.state).namespaces.exists(principal, prefix, ns(namespace))

    @delete("/{namespace:str}", sync_to_thread=True, status_code=200)
    def drop_namespace(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            service_of(request.app.state).namespaces.drop(principal, prefix, ns(namespace))
            return no_content()

        return idempotent(request, principal, prefix, run)

    @post("/{namespace:str}/properties", sync_to_thread=True, status_code=200)
    def update_properties(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(UpdateNamespacePropertiesRequest, body)
            change = service_of(request.app.state).namespaces.update_properties(
                principal, prefix, ns(namespace), req.removals, req.updates
            )
            return json_response(
                {"removed": change.removed, "updated": change.updated, "missing": change.missing}
            )

        return idempotent(request, principal, prefix, run)
