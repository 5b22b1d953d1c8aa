"""Table routes: a logic-free layer over ``TableService``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, head, post
from litestar.params import FromPath, FromQuery, QueryParameter, RawBody

from catalog.api.models import (
    CommitTableRequest,
    CommitTransactionRequest,
    CreateTableRequest,
    RegisterTableRequest,
    RenameTableRequest,
    parse,
)
from catalog.api.wire import (
    Caller,
    credentials_config,
    etag_matches,
    etag_of,
    idempotent,
    json_response,
    no_content,
    ns,
    service_of,
    settings_of,
    table_response,
    wants_vended,
)
from catalog.service.tables import CreateTable, TableChange

TABLE = "/namespaces/{namespace:str}/tables/{table:str}"


class TableController(Controller):
    path = "/v1/{prefix:str}"

    @get("/namespaces/{namespace:str}/tables", sync_to_thread=True)
    def list_tables(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        page_token: Annotated[str | None, QueryParameter(name="pageToken")] = None,
        page_size: Annotated[int | None, QueryParameter(name="pageSize")] = None,
    ) -> Response[bytes]:
        levels = ns(namespace)
        names, token = service_of(request.app.state).tables.list_entities(
            principal, prefix, levels, page_token, page_size
        )
        body: dict[str, Any] = {"identifiers": [{"namespace": list(levels), "name": n} for n in names]}
        if token is not None:
            body["next-page-token"] = token
        return json_response(body)

    @post("/namespaces/{namespace:str}/tables", sync_to_thread=True, status_code=200)
    def create_table(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(CreateTableRequest, body)
            levels = ns(namespace)
            create = CreateTable(
                req.name,
                req.schema_,
                req.location,
                req.partition_spec,
                req.write_order,
                req.properties,
                req.stage_create,
            )
            result = service_of(request.app.state).tables.create(
                principal, prefix, levels, create, vend=wants_vended(request)
            )
            return table_response(result, settings_of(request.app.state), prefix, levels, req.name)

        return idempotent(request, principal, prefix, run)

    @post("/namespaces/{namespace:str}/register", sync_to_thread=True, status_code=200)
    def register_table(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(RegisterTableRequest, body)
            levels = ns(namespace)
            result = service_of(request.app.state).tables.register(
                principal,
                prefix,
                levels,
                req.name,
                req.metadata_location,
                overwrite=req.overwrite,
                vend=wants_vended(request),
            )
            return table_response(result, settings_of(request.app.state), prefix, levels, req.name)

        return idempotent(request, principal, prefix, run)

    @get(TABLE, sync_to_thread=True)
    def load_table(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        table: FromPath[str],
        snapshots: FromQuery[str] = "all",
    ) -> Response[bytes]:
        levels = ns(namespace)
        tables = service_of(request.app.state).tables
        snapshots = "refs" if snapshots == "refs" else "all"  # any other value: all, as Iceberg's reference
        result = tables.load(principal, prefix, levels, table, snapshots=snapshots)
        etag = etag_of(result.metadata_location, snapshots)
        if etag_matches(request, etag):
            return Response(b"", status_code=304, headers={"ETag": etag})
        if wants_vended(request):
            result = tables.with_credentials(principal, result)
        return table_response(result, settings_of(request.app.state), prefix, levels, table, {"ETag": etag})

    @head(TABLE, status_code=204)
    async def table_exists(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        table: FromPath[str],
    ) -> None:
        service = service_of(request.app.state)
        levels = ns(namespace)
        if service.reads_in_process:  # two point reads: cheaper than the hop to a worker thread
            service.tables.exists(principal, prefix, levels, table)
        else:
            await anyio.to_thread.run_sync(service.tables.exists, principal, prefix, levels, table)

    @post(TABLE, sync_to_thread=True, status_code=200)
    def update_table(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        table: FromPath[str],
        body: RawBody,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(CommitTableRequest, body)
            ident = None if req.identifier is None else (tuple(req.identifier.namespace), req.identifier.name)
            result = service_of(request.app.state).tables.commit(
                principal, prefix, ns(namespace), table, req.requirements, req.updates, ident
            )
            body_json = (
                f'{{"metadata-location":{_q(result.metadata_location)},"metadata":{result.metadata_json}}}'
            )
            return Response(body_json.encode(), media_type="application/json")

        return idempotent(request, principal, prefix, run)

    @delete(TABLE, sync_to_thread=True, status_code=200)
    def drop_table(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        table: FromPath[str],
        purge_requested: Annotated[bool, QueryParameter(name="purgeRequested")] = False,
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            service_of(request.app.state).tables.drop(
                principal, prefix, ns(namespace), table, purge=purge_requested
            )
            return no_content()

        return idempotent(request, principal, prefix, run)

    @get(TABLE + "/credentials", sync_to_thread=True)
    def load_credentials(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        table: FromPath[str],
    ) -> Response[bytes]:
        levels = ns(namespace)
        location, creds = service_of(request.app.state).tables.credentials(principal, prefix, levels, table)
        items = []
        if creds is not None:
            config = credentials_config(creds, settings_of(request.app.state), prefix, levels, table)
            items.append({"prefix": location, "config": config})
        return json_response({"storage-credentials": items})

    @post(TABLE + "/metrics", sync_to_thread=True, status_code=200)
    def report_metrics(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        prefix: FromPath[str],
        namespace: FromPath[str],
        table: FromPath[str],
    ) -> Response[bytes]:
        service_of(request.app.state).tables.report_metrics(principal, prefix, ns(namespace), table)
        return no_content()

    @post("/tables/rename", sync_to_thread=True, status_code=200)
    def rename_table(
        self, request: Request[Any, Any, Any], principal: Caller, prefix: FromPath[str], body: RawBody
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(RenameTableRequest, body)
            src = (tuple(req.source.namespace), req.source.name)
            dst = (tuple(req.destination.namespace), req.destination.name)
            service_of(request.app.state).tables.rename(principal, prefix, src, dst)
            return no_content()

        return idempotent(request, principal, prefix, run)

    @post("/transactions/commit", sync_to_thread=True, status_code=200)
    def commit_transaction(
        self, request: Request[Any, Any, Any], principal: Caller, prefix: FromPath[str], body: RawBody
    ) -> Response[bytes]:
        def run() -> Response[bytes]:
            req = parse(CommitTransactionRequest, body)
            changes = [
                TableChange(tuple(c.identifier.namespace), c.identifier.name, c.requirements, c.updates)
                for c in req.table_changes
            ]
            service_of(request.app.state).tables.commit_transaction(principal, prefix, changes)
            return no_content()

        return idempotent(request, principal, prefix, run)


def _q(value: str | None) -> str:
    return json.dumps(value)
