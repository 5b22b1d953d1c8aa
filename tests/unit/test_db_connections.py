"""Per-thread raw SQLite connections end with their thread (worker pools retire idle threads; a connection kept
for a dead thread would hold its page cache and file handles for the life of the process)."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

from infra.db import Database


def test_a_threads_raw_connection_is_closed_when_the_thread_ends(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    try:
        refs: list[weakref.ref[object]] = []

        def use() -> None:
            conn = db.raw_sqlite()
            conn.execute("SELECT 1").fetchone()
            refs.append(weakref.ref(conn))

        for _ in range(20):
            thread = threading.Thread(target=use)
            thread.start()
            thread.join()
        gc.collect()
        assert len(refs) == 20
        assert [r for r in refs if r() is not None] == []
        own = db.raw_sqlite()  # this thread's own stays open, and is the only one left
        assert own.execute("SELECT 2").fetchone() == (2,)
        assert len(db._raw_all) == 1
    finally:
        db.dispose()
