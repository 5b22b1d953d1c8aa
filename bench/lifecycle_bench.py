"""Lifecycle expiration at scale: N objects (default 1,000,000) past an Expiration rule, expired by a running
server's ``lifecycle`` job while a client keeps reading and writing another bucket; the same client's rates with
lifecycle idle are measured first, on the same database.

    .venv/bin/python -m bench.lifecycle_bench [--objects 1000000] [--clients 4] [--idle-seconds 20]
        [--workers 2] [--batch-size 500] [--batch-pause-ms 0] [--database-url URL]

The N objects are inserted in bulk through the object index (transactions of 10,000 rows, from this process, on the
server's database, after the server created the bucket), as N PUTs would take hours. The rows are what PutObject
writes (same table and indexes, a blob id each, ages spread over one second ten days ago), so the lifecycle job
does exactly the work it does on real objects: walk the index, re-read each batch in a write transaction, delete
the rows, record their blobs as garbage and count them in the analytics. Only the blob files do not exist; deleting
files is the garbage reaper's work, after ``garbage_grace_seconds`` (300 s), not lifecycle's.

Foreground: ``--clients`` tasks GET 4 KiB objects and as many PUT (overwrite) 4 KiB objects, one request at a time
each, through the benchmark's own client (bench/client.py), in a bucket no rule covers. Their ops/s and p50/p99 are
taken over the lifecycle pass itself (from the job's claim to its finish) and over an idle window before the rule
is set, in which the job runs its passes every few seconds and finds nothing to do.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.client import S3Client
from infra.db import Database, sqlite_url
from infra.jobs import JobInfo, JobStore
from objectstore.store.tables import ObjectRow
from tests.support.server import LakeboxServer

EXPIRING, FOREGROUND = "bench-expiring", "bench-foreground"
LIFECYCLE = "lifecycle"  # the job kind (lakebox.background.LIFECYCLE)
SEED_BATCH = 10_000
BODY = b"x" * 4096
GET_KEYS = 256
RULE = (
    "<LifecycleConfiguration><Rule><ID>expire-old</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
    "<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
)


@dataclass
class Ops:
    """Completion times and latencies of one kind of foreground request."""

    done: list[tuple[float, float]] = field(default_factory=list)  # (finished at, latency ms)
    errors: int = 0

    def window(self, start: float, end: float) -> tuple[float, float, float, int]:
        """(ops/s, p50 ms, p99 ms, count) of the requests that finished in [start, end)."""
        lat = sorted(ms for at, ms in self.done if start <= at < end)
        if not lat or end <= start:
            return 0.0, 0.0, 0.0, 0
        return (
            len(lat) / (end - start),
            lat[len(lat) // 2],
            lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            len(lat),
        )


def seed(db: Database, count: int) -> None:
    """``count`` objects of the expiring bucket, last modified ten days ago, in bulk transactions."""
    old = time.time() - 10 * 86400
    for start in range(0, count, SEED_BATCH):
        rows = [
            {"bucket": EXPIRING, "key": f"logs/{i:09d}", "key_raw": f"logs/{i:09d}", "size": 4096,
             "etag": "0f343b0931126a20f133d67c2b018a3b", "last_modified": old + i * 1e-6, "blob_id": f"seed{i:09d}"}
            for i in range(start, min(count, start + SEED_BATCH))
        ]  # fmt: skip
        with db.write() as conn:
            conn.execute(insert(ObjectRow), rows)


async def _client_loop(
    client: S3Client, method: str, keys: list[str], ops: Ops, stop: asyncio.Event, offset: int
) -> None:
    i = offset
    while not stop.is_set():
        key = keys[i % len(keys)]
        i += 7
        began = time.perf_counter()
        reply = await client.request(method, FOREGROUND, key, body=BODY if method == "PUT" else None)
        ended = time.perf_counter()
        if reply.status != 200:
            ops.errors += 1
            continue
        ops.done.append((time.time(), (ended - began) * 1000))


def _job(jobs: JobStore) -> JobInfo | None:
    return jobs.get(LIFECYCLE, EXPIRING)


def _finished_after(job: JobInfo | None, ruled: float) -> bool:
    """Whether ``job``'s last pass started after the rule was set and has ended."""
    return bool(
        job is not None
        and job.last_started is not None
        and job.last_started >= ruled
        and job.last_finished is not None
        and job.last_finished >= job.last_started
        and job.lease_owner is None
        and job.checkpoint is None
    )


Window = tuple[float, float, float, int]


@dataclass
class Result:
    pass_started: float
    pass_finished: float
    progress: dict[str, int]
    idle: tuple[Window, Window]  # GET, PUT
    busy: tuple[Window, Window]
    errors: int


async def measure(server: LakeboxServer, db: Database, args: argparse.Namespace) -> Result:
    endpoint, key_id, secret = server.s3_endpoint, server.access_key_id, server.secret_access_key
    jobs = JobStore(db)
    gets, puts = Ops(), Ops()
    stop = asyncio.Event()
    clients = [S3Client(endpoint, key_id, secret, "auto") for _ in range(2 * args.clients)]
    get_keys = [f"get/{i:04d}" for i in range(GET_KEYS)]
    for key in get_keys:
        await clients[0].request("PUT", FOREGROUND, key, body=BODY)
    tasks = [
        asyncio.create_task(_client_loop(c, "GET", get_keys, gets, stop, n))
        for n, c in enumerate(clients[: args.clients])
    ]
    tasks += [
        asyncio.create_task(_client_loop(c, "PUT", [f"put/{n}-{i}" for i in range(64)], puts, stop, 0))
        for n, c in enumerate(clients[args.clients :])
    ]
    try:
        await asyncio.sleep(2)  # connections made, caches warm
        idle_start = time.time()
        await asyncio.sleep(args.idle_seconds)
        idle_end = time.time()
        reply = await clients[0].request("PUT", EXPIRING, params={"lifecycle": ""}, body=RULE.encode())
        if reply.status != 200:
            raise RuntimeError(f"PutBucketLifecycleConfiguration: {reply.status} {reply.body[:300]!r}")
        ruled = time.time()
        deadline = ruled + args.timeout
        while True:  # the first pass that started after the rule was set, to its end
            job = await asyncio.to_thread(_job, jobs)
            if _finished_after(job, ruled):
                break
            if time.time() > deadline:
                raise RuntimeError(f"no lifecycle pass finished within {args.timeout} s: {job}")
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for c in clients:
            await c.__aexit__()
    start, end = float(job.last_started or 0), float(job.last_finished or 0)  # type: ignore[union-attr]
    return Result(
        start,
        end,
        dict((job.progress or {}) if job else {}),
        (gets.window(idle_start, idle_end), puts.window(idle_start, idle_end)),
        (gets.window(start, end), puts.window(start, end)),
        gets.errors + puts.errors,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objects", type=int, default=1_000_000, help="objects to expire (default 1,000,000)")
    p.add_argument(
        "--clients", type=int, default=4, help="foreground GET clients, and as many PUT (default 4)"
    )
    p.add_argument("--idle-seconds", type=float, default=20.0, help="foreground window with lifecycle idle")
    p.add_argument("--workers", type=int, default=2, help="lakebox worker processes (default 2)")
    p.add_argument("--batch-size", type=int, default=None, help="jobs_batch_size (default: the server's)")
    p.add_argument(
        "--batch-pause-ms", type=int, default=None, help="jobs_batch_pause_ms (default: the server's)"
    )
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (an empty database); default SQLite")
    p.add_argument("--timeout", type=float, default=7200.0, help="seconds to wait for the pass")
    p.add_argument("--tmp-dir", default=None, help="where the server's temporary data goes")
    args = p.parse_args(argv)

    env = {"LAKEBOX_LIFECYCLE_INTERVAL_SECONDS": "3", "LAKEBOX_JOBS_POLL_MS": "200"}
    if args.batch_size is not None:
        env["LAKEBOX_JOBS_BATCH_SIZE"] = str(args.batch_size)
    if args.batch_pause_ms is not None:
        env["LAKEBOX_JOBS_BATCH_PAUSE_MS"] = str(args.batch_pause_ms)
    tmp = Path(tempfile.mkdtemp(prefix="lakebox-lifecycle-bench-", dir=args.tmp_dir))
    server = LakeboxServer(tmp / "data", workers=args.workers, database_url=args.database_url, extra_env=env)
    server.start()
    db = Database(args.database_url or sqlite_url(server.data_dir))
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket=EXPIRING)
        s3.create_bucket(Bucket=FOREGROUND)
        started = time.perf_counter()
        seed(db, args.objects)
        print(
            f"seeded {args.objects:,} objects in {time.perf_counter() - started:.1f} s (bulk, through the index)"
        )
        result = asyncio.run(measure(server, db, args))
        with db.read() as conn:
            left = conn.execute(
                select(func.count()).select_from(ObjectRow).where(ObjectRow.bucket == EXPIRING)  # type: ignore[arg-type]
            ).scalar_one()
    finally:
        db.dispose()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    seconds = result.pass_finished - result.pass_started
    progress = result.progress
    expired = int(progress.get("expired", 0))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{backend}, {args.workers} workers: {expired:,} of {args.objects:,} expired in one pass of {seconds:.1f} s: "
        f"{expired / seconds:,.0f} objects/s ({left:,} left; visited {int(progress.get('objects_visited', 0)):,})"
    )
    print(f"foreground, {args.clients} GET + {args.clients} PUT clients, 4 KiB, one request at a time each:")
    idle, busy = result.idle, result.busy
    for name, i, b in (("GET", idle[0], busy[0]), ("PUT", idle[1], busy[1])):
        print(
            f"  {name} idle      {i[0]:8.1f} ops/s  p50 {i[1]:7.2f} ms  p99 {i[2]:7.2f} ms  ({i[3]:,} requests)"
        )
        ratio = b[0] / i[0] if i[0] else 0.0
        print(
            f"  {name} expiring  {b[0]:8.1f} ops/s  p50 {b[1]:7.2f} ms  p99 {b[2]:7.2f} ms  ({b[3]:,} requests)"
            f"  = {ratio:.2f} x idle"
        )
    if result.errors:
        print(f"  ERR {result.errors} foreground requests failed")
    return 0 if expired == args.objects and left == 0 and not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())
