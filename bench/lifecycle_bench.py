"""Lifecycle expiration throughput: N objects past an Expiration rule, expired by the ``lifecycle`` job itself.

The objects are inserted as index rows (their blobs do not exist: the blob files are the garbage reaper's work, not
lifecycle's); one ``JobRunner.run_due`` then does the whole pass with the server's default batch size, checkpoints
and analytics counts included. Prints objects/s. Run: ``.venv/bin/python -m bench.lifecycle_bench [N]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from lakebox.background import LIFECYCLE, build_runner
from lakebox.bootstrap import prepare
from lakebox.services import Services
from lakebox.settings import Settings
from objectstore.api.context import S3Context
from objectstore.store.repo import buckets, objects

RULE = [
    [
        "Rule",
        [["ID", "e"], ["Filter", [["Prefix", ""]]], ["Status", "Enabled"], ["Expiration", [["Days", "1"]]]],
    ]
]


def main(n: int) -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", workers=1)
    prepare(settings)
    services = Services(settings)
    old = time.time() - 10 * 86400
    with services.db.write() as conn:
        conn.execute(insert(buckets).values(name="b", created_at=old, lifecycle=json.dumps(RULE)))
        for start in range(0, n, 10_000):
            rows = [
                {"bucket": "b", "key": f"k{i:09d}", "key_raw": f"k{i:09d}", "size": 1, "etag": "e",
                 "last_modified": old + i * 1e-3, "blob_id": f"blob{i}"}
                for i in range(start, min(n, start + 10_000))
            ]  # fmt: skip
            conn.execute(insert(objects), rows)
    context = S3Context(services.objects, services.buckets, services.tokens, None)
    runner = build_runner(services, context.multipart)
    services.jobs.ensure(LIFECYCLE, "b", interval=3600, first_run_at=0)
    began = time.perf_counter()
    runner.run_due()
    elapsed = time.perf_counter() - began
    with services.db.read() as conn:
        left = conn.execute(select(func.count()).select_from(objects)).scalar_one()
    job = services.jobs.get(LIFECYCLE, "b")
    assert job is not None
    assert job.progress is not None
    print(
        f"{job.progress['expired']} of {n} expired in {elapsed:.1f} s: {n / elapsed:,.0f} objects/s ({left} left)"
    )
    services.db.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
