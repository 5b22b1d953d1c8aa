"""S3 benchmark: lakebox against moto's server, same workloads, same client, same run.

    scripts/bench [--workers N] [--concurrency 16] [--scale 1.0] [--only get_4k,head_4k] [--servers lakebox,moto]
    scripts/bench --encryption-cost   # what encryption at rest costs (lakebox and --no-encryption, alternating)

Starts each server in turn (lakebox on a temporary data dir, then moto_server), runs every workload against it with
one fast asyncio client (bench/client.py: raw HTTP/1.1 keep-alive with httptools, SigV4 with UNSIGNED-PAYLOAD), and prints per
workload ops/s, MiB/s, p50/p99 latency, the server's CPU time per operation, the client's, and the peak RSS of the
server's process tree; then the lakebox/moto ratios next to the targets. Results also go to bench/results/*.json.
``lakebox-plain`` is lakebox with encryption at rest off (``--no-encryption``, which exists for this comparison):
with both in one run, the cost of encryption is printed per workload on both measures, each judged against 10%:
throughput (the median over alternating rounds of the rounds' ratios, and their range) and server CPU time per
operation (median over rounds, with and without, and the ratio). Rounds run the servers in alternating order.

Every response is checked (status; and length, ETag or body bytes), so a fast error path cannot pass for speed:
a workload with any failed check is flagged ERR and its first errors are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import json
import math
import mmap
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.client import Reply, S3Client
from bench.targets import LakeboxTarget, MotoTarget, Target, TreeSampler
from lakebox.memory import tune_malloc

KiB, MiB = 1024, 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
SMALL_BUCKET, LARGE_BUCKET = "bench-small", "bench-large"
LIST_KEYS, LIST_DIRS, PAGE = 10_000, 100, 1000

# Targets from the issue (lakebox ops/s divided by moto ops/s); reported, never asserted.
TARGETS = {
    "get_4k": 10.0, "head_4k": 10.0, "get_1m": 5.0, "list_10k": 10.0, "list_delim": 10.0,
    "put_1m": 2.0, "put_4k": 2.0,
}  # fmt: skip


class CheckFailed(Exception):
    pass


@dataclass
class Result:
    workload: str
    ops: int = 0
    seconds: float = 0.0
    bytes: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    peak_rss: int = 0
    skipped: str | None = None
    note: str = ""

    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def mib_per_s(self) -> float:
        return self.bytes / MiB / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        s = sorted(self.latencies_ms)
        return s[min(len(s) - 1, int(q * len(s)))]

    def summary(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("latencies_ms")
        n = max(self.ops, 1)
        d.update(
            ops_per_s=round(self.ops_per_s(), 1),
            mib_per_s=round(self.mib_per_s(), 1),
            p50_ms=round(self.pct(0.50), 3),
            p99_ms=round(self.pct(0.99), 3),
            server_cpu_us_per_op=round(self.server_cpu_s / n * 1e6, 1),
            client_cpu_us_per_op=round(self.client_cpu_s / n * 1e6, 1),
            peak_rss_mib=round(self.peak_rss / MiB, 1),
        )
        return d


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise CheckFailed(what)


def expect_status(r: Reply, status: int, what: str) -> None:
    if r.status != status:
        raise CheckFailed(f"{what}: HTTP {r.status} (wanted {status}) {r.body[:300]!r}")


def quoted_md5(data: bytes | memoryview) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3 ETag


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.conc: int = args.concurrency
        self.small = os.urandom(4 * KiB)
        self.small_etag = quoted_md5(self.small)
        self.medium = os.urandom(1 * MiB)
        self.medium_etag = quoted_md5(self.medium)
        self.small_keys = [f"d{i % LIST_DIRS:02d}/obj-{i:05d}" for i in range(self.count(LIST_KEYS))]
        self.medium_keys: list[str] = []

    def count(self, n: int) -> int:
        return max(1, int(n * self.args.scale))

    # -- the runner --------------------------------------------------------------------------------------

    async def drive(
        self,
        res: Result,
        op: Callable[[int], Awaitable[int]],
        count: int,
        concurrency: int,
        cap: float | None,
        *,
        self_timed: bool = False,
    ) -> None:
        """Runs ``op(i)`` for i in range(count) with ``concurrency`` tasks (stopping early after ``cap`` s).

        ``op`` returns the payload bytes it moved and raises CheckFailed when a response is wrong. A
        ``self_timed`` op counts its own operations and latencies (a LIST walk of several pages).
        """
        next_i = 0
        start = time.perf_counter()
        deadline = start + cap if cap else None

        async def worker() -> None:
            nonlocal next_i
            while next_i < count and (deadline is None or time.perf_counter() < deadline):
                i = next_i
                next_i += 1
                t0 = time.perf_counter()
                try:
                    moved = await op(i)
                except CheckFailed as exc:
                    res.errors += 1
                    if len(res.error_samples) < 3:
                        res.error_samples.append(str(exc))
                    continue
                except Exception as exc:  # a connection error counts as a failed check
                    res.errors += 1
                    if len(res.error_samples) < 3:
                        res.error_samples.append(f"{type(exc).__name__}: {exc}")
                    continue
                if not self_timed:
                    res.latencies_ms.append((time.perf_counter() - t0) * 1000)
                    res.ops += 1
                res.bytes += moved

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        res.seconds = time.perf_counter() - start

    # -- workloads ---------------------------------------------------------------------------------------

    async def put_4k(self, c: S3Client, res: Result) -> None:
        async def op(i: int) -> int:
            r = await c.request("PUT", SMALL_BUCKET, self.small_keys[i], body=self.small)
            expect_status(r, 200, "PUT 4 KiB")
            expect(r.headers.get("etag") == self.small_etag, f"PUT 4 KiB ETag {r.headers.get('etag')}")
            return len(self.small)

        # Not capped: the LIST workloads need all 10,000 keys.
        await self.drive(res, op, len(self.small_keys), self.conc, None)

    async def get_4k(self, c: S3Client, res: Result) -> None:
        keys = self.small_keys

        async def op(i: int) -> int:
            r = await c.request("GET", SMALL_BUCKET, keys[i % len(keys)])
            expect_status(r, 200, "GET 4 KiB")
            expect(r.body == self.small, f"GET 4 KiB body differs ({r.length} bytes)")
            if i % 64 == 0:
                expect(r.headers.get("etag") == self.small_etag, "GET 4 KiB ETag")
            return r.length

        await self.drive(res, op, self.count(20_000), self.conc, self.args.cap)

    async def head_4k(self, c: S3Client, res: Result) -> None:
        keys = self.small_keys

        async def op(i: int) -> int:
            r = await c.request("HEAD", SMALL_BUCKET, keys[i % len(keys)])
            expect_status(r, 200, "HEAD")
            expect(r.headers.get("content-length") == str(len(self.small)), "HEAD Content-Length")
            expect(r.headers.get("etag") == self.small_etag, "HEAD ETag")
            return 0

        await self.drive(res, op, self.count(20_000), self.conc, self.args.cap)

    async def list_10k(self, c: S3Client, res: Result) -> None:
        """One op = one page of 1,000 keys; each task walks the whole bucket (10 pages) by continuation token."""
        total = len(self.small_keys)
        pages_per_walk = (total + PAGE - 1) // PAGE
        walks = max(1, self.count(1000) // pages_per_walk)
        res.note = f"{total} keys, pages of {PAGE}; op = one page"

        async def walk(_i: int) -> int:
            token: str | None = None
            seen = 0
            moved = 0
            for _page in range(pages_per_walk + 1):
                params = {"list-type": "2", "max-keys": str(PAGE)}
                if token:
                    params["continuation-token"] = token
                t0 = time.perf_counter()
                r = await c.request("GET", SMALL_BUCKET, params=params)
                expect_status(r, 200, "LIST")
                n = r.body.count(b"<Key>")
                seen += n
                moved += r.length
                m = re.search(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>", r.body)
                res.latencies_ms.append((time.perf_counter() - t0) * 1000)
                res.ops += 1
                if m is None:
                    break
                expect(n == PAGE, f"LIST page had {n} keys")
                token = html.unescape(m.group(1).decode())
            expect(seen == total, f"LIST walk saw {seen} keys of {total}")
            return moved

        await self.drive(res, walk, walks, self.conc, self.args.cap, self_timed=True)

    async def list_delim(self, c: S3Client, res: Result) -> None:
        dirs = min(LIST_DIRS, len(self.small_keys))
        res.note = f"delimiter '/': {dirs} CommonPrefixes rolled up from {len(self.small_keys)} keys"

        async def op(_i: int) -> int:
            r = await c.request(
                "GET", SMALL_BUCKET, params={"list-type": "2", "max-keys": str(PAGE), "delimiter": "/"}
            )
            expect_status(r, 200, "LIST delimiter")
            n = r.body.count(b"<CommonPrefixes>")
            expect(n == dirs and b"<Contents>" not in r.body, f"LIST delimiter: {n} prefixes")
            return r.length

        await self.drive(res, op, self.count(2000), self.conc, self.args.cap)

    async def put_1m(self, c: S3Client, res: Result) -> None:
        n = self.count(1000)
        keys = [f"m/obj-{i:05d}" for i in range(n)]

        async def op(i: int) -> int:
            r = await c.request("PUT", LARGE_BUCKET, keys[i], body=self.medium)
            expect_status(r, 200, "PUT 1 MiB")
            expect(r.headers.get("etag") == self.medium_etag, "PUT 1 MiB ETag")
            self.medium_keys.append(keys[i])
            return len(self.medium)

        await self.drive(res, op, n, self.conc, self.args.cap)

    async def get_1m(self, c: S3Client, res: Result) -> None:
        keys = self.medium_keys
        if not keys:
            res.skipped = "no 1 MiB objects (put_1m did not run)"
            return

        async def op(i: int) -> int:
            r = await c.request("GET", LARGE_BUCKET, keys[i % len(keys)])
            expect_status(r, 200, "GET 1 MiB")
            expect(r.body == self.medium, f"GET 1 MiB body differs ({r.length} bytes)")
            expect(r.headers.get("etag") == self.medium_etag, "GET 1 MiB ETag")
            return r.length

        await self.drive(res, op, self.count(2000), self.conc, self.args.cap)

    async def big(self, c: S3Client, put: Result, get: Result) -> None:
        size = int(self.args.large_mib) * MiB
        body = os.urandom(size)
        etag = quoted_md5(body)

        async def put_op(_i: int) -> int:
            r = await c.request("PUT", LARGE_BUCKET, "big/object", body=body)
            expect_status(r, 200, "PUT large")
            expect(r.headers.get("etag") == etag, f"PUT large ETag {r.headers.get('etag')}")
            return size

        def compare(offset: int, chunk: bytes | memoryview) -> None:
            # A copy and a memcmp (~60 us a MiB); bytes.find and memoryview comparisons are 15-100x slower.
            if not body.startswith(bytes(chunk), offset):
                raise CheckFailed(f"GET large: bytes differ at offset {offset}")

        async def get_op(_i: int) -> int:
            r = await c.request("GET", LARGE_BUCKET, "big/object", sink=compare)
            expect_status(r, 200, "GET large")
            expect(r.length == size, f"GET large: {r.length} bytes")
            return size

        # Repeated (--large-count) so that CPU time per operation averages over more than a few clock ticks.
        count = max(1, int(self.args.large_count))
        await self.measured(put, lambda: self.drive(put, put_op, count, 1, None))
        await self.measured(get, lambda: self.drive(get, get_op, count, 1, None))

    async def multipart(self, c: S3Client, res: Result) -> None:
        part_size = int(self.args.part_mib) * MiB
        parts = max(1, self.args.mpu_mib // self.args.part_mib)
        part = os.urandom(part_size)
        part_md5 = hashlib.md5(part).digest()  # noqa: S324
        key = "mpu/object"
        res.note = (
            f"{parts} parts of {self.args.part_mib} MiB, {self.args.mpu_parallel} concurrent; op = one part"
        )
        r = await c.request("POST", LARGE_BUCKET, key, params={"uploads": ""})
        if r.status in (501, 405):
            code = re.search(rb"<Code>([^<]*)</Code>", r.body)
            name = code.group(1).decode() if code else f"HTTP {r.status}"
            res.skipped = f"server answered {name} to CreateMultipartUpload (multipart not implemented)"
            return
        try:
            expect_status(r, 200, "CreateMultipartUpload")
        except CheckFailed as exc:
            res.errors += 1
            res.error_samples.append(str(exc))
            return
        m = re.search(rb"<UploadId>([^<]+)</UploadId>", r.body)
        expect(m is not None, "CreateMultipartUpload: no UploadId")
        assert m is not None
        upload_id = html.unescape(m.group(1).decode())
        etags: dict[int, str] = {}
        start = time.perf_counter()

        async def op(i: int) -> int:
            n = i + 1
            r = await c.request(
                "PUT", LARGE_BUCKET, key, params={"partNumber": str(n), "uploadId": upload_id}, body=part
            )
            expect_status(r, 200, f"UploadPart {n}")
            etags[n] = r.headers.get("etag", "")
            return part_size

        await self.drive(res, op, parts, self.args.mpu_parallel, None)
        if res.errors:
            return
        doc = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in sorted(etags)
        )
        r = await c.request(
            "POST",
            LARGE_BUCKET,
            key,
            params={"uploadId": upload_id},
            body=f"<CompleteMultipartUpload>{doc}</CompleteMultipartUpload>".encode(),
        )
        res.seconds = time.perf_counter() - start  # MiB/s includes completion
        try:
            expect_status(r, 200, "CompleteMultipartUpload")
            expect(b"<Error>" not in r.body, f"CompleteMultipartUpload: {r.body[:300]!r}")
            want = f"{hashlib.md5(part_md5 * parts).hexdigest()}-{parts}"  # noqa: S324
            expect(want in r.body.decode(errors="replace"), f"multipart ETag, wanted {want}")
            r = await c.request("HEAD", LARGE_BUCKET, key)
            expect_status(r, 200, "HEAD multipart object")
            expect(r.headers.get("content-length") == str(parts * part_size), "multipart object size")
        except CheckFailed as exc:
            res.errors += 1
            res.error_samples.append(str(exc))

    async def delete(self, c: S3Client, res: Result) -> None:
        keys = self.small_keys

        async def op(i: int) -> int:
            r = await c.request("DELETE", SMALL_BUCKET, keys[i])
            expect_status(r, 204, "DELETE")
            return 0

        await self.drive(res, op, len(keys), self.conc, self.args.cap)

    # -- one server --------------------------------------------------------------------------------------

    async def measured(self, res: Result, run: Callable[[], Awaitable[None]]) -> None:
        assert self.sampler is not None
        self.sampler.reset_peak()
        s0, c0 = self.sampler.cpu_seconds(), time.process_time()
        await run()
        res.server_cpu_s = self.sampler.cpu_seconds() - s0
        res.client_cpu_s = time.process_time() - c0
        res.peak_rss = max(self.sampler.peak, self.sampler.rss())

    async def run_target(self, target: Target) -> dict[str, Result]:
        results: dict[str, Result] = {}
        only = set(self.args.only.split(",")) if self.args.only else None
        self.medium_keys = []
        async with S3Client(
            target.endpoint, target.access_key_id, target.secret_access_key, target.region
        ) as c:
            for bucket in (SMALL_BUCKET, LARGE_BUCKET):
                r = await c.request("PUT", bucket)
                expect_status(r, 200, f"CreateBucket {bucket}")
            steps: list[tuple[str, Callable[[S3Client, Result], Awaitable[None]]]] = [
                ("put_4k", self.put_4k),
                ("get_4k", self.get_4k),
                ("head_4k", self.head_4k),
                ("list_10k", self.list_10k),
                ("list_delim", self.list_delim),
                ("put_1m", self.put_1m),
                ("get_1m", self.get_1m),
            ]
            needs_keys = only is not None and only & {"get_4k", "head_4k", "list_10k", "list_delim", "delete"}
            for name, fn in steps:
                res = results[name] = Result(name)
                if only is not None and name not in only:
                    if (name == "put_4k" and needs_keys) or (name == "put_1m" and "get_1m" in only):
                        await fn(c, Result(name))  # setup only
                    res.skipped = "not selected"
                    continue
                await self.measured(res, lambda fn=fn, res=res: fn(c, res))  # type: ignore[misc]
                self.progress(target, res)
            big_put, big_get = Result("put_256m"), Result("get_256m")
            big_put.workload = f"put_{self.args.large_mib}m"
            big_get.workload = f"get_{self.args.large_mib}m"
            if only is None or only & {"put_256m", "get_256m"}:
                await self.big(c, big_put, big_get)
                self.progress(target, big_put)
                self.progress(target, big_get)
            else:
                big_put.skipped = big_get.skipped = "not selected"
            results["put_256m"], results["get_256m"] = big_put, big_get
            mib = self.args.mpu_mib
            mpu = results["multipart_1g"] = Result(
                f"multipart_{mib // 1024}g" if mib % 1024 == 0 else f"multipart_{mib}m"
            )
            if only is None or "multipart_1g" in only:
                await self.measured(mpu, lambda: self.multipart(c, mpu))
                self.progress(target, mpu)
            else:
                mpu.skipped = "not selected"
            res = results["delete"] = Result("delete")
            if only is None or "delete" in only:
                await self.measured(res, lambda: self.delete(c, res))
                self.progress(target, res)
            else:
                res.skipped = "not selected"
        return results

    sampler: TreeSampler | None = None

    def progress(self, target: Target, res: Result) -> None:
        if res.skipped:
            line = f"skipped: {res.skipped}"
        else:
            line = (
                f"{res.ops_per_s():9.1f} ops/s {res.mib_per_s():8.1f} MiB/s p50 {res.pct(0.5):7.2f} ms "
                f"p99 {res.pct(0.99):7.2f} ms"
            )
            if res.errors:
                line += f"  ERRORS {res.errors}: {res.error_samples[0]}"
        print(f"  [{target.name}] {res.workload:13s} {line}", file=sys.stderr, flush=True)

    async def run_one(self, target: Target) -> dict[str, Result]:
        print(f"== {target.name}: {target.description}", file=sys.stderr, flush=True)
        target.start()
        try:
            with TreeSampler(target.pid) as sampler:
                self.sampler = sampler
                return await self.run_target(target)
        finally:
            self.sampler = None
            target.stop()


# -- report ------------------------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def server_table(name: str, results: dict[str, Result]) -> str:
    rows = []
    for res in results.values():
        if res.skipped:
            rows.append([res.workload, "-", "-", "-", "-", "-", "-", "-", "-", f"skipped: {res.skipped}"])
            continue
        n = max(res.ops, 1)
        rows.append(
            [
                res.workload,
                str(res.ops),
                f"{res.ops_per_s():.1f}",
                f"{res.mib_per_s():.1f}",
                f"{res.pct(0.5):.2f}",
                f"{res.pct(0.99):.2f}",
                f"{res.server_cpu_s / n * 1e6:.0f}",
                f"{res.client_cpu_s / n * 1e6:.0f}",
                f"{res.peak_rss / MiB:.0f}",
                f"ERR {res.errors}: {res.error_samples[0][:80]}" if res.errors else res.note,
            ]
        )
    header = [
        "workload",
        "ops",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p99 ms",
        "srv us/op",
        "cli us/op",
        "RSS MiB",
        "",
    ]
    return f"{name}\n" + table(rows, header)


def ratios(lake: dict[str, Result], moto: dict[str, Result]) -> tuple[str, dict[str, dict[str, object]]]:
    rows: list[list[str]] = []
    data: dict[str, dict[str, object]] = {}
    for key, a in lake.items():
        b = moto.get(key)
        if b is None or a.skipped or b.skipped or not a.ops or not b.ops:
            continue
        thr = a.ops_per_s() / b.ops_per_s() if b.ops_per_s() else float("inf")
        p50 = a.pct(0.5) / b.pct(0.5) if b.pct(0.5) else float("nan")
        p99 = a.pct(0.99) / b.pct(0.99) if b.pct(0.99) else float("nan")
        cpu = (a.server_cpu_s / a.ops) / (b.server_cpu_s / b.ops) if b.server_cpu_s else float("nan")
        rss = a.peak_rss / b.peak_rss if b.peak_rss else float("nan")
        target = TARGETS.get(key)
        verdict = "" if target is None else ("met" if thr >= target else "MISSED")
        if a.errors or b.errors:
            verdict = "ERR"
        rows.append(
            [
                a.workload,
                f"{thr:.2f}x",
                f"{p50:.2f}",
                f"{p99:.2f}",
                f"{cpu:.2f}",
                f"{rss:.2f}",
                f">= {target:g}x" if target else "",
                verdict,
            ]
        )
        data[key] = {
            "throughput": round(thr, 3), "p50": round(p50, 3), "p99": round(p99, 3),
            "server_cpu_per_op": round(cpu, 3), "peak_rss": round(rss, 3), "target": target, "verdict": verdict,
        }  # fmt: skip
    header = ["workload", "ops/s", "p50", "p99", "srv CPU/op", "RSS", "target", ""]
    return "lakebox / moto (throughput: higher is better; latency, CPU, RSS: lower is better)\n" + table(
        rows, header
    ), data


COST_WORKLOADS = ("put_1m", "get_1m", "put_256m", "get_256m")


def median(figures: list[float]) -> float:
    """The median of ``figures`` (NaN for none)."""
    figures = sorted(f for f in figures if not math.isnan(f))
    if not figures:
        return float("nan")
    middle = len(figures) // 2
    return figures[middle] if len(figures) % 2 else (figures[middle - 1] + figures[middle]) / 2


def cpu_ms_per_op(runs: list[Result]) -> float:
    """Server CPU time per operation over every round a workload ran in: the median of the rounds' figures, so
    a round that shared the machine with a burst of other work does not decide it (CPU time, unlike wall time,
    hardly changes with load; what it does pick up, the median drops)."""
    return median([r.server_cpu_s / r.ops * 1e3 for r in runs if r.ops and not r.skipped])


def _measured(runs: list[Result]) -> list[Result]:
    return [r for r in runs if r.ops and not r.skipped]


def encryption_cost(
    sealed: dict[str, list[Result]], plain: dict[str, list[Result]]
) -> tuple[str, dict[str, dict[str, object]]]:
    """What encryption at rest costs per workload, on both measures, each against a 10% target:

    - throughput: round ``i`` of the encrypted server is paired with round ``i`` of the plain one (the rounds
      alternate, so a pair shares the machine's load of the moment), the cost is one minus the median of the
      pairs' MiB/s ratios, and its range over the pairs is printed too (the spread is the machine's noise);
    - server CPU time per operation: the median over rounds of each server, and their ratio.

    ``sealed`` and ``plain`` hold every round's result of each workload, in round order."""
    rows: list[list[str]] = []
    data: dict[str, dict[str, object]] = {}
    for key, all_runs in sealed.items():
        runs, others = _measured(all_runs), _measured(plain.get(key, []))
        if not runs or not others:
            continue
        pairs = [a.mib_per_s() / b.mib_per_s() for a, b in zip(runs, others, strict=False) if b.mib_per_s()]
        thr_cost = 1 - median(pairs)
        thr_a, thr_b = median([r.mib_per_s() for r in runs]), median([r.mib_per_s() for r in others])
        cpu_a, cpu_b = cpu_ms_per_op(runs), cpu_ms_per_op(others)
        cpu_cost = cpu_a / cpu_b - 1 if cpu_b else float("nan")
        errors = any(r.errors for r in (*all_runs, *plain.get(key, [])))
        thr_verdict = "ERR" if errors else ("met" if thr_cost < 0.10 else "MISSED")
        cpu_verdict = "ERR" if errors else ("met" if cpu_cost < 0.10 else "MISSED")
        spread = f"{(1 - max(pairs)) * 100:+.0f}..{(1 - min(pairs)) * 100:+.0f}%" if pairs else "-"
        rows.append(
            [
                runs[0].workload,
                f"{thr_a:.1f}",
                f"{thr_b:.1f}",
                f"{thr_cost * 100:+.1f}%",
                spread,
                thr_verdict,
                f"{cpu_a:.3f}",
                f"{cpu_b:.3f}",
                f"{cpu_cost * 100:+.1f}%",
                cpu_verdict,
                f"{len(pairs)}",
            ]
        )
        data[key] = {
            "mib_per_s": round(thr_a, 1), "mib_per_s_plain": round(thr_b, 1),
            "throughput_ratio": round(median(pairs), 4), "throughput_cost": round(thr_cost, 4),
            "throughput_cost_per_round": [round(1 - p, 4) for p in pairs],
            "server_cpu_ms_per_op": round(cpu_a, 4), "server_cpu_ms_per_op_plain": round(cpu_b, 4),
            "server_cpu_ratio": round(cpu_a / cpu_b, 4) if cpu_b else float("nan"),
            "server_cpu_cost": round(cpu_cost, 4),
            "ops_measured": min(sum(r.ops for r in runs), sum(r.ops for r in others)), "rounds": len(pairs),
            "verdict_throughput": thr_verdict, "verdict_cpu": cpu_verdict,
            "verdict": "ERR" if errors else ("met" if thr_verdict == cpu_verdict == "met" else "MISSED"),
        }  # fmt: skip
    header = [
        "workload", "MiB/s", "plain MiB/s", "thr cost", "per round", "thr < 10%",
        "srv ms/op", "plain ms/op", "CPU cost", "CPU < 10%", "rounds",
    ]  # fmt: skip
    return (
        "encryption at rest: lakebox against lakebox --no-encryption in alternating rounds (MiB/s and server CPU"
        " per operation: medians over rounds; thr cost: 1 - the median of the rounds' MiB/s ratios, with its"
        " range; CPU cost: the ratio of the medians, less one)\n" + table(rows, header),
        data,
    )


def first_touch_us(size: int = 64 << 20) -> float:
    """What touching never-used memory costs on this machine, per 4 KiB page. On a VM that hands freed memory back
    to its host (free page reporting) it is several times a plain page fault (~1.5 us), and every byte a server
    newly keeps in RAM (page cache, in-memory objects) pays it once: it explains much of the run-to-run spread."""
    region = mmap.mmap(-1, size)
    try:
        start = time.perf_counter()
        for offset in range(0, size, mmap.PAGESIZE):
            region[offset] = 1
        return (time.perf_counter() - start) / (size // mmap.PAGESIZE) * 1e6
    finally:
        region.close()


def machine_at_start() -> dict[str, object]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return {
        "loadavg_at_start": [round(x, 2) for x in load],
        "memory_first_touch_us_per_page": round(first_touch_us(), 2),
    }


def environment(args: argparse.Namespace, at_start: dict[str, object]) -> dict[str, object]:
    rev = ""
    with contextlib.suppress(Exception):
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "git": rev, "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), **at_start, "args": vars(args),
    }  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2, help="lakebox worker processes (default 2)")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent requests (default 16)")
    p.add_argument("--servers", default="lakebox,moto", help="which servers, in order (default lakebox,moto)")
    p.add_argument("--only", default="", help="comma-separated workloads (default: all)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply operation counts (0.1 for a smoke run)")
    p.add_argument(
        "--cap", type=float, default=20.0, help="stop a repeatable workload after this many seconds"
    )
    p.add_argument("--large-mib", type=int, default=256, help="size of the single large PUT/GET (MiB)")
    p.add_argument(
        "--large-count", type=int, default=1, help="how many times the large PUT and GET each run (default 1)"
    )
    p.add_argument(
        "--encryption-cost",
        action="store_true",
        help="measure what encryption at rest costs: lakebox and lakebox --no-encryption in alternation on the"
        " 1 MiB and 256 MiB PUT/GET workloads (sets --servers, --only; --rounds 3 and --large-count 4 unless"
        " given)",
    )
    p.add_argument("--mpu-mib", type=int, default=1024, help="size of the multipart upload (MiB)")
    p.add_argument("--part-mib", type=int, default=16, help="multipart part size (MiB)")
    p.add_argument("--mpu-parallel", type=int, default=8, help="concurrent part uploads")
    p.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="run the servers in turn this many times and keep each workload's best (on a shared machine)",
    )
    p.add_argument("--tmp-dir", default=None, help="where the servers' temporary data goes")
    p.add_argument("--results-dir", default=str(ROOT / "bench" / "results"), help="where the JSON goes")
    args = p.parse_args(argv)
    if args.encryption_cost:
        args.servers = "lakebox,lakebox-plain"
        args.only = ",".join(COST_WORKLOADS)
        args.rounds = args.rounds or 3
        if "--large-count" not in (argv if argv is not None else sys.argv):
            args.large_count = 4
    args.rounds = args.rounds or 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    tune_malloc()  # the client's own megabyte buffers, as lakebox tunes its workers (the same for every server)
    at_start = machine_at_start()
    bench = Bench(args)
    all_results: dict[str, dict[str, Result]] = {}
    targets: dict[str, Target] = {}
    for name in args.servers.split(","):
        if name == "lakebox":
            targets[name] = LakeboxTarget(args.workers, args.tmp_dir)
        elif name == "lakebox-plain":
            targets[name] = LakeboxTarget(args.workers, args.tmp_dir, encryption=False)
        elif name == "moto":
            targets[name] = MotoTarget(args.tmp_dir)
        else:
            raise SystemExit(f"unknown server {name!r}")
    rounds: dict[
        str, dict[str, list[Result]]
    ] = {}  # every round's result (the encryption cost uses them all)
    for round_ in range(args.rounds):
        # Every other round runs the servers in the opposite order, so a drift in the machine's load does not
        # always fall on the same one.
        order = list(targets.items())
        for name, target in order[::-1] if round_ % 2 else order:
            results = asyncio.run(bench.run_one(target))
            kept = all_results.setdefault(name, results)
            for key, res in results.items():
                rounds.setdefault(name, {}).setdefault(key, []).append(res)
                if not res.skipped and res.ops_per_s() > kept[key].ops_per_s():
                    kept[key] = res

    print()
    print(
        f"S3 benchmark: concurrency {args.concurrency}, lakebox --workers {args.workers}, "
        f"{os.cpu_count()} CPUs, one client process (srv/cli us/op: CPU time per operation); "
        f"memory first touch {at_start['memory_first_touch_us_per_page']} us per 4 KiB page"
    )
    for name, results in all_results.items():
        print()
        print(server_table(f"{name}: {targets[name].description}", results))
    ratio_data: dict[str, dict[str, object]] = {}
    if "lakebox" in all_results and "moto" in all_results:
        text, ratio_data = ratios(all_results["lakebox"], all_results["moto"])
        print()
        print(text)
    cost_data: dict[str, dict[str, object]] = {}
    if "lakebox" in all_results and "lakebox-plain" in all_results:
        text, cost_data = encryption_cost(rounds["lakebox"], rounds["lakebox-plain"])
        print()
        print(text)
    for results in all_results.values():
        for res in results.values():
            if res.skipped and res.skipped != "not selected":
                print(f"note: {res.workload} skipped: {res.skipped}")
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"s3-bench-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(
        json.dumps(
            {
                "environment": environment(args, at_start),
                "servers": {n: targets[n].description for n in targets},
                "results": {n: {k: r.summary() for k, r in rs.items()} for n, rs in all_results.items()},
                "ratios_lakebox_over_moto": ratio_data,
                "encryption_cost": cost_data,
            },
            indent=2,
        )
    )
    print(f"\nresults: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    failed = any(r.errors for rs in all_results.values() for r in rs.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
