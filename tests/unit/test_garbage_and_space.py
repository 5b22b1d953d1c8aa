"""Reaping garbage blobs shared by several workers (claims in the database, leases that lapse), reclaiming at once
when the disk is short, and recognising out-of-space errors from the OS and both databases."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from infra.db import Database
from objectstore.service.conditions import Conditions
from objectstore.service.errors import InsufficientStorage
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.objects import ObjectService
from objectstore.service.space import DiskSpace, is_out_of_space
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.repo import ObjectRepository
from tests.support.atrest import fresh_atrest
from tests.support.server import postgres_database


@pytest.fixture
def url(tmp_path: Path) -> str:
    db_url = postgres_database() or f"sqlite:///{tmp_path / 'meta.db'}"
    db = Database(db_url)
    db.create_schema()
    ObjectRepository(db).create_bucket("bkt", "auto", "Standard")
    db.dispose()
    return db_url


Worker = Callable[..., ObjectService]


@pytest.fixture
def worker(url: str, tmp_path: Path) -> Iterator[Worker]:
    """Makes one worker process's view: its own engine over the shared database and blob directory."""
    made: list[Database] = []

    def make(reserve: int = 0) -> ObjectService:
        db = Database(url)
        made.append(db)
        blobs = LocalBlobStore(tmp_path, "node-a")
        return ObjectService(ObjectRepository(db), blobs, fresh_atrest(), DiskSpace([blobs.root], reserve))

    yield make
    for db in made:
        db.dispose()


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def put(service: ObjectService, key: str, data: bytes) -> None:
    asyncio.run(
        service.put_object("bkt", key, body(data), WriteOptions(), PutIntegrity(len(data)), Conditions())
    )


def make_garbage(service: ObjectService, count: int) -> set[str]:
    """Overwrites ``count`` objects; returns the blobs that became garbage."""
    for i in range(count):
        put(service, f"k{i}", b"old")
    old = {service.head("bkt", f"k{i}").blob_id for i in range(count)}
    for i in range(count):
        put(service, f"k{i}", b"new")
    assert old <= service.repo.garbage_ids()
    return {b for b in old if b is not None}


def test_workers_claiming_at_once_split_the_garbage(worker: Worker) -> None:
    workers = [worker() for _ in range(2)]
    garbage = make_garbage(workers[0], 120)
    claimed: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def claim(n: int) -> None:
        repo = workers[n % 2].repo
        start.wait()
        while ids := repo.claim_garbage(time.time() + 1, lease_seconds=60, limit=7):
            claimed[n].extend(ids)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [b for ids in claimed for b in ids]
    assert len(every) == len(set(every))  # no blob claimed twice
    assert set(every) == garbage
    # Claimed but not yet reaped: no other reaper takes them while the lease lasts.
    assert workers[1].reap_garbage(grace=0) == 0
    assert all(workers[0].blobs.path(b).exists() for b in garbage)


def test_a_claim_whose_reaper_died_lapses_and_is_reaped_by_another(worker: Worker) -> None:
    first, second = worker(), worker()
    garbage = make_garbage(first, 5)
    assert set(first.repo.claim_garbage(time.time() + 1, lease_seconds=0.05)) == garbage  # then "crashes"
    time.sleep(0.1)
    assert second.reap_garbage(grace=0) == 5
    assert not any(second.blobs.path(b).exists() for b in garbage)
    assert second.repo.garbage_ids() == set()


def test_garbage_within_its_grace_period_waits_unless_the_disk_is_short(worker: Worker) -> None:
    roomy = worker()
    garbage = make_garbage(roomy, 3)
    assert roomy.reap_garbage() == 0  # within the grace period
    roomy.reclaim_if_short()
    assert roomy.repo.garbage_ids() == garbage
    short = worker(reserve=1 << 62)  # no disk has this much free
    short.reclaim_if_short()  # what a delete does: reclaims at once
    assert short.repo.garbage_ids() == set()
    assert not any(short.blobs.path(b).exists() for b in garbage)


def test_a_write_that_would_eat_into_the_reserve_is_refused_and_leaves_nothing(worker: Worker) -> None:
    short = worker(reserve=1 << 62)
    with pytest.raises(InsufficientStorage) as refused:
        put(short, "refused", b"x" * 1000)
    assert refused.value.code == "InsufficientStorage"
    assert list(short.blobs.incoming.iterdir()) == []
    with short.repo.db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM s3_object")).scalar_one() == 0


def sqlite_full_error(tmp_path: Path) -> OperationalError:
    """A real SQLITE_FULL, raised through SQLAlchemy: a database capped at a few pages runs out of room."""
    db = Database(f"sqlite:///{tmp_path / 'tiny.db'}")
    try:
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE t (v BLOB)")

        def overfill() -> None:
            with db.write() as conn:
                conn.exec_driver_sql("PRAGMA max_page_count = 3")
                for _ in range(10):
                    conn.exec_driver_sql("INSERT INTO t VALUES (zeroblob(4096))")

        with pytest.raises(OperationalError) as full:
            overfill()
        return full.value
    finally:
        db.dispose()


def test_out_of_space_errors_are_recognised_through_their_wrappers(tmp_path: Path) -> None:
    full = sqlite_full_error(tmp_path)
    assert isinstance(full.orig, sqlite3.OperationalError)
    assert is_out_of_space(full)
    assert is_out_of_space(OSError(errno.ENOSPC, "No space left on device"))
    assert is_out_of_space(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_out_of_space(psycopg.errors.DiskFull("could not extend file"))
    wrapped = RuntimeError("settling failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_out_of_space(wrapped)
    assert not is_out_of_space(OSError(errno.EIO, "Input/output error"))
    assert not is_out_of_space(sqlite3.OperationalError("database is locked"))
    assert not is_out_of_space(ValueError("no"))
