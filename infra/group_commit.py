"""Group commit: the writes of concurrent requests share one database transaction.

A durable commit costs a log fsync and a hand-over of the database's write lock, whatever it contains, and SQLite
admits one writer at a time. So one committer thread per process takes every write waiting in its queue, applies
each in its own SAVEPOINT (a write that raises, e.g. a failed precondition, is rolled back alone and its caller
gets the error), commits them together, runs each write's ``settle`` with its outcome (e.g. move its blob into
place, or delete it), and only then resolves the callers' futures: no caller hears of success before its write is
durable, and a caller that goes away meanwhile changes nothing (its write is settled all the same).

Each write carries the transaction followers of the context that submitted it (``infra.followers``): they run in
that write's SAVEPOINT, after it, so they commit or roll back with that write alone.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from infra import followers
from infra.db import Database, savepoint

log = logging.getLogger("lakebox.commit")
MAX_BATCH = 64


Settle = Callable[[Any, BaseException | None], None]


@dataclass(slots=True)
class _Write:
    apply: Callable[[Connection], Any]
    settle: Settle
    future: Future[Any]
    followers: tuple[followers.Follower, ...]


class GroupCommitter:
    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0  # the committer thread belongs to one process: a forked worker starts its own

    def submit(self, apply: Callable[[Connection], Any], settle: Settle) -> Future[Any]:
        """Queues ``apply(conn)``. Once the batch is committed (or failed), ``settle(result, error)`` runs in the
        committer thread, then the future resolves to the result (or raises the error)."""
        if self._pid != os.getpid():
            self._start()
        future: Future[Any] = Future()
        self._queue.put(_Write(apply, settle, future, followers.pending()))
        return future

    def _start(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, name="group-commit", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[_Write]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        wrote: list[followers.Follower] = []  # followers of the writes that succeeded
        try:
            with self._db.write() as conn:  # this thread's context has no followers of its own
                for write in batch:
                    mine: list[followers.Follower] = []
                    try:
                        with savepoint(self._db, conn):
                            result = write.apply(conn)
                            if write.followers:
                                followers.run(conn, write.followers, mine)
                    except Exception as exc:
                        followers.settle(mine, False)
                        outcomes.append((None, exc))
                    else:
                        wrote += mine
                        outcomes.append((result, None))
        except Exception as exc:  # the commit itself failed: none of the batch happened
            log.warning("group commit of %d writes failed: %s", len(batch), type(exc).__name__)
            outcomes = [(None, exc)] * len(batch)
            followers.settle(wrote, False)
        else:
            followers.settle(wrote, True)
        for write, (result, error) in zip(batch, outcomes, strict=True):
            try:
                write.settle(result, error)
            except Exception:
                log.exception("settling a committed write failed")
            if error is None:
                write.future.set_result(result)
            else:
                write.future.set_exception(error)
