"""Transaction followers (infra.followers) carrying audit entries, over a real database: an entry commits exactly
when its change does, in a plain write transaction and in a group-commit batch that mixes several requests; a
change that fails after its entry was written leaves no entry claiming success."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from audit.service.audit import AuditLog, Change, PendingEntry
from audit.store.repo import AuditRepository
from infra.db import Database
from infra.followers import following, pending
from infra.group_commit import GroupCommitter
from tests.support.server import postgres_database

_metadata = MetaData()
_changes = Table("follower_test_change", _metadata, Column("name", String(64), primary_key=True))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(postgres_database() or f"sqlite:///{tmp_path / 'lakebox.db'}")
    database.create_schema()
    with database.write() as conn:
        _metadata.create_all(conn)
    yield database
    database.dispose()


def _change(name: str) -> Any:
    return lambda conn: conn.execute(insert(_changes).values(name=name))


class _Duplicate:
    """A follower that fails after the ones before it wrote: it inserts a change that already exists."""

    def follow(self, conn: Connection) -> bool:
        conn.execute(insert(_changes).values(name="taken"))
        return True

    def settled(self, committed: bool) -> None:
        pass


def _entries(db: Database) -> list[tuple[str, str, str, str, int]]:
    rows = AuditRepository(db).since(0, 0, 1000)
    return [(r["actor"], r["action"], r["target"], r["outcome"], r["status"]) for r in rows]


def _names(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(conn.execute(select(_changes.c.name)).scalars())


def test_failure_after_the_entry_was_written_leaves_no_success(db: Database) -> None:
    audit = AuditLog(AuditRepository(db))
    with db.write() as conn:
        _change("taken")(conn)
    entry = PendingEntry(audit, lambda: Change("tok-a", "cloudflare", "POST /b", "b1"))
    with following(entry, _Duplicate()), pytest.raises(IntegrityError), db.write() as conn:
        _change("b1")(conn)
    assert not entry.committed
    assert _entries(db) == []
    assert _names(db) == ["taken"]
    entry.finish(500, "10001", "")  # the answer: recorded as a failure, after it
    assert _entries(db) == [("tok-a", "POST /b", "b1", "failure", 500)]


def test_a_change_has_one_entry_with_its_actor(db: Database) -> None:
    audit = AuditLog(AuditRepository(db))
    entry = PendingEntry(audit, lambda: Change("tok-b", "s3", "CreateBucket", "b2"))
    with following(entry):
        with db.write() as conn:
            _change("b2")(conn)
        with db.write() as conn:  # a second transaction of the same request carries no second entry
            _change("b2-more")(conn)
        assert entry.committed
        entry.finish(200, "", "")
        with db.write() as conn:  # nor does one after the answer
            _change("b2-after")(conn)
    assert _entries(db) == [("tok-b", "CreateBucket", "b2", "success", 0)]
    with db.write() as conn:  # outside the request: no entry
        _change("elsewhere")(conn)
    assert len(_entries(db)) == 1
    assert pending() == ()


def test_committed_change_answered_with_an_error_is_corrected(db: Database) -> None:
    audit = AuditLog(AuditRepository(db))
    entry = PendingEntry(audit, lambda: Change("tok-c", "cloudflare", "POST /tokens", ""))
    with following(entry), db.write() as conn:
        _change("c")(conn)
    entry.finish(500, "10001", "created-id")
    assert _entries(db) == [("tok-c", "POST /tokens", "created-id", "failure", 500)]


def test_group_commit_runs_each_requests_followers_for_its_own_write(db: Database) -> None:
    """Three requests' writes in one batch; the middle one fails after its entry was written (savepoint)."""
    audit = AuditLog(AuditRepository(db))
    with db.write() as conn:
        _change("taken")(conn)
    committer = GroupCommitter(db)
    release = threading.Event()
    blocker = committer.submit(lambda conn: release.wait(60), lambda result, error: None)
    entries = {
        name: PendingEntry(audit, lambda name=name: Change(f"tok-{name}", "s3", "PutBucketCors", name))
        for name in ("a", "b", "c")
    }
    futures: dict[str, Future[Any]] = {}
    for name, entry in entries.items():
        extra = (_Duplicate(),) if name == "b" else ()
        with following(entry, *extra):
            futures[name] = committer.submit(_change(name), lambda result, error: None)
    release.set()
    blocker.result(60)
    futures["a"].result(60)
    futures["c"].result(60)
    with pytest.raises(IntegrityError):
        futures["b"].result(60)
    assert [entries[n].committed for n in "abc"] == [True, False, True]
    assert _names(db) == ["a", "c", "taken"]
    assert sorted(_entries(db)) == [
        ("tok-a", "PutBucketCors", "a", "success", 0),
        ("tok-c", "PutBucketCors", "c", "success", 0),
    ]
    entries["b"].finish(500, "InternalError", "")
    assert ("tok-b", "PutBucketCors", "b", "failure", 500) in _entries(db)


def test_a_request_that_is_no_change_writes_nothing(db: Database) -> None:
    audit = AuditLog(AuditRepository(db))
    entry = PendingEntry(audit, lambda: None)  # e.g. an S3 PutObject
    committer = GroupCommitter(db)
    with following(entry):
        committer.submit(_change("object"), lambda result, error: None).result(60)
    entry.finish(200, "", "")
    assert _entries(db) == []
    assert _names(db) == ["object"]
