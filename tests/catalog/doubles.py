"""Trivial in-memory doubles of the catalog's ports (object store files, token authenticator, credential vendor)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auth.service.errors import ExpiredToken, InvalidToken
from auth.service.principal import Permission, Principal
from objectstore.service.errors import NoSuchBucket, NoSuchKey


class MemoryFiles:
    def __init__(self, *buckets: str) -> None:
        self.buckets: dict[str, dict[str, bytes]] = {b: {} for b in buckets}
        self.content_types: dict[tuple[str, str], str] = {}
        self.fail_writes = False
        self._lock = threading.Lock()

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        if self.fail_writes:
            raise OSError("disk full")
        with self._lock:
            if bucket not in self.buckets:
                raise NoSuchBucket()
            self.buckets[bucket][key] = data
            self.content_types[(bucket, key)] = content_type

    def write_then(
        self, bucket: str, files: Sequence[tuple[str, bytes, str]], then: Callable[[Any], None] | None
    ) -> None:
        for key, data, content_type in files:
            self.write(bucket, key, data, content_type)
        try:
            if then is not None:
                then(None)
        except BaseException:
            self.delete_keys(bucket, [key for key, _, _ in files])
            raise

    def read(self, bucket: str, key: str) -> bytes:
        with self._lock:
            try:
                return self.buckets[bucket][key]
            except KeyError:
                raise NoSuchKey() from None

    def delete_keys(self, bucket: str, keys: Sequence[str]) -> None:
        with self._lock:
            for k in keys:
                self.buckets.get(bucket, {}).pop(k, None)

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.buckets

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(k for k in self.buckets[bucket] if k.startswith(prefix))


class StaticAuthenticator:
    """Token value -> principal; ``expired`` tokens raise ExpiredToken."""

    def __init__(self, tokens: dict[str, Principal], expired: set[str] | None = None) -> None:
        self.tokens = tokens
        self.expired = expired or set()

    def authenticate_bearer(self, token: str) -> Principal:
        if token in self.expired:
            raise ExpiredToken()
        try:
            return self.tokens[token]
        except KeyError:
            raise InvalidToken() from None


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: datetime


class RecordingVendor:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, bool]] = []

    def vend(self, principal: Principal, bucket: str, prefix: str, read_only: bool) -> Credentials:
        self.calls.append((principal.token_id, bucket, prefix, read_only))
        n = len(self.calls)
        return Credentials(
            access_key_id=f"TMPKEY{n}",
            secret_access_key=f"tmpsecret{n}",
            session_token=f"session{n}",
            expires_at=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
        )


ADMIN_RW = Principal("tok-rw", Permission.ADMIN_RW)
ADMIN_RO = Principal("tok-ro", Permission.ADMIN_RO)
OBJECT_RW = Principal("tok-obj", Permission.OBJECT_RW)
TOKENS = {"rw-token": ADMIN_RW, "ro-token": ADMIN_RO, "obj-token": OBJECT_RW}
