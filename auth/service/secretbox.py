"""Encryption at rest for secret material, under one key kept in the data directory (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "secret.key"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

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
        return self._aead.decrypt(sealed[:12], sealed[12:], context.encode()).decode()
