"""R2's permission table: which token permission may perform which action on which bucket."""

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


def authorize(principal: Principal | None, action: Action, bucket: str | None) -> None:
    """Raises AccessDenied unless ``principal`` may perform ``action`` (on ``bucket``)."""
    if principal is None:
        raise AccessDenied()
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
    if not allowed:
        raise AccessDenied()
