"""The admin JSON API on the console port: API tokens and temporary credentials.

Every route needs ``Authorization: Bearer <token value>`` of an Admin Read & Write token (401 without a valid
token, 403 with a weaker one). Errors are ``{"error": {"code", "message"}}``. The OpenAPI document is served at
``/api/openapi.json`` (Litestar's OpenAPI config, see ``lakebox.console``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router, delete, get, post
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import Parameter

from auth.service.errors import (
    AccessDenied,
    AuthError,
    AuthInvalidArgument,
    ExpiredToken,
    InvalidToken,
    NoSuchToken,
    NotAuthenticated,
)
from auth.service.principal import Permission, Principal
from auth.service.temporary import DEFAULT_TTL, IssuedTemporaryCredential, TempPermission
from auth.service.tokens import IssuedToken, TokenInfo, TokenService
from lakebox import admin_buckets

if TYPE_CHECKING:
    from lakebox.services import Services

log = logging.getLogger("lakebox.admin")
API_PATH = "/api/v1"


# -- wire models ------------------------------------------------------------------------------------------


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    permission: Permission
    name: str = ""
    buckets: list[str] = msgspec.field(default_factory=list)
    ttl_seconds: int | None = None
    expires_at: datetime | None = None


class TokenCreated(msgspec.Struct, kw_only=True):
    """A new token, with its secrets: shown once."""

    id: str
    name: str
    token: str
    access_key_id: str
    secret_access_key: str
    permission: Permission
    buckets: list[str]
    expires_at: datetime | None


class Token(msgspec.Struct, kw_only=True):
    id: str
    name: str
    access_key_id: str
    permission: Permission
    buckets: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: str


class TokenList(msgspec.Struct, kw_only=True):
    tokens: list[Token]


class TempCredentialCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """R2's temp-access-credentials: the parent defaults to the calling token."""

    bucket: str
    permission: TempPermission
    ttl_seconds: int = DEFAULT_TTL
    prefixes: list[str] = msgspec.field(default_factory=list)
    objects: list[str] = msgspec.field(default_factory=list)
    parent_access_key_id: str | None = None


class TempCredential(msgspec.Struct, kw_only=True):
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: datetime
    parent_access_key_id: str
    bucket: str
    prefixes: list[str]
    objects: list[str]
    permission: TempPermission


def _created(t: IssuedToken) -> TokenCreated:
    return TokenCreated(
        id=t.id,
        name=t.name,
        token=t.token,
        access_key_id=t.access_key_id,
        secret_access_key=t.secret_access_key,
        permission=t.permission,
        buckets=list(t.buckets),
        expires_at=t.expires_at,
    )


def _token(t: TokenInfo) -> Token:
    return Token(
        id=t.id,
        name=t.name,
        access_key_id=t.id,
        permission=t.permission,
        buckets=list(t.buckets),
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        status=t.status,
    )


def _temp(c: IssuedTemporaryCredential) -> TempCredential:
    return TempCredential(
        access_key_id=c.access_key_id,
        secret_access_key=c.secret_access_key,
        session_token=c.session_token,
        expires_at=c.expires_at,
        parent_access_key_id=c.parent_access_key_id,
        bucket=c.bucket,
        prefixes=list(c.prefixes),
        objects=list(c.objects),
        permission=c.permission,
    )


# -- authentication ---------------------------------------------------------------------------------------


def _tokens(request: Request[Any, Any, Any]) -> TokenService:
    tokens: TokenService = request.app.state["tokens"]
    return tokens


def provide_admin(request: Request[Any, Any, Any]) -> Principal:
    """The caller: an Admin Read & Write token given as a bearer token."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("Authentication is required: send 'Authorization: Bearer <token>'")
    principal = _tokens(request).authenticate_bearer(value.strip())
    if principal.permission is not Permission.ADMIN_RW:
        raise AccessDenied("The admin API requires an Admin Read & Write token")
    return principal


def provide_bearer(request: Request[Any, Any, Any]) -> Principal:
    """The caller: any valid API token given as a bearer token (for routes about the caller itself)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("Authentication is required: send 'Authorization: Bearer <token>'")
    return _tokens(request).authenticate_bearer(value.strip())


# -- controllers ------------------------------------------------------------------------------------------


class WhoAmI(msgspec.Struct, kw_only=True):
    """The calling token's S3 identity: its secret access key is the SHA-256 hex of the token value."""

    access_key_id: str
    permission: Permission
    buckets: list[str]
    s3_endpoint: str


@get(
    "/whoami",
    sync_to_thread=True,
    summary="The calling token's access key id and the S3 endpoint (any token)",
    tags=["tokens"],
    dependencies={"caller": Provide(provide_bearer, sync_to_thread=True)},
)
def whoami(request: Request[Any, Any, Any], caller: Principal) -> WhoAmI:
    endpoint: str = request.app.state["s3_endpoint"]
    return WhoAmI(
        access_key_id=caller.token_id,
        permission=caller.permission,
        buckets=list(caller.buckets),
        s3_endpoint=endpoint,
    )


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]

    @post("/", sync_to_thread=True, status_code=201, summary="Create an API token")
    def create_token(
        self, request: Request[Any, Any, Any], caller: Principal, data: TokenCreate
    ) -> TokenCreated:
        issued = _tokens(request).create(
            data.permission,
            name=data.name,
            buckets=tuple(data.buckets),
            ttl_seconds=data.ttl_seconds,
            expires_at=data.expires_at,
        )
        log.info("token %s created (%s) by %s", issued.id, issued.permission.value, caller.token_id)
        return _created(issued)

    @get("/", sync_to_thread=True, summary="List API tokens (no secrets)")
    def list_tokens(
        self,
        request: Request[Any, Any, Any],
        caller: Principal,
        include_revoked: Annotated[bool, Parameter(query="include_revoked")] = False,
    ) -> TokenList:
        return TokenList(tokens=[_token(t) for t in _tokens(request).list(include_revoked=include_revoked)])

    @get("/{token_id:str}", sync_to_thread=True, summary="Get an API token (no secrets)")
    def get_token(self, request: Request[Any, Any, Any], caller: Principal, token_id: str) -> Token:
        return _token(_tokens(request).get(token_id))

    @delete("/{token_id:str}", sync_to_thread=True, status_code=200, summary="Revoke an API token")
    def revoke_token(self, request: Request[Any, Any, Any], caller: Principal, token_id: str) -> Token:
        info = _tokens(request).revoke(token_id)
        log.info("token %s revoked by %s", token_id, caller.token_id)
        return _token(info)


class TempCredentialController(Controller):
    path = "/temp-credentials"
    tags = ["temporary credentials"]

    @post("/", sync_to_thread=True, status_code=201, summary="Create temporary S3 credentials")
    def create_temp_credential(
        self, request: Request[Any, Any, Any], caller: Principal, data: TempCredentialCreate
    ) -> TempCredential:
        parent = data.parent_access_key_id or caller.token_id
        request.app.state["buckets"].get(data.bucket)  # a bucket that does not exist: 404 NoSuchBucket
        issued = _tokens(request).temporary.issue(
            parent,
            data.bucket,
            data.permission,
            data.ttl_seconds,
            prefixes=tuple(data.prefixes),
            objects=tuple(data.objects),
        )
        log.info("temporary credential %s issued under %s", issued.access_key_id, parent)
        return _temp(issued)


# -- errors -----------------------------------------------------------------------------------------------

_STATUS: dict[type[AuthError], int] = {
    NotAuthenticated: 401,
    InvalidToken: 401,
    ExpiredToken: 401,
    AccessDenied: 403,
    NoSuchToken: 404,
    AuthInvalidArgument: 400,
}


def error_response(code: str, message: str, status: int) -> Response[dict[str, Any]]:
    return Response({"error": {"code": code, "message": message}}, status_code=status)


def _auth_error(_: Request[Any, Any, Any], exc: AuthError) -> Response[dict[str, Any]]:
    status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
    if isinstance(exc, ExpiredToken) and "parent" in exc.message:
        status = 400  # an expired parent is a bad argument, not the caller's own credentials
    return error_response(exc.code, exc.message, status)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return error_response("InvalidArgument", str(exc.detail), 400)
    return error_response("HTTPError", str(exc.detail), exc.status_code)


def _internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("admin API internal error: %s", type(exc).__name__)
    return error_response("InternalError", "We encountered an internal error. Please try again.", 500)


def admin_router() -> Router:
    return Router(
        path=API_PATH,
        route_handlers=[
            whoami,
            TokenController,
            TempCredentialController,
            admin_buckets.BucketController,
        ],
        dependencies={"caller": Provide(provide_admin, sync_to_thread=True)},
        exception_handlers={
            AuthError: _auth_error,
            HTTPException: _http_error,
            **admin_buckets.EXCEPTION_HANDLERS,
            Exception: _internal_error,
        },
    )


def install(services: Services) -> dict[str, Any]:
    """The app state the admin routes need."""
    return {
        "tokens": services.tokens,
        "s3_endpoint": services.settings.s3_endpoint,
        **admin_buckets.install(services),
    }
