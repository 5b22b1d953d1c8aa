"""Soak benchmark: a long mixed S3 load against one ``lakebox serve``, watching memory and disk over time.

    scripts/soak [--minutes 30] [--concurrency 32] [--workers 2] [--keys 5000] [--grace SECONDS]
    (or .venv/bin/python -m bench.soak ...)

Runs PUT (overwrites of a fixed key space, 4 KiB and 64 KiB), GET, HEAD, LIST, DeleteObject, DeleteObjects,
CopyObject and small multipart uploads (some aborted) in a fixed mix, with a /metrics scrape every few seconds,
from one fast asyncio client (bench/client.py). It prints the RSS of the server's process tree (supervisor and
workers summed) every sample and at 5, 15 and 30 minutes, then the error count, p50/p99 latency per operation,
and what is on disk at the end: blob files against the blobs the index references, garbage rows waiting out the
grace period, and garbage rows older than it (the reaper falling behind). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.client import S3Client
from bench.targets import TreeSampler
from lakebox.memory import tune_malloc
from tests.support.server import LakeboxServer

KiB, MiB = 1024, 1024 * 1024
BUCKET = "soak"
MARKS_MIN = (1, 5, 15, 30)  # RSS is also printed at these minutes
PART = 5 * MiB


@dataclass
class OpStats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        s = sorted(self.latencies_ms)
        return s[min(len(s) - 1, int(q * len(s)))]


class Failed(Exception):
    pass


def _expect(status: int, wanted: tuple[int, ...], what: str, body: bytes | bytearray = b"") -> None:
    if status not in wanted:
        raise Failed(f"{what}: HTTP {status} {bytes(body[:200])!r}")


class Soak:
    def __init__(self, args: argparse.Namespace, client: S3Client, console_url: str) -> None:
        self.args = args
        self.c = client
        self.console_url = console_url
        self.rng = random.Random(args.seed)
        self.keys = [f"d{i % 50:02d}/k{i:06d}" for i in range(args.keys)]
        self.bodies = {size: os.urandom(size) for size in (4 * KiB, 64 * KiB)}
        self.etags = {size: f'"{hashlib.md5(b).hexdigest()}"' for size, b in self.bodies.items()}  # noqa: S324
        self.part = os.urandom(PART)
        self.stats: dict[str, OpStats] = {}
        self.samples: list[str] = []
        self.ops: list[tuple[str, float, Callable[[], Awaitable[None]]]] = [
            ("put_4k", 30, lambda: self.put(4 * KiB)),
            ("put_64k", 8, lambda: self.put(64 * KiB)),
            ("get", 30, self.get),
            ("head", 10, self.head),
            ("list", 6, self.list),
            ("delete", 6, self.delete),
            ("delete_objects", 2, self.delete_objects),
            ("copy", 6, self.copy),
            ("multipart", 0.2, self.multipart),
        ]
        self._weights = [w for _n, w, _f in self.ops]

    def key(self) -> str:
        return self.keys[self.rng.randrange(len(self.keys))]

    async def put(self, size: int) -> None:
        r = await self.c.request("PUT", BUCKET, self.key(), body=self.bodies[size])
        _expect(r.status, (200,), "PUT", r.body)
        if r.headers.get("etag") != self.etags[size]:
            raise Failed(f"PUT ETag {r.headers.get('etag')}")

    async def get(self) -> None:
        r = await self.c.request("GET", BUCKET, self.key())
        _expect(r.status, (200, 404), "GET", r.body)
        etag = r.headers.get("etag", "").strip('"')
        # (a multipart ETag is not the body's MD5)
        if r.status == 200 and "-" not in etag and hashlib.md5(r.body).hexdigest() != etag:  # noqa: S324
            raise Failed("GET body does not match its ETag")

    async def head(self) -> None:
        r = await self.c.request("HEAD", BUCKET, self.key())
        _expect(r.status, (200, 404), "HEAD")

    async def list(self) -> None:
        params = {"list-type": "2", "prefix": f"d{self.rng.randrange(50):02d}/", "max-keys": "100"}
        if self.rng.random() < 0.5:
            params = {"list-type": "2", "delimiter": "/", "max-keys": "100"}
        r = await self.c.request("GET", BUCKET, params=params)
        _expect(r.status, (200,), "LIST", r.body)

    async def delete(self) -> None:
        r = await self.c.request("DELETE", BUCKET, self.key())
        _expect(r.status, (204,), "DELETE", r.body)

    async def delete_objects(self) -> None:
        keys = {self.key() for _ in range(10)}
        xml = "<Delete>" + "".join(f"<Object><Key>{k}</Key></Object>" for k in keys) + "</Delete>"
        body = xml.encode()
        import base64

        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
        r = await self.c.request(
            "POST", BUCKET, params={"delete": ""}, body=body, extra_headers={"content-md5": md5}
        )
        _expect(r.status, (200,), "DeleteObjects", r.body)

    async def copy(self) -> None:
        source, target = self.key(), self.key()
        if source == target:
            return
        r = await self.c.request(
            "PUT", BUCKET, target, extra_headers={"x-amz-copy-source": f"/{BUCKET}/{source}"}
        )
        _expect(r.status, (200, 404), "CopyObject", r.body)

    async def multipart(self) -> None:
        key = self.key()
        r = await self.c.request("POST", BUCKET, key, params={"uploads": ""})
        _expect(r.status, (200,), "CreateMultipartUpload", r.body)
        match = re.search(rb"<UploadId>([^<]+)</UploadId>", bytes(r.body))
        if match is None:
            raise Failed("CreateMultipartUpload: no UploadId")
        upload_id = match.group(1).decode()
        etags = []
        for number, body in ((1, self.part), (2, self.bodies[4 * KiB])):
            r = await self.c.request(
                "PUT", BUCKET, key, params={"partNumber": str(number), "uploadId": upload_id}, body=body
            )
            _expect(r.status, (200,), "UploadPart", r.body)
            etags.append(r.headers.get("etag", ""))
        if self.rng.random() < 0.3:
            r = await self.c.request("DELETE", BUCKET, key, params={"uploadId": upload_id})
            _expect(r.status, (204,), "AbortMultipartUpload", r.body)
            return
        parts = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)
        )
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        r = await self.c.request("POST", BUCKET, key, params={"uploadId": upload_id}, body=body)
        _expect(r.status, (200,), "CompleteMultipartUpload", r.body)

    async def worker(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            name, _w, op = self.rng.choices(self.ops, self._weights)[0]
            stats = self.stats.setdefault(name, OpStats())
            t0 = time.perf_counter()
            try:
                await op()
            except Exception as exc:
                stats.errors += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            stats.latencies_ms.append((time.perf_counter() - t0) * 1000)

    async def scrape(self, deadline: float) -> None:
        """Reads /metrics every few seconds, as a monitoring system would."""
        while time.monotonic() < deadline:
            await asyncio.sleep(5)
            with contextlib.suppress(OSError):
                await asyncio.to_thread(_get, f"{self.console_url}/metrics")


def per_process(sampler: TreeSampler) -> list[str]:
    """RSS, open file descriptors and threads of each server process (the supervisor first, then the workers)."""
    out = []
    for role, proc in sampler.processes():
        with contextlib.suppress(psutil.Error):
            with proc.oneshot():
                rss, fds, threads = proc.memory_info().rss / MiB, proc.num_fds(), proc.num_threads()
            out.append(f"[{role} {proc.pid}: {rss:.1f} MiB {fds} fd {threads} thr]")
    return out


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return bytes(resp.read())


def disk_report(data_dir: Path, grace: float) -> dict[str, int]:
    """Blob files on disk against what the index references, and the garbage list (read-only, from the side)."""
    files = sum(1 for _ in (data_dir / "blobs").glob("*/*/*"))
    incoming = sum(1 for _ in (data_dir / "incoming").glob("*/*"))
    db = sqlite3.connect(f"file:{data_dir / 'lakebox.db'}?mode=ro", uri=True, timeout=60)
    try:
        one = db.execute
        objects = one("SELECT count(*) FROM s3_object").fetchone()[0]
        referenced = one(
            "SELECT count(*) FROM (SELECT blob_id FROM s3_object WHERE blob_id IS NOT NULL"
            " UNION SELECT blob_id FROM s3_upload_part)"
        ).fetchone()[0]
        garbage = one("SELECT count(*) FROM s3_blob_garbage").fetchone()[0]
        overdue = one(
            "SELECT count(*) FROM s3_blob_garbage WHERE created_at < ?", (time.time() - grace - 30,)
        ).fetchone()[0]
    finally:
        db.close()
    return {
        "blob_files": files,
        "incoming_files": incoming,
        "live_objects": objects,
        "referenced_blobs": referenced,
        "garbage_rows": garbage,
        "garbage_overdue": overdue,
    }


async def run(args: argparse.Namespace, server: LakeboxServer, sampler: TreeSampler) -> Soak:
    async with S3Client(server.s3_endpoint, server.access_key_id, server.secret_access_key, "auto") as c:
        r = await c.request("PUT", BUCKET)
        _expect(r.status, (200,), "CreateBucket", r.body)
        soak = Soak(args, c, server.console_url)
        start = time.monotonic()
        deadline = start + args.minutes * 60

        async def sample() -> None:
            marks = [m for m in MARKS_MIN if m <= args.minutes]
            next_sample = start + args.sample_seconds
            while time.monotonic() < deadline:
                await asyncio.sleep(max(0.0, min(next_sample, deadline) - time.monotonic()))
                elapsed = time.monotonic() - start
                rss = sampler.rss() / MiB
                done = sum(len(s.latencies_ms) for s in soak.stats.values())
                errors = sum(s.errors for s in soak.stats.values())
                line = f"  t={elapsed / 60:5.1f} min  rss={rss:7.1f} MiB  ops={done:>9,}  errors={errors}"
                line += "  " + " ".join(per_process(sampler))
                while marks and elapsed >= marks[0] * 60 - 1:
                    line += f"  [RSS at {marks.pop(0)} min]"
                print(line, flush=True)
                next_sample += args.sample_seconds

        await asyncio.gather(
            sample(), soak.scrape(deadline), *(soak.worker(deadline) for _ in range(args.concurrency))
        )
        return soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keys", type=int, default=5000, help="size of the key space that PUTs overwrite")
    parser.add_argument("--sample-seconds", type=float, default=30.0)
    parser.add_argument("--grace", type=int, default=None, help="the server's garbage grace period (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tmp-dir", default=None, help="where the server's data dir goes")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    args = parser.parse_args(argv)
    tune_malloc()
    tmp = Path(tempfile.mkdtemp(prefix="lakebox-soak-", dir=args.tmp_dir))
    env = {} if args.grace is None else {"LAKEBOX_GARBAGE_GRACE_SECONDS": str(int(args.grace))}
    server = LakeboxServer(tmp / "data", workers=args.workers, extra_env=env)
    grace = args.grace if args.grace is not None else 300.0
    print(
        f"soak: {args.minutes:g} min, concurrency {args.concurrency}, {args.workers} workers, "
        f"{args.keys} keys, data dir {tmp}",
        flush=True,
    )
    try:
        server.start()
        with TreeSampler(server.process.pid if server.process else 0, interval=1.0) as sampler:
            print(f"  start        rss={sampler.rss() / MiB:7.1f} MiB", *per_process(sampler), flush=True)
            soak = asyncio.run(run(args, server, sampler))
            print(f"  end          rss={sampler.rss() / MiB:7.1f} MiB (peak {sampler.peak / MiB:.1f})")
        report(soak)
        print("disk at the end:", disk_report(tmp / "data", grace), flush=True)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report(soak: Soak) -> None:
    every = [x for s in soak.stats.values() for x in s.latencies_ms]
    errors = sum(s.errors for s in soak.stats.values())
    total = OpStats(every, errors)
    print(f"ops {len(every):,}  errors {errors}  p50 {total.pct(0.5):.2f} ms  p99 {total.pct(0.99):.2f} ms")
    for name, s in sorted(soak.stats.items()):
        print(
            f"  {name:<15} {len(s.latencies_ms):>9,} ops  {s.errors:>4} errors"
            f"  p50 {s.pct(0.5):8.2f} ms  p99 {s.pct(0.99):8.2f} ms"
        )
    for sample in soak.samples:
        print("  error:", sample)


if __name__ == "__main__":
    sys.exit(main())
