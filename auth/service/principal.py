"""Who is calling, and what R2's permission model lets them do."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Permission(enum.StrEnum):
    """R2's API token permissions (names as on the CLI and in the admin API)."""

    ADMIN_RW = "admin-rw"
    ADMIN_RO = "admin-ro"
    OBJECT_RW = "object-rw"
    OBJECT_RO = "object-ro"

    @property
    def is_admin(self) -> bool:
        return self in (Permission.ADMIN_RW, Permission.ADMIN_RO)

    @property
    def can_write(self) -> bool:
        return self in (Permission.ADMIN_RW, Permission.OBJECT_RW)


class Action(enum.Enum):
    """What an operation needs, as R2's permission table distinguishes it."""

    LIST_BUCKETS = "list-buckets"
    CREATE_BUCKET = "create-bucket"
    DELETE_BUCKET = "delete-bucket"
    READ_BUCKET_CONFIG = "read-bucket-config"
    WRITE_BUCKET_CONFIG = "write-bucket-config"
    READ_OBJECT = "read-object"
    WRITE_OBJECT = "write-object"
    LIST_OBJECTS = "list-objects"
    READ_CATALOG = "read-catalog"
    WRITE_CATALOG = "write-catalog"


@dataclass(frozen=True, slots=True)
class Scope:
    """Limits of a temporary credential: one bucket, optionally some prefixes and/or exact object keys."""

    bucket: str
    prefixes: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()

    @property
    def unrestricted_in_bucket(self) -> bool:
        return not self.prefixes and not self.objects

    def allows_key(self, key: str) -> bool:
        if self.unrestricted_in_bucket:
            return True
        return key in self.objects or any(key.startswith(p) for p in self.prefixes)

    def allows_list_prefix(self, prefix: str) -> bool:
        """A listing is allowed only when every key it could return lies inside the scope."""
        if self.unrestricted_in_bucket:
            return True
        return any(prefix.startswith(p) for p in self.prefixes)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a token (or a temporary credential derived from one)."""

    token_id: str
    permission: Permission
    buckets: tuple[str, ...] = ()  # empty: every bucket (object permissions may be scoped to some)
    scope: Scope | None = None  # set for temporary credentials
    expires_at: datetime | None = None
    parent_token_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def may_access_bucket(self, bucket: str) -> bool:
        if self.scope is not None and self.scope.bucket != bucket:
            return False
        return not self.buckets or bucket in self.buckets
