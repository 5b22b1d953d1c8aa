"""Who is calling, and what R2's permission model lets them do."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime


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


def _nfc(text: str) -> str:
    """Keys are compared as the object store identifies them: NFC-normalised."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


@dataclass(frozen=True, slots=True)
class Scope:
    """Limits of a temporary credential: one bucket, optionally some key prefixes and/or exact object keys.

    No prefixes and no objects means the whole bucket. Every key an operation touches must lie inside the scope
    (``allows_key``); a listing is allowed only when every key it could return does (``allows_list_prefix``).
    """

    bucket: str
    prefixes: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()

    @property
    def unrestricted_in_bucket(self) -> bool:
        return not self.prefixes and not self.objects

    def allows_key(self, key: str) -> bool:
        if self.unrestricted_in_bucket:
            return True
        key = _nfc(key)
        return any(key == _nfc(o) for o in self.objects) or any(
            key.startswith(_nfc(p)) for p in self.prefixes
        )

    def allows_list_prefix(self, prefix: str) -> bool:
        if self.unrestricted_in_bucket:
            return True
        prefix = _nfc(prefix)
        return any(prefix.startswith(_nfc(p)) for p in self.prefixes)


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

    @property
    def is_temporary(self) -> bool:
        return self.parent_token_id is not None

    @property
    def key_restricted(self) -> bool:
        """True when only some keys of the bucket are allowed (a temporary credential with prefixes/objects)."""
        return self.scope is not None and not self.scope.unrestricted_in_bucket

    def may_access_bucket(self, bucket: str) -> bool:
        if self.scope is not None and self.scope.bucket != bucket:
            return False
        return not self.buckets or bucket in self.buckets


@dataclass(frozen=True, slots=True)
class S3Identity:
    """What SigV4 verification needs for an access key id: the principal and its secret access key."""

    principal: Principal
    secret_access_key: str = field(repr=False)


def when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
