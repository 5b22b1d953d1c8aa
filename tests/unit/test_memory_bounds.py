"""Memory a worker holds stays bounded however long it runs: the allocator's arenas are shared by all threads
(each arena keeps its own free memory), and SQLite's caches, one per connection, are capped for the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from infra.db import CACHE_KIB, HEAP_LIMIT_BYTES, Database, sqlite_heap_used

_COUNT_ARENAS = textwrap.dedent(
    """
    import ctypes, ctypes.util, sys, threading
    from lakebox.memory import tune_malloc
    if sys.argv[1] == "tuned":
        assert tune_malloc()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    started, release = threading.Barrier(13), threading.Event()
    def work():
        keep = [bytearray(4096 + i) for i in range(64)]  # malloc, not Python's small-object allocator
        started.wait()
        release.wait()
    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    started.wait()
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    libc.open_memstream.restype = ctypes.c_void_p
    stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.malloc_info(0, stream)
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.fclose(stream)
    release.set()
    print(buf.value.decode().count("<heap nr="))
    """
)


def _arenas(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _COUNT_ARENAS, mode], capture_output=True, text=True, timeout=120, check=True
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_threads_share_two_allocator_arenas() -> None:
    assert _arenas("default") > 2  # glibc's own default: an arena per thread, up to 8 a core
    assert _arenas("tuned") <= 2


def test_sqlite_caches_of_many_connections_stay_under_the_process_limit(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    try:
        setup = db.raw_sqlite()
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
        setup.execute("BEGIN")
        setup.executemany("INSERT INTO t (b) VALUES (?)", ((bytes(1000),) for _ in range(4000)))
        setup.execute("COMMIT")
        connections = 96  # each would fill its own cache with the table's pages: 48 MiB without the cap
        assert connections * CACHE_KIB * 1024 > 2 * HEAP_LIMIT_BYTES
        started, release = threading.Barrier(connections + 1), threading.Event()
        totals: list[int] = []

        def scan() -> None:
            conn = db.raw_sqlite()
            totals.append(conn.execute("SELECT sum(length(b)) FROM t").fetchone()[0])
            started.wait()
            release.wait()  # the connection (and its cache) lives while its thread does

        threads = [threading.Thread(target=scan) for _ in range(connections)]
        for thread in threads:
            thread.start()
        started.wait(timeout=300)
        used = sqlite_heap_used()
        release.set()
        for thread in threads:
            thread.join()
        assert totals == [4000 * 1000] * connections  # every scan read the whole table
        # Each connection keeps a fixed part (its schema, a statement, the cache's first pages) on top of the
        # shared limit; without the limit this is some 54 MiB.
        assert used <= HEAP_LIMIT_BYTES + (connections + 1) * 128 * 1024
    finally:
        db.dispose()


def test_heap_trace_is_off_unless_asked_and_reports_the_process_figures(tmp_path: Path) -> None:
    from lakebox import heap_trace

    assert heap_trace.start_from_env({}) is False
    trace = heap_trace.HeapTrace(tmp_path, interval=60)
    first, second = trace.report(), trace.report()  # tracemalloc is off here: the cheap figures only
    for report in (first, second):
        for figure in ("VmRSS", "fds", "sqlite=", "malloc=", "resident KiB by mapping"):
            assert figure in report
    assert "object types grown since the first report" in second
