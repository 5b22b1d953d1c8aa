"""Temporary credentials, like R2's temp-access-credentials: a parent token, one bucket, optional key prefixes
and object keys, a permission (object read-only or read-write) and a TTL.

A temporary credential never exceeds its parent: its permission is at most the parent's (read-write needs a
writing parent), its bucket must be one of the parent's, and it expires no later than the parent. It dies with
the parent: every lookup joins the parent's row, so revoking or expiring the parent ends it on the next request
on every node. The session token is random and stored only as a SHA-256 hash; the secret access key is stored
encrypted (SigV4 needs it). Both are returned once, at issue.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from auth.service.errors import (
    AccessDenied,
    AuthInvalidArgument,
    ExpiredToken,
    InvalidAccessKeyId,
    InvalidToken,
    NoSuchToken,
)
from auth.service.principal import Permission, Principal, S3Identity, Scope, when
from auth.service.secretbox import SecretBox
from auth.store.tables import ApiToken, TempCredential
from infra.db import Database

_tokens = ApiToken.__table__  # type: ignore[attr-defined]
_temps = TempCredential.__table__  # type: ignore[attr-defined]
# A bucket a token may name: any name a bucket could have (one that does not exist is simply never reached).
_BUCKET = re.compile(r"^[A-Za-z0-9._-]{1,63}$")
MIN_TTL = 1
MAX_TTL = 7 * 24 * 3600
DEFAULT_TTL = 3600
MAX_ENTRIES = 100  # prefixes and object keys each
MAX_KEY_BYTES = 1024
GRACE = 24 * 3600  # expired rows are swept this long after their expiry
_SECRET_ALPHABET = string.ascii_letters + string.digits


class TempPermission(enum.StrEnum):
    """R2's names for a temporary credential's permission."""

    READ_ONLY = "object-read-only"
    READ_WRITE = "object-read-write"

    @property
    def permission(self) -> Permission:
        return Permission.OBJECT_RW if self is TempPermission.READ_WRITE else Permission.OBJECT_RO


@dataclass(frozen=True, slots=True)
class IssuedTemporaryCredential:
    """A new temporary credential as shown once to its creator (use as AWS_ACCESS_KEY_ID/..._SECRET.../..._SESSION_TOKEN)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: datetime
    parent_access_key_id: str
    bucket: str
    prefixes: tuple[str, ...]
    objects: tuple[str, ...]
    permission: TempPermission


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_bucket(name: str) -> str:
    if not _BUCKET.match(name):
        raise AuthInvalidArgument(f"Invalid bucket name: {name!r}")
    return name


def _check_keys(kind: str, values: tuple[str, ...]) -> tuple[str, ...]:
    if len(values) > MAX_ENTRIES:
        raise AuthInvalidArgument(f"At most {MAX_ENTRIES} {kind}")
    for value in values:
        if not isinstance(value, str) or len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise AuthInvalidArgument(f"Invalid {kind[:-1]}: {str(value)[:64]!r}")
    return tuple(dict.fromkeys(values))


class TemporaryCredentials:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    def issue(
        self,
        parent_access_key_id: str,
        bucket: str,
        permission: TempPermission,
        ttl_seconds: int = DEFAULT_TTL,
        *,
        prefixes: tuple[str, ...] = (),
        objects: tuple[str, ...] = (),
    ) -> IssuedTemporaryCredential:
        """Issues a credential for ``bucket`` (restricted to ``prefixes``/``objects`` when given)."""
        check_bucket(bucket)
        if not MIN_TTL <= ttl_seconds <= MAX_TTL:
            raise AuthInvalidArgument(f"The TTL must be between {MIN_TTL} and {MAX_TTL} seconds")
        prefixes = _check_keys("prefixes", prefixes)
        objects = _check_keys("objects", objects)
        now = time.time()
        with self._db.write() as conn:
            parent = conn.execute(select(_tokens).where(_tokens.c.id == parent_access_key_id)).first()
            if parent is None or parent.revoked_at is not None:
                raise NoSuchToken("The parent access key does not exist or is revoked")
            if parent.expires_at is not None and parent.expires_at <= now:
                raise ExpiredToken("The parent access key has expired")
            parent_permission = Permission(parent.permission)
            if permission is TempPermission.READ_WRITE and not parent_permission.can_write:
                raise AccessDenied("A temporary credential cannot have a higher permission than its parent")
            parent_buckets = json.loads(parent.buckets or "[]")
            if parent_buckets and bucket not in parent_buckets:
                raise AccessDenied(f"The parent access key may not access the bucket {bucket!r}")
            expires = now + ttl_seconds
            if parent.expires_at is not None:
                expires = min(expires, parent.expires_at)
            access_key_id = secrets.token_hex(16)
            secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
            session_token = secrets.token_urlsafe(64)
            conn.execute(
                _temps.insert().values(
                    id=access_key_id,
                    parent_id=parent.id,
                    permission=permission.value,
                    bucket=bucket,
                    prefixes=json.dumps(list(prefixes)),
                    objects=json.dumps(list(objects)),
                    secret_enc=self._box.seal(secret, access_key_id),
                    session_token_hash=_hash(session_token),
                    created_at=now,
                    expires_at=expires,
                )
            )
            conn.execute(_temps.delete().where(_temps.c.expires_at < now - GRACE))
        expires_at = when(expires)
        assert expires_at is not None
        return IssuedTemporaryCredential(
            access_key_id=access_key_id,
            secret_access_key=secret,
            session_token=session_token,
            expires_at=expires_at,
            parent_access_key_id=parent.id,
            bucket=bucket,
            prefixes=prefixes,
            objects=objects,
            permission=permission,
        )

    def vend(
        self, principal: Principal, bucket: str, prefix: str, read_only: bool
    ) -> IssuedTemporaryCredential:
        """Credentials for the catalog to hand out with a table: ``bucket``, keys under ``prefix`` only.

        ``prefix`` is a key prefix (a table location without ``s3://bucket/``); a trailing ``/`` is added so
        that table ``t`` does not reach table ``t2``. Read-write only when asked and the principal can write.
        """
        if principal.is_temporary:
            raise AccessDenied("Temporary credentials cannot issue temporary credentials")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        writable = not read_only and principal.permission.can_write
        permission = TempPermission.READ_WRITE if writable else TempPermission.READ_ONLY
        return self.issue(principal.token_id, bucket, permission, prefixes=(prefix,) if prefix else ())

    def s3_identity(self, access_key_id: str, session_token: str) -> S3Identity:
        """Verifies a temporary access key and its session token, and that its parent is still valid."""
        with self._db.read() as conn:
            row = conn.execute(_WITH_PARENT, {"id_": access_key_id}).first()
            if row is None:
                is_token = conn.execute(select(_tokens.c.id).where(_tokens.c.id == access_key_id)).first()
                # A session token sent with a long-lived key is an invalid token; an unknown key is unknown.
                raise InvalidToken() if is_token is not None else InvalidAccessKeyId()
        if not hmac.compare_digest(row.session_token_hash, _hash(session_token)):
            raise InvalidToken()
        if row.parent_revoked_at is not None:
            raise InvalidAccessKeyId()
        now = time.time()
        if row.expires_at <= now or (row.parent_expires_at is not None and row.parent_expires_at <= now):
            raise ExpiredToken()
        return S3Identity(_principal(row), self._box.open(row.secret_enc, row.id))


# A temporary credential with its parent token's state, in one statement (built once).
_WITH_PARENT = (
    select(_temps, _tokens.c.permission.label("parent_permission"))
    .add_columns(
        _tokens.c.buckets.label("parent_buckets"),
        _tokens.c.revoked_at.label("parent_revoked_at"),
        _tokens.c.expires_at.label("parent_expires_at"),
    )
    .join(_tokens, _tokens.c.id == _temps.c.parent_id)
    .where(_temps.c.id == bindparam("id_"))
)


def _principal(row: Any) -> Principal:
    parent_permission = Permission(row.parent_permission)
    parent_buckets = json.loads(row.parent_buckets or "[]")
    if parent_buckets and row.bucket not in parent_buckets:
        raise AccessDenied()
    writable = TempPermission(row.permission) is TempPermission.READ_WRITE and parent_permission.can_write
    return Principal(
        token_id=row.id,
        permission=Permission.OBJECT_RW if writable else Permission.OBJECT_RO,
        buckets=(row.bucket,),
        scope=Scope(row.bucket, tuple(json.loads(row.prefixes)), tuple(json.loads(row.objects))),
        expires_at=when(row.expires_at),
        parent_token_id=row.parent_id,
    )
