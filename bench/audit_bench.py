"""Per-request cost of the audit log's transaction followers (``infra.followers``), in process, on SQLite.

1. An S3 write that is no configuration change (PutObject): ``AuditedS3`` around a trivial app whose "write"
   asks the request's followers what to write, as every write transaction does; against the bare app.
2. An audited change: the same through ``AuditedS3`` with CreateBucket, its entry inserted into an open write
   transaction (the change's own); against the bare app running the transaction's statements without an entry.
3. For scale: one durable commit of a separate entry, which is what recording after the answer costs.
Run: ``.venv/bin/python -m bench.audit_bench``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from audit.api.asgi import AuditedS3
from audit.service.audit import AuditLog
from audit.store.repo import AuditEntry, AuditRepository
from infra import followers
from infra.db import Database

N = 5000
COMMITS = 200


def _app(operation: str, conn: Connection | None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["s3.operation"], scope["s3.actor"], scope["s3.bucket"] = operation, "tok", "bench"
        wrote: list[followers.Follower] = []
        follow = followers.pending()
        if follow:
            followers.run(conn, follow, wrote)  # type: ignore[arg-type]
        followers.settle(wrote, True)  # as if committed
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


async def _receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


async def _per_request(target: Any) -> float:
    start = time.perf_counter()
    for _ in range(N):
        await target({"type": "http", "method": "PUT"}, _receive, _send)
    return (time.perf_counter() - start) / N * 1e6


async def _costs(db: Database, audit: AuditLog) -> tuple[float, float]:
    put_cost = min(
        [
            await _per_request(AuditedS3(_app("PutObject", None), audit))
            - await _per_request(_app("PutObject", None))
            for _ in range(3)
        ]
    )
    with db.write() as conn:  # the changes' transaction, rolled back at the end
        bare = _app("CreateBucket", conn)
        audited = AuditedS3(bare, audit)
        change_cost = min([await _per_request(audited) - await _per_request(bare) for _ in range(3)])
        conn.rollback()
    return put_cost, change_cost


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'lakebox.db'}")
        db.create_schema()
        audit = AuditLog(AuditRepository(db))
        put_cost, change_cost = asyncio.run(_costs(db, audit))
        entry = AuditEntry(time.time(), "tok", "s3", "CreateBucket", "bench", "success", 200)
        start = time.perf_counter()
        for _ in range(COMMITS):
            audit.repo.append(entry)
        commit = (time.perf_counter() - start) / COMMITS * 1e6
        db.dispose()
    print(f"S3 write, no change (PutObject)      {put_cost:8.2f} us/request added by the audit")
    print(f"audited change, entry in its txn     {change_cost:8.2f} us/request added by the audit")
    print(f"entry in a commit of its own         {commit:8.2f} us/request (recording after the answer)")


if __name__ == "__main__":
    main()
