"""Encryption at rest: per-blob data keys and sealed metadata, under the keyring's master keys.

Every blob gets a random salt; its data key is HKDF-SHA256 of the current master key (and, for an SSE-C object,
the customer's key too: both are needed to read it, and the bytes are encrypted once). The row that names the blob
records ``<master key id>:<salt>`` (``blob_key``), so a hard-linked copy is the same file under the same key, and
the file itself is nothing but sealed segments (``objectstore.service.segments``), which keeps large blobs
aligned for ``O_DIRECT``. A row without ``blob_key`` was written by an older lakebox, or with encryption off:
its blob is plaintext, or for SSE-C keyed by the customer's key and the blob id alone.

Metadata that reveals content (content headers and user metadata) is sealed into one value with AES-256-GCM under
a key derived from the master key, bound to the row it belongs to (bucket and key, or the upload id). Key names
stay readable: listings are ordered range scans of the index.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from objectstore.service.errors import StoreError
from objectstore.service.keyring import Keyring, KeyringError, MasterKey
from objectstore.service.segments import ChunkPool
from objectstore.service.sse import CustomerKey
from objectstore.store.master_keys import MasterKeyRepository

ALGORITHM = "AES256"  # what x-amz-server-side-encryption says of objects encrypted at rest
SEALED_PREFIX = "lbx1:"  # a sealed metadata value: lbx1:<master key id>:<base64 nonce + ciphertext>
_BLOB_INFO = b"lakebox blob v1"
_BLOB_SSE_C_INFO = b"lakebox blob sse-c v1"
_META_INFO = b"lakebox metadata v1"
# The fields of an object row sealed together (``ObjectMeta`` attribute names).
SEALED_FIELDS = (
    "content_type",
    "content_encoding",
    "content_disposition",
    "content_language",
    "cache_control",
    "expires",
    "user_metadata",
)


class UnreadableData(StoreError):
    """Stored data names a master key that is not in the keyring, or does not authenticate under it."""


_CIPHERS_MAX = (
    4096  # opened blob ciphers kept per process (a blob's key never changes: no invalidation needed)
)


_OPENED_MAX = 1024  # opened metadata seals kept per process (under 8 KiB each, with 2 KiB of user metadata)


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """RFC 5869 HKDF-SHA256 for a 32-byte key (one expand block), in two HMACs: the library's HKDF object costs
    ~20 times as much, paid on every PUT and every first read of a blob."""
    prk = hmac.digest(salt, ikm, "sha256")  # an empty salt is HMAC's zero key, as the RFC says
    return hmac.digest(prk, info + b"\x01", "sha256")


def legacy_sse_c_key(customer: CustomerKey, blob_id: str) -> bytes:
    """The data key of an SSE-C blob written without encryption at rest (older lakebox, or encryption off)."""
    return hkdf_sha256(customer.key, blob_id.encode(), b"lakebox sse-c blob v1")


class AtRest:
    """Derives blob keys and seals metadata; with ``enabled`` off new writes are plaintext (for benchmarks),
    while what was written encrypted still reads."""

    def __init__(self, keyring: Keyring, enabled: bool = True) -> None:
        self.keyring = keyring
        self.enabled = enabled
        self._meta: dict[str, AESGCM] = {}
        self._ciphers: dict[str, AESGCM] = {}  # blob key label -> its cipher (blobs without SSE-C)
        self._opened: dict[tuple[str, str], dict[str, Any]] = {}  # (sealed value, context) -> its fields
        self.chunks = ChunkPool()  # the buffers whole opened chunks reuse (this process's readers share them)

    def _master(self, key_id: str) -> MasterKey:
        try:
            return self.keyring.get(key_id)
        except KeyringError as exc:
            raise UnreadableData(str(exc)) from None

    # -- blobs -----------------------------------------------------------------------------------------------

    def new_blob_key(self, customer: CustomerKey | None) -> tuple[str | None, bytes | None]:
        """(what the row records, the data key) for a new blob; (None, None) with encryption off (an SSE-C
        blob then takes its key from the blob id: ``data_key``)."""
        if not self.enabled:
            return None, None
        salt = secrets.token_bytes(16)
        master = self.keyring.current
        label = f"{master.key_id}:{base64.urlsafe_b64encode(salt).decode()}"
        return label, self._derive(master, salt, customer)

    def cipher(self, blob_key: str | None, blob_id: str, customer: CustomerKey | None) -> AESGCM | None:
        """The cipher of a stored blob (None for a plaintext one), kept for the next read of the same blob."""
        if customer is not None or blob_key is None:
            key = self.data_key(blob_key, blob_id, customer)
            return None if key is None else AESGCM(key)
        cipher = self._ciphers.get(blob_key)
        if cipher is None:
            key = self.data_key(blob_key, blob_id, None)
            assert key is not None
            if len(self._ciphers) >= _CIPHERS_MAX:
                self._ciphers.clear()
            cipher = self._ciphers[blob_key] = AESGCM(key)
        return cipher

    def data_key(self, blob_key: str | None, blob_id: str, customer: CustomerKey | None) -> bytes | None:
        """The data key of a stored blob; None for a plaintext one."""
        if blob_key is None:
            return None if customer is None else legacy_sse_c_key(customer, blob_id)
        key_id, _, salt_b64 = blob_key.partition(":")
        try:
            salt = base64.urlsafe_b64decode(salt_b64)
        except (ValueError, binascii.Error):
            raise UnreadableData(f"blob {blob_id} has a malformed key label") from None
        return self._derive(self._master(key_id), salt, customer)

    @staticmethod
    def _derive(master: MasterKey, salt: bytes, customer: CustomerKey | None) -> bytes:
        if customer is None:
            return hkdf_sha256(master.key, salt, _BLOB_INFO)
        return hkdf_sha256(master.key + customer.key, salt, _BLOB_SSE_C_INFO)

    # -- metadata --------------------------------------------------------------------------------------------

    def _meta_cipher(self, master: MasterKey) -> AESGCM:
        cipher = self._meta.get(master.key_id)
        if cipher is None:
            cipher = self._meta[master.key_id] = AESGCM(hkdf_sha256(master.key, b"", _META_INFO))
        return cipher

    def seal_text(self, text: str, context: str) -> str:
        """``text`` sealed under the current master key, bound to ``context`` (it opens nowhere else)."""
        if not self.enabled:
            return text
        master = self.keyring.current
        nonce = secrets.token_bytes(12)
        sealed = nonce + self._meta_cipher(master).encrypt(nonce, text.encode(), context.encode())
        return f"{SEALED_PREFIX}{master.key_id}:{base64.b64encode(sealed).decode()}"

    def open_text(self, value: str, context: str) -> str:
        """The text of a sealed value; a value that was never sealed (older rows) as it is."""
        if not value.startswith(SEALED_PREFIX):
            return value
        key_id, _, sealed_b64 = value[len(SEALED_PREFIX) :].partition(":")
        try:
            sealed = base64.b64decode(sealed_b64)
            plain = self._meta_cipher(self._master(key_id)).decrypt(
                sealed[:12], sealed[12:], context.encode()
            )
        except (ValueError, binascii.Error, InvalidTag):
            raise UnreadableData("sealed metadata failed authentication") from None
        return plain.decode()

    def seal_fields(self, values: dict[str, Any], context: str) -> dict[str, Any]:
        """An object row's values with its content headers and user metadata sealed into ``sealed_meta``."""
        if not self.enabled:
            return values
        bundle = {name: values[name] for name in SEALED_FIELDS if values.get(name) not in (None, "{}")}
        sealed: dict[str, Any] = {name: None for name in SEALED_FIELDS}
        sealed["user_metadata"] = "{}"
        return {**values, **sealed, "sealed_meta": self.seal_text(json.dumps(bundle), context)}

    def open_fields(self, sealed_meta: str, context: str) -> Mapping[str, Any]:
        """The fields sealed in a row (read-only: the mapping is shared). Every GET and HEAD of an encrypted
        object opens its row's seal, so what was opened is kept (per process, bounded): a sealed value names
        its nonce, so the same value under the same context always opens to the same fields."""
        cache_key = (sealed_meta, context)
        opened = self._opened.get(cache_key)
        if opened is None:
            opened = dict(json.loads(self.open_text(sealed_meta, context)))
            if len(self._opened) >= _OPENED_MAX:
                self._opened.clear()
            self._opened[cache_key] = opened
        return opened


def object_context(bucket: str, key: str) -> str:
    return f"object\0{bucket}\0{key}"


def upload_context(upload_id: str) -> str:
    return f"upload\0{upload_id}"


def open_keyring(
    repo: MasterKeyRepository,
    data_dir: Path,
    key_file: Path | None,
    env: Mapping[str, str],
    *,
    register: bool,
) -> Keyring:
    """The keyring, checked against the keys the database says have sealed data: one that lacks any of them
    (a deleted or replaced key file, a wrong ``LAKEBOX_MASTER_KEY``) raises KeyringError rather than serving
    garbage. A key file is created only while nothing has been sealed. ``register`` records the current key."""
    registered = repo.registered()
    keyring = Keyring.load(data_dir, key_file, env, create=not registered)
    missing = sorted(key_id for key_id in registered if key_id not in keyring.keys)
    if missing:
        raise KeyringError(
            f"the keyring ({keyring.source}) lacks master key {', '.join(missing)}, which sealed stored "
            "objects: start with the keys they were written under"
        )
    for key_id, check in registered.items():
        if not hmac.compare_digest(keyring.keys[key_id].check_value(), check):
            raise KeyringError(f"master key {key_id} in {keyring.source} fails its check value")
    if register and keyring.current.key_id not in registered:
        repo.register(keyring.current.key_id, keyring.current.check_value())
    return keyring
