"""A bucket with many keys, filled in bulk straight through the object index (a million PUTs would take hours),
for the listing test and the listing benchmark. Works on SQLite and PostgreSQL alike."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import insert

from infra.db import Database, sqlite_url
from objectstore.store.tables import ObjectRow

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
BATCH = 10_000


def layout(count: int, per_prefix: int) -> list[str]:
    """``count`` keys in prefixes of ``per_prefix``: ``p000/0000`` ... (sorted, as a listing returns them)."""
    return [f"p{i // per_prefix:03d}/{i % per_prefix:04d}" for i in range(count)]


def fill(data_dir: Path, database_url: str | None, bucket: str, keys: list[str]) -> None:
    """Inserts ``keys`` as empty objects of the existing ``bucket``, in batches of one transaction each."""
    db = Database(database_url or sqlite_url(data_dir))
    now = time.time()
    try:
        for start in range(0, len(keys), BATCH):
            rows = [
                {
                    "bucket": bucket,
                    "key": key,
                    "key_raw": key,
                    "size": 0,
                    "etag": EMPTY_MD5,
                    "last_modified": now,
                }
                for key in keys[start : start + BATCH]
            ]
            with db.write() as conn:
                conn.execute(insert(ObjectRow), rows)
    finally:
        db.dispose()
