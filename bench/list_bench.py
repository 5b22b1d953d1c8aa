"""Listing at scale: a bucket of N keys (default 1,000,000) walked flat and delimited while another client writes to
it, each walk checked to list every original key exactly once, in UTF-8 byte order.

    .venv/bin/python -m bench.list_bench [--keys 1000000] [--per-prefix 1000] [--page 1000] [--workers 2]

The keys are filled in bulk through the object index (tests/support/listing.py), as N PUTs would take hours. The
walks use the benchmark's own client (bench/client.py), one request at a time, so the figures are the server's
latency per page; a writer overwrites listed keys and adds new ones in the prefixes all along. Prints pages/s and
p50/p99 per walk, and the server's CPU time per page. The suite keeps the same property at 20,000 keys
(tests/integration/test_listing.py::test_keys_listed_once_while_written).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.client import S3Client
from tests.support.listing import fill, layout
from tests.support.server import LakeboxServer

BUCKET = "bench-list"
_KEY = re.compile(rb"<Key>([^<]*)</Key>")
_PREFIX = re.compile(rb"<Prefix>([^<]*)</Prefix>")
_TOKEN = re.compile(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>")
_MARKER = re.compile(rb"<NextMarker>([^<]*)</NextMarker>")


class WalkFailed(Exception):
    pass


@dataclass
class Walk:
    name: str
    listed: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu_s: float = 0.0

    def pct(self, q: float) -> float:
        s = sorted(self.latencies_ms)
        return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def _texts(pattern: re.Pattern[bytes], body: bytes) -> list[str]:
    return [html.unescape(m.decode()) for m in pattern.findall(body)]


async def _page(client: S3Client, walk: Walk, params: dict[str, str]) -> bytes:
    started = time.perf_counter()
    reply = await client.request("GET", BUCKET, params=params)
    walk.latencies_ms.append((time.perf_counter() - started) * 1000)
    if reply.status != 200:
        raise WalkFailed(f"{walk.name}: HTTP {reply.status} {reply.body[:300]!r}")
    return reply.body


async def flat_walk(client: S3Client, page: int) -> Walk:
    walk = Walk("flat (v2, continuation tokens)")
    params = {"list-type": "2", "max-keys": str(page)}
    while True:
        body = await _page(client, walk, params)
        walk.listed += _texts(_KEY, body)
        token = _texts(_TOKEN, body)
        if not token:
            return walk
        params = {"list-type": "2", "max-keys": str(page), "continuation-token": token[0]}


async def delimited_walk(client: S3Client, page: int) -> tuple[Walk, list[str]]:
    walk = Walk("delimited (v1 markers per prefix)")
    prefixes: list[str] = []
    params = {"list-type": "2", "delimiter": "/", "max-keys": str(page)}
    while True:  # the common prefixes first, paged
        body = await _page(client, walk, params)
        prefixes += [p for p in _texts(_PREFIX, body) if p.endswith("/")]
        token = _texts(_TOKEN, body)
        if not token:
            break
        params = {**params, "continuation-token": token[0]}
    for prefix in prefixes:
        marker = ""
        while True:
            params = {"prefix": prefix, "delimiter": "/", "marker": marker, "max-keys": str(page)}
            body = await _page(client, walk, params)
            walk.listed += _texts(_KEY, body)
            next_marker = _texts(_MARKER, body)
            if not next_marker:
                break
            marker = next_marker[0]
    return walk, prefixes


async def writer(
    client: S3Client, keys: list[str], prefixes: int, stop: asyncio.Event, written: list[str]
) -> None:
    i = 0
    while not stop.is_set():
        await client.request("PUT", BUCKET, keys[(i * 7919) % len(keys)], body=b"overwritten")
        written.append(f"p{i % prefixes:03d}/new-{i}")
        await client.request("PUT", BUCKET, written[-1], body=b"new")
        i += 1
        await asyncio.sleep(0.01)


def check(walk: Walk, keys: list[str], written: list[str]) -> list[str]:
    problems = []
    listed = walk.listed
    if len(listed) != len(set(listed)):
        problems.append(f"{len(listed) - len(set(listed))} keys listed twice")
    missed = set(keys) - set(listed)
    if missed:
        problems.append(f"{len(missed)} keys missed, e.g. {sorted(missed)[:3]}")
    invented = set(listed) - set(keys) - set(written)
    if invented:
        problems.append(f"{len(invented)} keys that were never written, e.g. {sorted(invented)[:3]}")
    if listed != sorted(listed, key=lambda s: s.encode()):
        problems.append("not in UTF-8 byte order")
    return problems


def _cpu(server: LakeboxServer) -> float:
    assert server.process is not None
    tree = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]
    return sum(p.cpu_times().user + p.cpu_times().system for p in tree)


async def run(
    server: LakeboxServer, keys: list[str], prefixes: int, page: int
) -> tuple[list[Walk], list[str]]:
    endpoint, key_id, secret = server.s3_endpoint, server.access_key_id, server.secret_access_key
    async with (
        S3Client(endpoint, key_id, secret, "auto") as lister,
        S3Client(endpoint, key_id, secret, "auto") as w,
    ):
        stop, written = asyncio.Event(), []
        writing = asyncio.create_task(writer(w, keys, prefixes, stop, written))
        walks = []
        try:
            for walker in ("flat", "delimited"):
                cpu, started = _cpu(server), time.perf_counter()
                if walker == "flat":
                    walk = await flat_walk(lister, page)
                else:
                    walk, listed_prefixes = await delimited_walk(lister, page)
                    if listed_prefixes != [f"p{i:03d}/" for i in range(prefixes)]:
                        raise WalkFailed(f"common prefixes: {len(listed_prefixes)} of {prefixes}")
                walk.seconds, walk.server_cpu_s = time.perf_counter() - started, _cpu(server) - cpu
                walks.append(walk)
        finally:
            stop.set()
            await writing
    return walks, written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keys", type=int, default=1_000_000, help="keys in the bucket (default 1,000,000)")
    p.add_argument("--per-prefix", type=int, default=1000, help="keys per common prefix (default 1,000)")
    p.add_argument("--page", type=int, default=1000, help="max-keys of every page (default 1,000)")
    p.add_argument("--workers", type=int, default=2, help="lakebox worker processes (default 2)")
    p.add_argument("--tmp-dir", default=None, help="where the server's temporary data goes")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="lakebox-list-bench-", dir=args.tmp_dir))
    server = LakeboxServer(tmp / "data", workers=args.workers).start()
    try:
        server.s3().create_bucket(Bucket=BUCKET)
        keys = layout(args.keys, args.per_prefix)
        started = time.perf_counter()
        fill(server.data_dir, server.database_url, BUCKET, keys)
        print(f"filled {len(keys):,} keys in {time.perf_counter() - started:.1f}s (bulk, through the index)")
        prefixes = (args.keys + args.per_prefix - 1) // args.per_prefix
        walks, written = asyncio.run(run(server, keys, prefixes, args.page))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    failed = False
    print(f"while {len(written):,} new keys (and as many overwrites) were written; pages of {args.page}:")
    for walk in walks:
        pages = len(walk.latencies_ms)
        print(
            f"  {walk.name:<34} {len(walk.listed):>9,} keys {pages:>6,} pages {walk.seconds:8.1f}s "
            f"{pages / walk.seconds:8.1f} pages/s  p50 {walk.pct(0.5):6.2f} ms  p99 {walk.pct(0.99):6.2f} ms  "
            f"server CPU {walk.server_cpu_s / pages * 1000:6.2f} ms/page"
        )
        for problem in check(walk, keys, written):
            failed = True
            print(f"    ERR {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
