"""What the controllers share: the caller, the namespace path segment, JSON responses, table results with
their
storage config and vended credentials, and ``Idempotency-Key`` replay."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency

from auth.service.errors import NotAuthenticated
from auth.service.principal import Principal
from catalog.api.errors import INVALID_INPUT, bad_request, catalog_error_response, error_response
from catalog.errors import BadRequest, CatalogError
from catalog.service.catalog import CatalogService
from catalog.service.naming import SEP, parse_namespace_param
from catalog.service.ports import Authenticator, VendedCredentials
from catalog.service.tables import TableResult
from catalog.store.repository import StoredResponse

log = logging.getLogger("lakebox.catalog")
JSON = "application/json"
MAX_IDEMPOTENCY_KEY = 64  # the stored key's column; the spec's keys are UUIDs (36 characters)
VENDED = "vended-credentials"


@dataclass(frozen=True, slots=True)
class WireSettings:
    s3_endpoint: str
    region: str = "auto"
    path_style: bool = True


def service_of(state: State) -> CatalogService:
    svc: CatalogService = state["catalog_service"]
    return svc


def settings_of(state: State) -> WireSettings:
    ws: WireSettings = state["catalog_wire"]
    return ws


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Authenticates ``Authorization: Bearer <token value>``; 401 when absent or bad (see errors)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Authentication is required: send 'Authorization: Bearer <token>'")
    authenticator: Authenticator = request.app.state["catalog_authenticator"]
    return authenticator.authenticate_bearer(token.strip())


def ns(raw: str) -> tuple[str, ...]:
    return parse_namespace_param(raw)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    body = json.dumps(value, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def no_content() -> Response[bytes]:
    return Response(b"", status_code=204)


def wants_vended(request: Request[Any, Any, Any]) -> bool:
    header = request.headers.get("x-iceberg-access-delegation", "")
    return VENDED in {part.strip().lower() for part in header.split(",")}


def storage_config(ws: WireSettings) -> dict[str, str]:
    return {
        "s3.endpoint": ws.s3_endpoint,
        "s3.path-style-access": "true" if ws.path_style else "false",
        "client.region": ws.region,
    }


def credentials_config(
    creds: VendedCredentials, ws: WireSettings, prefix: str, namespace: tuple[str, ...], table: str
) -> dict[str, str]:
    return {
        **storage_config(ws),
        "s3.access-key-id": creds.access_key_id,
        "s3.secret-access-key": creds.secret_access_key,
        "s3.session-token": creds.session_token,
        "s3.session-token-expires-at-ms": str(int(creds.expires_at.timestamp() * 1000)),
        "client.refresh-credentials-endpoint": refresh_endpoint(prefix, namespace, table),
        "client.refresh-credentials-enabled": "true",
    }


def refresh_endpoint(prefix: str, namespace: tuple[str, ...], table: str) -> str:
    return (
        f"v1/{quote(prefix, safe='')}/namespaces/{quote(SEP.join(namespace), safe='')}"
        f"/tables/{quote(table, safe='')}/credentials"
    )


def table_response(
    result: TableResult,
    ws: WireSettings,
    prefix: str,
    namespace: tuple[str, ...],
    table: str,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """A ``LoadTableResult``; the stored metadata JSON is inserted as is (no re-serialisation on a load)."""
    config = storage_config(ws)
    creds: list[dict[str, Any]] = []
    if result.credentials is not None:
        config = credentials_config(result.credentials, ws, prefix, namespace, table)
        creds = [{"prefix": result.location, "config": config}]
    head: dict[str, Any] = {}
    if result.metadata_location is not None:
        head["metadata-location"] = result.metadata_location
    tail = {"config": config, "storage-credentials": creds}
    prefix_json = json.dumps(head, separators=(",", ":"))[:-1]
    sep = "," if head else ""
    body = (
        f'{prefix_json}{sep}"metadata":{result.metadata_json},{json.dumps(tail, separators=(",", ":"))[1:]}'
    )
    return Response(body.encode(), status_code=200, media_type=JSON, headers=headers)


def etag_of(metadata_location: str | None, snapshots: str) -> str:
    digest = hashlib.sha256(f"{metadata_location}|{snapshots}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(request: Request[Any, Any, Any], etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def idempotent(
    request: Request[Any, Any, Any],
    principal: Principal,
    prefix: str,
    run: Callable[[], Response[bytes]],
) -> Response[bytes]:
    """Runs a mutation once per ``Idempotency-Key``: a finalised result (2xx, 4xx) is stored and replayed."""
    key = request.headers.get("idempotency-key")
    if not key:
        return _finished(run)
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(
            f"Invalid Idempotency-Key: at most {MAX_IDEMPOTENCY_KEY} printable characters (a UUID)"
        )
    service = service_of(request.app.state)
    service.ctx.warehouse(principal, prefix, write=True)  # never replay to a caller who may not write here
    operation = _operation(request.method, request.url.path)
    stored = service.replay(key)
    if stored is not None:
        if stored.operation != operation:
            raise BadRequest("This Idempotency-Key was already used for a different operation")
        return Response(
            stored.body.encode(),
            status_code=stored.status_code,
            media_type=JSON if stored.body else None,
            headers=stored.headers,
        )
    response = _finished(run)
    status = response.status_code or 200
    if status < 500 and status not in (401, 403):
        content = response.content if isinstance(response.content, bytes) else b""
        headers = {k: v for k, v in response.headers.items() if k.lower() == "etag"}
        service.finalize(key, prefix, operation, StoredResponse(status, content.decode(), headers, operation))
    return response


def _operation(method: str, path: str) -> str:
    """What a stored response answers, bounded to the column's 128 printable characters (else by digest)."""
    operation = f"{method} {path}"
    if len(operation) <= 128 and operation.isprintable():
        return operation
    return f"{method} sha256:{hashlib.sha256(path.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _finished(run: Callable[[], Response[bytes]]) -> Response[bytes]:
    """The mutation's response, its errors mapped here (so a replay stores them)."""
    try:
        return run()
    except CatalogError as exc:
        return catalog_error_response(exc)
    except INVALID_INPUT as exc:
        return catalog_error_response(bad_request(exc))
    except StopIteration:  # asyncio cannot carry it out of the worker thread: the request would hang
        log.error("StopIteration escaped a catalog operation", exc_info=True)
        return error_response("Internal server error", "InternalServerError", 500)


Caller = NamedDependency[Principal]
"""The authenticated caller, injected by ``provide_principal`` (a named dependency)."""
