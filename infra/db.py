"""Database plumbing shared by every store: engine creation for SQLite (WAL) and PostgreSQL, and transactions.

SQLite runs in WAL mode with ``synchronous=FULL`` so a committed transaction survives power loss, and writers take
the lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock upgrading a read lock. PostgreSQL uses its own
MVCC; repositories lock the rows they change (``SELECT ... FOR UPDATE``) where a read decides a write.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import String, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Delete, Insert, Select, Update
from sqlalchemy.sql.selectable import TextualSelect
from sqlmodel import SQLModel

from infra import followers

# Keys and names compare in UTF-8 byte order on every backend (SQLite's BINARY collation already does).
OrderedText = String().with_variant(String(collation="C"), "postgresql")

Statement = Select[Any] | TextualSelect | Insert | Update | Delete

_WRITE = "lakebox_write"
CACHE_KIB = 512  # SQLite page cache per connection
# What all of a process's SQLite connections may hold together (page caches, schemas, statements) before their
# caches recycle pages instead of growing: a worker has one connection per pool thread plus its engine's pool,
# some 50, whose caches otherwise fill towards 50 x CACHE_KIB as the database grows (the process's memory then
# rises for as long as it runs). Advisory: SQLite exceeds it rather than fail.
HEAP_LIMIT_BYTES = 16 << 20
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
        # Weak: a thread's connection closes when the thread ends (worker pools retire idle threads, and a
        # connection kept for a dead thread would hold its page cache for the life of the process).
        self._raw_all: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
        self._inherited: list[sqlite3.Connection] = []
        self._writer_gate: AbstractContextManager[object] = nullcontext()
        if self.is_sqlite:
            path = make_url(url).database or ""
            _private_sqlite_file(path)
            self._writer_gate = WriterGate(path)
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
            with self.engine.begin() as conn:
                SQLModel.metadata.create_all(conn)
                _add_new_columns(conn)
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(7410925)")
            try:
                SQLModel.metadata.create_all(conn)
                _add_new_columns(conn)
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
        """A write transaction; the transaction followers of the calling context (``infra.followers``) write
        into it right before it commits."""
        follow = followers.pending()
        wrote: list[followers.Follower] = []
        committed = False
        try:
            # SQLite admits one writer at a time and makes the others sleep in its busy handler (in steps of up
            # to 100 ms); queueing writers on a lock first (WriterGate) hands the database over without those
            # sleeps. The database lock still decides.
            with self._writer_gate, self.engine.connect() as conn:
                conn = conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
                    if follow:
                        followers.run(conn, follow, wrote)
                committed = True
        finally:
            if wrote:
                followers.settle(wrote, committed)

    def raw_sqlite(self) -> sqlite3.Connection:
        """This thread's own raw connection to the SQLite database (autocommit), for Prepared reads."""
        local = self._raw
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        # A connection made before a fork belongs to the parent: each process and thread opens its own.
        if conn is None or local.pid != os.getpid():
            if conn is not None:
                self._inherited.append(conn)  # the parent's: never closed here (its locks are the parent's)
            path = make_url(self.url).database or ""
            conn = sqlite3.connect(
                path, timeout=60, isolation_level=None, check_same_thread=False, factory=_RawConnection
            )
            _sqlite_on_connect(conn, None)
            local.conn, local.pid = conn, os.getpid()
            with self._raw_lock:
                self._raw_all.add(conn)
        return conn

    def prepare(self, stmt: Statement, defaults: Mapping[str, Any] | None = None) -> Prepared:
        """``stmt`` compiled once, to run on the hot path (see Prepared)."""
        return Prepared(self, stmt, defaults)

    def dispose(self) -> None:
        with self._raw_lock:
            for conn in list(self._raw_all):
                conn.close()
            self._raw_all.clear()
        self.engine.dispose()


class _RawConnection(sqlite3.Connection):
    """A raw connection that a WeakSet can hold (sqlite3.Connection itself takes no weak references)."""


class Prepared:
    """A statement compiled once for the request hot path, run as cheaply as the backend allows.

    On SQLite its SQL runs straight on the DBAPI connection: SQLAlchemy's execution machinery (events,
    compiled-cache lookup, result wrapping) costs ~80 us a statement against ~10 us for SQLite itself. Reads
    without a connection use the calling thread's own autocommit connection (a single statement reads one
    consistent snapshot, as ``read(snapshot=False)`` does); with ``conn`` they join its transaction. Rows are
    named tuples with SQLAlchemy's result processing applied, so callers see the same values either way. On
    PostgreSQL statements run through the engine (its pool pings and reconnects).

    DML statements bind every column they name; ``defaults`` fill the ones a caller leaves out.
    """

    def __init__(self, db: Database, stmt: Statement, defaults: Mapping[str, Any] | None = None) -> None:
        self._db = db
        self._stmt = stmt
        self._defaults = dict(defaults or {})
        self._row: Any = None
        self._processors: list[tuple[int, Callable[[Any], Any]]] = []
        if not db.is_sqlite:
            return
        dialect = db.engine.dialect
        compiled = stmt.compile(dialect=dialect)
        self._sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Binds the statement fixes itself (literals, SQLite's OFFSET beside a LIMIT) keep their values.
        fixed = {
            name: value
            for name, value in compiled.params.items()
            if not compiled.binds[name].required and name not in self._defaults
        }
        self._defaults = {**fixed, **self._defaults}
        if isinstance(stmt, Select | TextualSelect):
            columns = list(stmt.selected_columns)
            self._row = namedtuple("_Row", [c.key for c in columns])  # type: ignore[misc]
            processors = [col.type._cached_result_processor(dialect, None) for col in columns]
            self._processors = [(i, proc) for i, proc in enumerate(processors) if proc is not None]

    def _params(self, params: Mapping[str, Any]) -> list[Any]:
        defaults = self._defaults
        return [params[name] if name in params else defaults[name] for name in self._names]

    def first(self, params: Mapping[str, Any], conn: Connection | None = None) -> Any:
        """The first row (None if none), in ``conn``'s transaction or as one autocommit statement."""
        if not self._db.is_sqlite:
            rows = self._engine_rows(params, conn)
            return rows[0] if rows else None
        values = self._raw(conn).execute(self._sql, self._params(params)).fetchone()
        return None if values is None else self._make(values)

    def all(self, params: Mapping[str, Any], conn: Connection | None = None) -> list[Any]:
        """Every row, in ``conn``'s transaction or as one autocommit statement."""
        if not self._db.is_sqlite:
            return self._engine_rows(params, conn)
        return [self._make(values) for values in self._raw(conn).execute(self._sql, self._params(params))]

    def _engine_rows(self, params: Mapping[str, Any], conn: Connection | None) -> list[Any]:
        if conn is not None:
            return list(conn.execute(self._stmt, dict(params)).all())
        with self._db.read(snapshot=False) as own:
            return list(own.execute(self._stmt, dict(params)).all())

    def _raw(self, conn: Connection | None) -> Any:
        return self._db.raw_sqlite() if conn is None else _driver(conn)

    def _make(self, values: Any) -> Any:
        if self._processors:
            values = list(values)
            for i, proc in self._processors:
                values[i] = proc(values[i])
        return self._row._make(values)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Runs a DML statement in ``conn``'s transaction; the number of rows it matched."""
        if not self._db.is_sqlite:
            full = {**self._defaults, **params} if self._defaults else dict(params)
            return int(conn.execute(self._stmt, full).rowcount)
        return int(_driver(conn).execute(self._sql, self._params(params)).rowcount)

    def insert(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Runs an INSERT of one row in ``conn``'s transaction; the new row's integer primary key."""
        if not self._db.is_sqlite:
            full = {**self._defaults, **params} if self._defaults else dict(params)
            key = conn.execute(self._stmt, full).inserted_primary_key
            assert key is not None
            return int(key[0])
        rowid = _driver(conn).execute(self._sql, self._params(params)).lastrowid
        return int(rowid)


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under a SQLAlchemy connection (inside its current transaction)."""
    return conn.connection.driver_connection


@contextmanager
def savepoint(db: Database, conn: Connection) -> Iterator[None]:
    """A savepoint in ``conn``'s transaction: an exception inside rolls back only what was done inside.

    On SQLite issued directly on the DBAPI connection (two statements at ~5 us instead of ~150 us through
    SQLAlchemy's nested-transaction bookkeeping), which the enclosing transaction does not notice.
    """
    if not db.is_sqlite:
        with conn.begin_nested():
            yield
        return
    raw = _driver(conn)
    raw.execute("SAVEPOINT lakebox_sp")
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK TO lakebox_sp")
        raw.execute("RELEASE lakebox_sp")
        raise
    raw.execute("RELEASE lakebox_sp")


def _add_new_columns(conn: Connection) -> None:
    """Adds the nullable columns and the indexes a newer lakebox defines to tables an older one created
    (``create_all`` makes missing tables only). Other schema changes would need a migration; none exists yet."""
    existing = inspect(conn)
    for table in SQLModel.metadata.sorted_tables:
        present = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable or column.primary_key:
                raise RuntimeError(f"table {table.name} lacks column {column.name}, which cannot be added")
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')
        indexed = {index["name"] for index in existing.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexed:
                index.create(conn)


class WriterGate:
    """The queue SQLite writers wait in, in this process (a thread lock) and between the processes sharing the
    database file (``flock`` on ``<database>-writer.lock``): a waiter sleeps in the kernel and wakes the moment
    the writer before it lets go, where SQLite's busy handler would sleep 1 to 100 ms between tries (with four
    workers committing at once, most of the time). Only a gate: SQLite's own lock still decides, so a writer that
    does not pass here (or a file system without ``flock``) stays correct, merely slower."""

    def __init__(self, database_path: str) -> None:
        self._thread_lock = threading.Lock()
        in_memory = not database_path or database_path == ":memory:" or database_path.startswith("file:")
        self._path = None if in_memory else f"{database_path}-writer.lock"
        self._fd = -1
        self._pid = 0  # the descriptor belongs to one process: a forked worker opens its own

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            fd = self._descriptor()
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd >= 0 and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _descriptor(self) -> int:
        if self._path is None:
            return -1
        if self._pid != os.getpid():
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._fd = -1  # no gate between processes: SQLite's busy handler alone
            self._pid = os.getpid()
        return self._fd


def _private_sqlite_file(path: str) -> None:
    """The database file exists, readable by its owner only; SQLite gives its -wal and -shm files the database
    file's mode, so they are private too. (A file an older lakebox left readable to others is tightened.)"""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # SQLite reports why it cannot open the file, in its own words
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        pass  # not ours to change
    finally:
        os.close(fd)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    # Each connection keeps its own page cache (SQLite's default: 2 MiB), and a worker holds a pool of them plus
    # one per thread: some 50 copies of the hot pages, filling slowly towards 100 MiB a worker as the database
    # grows. The kernel's page cache holds the file once for every connection and process; 512 KiB each keeps
    # the top of every index in memory.
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.execute(
        f"PRAGMA soft_heap_limit={HEAP_LIMIT_BYTES}"
    )  # process-wide: the same for every connection
    cursor.close()


def sqlite_heap_used() -> int:
    """Bytes the SQLite library holds in this process (every connection's caches, schemas and statements)."""
    import _sqlite3
    import ctypes

    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used  # the library the module uses (its dependency)
    used.restype = ctypes.c_int64
    return int(used())


def _sqlite_on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get(_WRITE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif not options.get(_SINGLE):
        conn.exec_driver_sql("BEGIN")
