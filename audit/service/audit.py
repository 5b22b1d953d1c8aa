"""The audit log: which requests are configuration changes, recording their outcome, reading them back.

Every API passes through one recorder (``audit.api.asgi``), so no handler can forget to audit. An entry is
committed right after the change answered, with its outcome; it names the actor by token id and the target by
bucket or token id, never a token value, a secret key, an SSE-C key or a body.
"""

from __future__ import annotations

import time
from typing import Any

from audit.store.repo import AuditEntry, AuditRepository

DEFAULT_RETENTION_DAYS = 90
MAX_PAGE = 1000

# S3 operations that change a bucket's existence or configuration.
S3_CHANGES = frozenset(
    {
        "CreateBucket", "DeleteBucket", "PutBucketCors", "DeleteBucketCors", "PutBucketLifecycleConfiguration",
        "DeleteBucketLifecycle", "PutBucketEncryption", "DeleteBucketEncryption", "PutObjectLockConfiguration",
        "PutBucketTagging", "DeleteBucketTagging",
    }
)  # fmt: skip
_CHANGE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_console_change(method: str, path: str) -> bool:
    """A change through ``/client/v4`` or ``/api/v1``: any write except object data and GraphQL reads."""
    if method not in _CHANGE_METHODS:
        return False
    if path.startswith("/client/v4/"):
        return "/objects/" not in path and not path.startswith("/client/v4/graphql")
    return path.startswith("/api/v1/")


class AuditLog:
    def __init__(self, repo: AuditRepository, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.repo = repo
        self.retention_days = retention_days

    def record(
        self,
        *,
        actor: str,
        api: str,
        action: str,
        target: str,
        status: int,
        error_code: str = "",
    ) -> None:
        outcome = "success" if 0 < status < 400 else "failure"
        self.repo.append(
            AuditEntry(
                time.time(), actor, api, action, target, outcome, status, error_code if status >= 400 else ""
            )
        )

    def list(self, since: float, after_id: int = 0, limit: int = MAX_PAGE) -> list[dict[str, Any]]:
        return self.repo.since(since, after_id, max(1, min(limit, MAX_PAGE)))

    def prune(self, now: float) -> None:
        """Drops entries older than the retention (run by the analytics sampler's job)."""
        self.repo.prune(now - self.retention_days * 86400)
