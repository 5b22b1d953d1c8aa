"""The narrow interfaces the catalog needs from the rest of lakebox (object store, auth), wired in by the
composition package. Each has a trivial in-memory double in the test suite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from auth.service.principal import Principal


class MetadataFiles(Protocol):
    """In-process access to the object store for metadata files (never over HTTP)."""

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Stores the object; durable before returning."""

    def write_then(
        self, bucket: str, files: Sequence[tuple[str, bytes, str]], then: Callable[[Any], None] | None
    ) -> None:
        """Stores each (key, bytes, content type) durably, then runs ``then`` with the transaction that makes
        them visible (opaque here: the catalog repository's connection, or None where files live elsewhere).
        If ``then`` raises, none of the objects is left behind and the exception propagates."""

    def read(self, bucket: str, key: str) -> bytes:
        """Returns the object's bytes; raises ``objectstore.service.errors.NoSuchKey`` when absent."""

    def delete_keys(self, bucket: str, keys: Sequence[str]) -> None:
        """Deletes exactly these objects (absent ones are ignored); never a prefix."""

    def bucket_exists(self, bucket: str) -> bool: ...


class Authenticator(Protocol):
    def authenticate_bearer(self, token: str) -> Principal:
        """Verifies an API token value; raises ``auth.service.errors.InvalidToken``/``ExpiredToken``."""


class VendedCredentials(Protocol):
    """Temporary S3 credentials (auth's ``IssuedTemporaryCredential`` has this shape)."""

    @property
    def access_key_id(self) -> str: ...
    @property
    def secret_access_key(self) -> str: ...
    @property
    def session_token(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


class CredentialVendor(Protocol):
    def vend(self, principal: Principal, bucket: str, prefix: str, read_only: bool) -> VendedCredentials:
        """Temporary S3 credentials for ``bucket`` and key ``prefix`` only, never exceeding ``principal``."""
