"""Per-worker operation counting: a dict increment on the request path, flushed to the database in batches.

``record`` costs one tuple build and one dict update (well under a microsecond); ``drain`` hands the batch to a
thread that adds it to the shared rows (one upsert per group). objectName is not counted: a row per object and
minute would make the table as large as the request log (the dimension answers null).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from analytics.store.repo import OperationKey, RetrievalKey

# R2's pricing classes (page "Pricing"); every other operation is free (deletes, aborts, preflights).
CLASS_A = frozenset(
    {
        "ListBuckets", "PutBucket", "CreateBucket", "ListObjects", "ListObjectsV2", "PutObject", "CopyObject",
        "CompleteMultipartUpload", "CreateMultipartUpload", "LifecycleStorageTierTransition",
        "ListMultipartUploads", "UploadPart", "UploadPartCopy", "ListParts", "PutBucketEncryption",
        "PutBucketCors", "PutBucketLifecycleConfiguration",
    }
)  # fmt: skip
CLASS_B = frozenset(
    {
        "HeadBucket", "HeadObject", "GetObject", "UsageSummary", "GetBucketEncryption", "GetBucketLocation",
        "GetBucketCors", "GetBucketLifecycleConfiguration",
    }
)  # fmt: skip


def operation_class(action: str) -> str:
    """``A``, ``B`` or ``free``."""
    if action in CLASS_A:
        return "A"
    if action in CLASS_B:
        return "B"
    return "free"


def action_status(code: int) -> str:
    """R2's actionStatus: success, userError (4xx) or internalError (5xx and unanswered requests)."""
    if 0 < code < 400:
        return "success"
    if 400 <= code < 500:
        return "userError"
    return "internalError"


@dataclass(slots=True)
class Batch:
    """What one worker counted since the last flush: requests, and the requests and bytes that read
    Infrequent Access data (R2's data retrieval)."""

    counts: dict[OperationKey, int] = field(default_factory=dict)
    retrievals: dict[RetrievalKey, tuple[int, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.counts or self.retrievals)


class OperationCounter:
    """One worker's counts since the last drain (event loop only: not thread-safe)."""

    __slots__ = ("_counts", "_retrievals")

    def __init__(self) -> None:
        self._counts: dict[OperationKey, int] = {}
        self._retrievals: dict[RetrievalKey, tuple[int, int]] = {}

    def record(self, bucket: str, action: str, code: int, now: float | None = None) -> None:
        minute = int(time.time() if now is None else now) // 60 * 60
        key = (minute, bucket, action, action_status(code), code)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1

    def record_retrieval(
        self, bucket: str, action: str, code: int, storage_class: str, size: int, now: float | None = None
    ) -> None:
        """One request that read ``size`` bytes of ``storage_class`` data (counted besides ``record``)."""
        minute = int(time.time() if now is None else now) // 60 * 60
        key = (minute, bucket, action, action_status(code), code, storage_class)
        requests, total = self._retrievals.get(key, (0, 0))
        self._retrievals[key] = (requests + 1, total + size)

    def take(self) -> Batch:
        """Everything counted so far; the counter starts again from zero."""
        retrievals, self._retrievals = self._retrievals, {}
        return Batch(self.drain(), retrievals)

    def put_back(self, batch: Batch) -> None:
        """Puts back a batch whose flush failed."""
        self.restore(batch.counts)
        for key, (requests, size) in batch.retrievals.items():
            old_requests, old_size = self._retrievals.get(key, (0, 0))
            self._retrievals[key] = (old_requests + requests, old_size + size)

    def drain(self) -> dict[OperationKey, int]:
        """The counts so far; the counter starts again from zero."""
        counts, self._counts = self._counts, {}
        return counts

    def restore(self, counts: dict[OperationKey, int]) -> None:
        """Puts back a batch whose flush failed, so a database outage loses nothing."""
        for key, n in counts.items():
            self._counts[key] = self._counts.get(key, 0) + n
