"""The analytics and audit stores over a real SQLite database: additive counts from several workers, the
sampler slot's compare-and-set, retention, and the per-worker counter."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from analytics.service.analytics import RETENTION_SECONDS, AnalyticsService
from analytics.service.counting import OperationCounter, action_status, operation_class
from analytics.store.repo import AnalyticsRepository, TimeRange
from audit.service.audit import AuditLog, is_console_change
from audit.store.repo import AuditRepository
from infra.db import Database
from tests.support.server import postgres_database


@pytest.fixture
def url(tmp_path: Path) -> str:
    """SQLite, or a fresh PostgreSQL database when the suite runs on PostgreSQL."""
    value = postgres_database() or f"sqlite:///{tmp_path / 'lakebox.db'}"
    db = Database(value)
    db.create_schema()
    db.dispose()
    return value


def test_workers_add_to_the_same_rows(url: str) -> None:
    """Four "workers" (own engines, own threads) flush 50 batches each into the same groups: nothing lost."""

    def worker() -> None:
        db = Database(url)
        repo = AnalyticsRepository(db)
        for _ in range(50):
            repo.add_counts(
                {(60, "b", "GetObject", "success", 200): 2, (60, "b", "PutObject", "success", 200): 1}
            )
        db.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db = Database(url)
    rows = AnalyticsRepository(db).operations(["action"], TimeRange(), None, 100)
    assert rows == [{"action": "GetObject", "requests": 400}, {"action": "PutObject", "requests": 200}]
    db.dispose()


def test_one_claim_per_interval_across_workers(url: str) -> None:
    first, second = Database(url), Database(url)
    a, b = AnalyticsRepository(first), AnalyticsRepository(second)
    assert a.claim("job", now=1000.0, interval=60) is True
    assert b.claim("job", now=1000.0, interval=60) is False
    assert a.claim("job", now=1059.0, interval=60) is False
    assert b.claim("job", now=1060.0, interval=60) is True
    assert a.claim("job", now=1061.0, interval=60) is False
    first.dispose()
    second.dispose()


def test_sampler_prunes_rows_past_retention(url: str) -> None:
    db = Database(url)
    repo = AnalyticsRepository(db)
    audit = AuditLog(AuditRepository(db), retention_days=90)
    service = AnalyticsService(repo, sample_interval=1, housekeeping=[audit.prune])
    now = time.time()
    repo.add_counts({(int(now - RETENTION_SECONDS - 120), "b", "GetObject", "success", 200): 1})
    repo.add_counts({(int(now - 60), "b", "GetObject", "success", 200): 5})
    audit.record(actor="t", api="s3", action="CreateBucket", target="b", status=200)
    assert service.run_sampler(now) is True
    assert repo.operations([], TimeRange(), None, 10) == [{"requests": 5}]
    assert len(audit.list(0)) == 1
    assert service.run_sampler(now + 91 * 86400) is True
    assert audit.list(0) == []
    db.dispose()


def test_counter_groups_by_minute_status_and_code() -> None:
    counter = OperationCounter()
    counter.record("b", "GetObject", 200, now=125.0)
    counter.record("b", "GetObject", 200, now=179.9)
    counter.record("b", "GetObject", 404, now=180.0)
    counter.record("", "ListBuckets", 0, now=180.0)  # no answer: an internal error
    batch = counter.drain()
    assert batch == {
        (120, "b", "GetObject", "success", 200): 2,
        (180, "b", "GetObject", "userError", 404): 1,
        (180, "", "ListBuckets", "internalError", 0): 1,
    }
    assert counter.drain() == {}
    counter.restore(batch)
    counter.record("b", "GetObject", 200, now=130.0)
    assert counter.drain()[(120, "b", "GetObject", "success", 200)] == 3


def test_classes_and_statuses_follow_r2() -> None:
    assert [operation_class(a) for a in ("PutObject", "ListObjectsV2", "GetObject", "HeadBucket", "DeleteObject")] == [
        "A", "A", "B", "B", "free",
    ]  # fmt: skip
    assert [action_status(c) for c in (200, 304, 403, 499, 500, 503)] == [
        "success", "success", "userError", "userError", "internalError", "internalError",
    ]  # fmt: skip


def test_which_console_requests_are_changes() -> None:
    assert is_console_change("PUT", "/client/v4/accounts/a/r2/buckets/b/cors")
    assert not is_console_change("POST", "/api/v1/tokens")  # retired: answers 410, changes nothing
    assert not is_console_change("GET", "/client/v4/accounts/a/r2/buckets/b/cors")
    assert not is_console_change("PUT", "/client/v4/accounts/a/r2/buckets/b/objects/k")
    assert not is_console_change("POST", "/client/v4/graphql")
    assert not is_console_change("POST", "/metrics")


def test_audit_targets_and_peeked_codes() -> None:
    from audit.api.asgi import _peek, console_target

    assert console_target("/client/v4/accounts/a/r2/buckets/logs/cors") == "logs"
    assert (
        console_target("/client/v4/accounts/a/r2/buckets/logs/domains/custom/x.example") == "logs/x.example"
    )
    assert console_target("/client/v4/accounts/a/r2-catalog/logs/enable") == "logs"
    assert console_target("/client/v4/user/tokens/abc") == "abc"
    assert console_target("/client/v4/accounts/a/r2/buckets") == ""
    assert console_target("/client/v4/accounts/a/r2/temp-access-credentials") == ""
    assert console_target("/client/v4/accounts/a/r2/buckets/logs/domains/managed") == "logs"
    assert console_target("/client/v4/accounts/a/lakebox/migrations/m-1/abort") == "m-1"
    # Only a code or a created name/id is taken from an answer, never the token value beside it.
    assert _peek(b'{"success":false,"errors":[{"code":10004,"message":"x"}]}', 409) == ("10004", "")
    assert _peek(b'{"result":{"id":"t1","value":"SECRET"}}', 200) == ("", "t1")
    assert _peek(b'{"id":"t2","token":"SECRET"}', 201) == ("", "t2")
    assert _peek(b"<Error><Code>NoSuchBucket</Code></Error>", 404) == ("NoSuchBucket", "")
    assert _peek(b"not json", 500) == ("", "")


def test_retrievals_add_up_across_workers_and_survive_a_failed_flush(url: str) -> None:
    """Two "workers" count IA reads; a batch whose flush failed is put back and stored once, later."""
    first, second = OperationCounter(), OperationCounter()
    first.record("b", "GetObject", 206, now=61.0)
    first.record_retrieval("b", "GetObject", 206, "STANDARD_IA", 100, now=61.0)
    first.record_retrieval("b", "GetObject", 200, "STANDARD_IA", 1000, now=62.0)
    second.record_retrieval("b", "GetObject", 206, "STANDARD_IA", 50, now=119.0)
    failed = first.take()
    assert failed
    first.put_back(failed)
    db = Database(url)
    repo = AnalyticsRepository(db)
    for counter in (first, second):
        batch = counter.take()
        repo.add_batch(batch.counts, batch.retrievals)
        assert not counter.take()
    rows = repo.retrievals(["code", "storage_class"], TimeRange(), ["b"])
    assert sorted((r["code"], r["storage_class"], r["requests"], r["bytes"]) for r in rows) == [
        (200, "STANDARD_IA", 1, 1000),
        (206, "STANDARD_IA", 2, 150),
    ]
    assert repo.operations(["action"], TimeRange(), ["b"], 10) == [{"action": "GetObject", "requests": 1}]
    db.dispose()
