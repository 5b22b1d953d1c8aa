"""Every error the catalog returns, as the Iceberg ``ErrorModel``: ``{"error": {"message", "type", "code"}}``.

Domain errors are mapped here, once; anything unexpected becomes a generic 500 without details."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from pydantic import ValidationError
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from sqlalchemy.exc import OperationalError

from auth.service.errors import AuthError, ExpiredToken, InvalidToken, NotAuthenticated
from catalog import errors as e
from objectstore.service.errors import StoreError

log = logging.getLogger("lakebox.catalog")

# domain error -> (Iceberg error type, HTTP status)
CATALOG_ERRORS: dict[type[e.CatalogError], tuple[str, int]] = {
    e.BadRequest: ("BadRequestException", 400),
    e.InvalidArgument: ("IllegalArgumentException", 400),
    e.InvalidMetadata: ("ValidationException", 400),
    e.UnprocessableEntity: ("UnprocessableEntityException", 422),
    e.NotAuthorized: ("NotAuthorizedException", 401),
    e.Forbidden: ("ForbiddenException", 403),
    e.NoSuchWarehouse: ("NoSuchWarehouseException", 404),
    e.NoSuchNamespace: ("NoSuchNamespaceException", 404),
    e.NoSuchTable: ("NoSuchTableException", 404),
    e.NoSuchView: ("NoSuchViewException", 404),
    e.AlreadyExists: ("AlreadyExistsException", 409),
    e.NamespaceNotEmpty: ("NamespaceNotEmptyException", 409),
    e.CommitFailed: ("CommitFailedException", 409),
    e.UnsupportedOperation: ("UnsupportedOperationException", 406),
    e.ServiceUnavailable: ("ServiceUnavailableException", 503),
}

_HTTP_TYPES = {
    400: "BadRequestException",
    401: "NotAuthorizedException",
    403: "ForbiddenException",
    404: "NoSuchEndpointException",
    405: "MethodNotAllowedException",
    406: "UnsupportedOperationException",
    415: "UnsupportedMediaTypeException",
}


def error_body(message: str, type_: str, code: int) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "code": code}}).encode()


def error_response(message: str, type_: str, code: int) -> Response[bytes]:
    return Response(error_body(message, type_, code), status_code=code, media_type="application/json")


INVALID_INPUT = (ValidationError, IcebergValidationError)
"""Model validation failures (pydantic's, and pyiceberg's own, which pyiceberg raises from inside its models'
validators, e.g. ``decimal(99,999)`` or ``bucket[-5]``): whatever parsed them, the input was invalid."""


def bad_request(exc: Exception) -> e.CatalogError:
    """The error for a model validation failure, from the first error's location and message, typed as Iceberg's
    Java catalog types it: a missing field fails a precondition (``IllegalArgumentException``), an update action
    or requirement type it does not know is unsupported (406), anything else is a malformed request."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if errors:
            where = ".".join(str(p) for p in errors[0]["loc"])
            message = f"Malformed request: {where}: {errors[0]['msg']}"[:1000]
            if errors[0]["type"] == "missing":
                return e.InvalidArgument(message)
            if errors[0]["type"] == "union_tag_invalid" and {"updates", "requirements"} & set(
                errors[0]["loc"]
            ):
                return e.UnsupportedOperation(message)
            return e.BadRequest(message)
    return e.BadRequest(f"Malformed request: {exc}"[:1000])


def catalog_error_response(exc: e.CatalogError) -> Response[bytes]:
    type_, code = CATALOG_ERRORS.get(type(exc), ("InternalServerError", 500))
    return error_response(exc.message, type_, code)


def _on_catalog_error(_: Request[Any, Any, Any], exc: e.CatalogError) -> Response[bytes]:
    return catalog_error_response(exc)


def _on_invalid_input(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    return catalog_error_response(bad_request(exc))


def _on_auth_error(_: Request[Any, Any, Any], exc: AuthError) -> Response[bytes]:
    if isinstance(exc, InvalidToken | ExpiredToken | NotAuthenticated):
        return error_response(exc.message, "NotAuthorizedException", 401)
    return error_response(exc.message, "ForbiddenException", 403)


def _on_store_error(_: Request[Any, Any, Any], exc: StoreError) -> Response[bytes]:
    if exc.code == "NoSuchBucket":
        return error_response("The warehouse bucket does not exist", "NoSuchWarehouseException", 404)
    if exc.code in ("ServiceUnavailable", "SlowDown", "InsufficientStorage"):
        return error_response(exc.message, "ServiceUnavailableException", 503)
    log.error("object store error in catalog request: %s", exc.code, exc_info=exc)
    return error_response("The object store failed the request", "InternalServerError", 500)


def _on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    code = exc.status_code
    if isinstance(exc, ValidationException):
        return error_response(
            f"Malformed request: {exc.detail} {exc.extra or ''}".strip(), "BadRequestException", 400
        )
    if isinstance(exc, NotFoundException):
        return error_response("No such endpoint", "NoSuchEndpointException", 404)
    return error_response(str(exc.detail), _HTTP_TYPES.get(code, "InternalServerError"), code)


def _on_db_unavailable(_: Request[Any, Any, Any], exc: OperationalError) -> Response[bytes]:
    log.error("database unavailable in catalog request", exc_info=exc)
    return error_response(
        "The catalog database is unavailable; retry later", "ServiceUnavailableException", 503
    )


def _on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unexpected error in catalog request", exc_info=exc)
    return error_response("Internal server error", "InternalServerError", 500)


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    e.CatalogError: _on_catalog_error,
    ValidationError: _on_invalid_input,
    IcebergValidationError: _on_invalid_input,
    AuthError: _on_auth_error,
    StoreError: _on_store_error,
    HTTPException: _on_http_error,
    OperationalError: _on_db_unavailable,
    Exception: _on_unexpected,
}
