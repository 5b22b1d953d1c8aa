"""Migrations as R2's Super Slurper does them: copy every object of an S3-compatible source bucket (optionally
under a prefix) into a lakebox bucket, overwriting or skipping objects that exist. This module creates, lists,
shows and aborts them; ``migration_copy`` does the copying, as a leased background job."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from auth.service.secretbox import SecretBox
from infra.jobs import JobInfo, JobStore
from management.service.errors import InvalidRequest, MigrationEnded, NoSuchMigration
from management.store.migrations import ABORTED, ENDED, QUEUED, RUNNING, MigrationRepository
from objectstore.service.buckets import BucketService
from objectstore.service.errors import NoSuchBucket

MIGRATION = "migration"  # the job kind; its target is the migration's id
FAILURES_SHOWN = 1000
_FIELDS = {
    "bucket": "destination bucket",
    "source_endpoint": "source endpoint",
    "source_bucket": "source bucket",
    "source_access_key_id": "source access key id",
    "source_secret_access_key": "source secret access key",
}


def secret_context(migration_id: str) -> str:
    return f"migration:{migration_id}"


def _time(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(body: dict[str, Any], name: str, *, required: bool, limit: int = 1024) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"The {_FIELDS.get(name, name)} ({name}) is required")
        return ""
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 for c in value):
        raise InvalidRequest(f"{name} must be a string of at most {limit} printable characters")
    return value


class Migrations:
    def __init__(
        self,
        repo: MigrationRepository,
        jobs: JobStore,
        box: SecretBox,
        buckets: BucketService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.repo = repo
        self.jobs = jobs
        self.box = box
        self.buckets = buckets
        self.clock = clock

    def create(self, body: Any, actor: str) -> dict[str, Any]:
        """Validates the request, stores the migration (its secret sealed) and schedules its job."""
        if not isinstance(body, dict):
            raise InvalidRequest("The body must be a JSON object")
        bucket = _text(body, "bucket", required=True, limit=64)
        endpoint = _text(body, "source_endpoint", required=True)
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidRequest("source_endpoint must be an http:// or https:// URL")
        overwrite = body.get("overwrite", True)
        if not isinstance(overwrite, bool):
            raise InvalidRequest("overwrite must be true or false")
        values = {
            "bucket": bucket,
            "source_endpoint": endpoint.rstrip("/"),
            "source_region": _text(body, "source_region", required=False, limit=64) or "auto",
            "source_bucket": _text(body, "source_bucket", required=True, limit=256),
            "source_prefix": _text(body, "source_prefix", required=False),
            "source_access_key_id": _text(body, "source_access_key_id", required=True, limit=256),
        }
        secret = _text(body, "source_secret_access_key", required=True, limit=256)
        if self.buckets.repo.get_bucket(bucket) is None:
            raise NoSuchBucket(BucketName=bucket)
        migration_id = secrets.token_hex(16)
        now = self.clock()
        self.repo.add(
            {
                "id": migration_id,
                **values,
                "source_secret_enc": self.box.seal(secret, secret_context(migration_id)),
                "overwrite": overwrite,
                "state": QUEUED,
                "created_by": actor[:64],
                "created_at": now,
            }
        )
        self.jobs.ensure(MIGRATION, migration_id, interval=None, first_run_at=now)
        return self.show(migration_id)

    def all(self) -> list[dict[str, Any]]:
        return [self._json(row, with_failures=False) for row in self.repo.all()]

    def show(self, migration_id: str) -> dict[str, Any]:
        row = self.repo.get(migration_id)
        if row is None:
            raise NoSuchMigration()
        return self._json(row, with_failures=True)

    def abort(self, migration_id: str) -> dict[str, Any]:
        """Stops the migration: the job sees it before its next object and ends; what was copied stays."""
        if self.repo.get(migration_id) is None:
            raise NoSuchMigration()
        if not self.repo.move(migration_id, ABORTED, only_from=(QUEUED, RUNNING), finished_at=self.clock()):
            raise MigrationEnded()
        return self.show(migration_id)

    def _json(self, row: Any, *, with_failures: bool) -> dict[str, Any]:
        job: JobInfo | None = self.jobs.get(MIGRATION, row.id)
        progress = (job.progress if job is not None else None) or {}
        out: dict[str, Any] = {
            "id": row.id,
            "state": row.state,
            "error": row.error,
            "destination": {"bucket": row.bucket, "overwrite": bool(row.overwrite)},
            "source": {
                "endpoint": row.source_endpoint,
                "region": row.source_region,
                "bucket": row.source_bucket,
                "prefix": row.source_prefix,
                "access_key_id": row.source_access_key_id,
            },
            "objects_copied": int(progress.get("objects_copied", 0)),
            "bytes_copied": int(progress.get("bytes_copied", 0)),
            "objects_skipped": int(progress.get("objects_skipped", 0)),
            "objects_failed": self.repo.failure_count(row.id),
            "last_key": progress.get("last_key"),
            # A run that hit a transient error (the source unreachable, a 5xx) retries from its checkpoint.
            "attempts": job.attempts if job is not None else 0,
            "last_error": job.last_error if job is not None else None,
            "created_by": row.created_by,
            "created_at": _time(row.created_at),
            "started_at": _time(row.started_at),
            "finished_at": _time(row.finished_at),
        }
        if with_failures:
            out["failures"] = [
                {"key": key, "error": error} for key, error in self.repo.failures(row.id, FAILURES_SHOWN)
            ]
        return out

    def ended(self, migration_id: str) -> bool:
        return self.repo.state(migration_id) in (*ENDED, None)
