"""Transaction followers (the outbox): what must be written in the same database transaction as a change.

A unit of work (an API request) registers followers with ``following``; every write transaction started in its
context (``Database.write``, or a ``GroupCommitter`` write submitted from it) hands the followers its connection
right before it commits, so what they write (an audit entry, later an event for the notification outbox) commits
or rolls back with the change itself. Each follower decides whether this transaction is one it follows (e.g. the
first one of its request) and is told afterwards whether what it wrote was committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from sqlalchemy.engine import Connection


class Follower(Protocol):
    def follow(self, conn: Connection) -> bool:
        """Writes what follows the change into ``conn``'s transaction (not yet committed); True if it wrote
        something, and then ``settled`` tells it the transaction's fate."""
        ...

    def settled(self, committed: bool) -> None: ...


_pending: ContextVar[tuple[Follower, ...]] = ContextVar("lakebox_transaction_followers", default=())


def pending() -> tuple[Follower, ...]:
    """The followers of the current context (captured by whoever runs a write on its behalf elsewhere)."""
    return _pending.get()


@contextmanager
def following(*followers: Follower) -> Iterator[None]:
    """Every write transaction started inside (in this task, or threads it hands its context to) carries
    ``followers``."""
    token = _pending.set(_pending.get() + followers)
    try:
        yield
    finally:
        _pending.reset(token)


def run(conn: Connection, followers: tuple[Follower, ...], wrote: list[Follower]) -> None:
    """Runs ``followers`` in ``conn``'s transaction, appending to ``wrote`` each one that wrote something (also
    when a later one raises, so the caller can settle those)."""
    for follower in followers:
        if follower.follow(conn):
            wrote.append(follower)


def settle(wrote: list[Follower], committed: bool) -> None:
    for follower in wrote:
        follower.settled(committed)
