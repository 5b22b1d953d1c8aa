"""Database plumbing shared by every store: engine creation for SQLite (WAL) and PostgreSQL, and transactions.

SQLite runs in WAL mode with ``synchronous=FULL`` so a committed transaction survives power loss, and writers take
the lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock upgrading a read lock. PostgreSQL uses its own
MVCC; repositories lock the rows they change (``SELECT ... FOR UPDATE``) where a read decides a write.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import String, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Select
from sqlmodel import SQLModel

# Keys and names compare in UTF-8 byte order on every backend (SQLite's BINARY collation already does).
OrderedText = String().with_variant(String(collation="C"), "postgresql")

_WRITE = "lakebox_write"
_SINGLE = "lakebox_single_statement"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'lakebox.db'}"


class Database:
    """An engine plus the two kinds of transaction the stores use: read (snapshot) and write (serialised)."""

    def __init__(self, url: str, *, pool_size: int = 16) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._raw = threading.local()
        self._raw_lock = threading.Lock()
        self._raw_all: list[sqlite3.Connection] = []
        self._writer_gate: AbstractContextManager[object] = (
            threading.Lock() if self.is_sqlite else nullcontext()
        )
        if self.is_sqlite:
            self.engine = create_engine(
                url,
                poolclass=QueuePool,
                pool_size=pool_size,
                max_overflow=16,
                connect_args={"check_same_thread": False, "timeout": 60, "isolation_level": None},
            )
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
        else:
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=16, pool_pre_ping=True)

    def create_schema(self) -> None:
        """Creates every table registered on SQLModel's metadata (idempotent; run before workers start).

        On PostgreSQL an advisory lock serialises nodes that start at the same time.
        """
        if self.is_sqlite:
            SQLModel.metadata.create_all(self.engine)
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(7410925)")
            try:
                SQLModel.metadata.create_all(conn)
                conn.commit()
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(7410925)")
                conn.commit()

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[Connection]:
        """A read transaction; ``snapshot=False`` for a single statement, which on SQLite then skips the
        BEGIN/COMMIT round (each statement is atomic on its own)."""
        with self.engine.connect() as conn:
            if not snapshot:
                conn = conn.execution_options(**{_SINGLE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        # SQLite admits one writer at a time and makes the others sleep in its busy handler (in steps of up to
        # 100 ms); queueing this process's writers on a lock first hands the database over without those
        # sleeps. The database lock still decides between processes.
        with self._writer_gate, self.engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def raw_sqlite(self) -> sqlite3.Connection:
        """This thread's own raw connection to the SQLite database (autocommit), for PointQuery."""
        local = self._raw
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        # A connection made before a fork belongs to the parent: each process and thread opens its own.
        if conn is None or local.pid != os.getpid():
            path = make_url(self.url).database or ""
            conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            _sqlite_on_connect(conn, None)
            local.conn, local.pid = conn, os.getpid()
            with self._raw_lock:
                self._raw_all.append(conn)
        return conn

    def point_query(self, stmt: Select[Any]) -> PointQuery:
        """A one-row read run as fast as the backend allows (see PointQuery)."""
        return PointQuery(self, stmt)

    def dispose(self) -> None:
        with self._raw_lock:
            for conn in self._raw_all:
                conn.close()
            self._raw_all.clear()
        self.engine.dispose()


class PointQuery:
    """A prepared single-statement read returning at most one row, for the request hot path.

    On SQLite it runs the statement's SQL, compiled once, on a raw ``sqlite3`` connection of the calling thread:
    SQLAlchemy's execution machinery (events, compiled-cache lookup, result wrapping) costs ~80 us a statement,
    against ~10 us for SQLite itself. A single statement in autocommit mode reads one consistent snapshot, as a
    ``read(snapshot=False)`` does. Rows are named tuples with SQLAlchemy's result processing applied, so callers
    see the same values either way. On PostgreSQL it runs through the engine (its pool pings and reconnects).
    """

    def __init__(self, db: Database, stmt: Select[Any]) -> None:
        self._db = db
        self._stmt = stmt
        if not db.is_sqlite:
            return
        dialect = db.engine.dialect
        compiled = stmt.compile(dialect=dialect)
        self._sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        keys = list(stmt.selected_columns.keys())
        self._row: Any = namedtuple("_Row", keys)  # type: ignore[misc]
        processors = [col.type._cached_result_processor(dialect, None) for col in stmt.selected_columns]
        self._processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, proc) for i, proc in enumerate(processors) if proc is not None
        ]

    def first(self, params: Mapping[str, Any]) -> Any:
        if not self._db.is_sqlite:
            with self._db.read(snapshot=False) as conn:
                return conn.execute(self._stmt, dict(params)).first()
        values = self._db.raw_sqlite().execute(self._sql, [params[name] for name in self._names]).fetchone()
        if values is None:
            return None
        if self._processors:
            values = list(values)
            for i, proc in self._processors:
                values[i] = proc(values[i])
        return self._row._make(values)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get(_WRITE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif not options.get(_SINGLE):
        conn.exec_driver_sql("BEGIN")
