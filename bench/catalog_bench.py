"""Catalog benchmark: loadTable, HEAD table, a metadata-only commit and an append via PyIceberg; p50/p99.

    .venv/bin/python -m bench.catalog_bench [--n 500] [--appends 30]
    .venv/bin/python -m bench.catalog_bench --catalog-uri URI --warehouse BUCKET --token TOKEN   # a live server

Without ``--catalog-uri`` it starts ``lakebox serve`` (tests/support/server.py) on a temporary data directory
(SQLite; ``--workers`` as given), enables the catalog on a bucket through the admin API and runs against it. Every response is checked. The
reference in the same run is ``GET /v1/config`` (authentication plus the warehouse lookup, nothing else): the
ratios say what each operation costs on top of that. Targets from the issue (p50, SQLite): loadTable < 5 ms,
metadata-only commit < 10 ms; reported, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow as pa

TARGETS_MS = {"loadTable": 5.0, "commit (metadata only)": 10.0}


def measure(name: str, fn: Callable[[], None], n: int) -> tuple[str, list[float]]:
    for _ in range(min(20, n)):
        fn()  # warm-up
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t0) * 1000)
    return name, lat


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(uri: str, warehouse: str, token: str, n: int, appends: int) -> list[tuple[str, list[float]]]:
    from pyiceberg.catalog.rest import RestCatalog
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField, StringType

    cat = RestCatalog("bench", uri=uri, warehouse=warehouse, token=token)
    cat.create_namespace_if_not_exists("bench")
    name = f"t{int(time.time() * 1000)}"
    schema = Schema(
        NestedField(1, "id", LongType(), required=False), NestedField(2, "v", StringType(), required=False)
    )
    table = cat.create_table(("bench", name), schema)
    table.append(pa.table({"id": pa.array(range(100), pa.int64()), "v": [str(i) for i in range(100)]}))

    http = httpx.Client(base_url=uri, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    base = f"/v1/{warehouse}/namespaces/bench/tables/{name}"
    uuid = str(table.metadata.table_uuid)
    counter = iter(range(10**9))

    def check(r: httpx.Response, status: int) -> None:
        if r.status_code != status:
            raise SystemExit(f"unexpected {r.status_code}: {r.text[:300]}")

    def config() -> None:
        check(http.get("/v1/config", params={"warehouse": warehouse}), 200)

    def load() -> None:
        check(http.get(base), 200)

    def load_vended() -> None:
        check(http.get(base, headers={"X-Iceberg-Access-Delegation": "vended-credentials"}), 200)

    def head() -> None:
        check(http.head(base), 204)

    def commit() -> None:
        body = {
            "requirements": [{"type": "assert-table-uuid", "uuid": uuid}],
            "updates": [{"action": "set-properties", "updates": {"bench.counter": str(next(counter))}}],
        }
        check(http.post(base, json=body), 200)

    rows = pa.table({"id": pa.array(range(1000), pa.int64()), "v": [str(i) for i in range(1000)]})

    def append() -> None:
        cat.load_table(("bench", name)).append(rows)

    results = [
        measure("GET /v1/config (reference)", config, n),
        measure("loadTable", load, n),
        measure("loadTable + vended credentials", load_vended, n),
        measure("HEAD table", head, n),
        measure("commit (metadata only)", commit, n),
        measure("append 1,000 rows via PyIceberg", append, appends),
    ]
    final = cat.load_table(("bench", name))
    assert final.scan().to_arrow().num_rows == 100 + 1000 * (appends + min(20, appends))
    cat.purge_table(("bench", name))
    return results


def report(results: list[tuple[str, list[float]]]) -> None:
    ref = statistics.median(results[0][1])
    print(f"{'operation':34} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'x ref':>6}  target")
    for name, lat in results:
        p50 = statistics.median(lat)
        target = TARGETS_MS.get(name)
        verdict = "" if target is None else f"p50 < {target} ms: {'met' if p50 < target else 'NOT met'}"
        print(f"{name:34} {len(lat):5d} {p50:8.2f} {pct(lat, 0.99):8.2f} {p50 / ref:6.2f}  {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog-uri")
    parser.add_argument("--warehouse", default="bench")
    parser.add_argument("--token")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--appends", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.catalog_uri:
        if not args.token:
            parser.error("--token is required with --catalog-uri")
        report(run(args.catalog_uri, args.warehouse, args.token, args.n, args.appends))
        return
    from tests.catalog.live import LiveLake
    from tests.support.server import running

    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp) / "data", workers=args.workers) as server:
        lake = LiveLake(server)
        lake.warehouse("bench")
        print(
            f"lakebox serve --workers {args.workers} (SQLite) at {lake.catalog_uri}; python {sys.version.split()[0]}"
        )
        report(run(lake.catalog_uri, "bench", lake.root.token, args.n, args.appends))


if __name__ == "__main__":
    main()
