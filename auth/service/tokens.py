"""API tokens the R2 way: access key id = token id, secret access key = SHA-256 hex of the token value."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from auth.service.errors import ExpiredToken, InvalidAccessKeyId, InvalidToken
from auth.service.principal import Permission, Principal
from auth.service.secretbox import SecretBox
from auth.store.tables import ApiToken
from lakebox.db import Database

_tokens = ApiToken.__table__  # type: ignore[attr-defined]


def secret_access_key_for(token_value: str) -> str:
    return hashlib.sha256(token_value.encode()).hexdigest()


def _secret_hash(secret_access_key: str) -> str:
    return hashlib.sha256(secret_access_key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token as shown once to its creator."""

    id: str
    name: str
    token: str
    access_key_id: str
    secret_access_key: str
    permission: Permission
    buckets: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class S3Identity:
    principal: Principal
    secret_access_key: str


class TokenService:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    def create(
        self,
        permission: Permission,
        *,
        name: str = "",
        buckets: tuple[str, ...] = (),
        ttl_seconds: int | None = None,
        token_value: str | None = None,
        token_id: str | None = None,
    ) -> IssuedToken:
        value = token_value or secrets.token_urlsafe(30)
        tid = token_id or secrets.token_hex(16)
        secret = secret_access_key_for(value)
        now = time.time()
        expires = now + ttl_seconds if ttl_seconds else None
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
            expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
        )

    def s3_identity(self, access_key_id: str) -> S3Identity:
        """The principal and secret behind an access key id (SigV4 needs the secret to recompute the signature)."""
        with self._db.read() as conn:
            row = conn.execute(select(_tokens).where(_tokens.c.id == access_key_id)).first()
        if row is None or row.revoked_at is not None:
            raise InvalidAccessKeyId()
        if row.expires_at is not None and row.expires_at <= time.time():
            raise ExpiredToken()
        return S3Identity(_principal(row), self._box.open(row.secret_enc, row.id))

    def authenticate_bearer(self, token_value: str) -> Principal:
        digest = _secret_hash(secret_access_key_for(token_value))
        with self._db.read() as conn:
            row = conn.execute(select(_tokens).where(_tokens.c.secret_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.secret_hash, digest) or row.revoked_at is not None:
            raise InvalidToken()
        if row.expires_at is not None and row.expires_at <= time.time():
            raise ExpiredToken()
        return _principal(row)

    def count(self) -> int:
        with self._db.read() as conn:
            return len(conn.execute(select(_tokens.c.id)).all())


def _principal(row: Any) -> Principal:
    return Principal(
        token_id=row.id,
        permission=Permission(row.permission),
        buckets=tuple(json.loads(row.buckets or "[]")),
        expires_at=datetime.fromtimestamp(row.expires_at, UTC) if row.expires_at else None,
    )
