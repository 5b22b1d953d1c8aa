"""Master keys of encryption at rest, kept outside the database.

A keyring is a list of 32-byte AES keys; the last is current (new blobs and metadata are sealed under it), the
others stay for reading what was written before a rotation. A key's id is an HMAC of a constant under it, so it
names the key without revealing it, and a wrong key cannot pass for the right one. Where the keys come from, first
match wins:

1. ``LAKEBOX_MASTER_KEY``: base64 keys separated by commas or white space (for containers and secret stores);
2. ``--master-key-file`` / ``LAKEBOX_MASTER_KEY_FILE``: a key file kept apart from the data (never created);
3. ``<data-dir>/master.key``: created with mode 0600 on first start.

A key file holds one base64 key a line (``#`` comments allowed), the current one last.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY_FILE = "master.key"
ENV_KEYS = "LAKEBOX_MASTER_KEY"
KEY_BYTES = 32
_ID_LABEL = b"lakebox master key id v1"
_CHECK_LABEL = b"lakebox master key check v1"


class KeyringError(Exception):
    """The master keys cannot be had, or do not match the data (the message is one line, for the operator)."""


@dataclass(frozen=True, slots=True)
class MasterKey:
    key: bytes
    # Computed once: every read of sealed metadata looks its key up by id.
    key_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id", hmac.digest(self.key, _ID_LABEL, "sha256")[:8].hex())

    def check_value(self) -> str:
        """What the database keeps to recognise the key at start: an HMAC of a constant, never the key."""
        return base64.b64encode(hmac.digest(self.key, _CHECK_LABEL, "sha256")).decode()

    def __repr__(self) -> str:  # never print the key
        return f"MasterKey({self.key_id})"


def new_key() -> MasterKey:
    return MasterKey(secrets.token_bytes(KEY_BYTES))


def parse_keys(text: str, source: str) -> list[MasterKey]:
    """The keys of a key file's text or of ``LAKEBOX_MASTER_KEY`` (in order, current last)."""
    keys = []
    for line in text.splitlines():
        for word in re.split(r"[\s,]+", line.split("#", 1)[0].strip()):
            if not word:
                continue
            try:
                key = base64.b64decode(word, validate=True)
            except (ValueError, binascii.Error):
                key = b""
            if len(key) != KEY_BYTES:
                raise KeyringError(f"{source}: every master key must be {KEY_BYTES} bytes in base64")
            keys.append(MasterKey(key))
    if not keys:
        raise KeyringError(f"{source}: holds no master key")
    return keys


def format_keys(keys: Iterable[MasterKey]) -> str:
    lines = ["# lakebox master keys (base64), the current one last; keep this file secret and backed up"]
    lines += [f"{base64.b64encode(k.key).decode()}  # {k.key_id}" for k in keys]
    return "\n".join(lines) + "\n"


def write_key_file(path: Path, keys: Iterable[MasterKey], *, replace: bool) -> None:
    """Writes a key file atomically (mode 0600); without ``replace`` it fails if one appeared meanwhile."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, format_keys(keys).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another process created it first; then theirs is used
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Keyring:
    def __init__(self, keys: list[MasterKey], source: str) -> None:
        self.keys = {k.key_id: k for k in keys}
        self.current = keys[-1]
        self.source = source

    def get(self, key_id: str) -> MasterKey:
        key = self.keys.get(key_id)
        if key is None:
            raise KeyringError(f"master key {key_id} is not in the keyring ({self.source})")
        return key

    @classmethod
    def load(
        cls, data_dir: Path, key_file: Path | None, env: Mapping[str, str], *, create: bool = False
    ) -> Keyring:
        """The keyring from the first source that is set; ``create`` makes ``<data-dir>/master.key`` if none is."""
        raw = env.get(ENV_KEYS)
        if raw is not None:
            return cls(parse_keys(raw, ENV_KEYS), ENV_KEYS)
        path = key_file if key_file is not None else data_dir / KEY_FILE
        if not path.exists() and key_file is None and create:
            with contextlib.suppress(FileExistsError):  # another process won the race: use its key
                write_key_file(path, [new_key()], replace=False)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise KeyringError(f"master key file {path} is missing") from None
        except OSError as exc:
            raise KeyringError(f"master key file {path} cannot be read: {exc.strerror}") from None
        return cls(parse_keys(text, str(path)), str(path))


def key_file_path(data_dir: Path, key_file: Path | None) -> Path:
    return key_file if key_file is not None else data_dir / KEY_FILE
