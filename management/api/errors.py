"""Domain errors to Cloudflare envelope errors: one table per error family, each with its HTTP status and
Cloudflare error code (R2's codes where its error-codes page names them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException

from auth.service.errors import (
    AccessDenied,
    AuthError,
    AuthInvalidArgument,
    ExpiredToken,
    InvalidToken,
    NoSuchToken,
    NotAuthenticated,
)
from catalog.errors import CatalogError, NoSuchNamespace, NoSuchTable
from catalog.errors import NoSuchWarehouse as CatalogNoSuchWarehouse
from management.api.envelope import failure
from management.service import errors as mgmt
from objectstore.api.errors import error_status
from objectstore.service.errors import StoreError

log = logging.getLogger("lakebox.management")

_MANAGEMENT_STATUS: dict[type[mgmt.ManagementError], int] = {
    mgmt.NotAuthenticated: 401,
    mgmt.Forbidden: 403,
    mgmt.NoSuchAccount: 404,
    mgmt.InvalidRequest: 400,
    mgmt.NoCorsConfiguration: 404,
    mgmt.NoSuchWarehouse: 404,
    mgmt.CatalogConflict: 409,
    mgmt.NotImplementedYet: 501,
    mgmt.NoSuchMigration: 404,
    mgmt.MigrationEnded: 409,
}

# S3 code -> (status, Cloudflare code); others keep the S3 status with R2's generic 10040 (bad request) code.
_STORE: dict[str, tuple[int, int]] = {
    "NoSuchBucket": (404, 10006),
    "NoSuchKey": (404, 10007),
    "BucketNotEmpty": (409, 10008),
    "BucketAlreadyOwnedByYou": (409, 10004),
    "BucketAlreadyExists": (409, 10073),
    "InvalidBucketName": (400, 10005),
    "KeyTooLongError": (400, 10020),
    "MetadataTooLarge": (400, 10012),
    "EntityTooLarge": (400, 100100),
    "AccessDenied": (403, 10003),
    # Custom domains (lakebox's codes: R2's docs name none).
    "InvalidCustomDomain": (400, 10040),
    "NoSuchCustomDomain": (404, 10061),
    "CustomDomainInUse": (409, 10062),
}


def management_error(_: Request[Any, Any, Any], exc: mgmt.ManagementError) -> Response[Any]:
    status = next((s for t, s in _MANAGEMENT_STATUS.items() if isinstance(exc, t)), 400)
    return failure(status, exc.code, exc.message)


def store_error(_: Request[Any, Any, Any], exc: StoreError) -> Response[Any]:
    if exc.code == "InternalError":
        return internal_error(_, exc)
    status, code = _STORE.get(exc.code, (error_status(exc.code), 10040))
    if exc.code == "MalformedXML":
        return failure(400, 10040, "The configuration is not valid.")
    return failure(status, code, exc.message)


def auth_error(_: Request[Any, Any, Any], exc: AuthError) -> Response[Any]:
    if isinstance(exc, NotAuthenticated | InvalidToken):
        return failure(401, 10000, "Authentication error")
    if isinstance(exc, ExpiredToken) and "parent" not in exc.message:
        return failure(401, 10000, "Authentication error")
    if isinstance(exc, AccessDenied):
        return failure(403, 10003, exc.message)
    if isinstance(exc, NoSuchToken):
        return failure(404, 1003, exc.message)
    if isinstance(exc, AuthInvalidArgument | ExpiredToken):
        return failure(400, 10040, exc.message)
    return failure(400, 10040, exc.message)


def catalog_error(_: Request[Any, Any, Any], exc: CatalogError) -> Response[Any]:
    if isinstance(exc, CatalogNoSuchWarehouse):
        return failure(404, mgmt.NoSuchWarehouse.code, exc.message)
    if isinstance(exc, NoSuchTable | NoSuchNamespace):
        return failure(404, 40402, exc.message)
    return failure(400, 10040, exc.message)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotFoundException):
        raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").partition("?")[0]
        return failure(
            404,
            7003,
            f"Could not route to {path}, perhaps your object identifier is invalid?",
            [{"code": 7000, "message": "No route for that URI"}],
        )
    if isinstance(exc, MethodNotAllowedException):
        return failure(405, 10000, f"Method {request.method} not allowed for this route")
    return failure(exc.status_code, 10040 if exc.status_code < 500 else 10001, str(exc.detail))


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("management API internal error: %s", type(exc).__name__)
    return failure(500, 10001, "Internal error")


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
    mgmt.ManagementError: management_error,
    StoreError: store_error,
    AuthError: auth_error,
    CatalogError: catalog_error,
    HTTPException: http_error,
    Exception: internal_error,
}
