"""Table maintenance benchmark: DuckDB and PyIceberg full-scan time of a table built from many small appends,
before and after the server's compaction, and compaction throughput (MiB of input rewritten per second).

    .venv/bin/python -m bench.maintenance_bench [--appends 300] [--rows-per-append 200] [--target-mb 128]

Starts ``lakebox serve`` (tests/support/server.py) on a temporary data directory with fast maintenance jobs,
creates a partitioned table through PyIceberg, appends ``--appends`` small batches (each its own PyIceberg commit,
snapshot and data file per partition), then enables compaction through the Cloudflare API and waits for the run
the server records. Figures are reported, never asserted. It prints:

    N appends of R rows: ... s
    rows: ...; data files ... -> ...; bytes ... -> ... MiB
    full scan        before      after  speed-up
    DuckDB           ...ms      ...ms      ...x     (median of --repeat scans, SELECT count(*), sum(length(...)))
    PyIceberg        ...ms      ...ms      ...x     (median of --repeat table.scan().to_arrow())
    compaction: ... s for ... MiB in -> ... MiB/s   (the run's recorded start to finish; input = live data bytes)
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import sysconfig
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.maintenance.helpers import ARROW, SCHEMA, SPEC, Lake, append
from tests.support.server import running

MIB = 1 << 20


def batch(start: int, n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"id": i, "part": i % 4, "payload": f"event-{i}-" + "p" * 60} for i in range(start, start + n)],
        schema=ARROW,
    )


def duck(lake: Lake, bucket: str) -> Any:
    import duckdb

    con = duckdb.connect()
    site = sysconfig.get_paths()["purelib"]
    for name in ("httpfs", "avro", "iceberg"):
        (path,) = glob.glob(f"{site}/duckdb_extension_{name}/extensions/v*/{name}.duckdb_extension")
        con.execute(f"INSTALL '{path}'")
        con.execute(f"LOAD {name}")
    con.execute(f"CREATE SECRET r2_secret (TYPE ICEBERG, TOKEN '{lake.server.token}')")
    con.execute(f"ATTACH '{bucket}' AS lake (TYPE ICEBERG, ENDPOINT '{lake.server.catalog_uri}')")
    return con


def scans(lake: Lake, bucket: str, repeat: int) -> tuple[float, float, int]:
    """Median seconds of a full scan by DuckDB and by PyIceberg, and the row count."""
    table = lake.catalog(bucket).load_table("bench.events")
    py, dd, rows = [], [], 0
    con = duck(lake, bucket)
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = table.scan().to_arrow().num_rows
        py.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        (count,) = con.execute("SELECT count(*), sum(length(payload)) FROM lake.bench.events").fetchone()[:1]
        dd.append(time.perf_counter() - t0)
        assert count == rows, (count, rows)
    return statistics.median(dd), statistics.median(py), rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=300, help="commits before compaction (default 300)")
    parser.add_argument("--rows-per-append", type=int, default=200, help="rows per commit (default 200)")
    parser.add_argument(
        "--target-mb", type=int, default=128, help="compaction target file size (default 128)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="full scans per engine, median shown (default 3)"
    )
    args = parser.parse_args()
    env = {"LAKEBOX_MAINTENANCE_INTERVAL_SECONDS": "1", "LAKEBOX_JOBS_POLL_MS": "200"}
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp) / "data", extra_env=env) as server:
        lake = Lake(server)
        bucket = lake.warehouse()
        catalog = lake.catalog(bucket)
        catalog.create_namespace("bench")
        table = catalog.create_table("bench.events", schema=SCHEMA, partition_spec=SPEC)
        t0 = time.perf_counter()
        for n in range(args.appends):
            append(table, batch(n * args.rows_per_append, args.rows_per_append))
        print(f"{args.appends} appends of {args.rows_per_append} rows: {time.perf_counter() - t0:.1f} s")
        files_before = len(list(table.refresh().scan().plan_files()))
        d0, p0, rows = scans(lake, bucket, args.repeat)
        since = datetime.now().astimezone().isoformat()
        lake.configure(bucket, {"compaction": {"state": "enabled", "targetSizeMb": args.target_mb}})
        run = lake.wait_run(bucket, "compaction", lambda r: r["outcome"] == "succeeded", timeout=1800)
        started = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
        finished = datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00"))
        seconds = (finished - started).total_seconds()
        lake.configure(bucket, {"compaction": {"state": "disabled"}})
        d1, p1, rows_after = scans(lake, bucket, args.repeat)
        assert rows_after == rows
        print(f"rows: {rows}; data files {files_before} -> {run['files_after']}; "
              f"bytes {run['bytes_before'] / MIB:.2f} -> {run['bytes_after'] / MIB:.2f} MiB (since {since})")  # fmt: skip
        print(f"{'full scan':<12} {'before':>10} {'after':>10} {'speed-up':>9}")
        print(f"{'DuckDB':<12} {d0 * 1000:>8.0f}ms {d1 * 1000:>8.0f}ms {d0 / d1:>8.1f}x")
        print(f"{'PyIceberg':<12} {p0 * 1000:>8.0f}ms {p1 * 1000:>8.0f}ms {p0 / p1:>8.1f}x")
        print(f"compaction: {seconds:.2f} s for {run['bytes_before'] / MIB:.2f} MiB in "
              f"-> {run['bytes_before'] / MIB / seconds:.2f} MiB/s")  # fmt: skip


if __name__ == "__main__":
    main()
