"""The analytics service: flushing counted operations, the periodic storage sample and retention, and the
dataset reads behind the GraphQL API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from analytics.service.counting import Batch, OperationCounter
from analytics.store.repo import AnalyticsRepository, TimeRange

log = logging.getLogger("lakebox.analytics")

RETENTION_SECONDS = 31 * 24 * 3600  # R2 keeps (and answers) 31 days
SAMPLER_JOB = "storage-sampler"
MAX_LIMIT = 10000


class AnalyticsService:
    def __init__(
        self,
        repo: AnalyticsRepository,
        *,
        sample_interval: float = 60.0,
        housekeeping: Sequence[Callable[[float], None]] = (),
    ) -> None:
        self.repo = repo
        self.counter = OperationCounter()
        self.sample_interval = sample_interval
        self.housekeeping = list(housekeeping)  # more pruning run by the sampler (the audit log's)

    def take_batch(self) -> Batch:
        return self.counter.take()

    def flush_batch(self, batch: Batch) -> None:
        """Adds a drained batch to the database (in a thread); the caller restores it when this raises."""
        self.repo.add_batch(batch.counts, batch.retrievals)

    def restore_batch(self, batch: Batch) -> None:
        self.counter.put_back(batch)

    def run_sampler(self, now: float | None = None) -> bool:
        """Samples every bucket's storage and prunes old rows, when this worker wins the interval's slot."""
        now = time.time() if now is None else now
        if not self.repo.claim(SAMPLER_JOB, now, self.sample_interval):
            return False
        self.sample(now)
        return True

    def sample(self, now: float) -> int:
        """Samples every bucket's storage, prunes rows past retention and runs the housekeeping (blocking; the
        background job of that name calls it once per interval); returns the buckets sampled."""
        sampled = self.repo.sample_storage(now)
        self.repo.prune(now - RETENTION_SECONDS)
        for job in self.housekeeping:
            job(now)
        return sampled

    def operations(
        self, dimensions: Sequence[str], when: TimeRange, buckets: list[str] | None, limit: int
    ) -> list[dict[str, Any]]:
        return self.repo.operations(dimensions, _retained(when), buckets, min(limit, MAX_LIMIT))

    def retrievals(
        self, dimensions: Sequence[str], when: TimeRange, buckets: list[str] | None
    ) -> list[dict[str, Any]]:
        return self.repo.retrievals(dimensions, _retained(when), buckets)

    def early_deletions(
        self, dimensions: Sequence[str], when: TimeRange, buckets: list[str] | None, limit: int
    ) -> list[dict[str, Any]]:
        return self.repo.early_deletions(dimensions, _retained(when), buckets, min(limit, MAX_LIMIT))

    def storage(
        self,
        dimensions: Sequence[str],
        when: TimeRange,
        buckets: list[str] | None,
        limit: int,
        descending: bool,
    ) -> list[dict[str, Any]]:
        return self.repo.storage(dimensions, _retained(when), buckets, min(limit, MAX_LIMIT), descending)


def _retained(when: TimeRange) -> TimeRange:
    oldest = time.time() - RETENTION_SECONDS
    if when.geq is None and when.gt is None:
        return TimeRange(geq=oldest, leq=when.leq, lt=when.lt)
    return when
