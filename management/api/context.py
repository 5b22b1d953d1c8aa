"""What every management route needs: the services, the installation's account id, and the caller.

The caller is the bearer token (an API token value); R2's permission groups decide the rest: Admin Read only
lists buckets and reads every configuration, every change needs Admin Read & Write, object tokens reach only
the objects of their buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from auth.service.authorize import permits, permits_key
from auth.service.errors import AuthError
from auth.service.principal import Action, Principal
from auth.service.tokens import TokenService
from management.service.bucket_config import R2BucketConfig
from management.service.buckets import R2Buckets, check_jurisdiction
from management.service.errors import Forbidden, NoSuchAccount, NotAuthenticated
from management.service.maintenance import R2Maintenance
from management.service.objects import R2Objects
from management.service.tokens import R2Tokens
from objectstore.service.locks import LockService


@dataclass(frozen=True, slots=True)
class Management:
    account_id: str
    account_name: str
    tokens: TokenService
    buckets: R2Buckets
    config: R2BucketConfig
    objects: R2Objects
    r2_tokens: R2Tokens
    locks: LockService
    maintenance: R2Maintenance


def management(request: Request[Any, Any, Any]) -> Management:
    found: Management = request.app.state["management"]
    return found


def authenticate(request: Request[Any, Any, Any]) -> Principal:
    """The bearer token's principal; 401 (Cloudflare code 10000) without a valid, unexpired token."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated()
    try:
        return management(request).tokens.authenticate_bearer(value.strip())
    except AuthError:
        raise NotAuthenticated() from None


def require(principal: Principal, action: Action, bucket: str | None = None) -> None:
    """403 (code 10000) unless R2's permission table lets the token do ``action`` (on ``bucket``)."""
    if principal.is_temporary or not permits(principal, action, bucket):
        raise Forbidden()


def require_key(principal: Principal, action: Action, bucket: str, key: str) -> None:
    if principal.is_temporary or not permits_key(principal, action, bucket, key):
        raise Forbidden()


def check_account(request: Request[Any, Any, Any], account_id: str) -> Management:
    """The installation's services for a route under ``/accounts/{account_id}``, in the default jurisdiction
    (the only one lakebox has: a ``cf-r2-jurisdiction`` naming another answers 501 on every route)."""
    found = management(request)
    if account_id != found.account_id:
        raise NoSuchAccount(
            f"Could not route to {request.url.path}, perhaps your object identifier is invalid?"
        )
    check_jurisdiction(request.headers.get("cf-r2-jurisdiction"))
    return found


def authorize(
    request: Request[Any, Any, Any],
    account_id: str,
    caller: Principal,
    action: Action,
    bucket: str | None = None,
) -> Management:
    """``check_account`` then ``require``: a route under another account is 404 whatever the token may do."""
    found = check_account(request, account_id)
    require(caller, action, bucket)
    return found
