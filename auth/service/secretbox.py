"""Encryption at rest for secret material, under one key kept in the data directory (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "secret.key"
# Opened secrets are kept per process (every request of a key needs its secret to check the signature); the
# sealed bytes are the cache key, so a rotated or re-issued secret is never served stale.
_OPENED_MAX = 4096


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._opened: dict[tuple[bytes, str], str] = {}

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> SecretBox:
        """Loads the key, creating it atomically on first use (safe when several processes race)."""
        path = data_dir / KEY_FILE
        if not path.exists():
            tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_bytes(32))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # fails if another process won the race; then we use theirs
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return cls(path.read_bytes())

    def seal(self, plaintext: str, context: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        cached = self._opened.get((sealed, context))
        if cached is not None:
            return cached
        plaintext = self._aead.decrypt(sealed[:12], sealed[12:], context.encode()).decode()
        if len(self._opened) >= _OPENED_MAX:
            self._opened.clear()
        self._opened[(bytes(sealed), context)] = plaintext
        return plaintext
