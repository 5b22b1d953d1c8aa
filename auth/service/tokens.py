"""API tokens the R2 way: access key id = token id, secret access key = SHA-256 hex of the token value.

Nothing is cached: every request reads the token's row, so a revocation or an expiry is seen by the next request
on every worker and node (one indexed primary-key read per request; see ``bench``/the report for its cost). The
database holds the secret access key only encrypted (``secret_enc``, for SigV4) and a one-way hash of it
(``secret_hash``, to find a token from a bearer value); the token value itself is never stored.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Connection

from auth.service.errors import (
    AccessDenied,
    AuthInvalidArgument,
    ExpiredToken,
    InvalidAccessKeyId,
    InvalidToken,
    NoSuchToken,
)
from auth.service.principal import Permission, Principal, S3Identity, when
from auth.service.secretbox import SecretBox
from auth.service.temporary import TemporaryCredentials, check_bucket
from auth.store.tables import ApiToken, TempCredential
from infra.db import Database

_tokens = ApiToken.__table__  # type: ignore[attr-defined]
_temps = TempCredential.__table__  # type: ignore[attr-defined]
MAX_NAME = 256
MAX_BUCKETS = 1000
MAX_TTL = 100 * 366 * 86400


def secret_access_key_for(token_value: str) -> str:
    return hashlib.sha256(token_value.encode()).hexdigest()


def _secret_hash(secret_access_key: str) -> str:
    return hashlib.sha256(secret_access_key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token as shown once to its creator."""

    id: str
    name: str
    token: str = field(repr=False)
    access_key_id: str
    secret_access_key: str = field(repr=False)
    permission: Permission
    buckets: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never any secret material."""

    id: str
    name: str
    permission: Permission
    buckets: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at.timestamp() <= time.time():
            return "expired"
        return "active"


def check_buckets(buckets: tuple[str, ...]) -> tuple[str, ...]:
    if len(buckets) > MAX_BUCKETS:
        raise AuthInvalidArgument(f"At most {MAX_BUCKETS} buckets per token")
    for name in buckets:
        check_bucket(name)
    return tuple(dict.fromkeys(buckets))


class TokenService:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self.temporary = TemporaryCredentials(db, box)
        self._by_id = db.prepare(_BY_ID)
        self._by_secret_hash = db.prepare(_BY_SECRET_HASH)

    # -- administration -------------------------------------------------------------------------------

    def create(
        self,
        permission: Permission,
        *,
        name: str = "",
        buckets: tuple[str, ...] = (),
        ttl_seconds: int | None = None,
        expires_at: datetime | None = None,
        token_value: str | None = None,
        token_id: str | None = None,
    ) -> IssuedToken:
        """A new token; ``buckets`` limits an object permission to those buckets (admin tokens cover all)."""
        if len(name) > MAX_NAME:
            raise AuthInvalidArgument(f"The name is longer than {MAX_NAME} characters")
        buckets = check_buckets(buckets)
        if buckets and permission.is_admin:
            raise AuthInvalidArgument("Admin tokens cover every bucket; buckets apply to object permissions")
        now = time.time()
        if ttl_seconds is not None and expires_at is not None:
            raise AuthInvalidArgument("Give a TTL or an expiry, not both")
        if ttl_seconds is not None and not 0 < ttl_seconds <= MAX_TTL:
            raise AuthInvalidArgument(f"The TTL must be between 1 and {MAX_TTL} seconds")
        expires = now + ttl_seconds if ttl_seconds else expires_at.timestamp() if expires_at else None
        if expires is not None and expires <= now:
            raise AuthInvalidArgument("The expiry is in the past")
        value = token_value or secrets.token_urlsafe(30)
        tid = token_id or secrets.token_hex(16)
        secret = secret_access_key_for(value)
        row = ApiToken(
            id=tid,
            name=name,
            permission=permission.value,
            buckets=json.dumps(list(buckets)),
            secret_hash=_secret_hash(secret),
            secret_enc=self._box.seal(secret, tid),
            created_at=now,
            expires_at=expires,
        )
        with self._db.write() as conn:
            conn.execute(_tokens.insert().values(**row.model_dump()))
        return IssuedToken(
            id=tid,
            name=name,
            token=value,
            access_key_id=tid,
            secret_access_key=secret,
            permission=permission,
            buckets=buckets,
            expires_at=when(expires),
        )

    def list(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        query = select(_tokens).order_by(_tokens.c.created_at, _tokens.c.id)
        if not include_revoked:
            query = query.where(_tokens.c.revoked_at.is_(None))
        with self._db.read() as conn:
            return [_info(row) for row in conn.execute(query)]

    def get(self, token_id: str) -> TokenInfo:
        with self._db.read() as conn:
            row = conn.execute(select(_tokens).where(_tokens.c.id == token_id)).first()
        if row is None:
            raise NoSuchToken()
        return _info(row)

    def revoke(self, token_id: str) -> TokenInfo:
        """Revokes a token and every temporary credential derived from it; idempotent. The last active Admin
        Read & Write token cannot be revoked (nobody could administer the server any more)."""
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute(select(_tokens).where(_tokens.c.id == token_id)).first()
            if row is None:
                raise NoSuchToken()
            if row.revoked_at is None:
                if row.permission == Permission.ADMIN_RW.value and not self._other_admins(
                    conn, token_id, now
                ):
                    raise AccessDenied("The last active Admin Read & Write token cannot be revoked")
                conn.execute(update(_tokens).where(_tokens.c.id == token_id).values(revoked_at=now))
            conn.execute(_temps.delete().where(_temps.c.parent_id == token_id))
            row = conn.execute(select(_tokens).where(_tokens.c.id == token_id)).one()
        return _info(row)

    @staticmethod
    def _other_admins(conn: Connection, token_id: str, now: float) -> int:
        """Active Admin Read & Write tokens besides ``token_id``, locked (two concurrent revocations of the last
        two admins cannot both succeed on PostgreSQL; SQLite's writer lock already serialises them)."""
        query = (
            select(_tokens.c.id)
            .where(
                _tokens.c.permission == Permission.ADMIN_RW.value,
                _tokens.c.revoked_at.is_(None),
                or_(_tokens.c.expires_at.is_(None), _tokens.c.expires_at > now),
            )
            .with_for_update()
        )
        return sum(1 for row in conn.execute(query) if row.id != token_id)

    def count(self) -> int:
        with self._db.read() as conn:
            return len(conn.execute(select(_tokens.c.id)).all())

    # -- authentication -------------------------------------------------------------------------------

    def s3_identity(self, access_key_id: str, session_token: str | None = None) -> S3Identity:
        """The principal and secret behind an access key id (SigV4 needs the secret to recompute the signature).

        With a session token the key must be a temporary credential whose token matches; a temporary key without
        its session token is unknown (InvalidAccessKeyId), as on AWS.
        """
        if session_token is not None:
            return self.temporary.s3_identity(access_key_id, session_token)
        row = self._by_id.first({"id_": access_key_id})
        if row is None or row.revoked_at is not None:
            raise InvalidAccessKeyId()
        if row.expires_at is not None and row.expires_at <= time.time():
            raise ExpiredToken()
        return S3Identity(_principal(row), self._box.open(row.secret_enc, row.id))

    def authenticate_bearer(self, token_value: str) -> Principal:
        """The principal of an API token value (the catalog's and the admin API's bearer token)."""
        digest = _secret_hash(secret_access_key_for(token_value))
        row = self._by_secret_hash.first({"digest_": digest})
        if row is None or not hmac.compare_digest(row.secret_hash, digest) or row.revoked_at is not None:
            raise InvalidToken()
        if row.expires_at is not None and row.expires_at <= time.time():
            raise ExpiredToken()
        return _principal(row)


# Built once: statement construction costs more than executing these one-row lookups.
_BY_ID = select(_tokens).where(_tokens.c.id == bindparam("id_"))
_BY_SECRET_HASH = select(_tokens).where(_tokens.c.secret_hash == bindparam("digest_"))


def _principal(row: Any) -> Principal:
    return _principal_of(row.id, row.permission, row.buckets, row.expires_at)


@functools.lru_cache(maxsize=1024)
def _principal_of(token_id: str, permission: str, buckets: str | None, expires_at: float | None) -> Principal:
    """Principals are immutable values of these columns: built once per distinct row, not per request."""
    return Principal(
        token_id=token_id,
        permission=Permission(permission),
        buckets=tuple(json.loads(buckets or "[]")),
        expires_at=when(expires_at),
    )


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        permission=Permission(row.permission),
        buckets=tuple(json.loads(row.buckets or "[]")),
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        expires_at=when(row.expires_at),
        revoked_at=when(row.revoked_at),
    )
