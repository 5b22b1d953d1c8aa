"""R2's permission table: which token permission may perform which action on which bucket and key.

Three checks, one rule each; the S3 layer calls them for every operation (``objectstore.api.access``):

- ``authorize``: the permission table (admin/object, read/write) and the token's buckets;
- ``authorize_key``: the above, plus a temporary credential's scope for one object key;
- ``authorize_listing``: a listing's ``prefix`` must confine it to the scope (no listing outside it).
"""

from __future__ import annotations

from auth.service.errors import AccessDenied
from auth.service.principal import Action, Permission, Principal

_ADMIN_ONLY = {Action.LIST_BUCKETS, Action.READ_BUCKET_CONFIG, Action.READ_CATALOG}
_ADMIN_RW_ONLY = {
    Action.CREATE_BUCKET,
    Action.DELETE_BUCKET,
    Action.WRITE_BUCKET_CONFIG,
    Action.WRITE_CATALOG,
}
_WRITES = {Action.WRITE_OBJECT}


def permits(principal: Principal | None, action: Action, bucket: str | None) -> bool:
    if principal is None:
        return False
    permission = principal.permission
    if action in _ADMIN_RW_ONLY:
        allowed = permission is Permission.ADMIN_RW
    elif action in _ADMIN_ONLY:
        allowed = permission.is_admin
    elif action in _WRITES:
        allowed = permission.can_write
    else:
        allowed = True
    if allowed and bucket is not None:
        allowed = principal.may_access_bucket(bucket)
    return allowed


def authorize(principal: Principal | None, action: Action, bucket: str | None) -> None:
    """Raises AccessDenied unless ``principal`` may perform ``action`` (on ``bucket``)."""
    if not permits(principal, action, bucket):
        raise AccessDenied()


def permits_key(principal: Principal | None, action: Action, bucket: str, key: str) -> bool:
    if not permits(principal, action, bucket):
        return False
    assert principal is not None
    return principal.scope is None or principal.scope.allows_key(key)


def authorize_key(principal: Principal | None, action: Action, bucket: str, key: str) -> None:
    """``authorize`` for one object key: also refused when the key lies outside a temporary credential's scope."""
    if not permits_key(principal, action, bucket, key):
        raise AccessDenied()


def authorize_listing(principal: Principal | None, bucket: str, prefix: str) -> None:
    """A listing (objects or multipart uploads) is allowed only if every key it could return is in scope."""
    authorize(principal, Action.LIST_OBJECTS, bucket)
    assert principal is not None
    if principal.scope is not None and not principal.scope.allows_list_prefix(prefix):
        raise AccessDenied()
