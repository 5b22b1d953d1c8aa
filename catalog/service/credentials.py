"""Reuse of vended credentials: PyIceberg asks for credentials with every table load, and issuing one is a
database write. A credential is handed out again to the same token for the same table prefix while more than
half of its lifetime remains; it stays bounded by its parent token on the S3 side (revocation ends it at once),
so reuse never extends what a caller may do. Process-local and bounded; nothing shared depends on it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from catalog.service.ports import VendedCredentials

Key = tuple[int, str, str, str, bool]  # (vendor id, token id, bucket, key prefix, read-only)


class CredentialCache:
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: OrderedDict[Key, tuple[VendedCredentials, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_issue(
        self, key: Key, issue: Callable[[], VendedCredentials], now: datetime | None = None
    ) -> VendedCredentials:
        if self.size <= 0:
            return issue()
        now = now or datetime.now(UTC)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                creds, issued_at = hit
                if (creds.expires_at - now) > (creds.expires_at - issued_at) / 2:
                    self._items.move_to_end(key)
                    return creds
                del self._items[key]
        creds = issue()
        with self._lock:
            self._items[key] = (creds, now)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return creds
