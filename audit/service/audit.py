"""The audit log: which requests are configuration changes, recording their outcome, reading them back.

Every API passes through one recorder (``audit.api.asgi``), so no handler can forget to audit. A change's entry
is written in the change's own database transaction (a ``PendingEntry``, an ``infra.followers`` follower of the
request), so it exists exactly when the change does: it says "success" and, the answer not being known yet, no
status. A request that committed nothing is recorded after its answer, with its outcome (a refusal, an error);
one that committed and still answered an error has its entry corrected to that failure. Entries name the actor by
token id and the target by bucket or token id, never a token value, a secret key, an SSE-C key or a body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

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
    """A change through ``/client/v4``: any write except object data and GraphQL reads."""
    if method not in _CHANGE_METHODS or not path.startswith("/client/v4/"):
        return False
    return "/objects/" not in path and not path.startswith("/client/v4/graphql")


class Change(NamedTuple):
    actor: str  # token id; "" if anonymous
    api: str  # cloudflare, s3 (admin: the retired /api/v1)
    action: str  # "METHOD /path" or the S3 operation
    target: str  # "" when only the answer names it (a creation)


class PendingEntry:
    """The entry of one request's change: the first write transaction of the request that commits writes it.

    ``describe`` says what the change is, or None while (or if) the request is no change; it is asked when a
    transaction is about to commit, so it may read what the request learnt by then (the S3 operation, the actor).
    """

    __slots__ = ("_describe", "_lock", "_log", "closed", "committed", "row_id", "writing")

    def __init__(self, log: AuditLog, describe: Callable[[], Change | None]) -> None:
        self._log = log
        self._describe = describe
        self._lock = threading.Lock()
        self.writing = self.committed = self.closed = False
        self.row_id = 0

    def follow(self, conn: Connection) -> bool:
        with self._lock:
            if self.writing or self.committed or self.closed:
                return False
            change = self._describe()
            if change is None:
                return False
            entry = AuditEntry(
                time.time(), change.actor, change.api, change.action, change.target, "success", 0
            )
            self.row_id = self._log.repo.append_in(conn, entry)
            self.writing = True
            return True

    def settled(self, committed: bool) -> None:
        with self._lock:
            self.writing, self.committed = False, committed

    def close(self) -> None:
        """Stops following the request's transactions (before its answer is recorded)."""
        with self._lock:
            self.closed = True

    def complete(self, status: int, created: str) -> bool:
        """True if the answer adds nothing to the entry (a committed change answered with success)."""
        self.close()
        if not self.committed or not 0 < status < 400:
            return False
        change = self._describe()
        return change is None or bool(change.target) or not created

    def finish(self, status: int, error_code: str, created: str) -> None:
        """Records the answer: a new entry if no transaction carried one (the change did not happen, or wrote
        nothing), else a correction if the answer was an error or named the target (the one write after the
        answer a successful change may need). Runs outside any transaction of the request."""
        self.close()
        change = self._describe()
        if change is None:
            return
        target = change.target or created
        if not self.committed:
            self._log.record(
                actor=change.actor, api=change.api, action=change.action, target=target, status=status,
                error_code=error_code,
            )  # fmt: skip
            return
        fixes: dict[str, Any] = {"target": target} if target != change.target else {}
        if not 0 < status < 400:
            fixes.update(outcome="failure", status=status or 500, error_code=error_code)
        if fixes:
            self._log.repo.correct(self.row_id, **fixes)


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
