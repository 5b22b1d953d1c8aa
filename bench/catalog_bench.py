"""Catalog benchmark: lakebox beside Iceberg's Java reference catalog, one sequential client, then commits/s.

    .venv/bin/python -m bench.catalog_bench [--n 300] [--appends 20] [--workers 4]
        [--reference-url URL --reference-token TOKEN --reference-warehouse NAME]
    .venv/bin/python -m bench.catalog_bench --catalog-uri URI --warehouse BUCKET --token TOKEN   # a live lakebox

Without ``--catalog-uri`` it starts ``lakebox serve --workers N`` (tests/support/server.py; SQLite, fsync on) on a
temporary data directory and enables the catalog on a bucket. The reference is any Iceberg REST catalog given by
``--reference-url`` (Iceberg's ``CatalogHandlers`` over a JDBC catalog is the one the targets were set against:
build and start it with the Iceberg ``iceberg-ref`` kit's ``refcat.sh start --port 8182 --token T``, then pass
``--reference-url http://127.0.0.1:8182 --reference-token T``). Without it only lakebox's figures are printed.

Both servers are measured alternately, in rounds of each operation, so that a loaded machine slows both alike.
Operations: loadTable, HEAD (table exists), a metadata-only commit (set-properties), a one-row PyIceberg append,
then commits/s with 1, 4 and 16 concurrent clients each committing to its own table. Every response is checked.
Targets (issue 12, p50): loadTable <= 1 ms, HEAD below the reference, commit <= 3 ms, append within 1.2x.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow as pa

ROUNDS = 5
CONCURRENCY = (1, 4, 16)


@dataclass
class Server:
    label: str
    uri: str
    warehouse: str
    token: str | None
    ops: dict[str, Callable[[], None]] = field(default_factory=dict)
    lat: dict[str, list[float]] = field(default_factory=dict)
    rates: dict[int, float] = field(default_factory=dict)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def catalog(self, name: str = "bench") -> object:
        from pyiceberg.catalog.rest import RestCatalog

        props = {"uri": self.uri, "warehouse": self.warehouse}
        if self.token:
            props["token"] = self.token
        return RestCatalog(name, **props)


def _check(r: httpx.Response, status: int) -> None:
    if r.status_code != status:
        raise SystemExit(
            f"unexpected {r.status_code} from {r.request.method} {r.request.url}: {r.text[:300]}"
        )


def _prefix(http: httpx.Client, warehouse: str) -> str:
    r = http.get("/v1/config", params={"warehouse": warehouse})
    _check(r, 200)
    prefix = r.json().get("overrides", {}).get("prefix")
    return f"/v1/{prefix}" if prefix else "/v1"


def _schema() -> object:
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField, StringType

    return Schema(
        NestedField(1, "id", LongType(), required=False), NestedField(2, "v", StringType(), required=False)
    )


def prepare(server: Server, run_id: str) -> None:
    cat = server.catalog()
    cat.create_namespace_if_not_exists("bench")  # type: ignore[attr-defined]
    ident = ("bench", f"t{run_id}")
    table = cat.create_table(ident, _schema())  # type: ignore[attr-defined]
    table.append(pa.table({"id": pa.array(range(100), pa.int64()), "v": [str(i) for i in range(100)]}))
    http = httpx.Client(base_url=server.uri, headers=server.headers(), timeout=60)
    base = f"{_prefix(http, server.warehouse)}/namespaces/bench/tables/{ident[1]}"
    uuid = str(table.metadata.table_uuid)
    counter = itertools.count()
    row = pa.table({"id": pa.array([1], pa.int64()), "v": ["x"]})

    def commit() -> None:
        body = {
            "requirements": [{"type": "assert-table-uuid", "uuid": uuid}],
            "updates": [{"action": "set-properties", "updates": {"bench.counter": str(next(counter))}}],
        }
        _check(http.post(base, json=body), 200)

    server.ops = {
        "loadTable": lambda: _check(http.get(base), 200),
        "HEAD table": lambda: _check(http.head(base), 204),
        "commit (metadata only)": commit,
        "append 1 row (PyIceberg)": lambda: cat.load_table(ident).append(row),  # type: ignore[attr-defined]
    }
    server.cleanup.append(lambda: cat.purge_table(ident))  # type: ignore[attr-defined]


def measure(servers: list[Server], n: int, appends: int) -> None:
    for name in servers[0].ops:
        count = appends if name.startswith("append") else n
        per_round = max(1, count // ROUNDS)
        for s in servers:
            for _ in range(min(10, per_round)):
                s.ops[name]()  # warm-up
        for _ in range(ROUNDS):
            for s in servers:
                fn = s.ops[name]
                lat = s.lat.setdefault(name, [])
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    fn()
                    lat.append((time.perf_counter() - t0) * 1000)


def commit_rate(server: Server, clients: int, seconds: float, run_id: str) -> float:
    """Commits/s with ``clients`` threads, each with its own connection committing to its own table."""
    cat = server.catalog()
    http0 = httpx.Client(base_url=server.uri, headers=server.headers(), timeout=60)
    prefix = _prefix(http0, server.warehouse)
    targets = []
    for i in range(clients):
        ident = ("bench", f"c{run_id}_{clients}_{i}")
        table = cat.create_table(ident, _schema())  # type: ignore[attr-defined]
        targets.append((ident, str(table.metadata.table_uuid)))
        server.cleanup.append(lambda ident=ident: cat.purge_table(ident))  # type: ignore[attr-defined]
    done = [0] * clients
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        ident, uuid = targets[i]
        http = httpx.Client(base_url=server.uri, headers=server.headers(), timeout=60)
        url = f"{prefix}/namespaces/bench/tables/{ident[1]}"
        start.wait()
        while not stop.is_set():
            body = {
                "requirements": [{"type": "assert-table-uuid", "uuid": uuid}],
                "updates": [{"action": "set-properties", "updates": {"k": str(done[i])}}],
            }
            _check(http.post(url, json=body), 200)
            done[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(servers: list[Server]) -> None:
    lake = servers[0]
    ref = servers[1] if len(servers) > 1 else None
    head = f"{'operation':26} {'n':>5} {'lakebox p50':>11} {'p99':>8}"
    if ref:
        head += f" {'reference p50':>13} {'p99':>8} {'lakebox/ref':>11}"
    print(head)
    for name, lat in lake.lat.items():
        line = f"{name:26} {len(lat):5d} {statistics.median(lat):11.2f} {pct(lat, 0.99):8.2f}"
        if ref:
            rl = ref.lat[name]
            ratio = statistics.median(lat) / statistics.median(rl)
            line += f" {statistics.median(rl):13.2f} {pct(rl, 0.99):8.2f} {ratio:11.2f}"
        print(line)
    print("(milliseconds)")
    for c in lake.rates:
        line = f"commits/s, {c:2d} clients on {c} tables: lakebox {lake.rates[c]:7.0f}"
        if ref:
            line += f"   reference {ref.rates[c]:7.0f}"
        print(line)


def bench(servers: list[Server], n: int, appends: int, seconds: float) -> None:
    run_id = str(int(time.time() * 1000))
    for s in servers:
        prepare(s, run_id)
    measure(servers, n, appends)
    for c in CONCURRENCY:
        for s in servers:
            s.rates[c] = commit_rate(s, c, seconds, run_id)
    report(servers)
    for s in servers:
        for fn in s.cleanup:
            fn()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog-uri", help="a running lakebox catalog (default: start one)")
    parser.add_argument("--warehouse", default="bench")
    parser.add_argument("--token")
    parser.add_argument("--reference-url", help="an Iceberg REST catalog to compare with (see above)")
    parser.add_argument("--reference-token")
    parser.add_argument("--reference-warehouse", default="bench")
    parser.add_argument("--n", type=int, default=300, help="requests per single-client operation")
    parser.add_argument("--appends", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency level")
    parser.add_argument("--workers", type=int, default=4, help="lakebox worker processes (started server)")
    args = parser.parse_args(argv)
    reference = []
    if args.reference_url:
        reference = [Server("reference", args.reference_url, args.reference_warehouse, args.reference_token)]
    else:
        print("no --reference-url: lakebox alone (see --help for running Iceberg's reference beside it)")
    if args.catalog_uri:
        if not args.token:
            parser.error("--token is required with --catalog-uri")
        bench(
            [Server("lakebox", args.catalog_uri, args.warehouse, args.token), *reference],
            args.n,
            args.appends,
            args.seconds,
        )
        return
    from tests.catalog.live import LiveLake
    from tests.support.server import running

    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp) / "data", workers=args.workers) as server:
        lake = LiveLake(server)
        lake.warehouse(args.warehouse)
        print(
            f"lakebox serve --workers {args.workers} (SQLite) at {lake.catalog_uri}; python {sys.version.split()[0]}"
        )
        lakebox = Server("lakebox", lake.catalog_uri, args.warehouse, lake.root.token)
        bench([lakebox, *reference], args.n, args.appends, args.seconds)


if __name__ == "__main__":
    main()
