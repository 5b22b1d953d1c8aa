"""``GET /v1/config`` and the OAuth2 token endpoint (client credentials: the client secret is a token
value)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, RawBody

from auth.service.errors import AuthError
from catalog.api.wire import Caller, json_response, service_of
from catalog.errors import CatalogError
from catalog.service.ports import Authenticator

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a token type name, not a secret


class ConfigController(Controller):
    path = "/v1"

    @get("/config", sync_to_thread=True)
    def get_config(
        self, request: Request[Any, Any, Any], principal: Caller, warehouse: FromQuery[str | None] = None
    ) -> Response[bytes]:
        service = service_of(request.app.state)
        bucket = service.resolve_config(principal, warehouse)
        lifetime = service.settings.idempotency_lifetime_s
        body = {
            "defaults": {},
            "overrides": {"prefix": bucket},
            "endpoints": request.app.state["catalog_endpoints"],
            "idempotency-key-lifetime": iso_duration(lifetime),
        }
        return json_response(body)


class OAuthController(Controller):
    path = "/v1/oauth"

    @post("/tokens", sync_to_thread=True, status_code=200)
    def get_token(self, request: Request[Any, Any, Any], body: RawBody) -> Response[bytes]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            secret = form.get("client_secret", "")
        elif grant == "urn:ietf:params:oauth:grant-type:token-exchange":
            secret = form.get("subject_token", "")
        else:
            return _oauth_error("unsupported_grant_type", f"Unsupported grant_type: {grant!r}", 400)
        if not secret:
            return _oauth_error("invalid_request", "client_secret is required", 400)
        authenticator: Authenticator = request.app.state["catalog_authenticator"]
        try:
            principal = authenticator.authenticate_bearer(secret)
            service_of(request.app.state).authorize_token(principal)
        except (AuthError, CatalogError) as exc:
            return _oauth_error("invalid_client", getattr(exc, "message", "invalid client"), 401)
        token: dict[str, Any] = {
            "access_token": secret,
            "token_type": "bearer",
            "issued_token_type": ACCESS_TOKEN_TYPE,
        }
        if principal.expires_at is not None:
            token["expires_in"] = max(0, int((principal.expires_at - datetime.now(UTC)).total_seconds()))
        return json_response(token)


def iso_duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"PT{seconds // 3600}H"
    if seconds % 60 == 0:
        return f"PT{seconds // 60}M"
    return f"PT{seconds}S"


def _oauth_error(error: str, description: str, status: int) -> Response[bytes]:
    return json_response({"error": error, "error_description": description}, status)
