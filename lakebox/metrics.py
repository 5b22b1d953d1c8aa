"""Request metrics for every worker process of a node, served as Prometheus text on the console's ``/metrics``.

The per-request cost is one dict lookup and a few integer additions in the worker (``Metrics.record``, about a
microsecond; prometheus_client's multiprocess mode costs ~10 us a request: an mmap write under a lock for every
counter and histogram bucket). Each worker writes its cumulative totals to ``<dir>/<pid>-<start>.json`` about once a
second (atomic rename); a scrape flushes its own worker first, then sums every file of the node and renders the sum
through prometheus_client's custom-collector API. Files of workers that died stay, so counters never go back; the
supervisor empties the directory when the node starts (a counter reset, which Prometheus handles).
"""

from __future__ import annotations

import json
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.service.counting import OperationCounter

# Latency histogram bounds in seconds (the last bucket is +Inf).
BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A row: count, bytes received, bytes sent, latency sum, then one count per bucket (non-cumulative).
_COUNT, _RECEIVED, _SENT, _SUM, _BUCKETS = 0, 1, 2, 3, 4
_ROW = 4 + len(BOUNDS) + 1
CONTENT_TYPE = "text/plain; version=0.0.4"  # Litestar appends "; charset=utf-8"
Key = tuple[str, str, str]  # api, operation, status class ("2xx")


def metrics_dir(data_dir: Path, node_id: str) -> Path:
    return data_dir / "metrics" / node_id


def reset_dir(path: Path) -> None:
    """Empties the node's metrics directory (the supervisor, before any worker starts)."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.iterdir():
        stale.unlink(missing_ok=True)


class Metrics:
    """One worker's request totals (not thread-safe: ``record`` runs on the event loop only)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._rows: dict[Key, list[float]] = {}
        self._path = directory / f"{os.getpid()}-{time.time_ns()}.json"
        self._flushed = 0

    def record(self, api: str, operation: str, status: int, received: int, sent: int, seconds: float) -> None:
        key = (api, operation, _STATUS_CLASS[status // 100] if 0 < status < 600 else "unknown")
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0] * _ROW
        row[_COUNT] += 1
        row[_RECEIVED] += received
        row[_SENT] += sent
        row[_SUM] += seconds
        row[_BUCKETS + bisect_left(BOUNDS, seconds)] += 1

    def _total(self) -> int:
        return sum(int(row[_COUNT]) for row in self._rows.values())

    def flush(self) -> None:
        """Writes this worker's totals (when they changed since the last flush)."""
        total = self._total()
        if total == self._flushed:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_suffix(".tmp")
        partial.write_text(json.dumps([[*key, *row] for key, row in self._rows.items()]))
        os.replace(partial, self._path)
        self._flushed = total


_STATUS_CLASS = {n: f"{n}xx" for n in range(1, 6)}


def node_totals(directory: Path) -> dict[Key, list[float]]:
    """The sum of every worker file of the node."""
    totals: dict[Key, list[float]] = {}
    for path in directory.glob("*.json"):
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a file being replaced, or gone
        for api, operation, status, *values in rows:
            row = totals.setdefault((api, operation, status), [0] * _ROW)
            for i, value in enumerate(values[:_ROW]):
                row[i] += value
    return totals


# A gauge read at scrape time: help text and a value, or help text, label names and (label values, value) rows.
Gauge = tuple[str, float] | tuple[str, list[str], list[tuple[list[str], float]]]


class NodeCollector:
    """A prometheus_client collector over the node's summed totals and the gauges read at scrape time."""

    def __init__(self, totals: dict[Key, list[float]], gauges: dict[str, Gauge]) -> None:
        self.totals = totals
        self.gauges = gauges

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        requests = CounterMetricFamily(
            "lakebox_requests", "Requests answered, by API, operation and status class",
            labels=["api", "operation", "status"],
        )  # fmt: skip
        received = CounterMetricFamily(
            "lakebox_received_bytes", "Request body bytes received", labels=["api", "operation"]
        )
        sent = CounterMetricFamily(
            "lakebox_sent_bytes", "Response body bytes sent", labels=["api", "operation"]
        )
        by_op: dict[tuple[str, str], list[float]] = {}
        for (api, operation, status), row in sorted(self.totals.items()):
            requests.add_metric([api, operation, status], row[_COUNT])
            merged = by_op.setdefault((api, operation), [0] * _ROW)
            for i, value in enumerate(row):
                merged[i] += value
        latency = HistogramMetricFamily(
            "lakebox_request_duration_seconds", "Time from request to the end of the response",
            labels=["api", "operation"],
        )  # fmt: skip
        for (api, operation), row in by_op.items():
            received.add_metric([api, operation], row[_RECEIVED])
            sent.add_metric([api, operation], row[_SENT])
            cumulative, buckets = 0.0, []
            for bound, count in zip((*BOUNDS, float("inf")), row[_BUCKETS:], strict=True):
                cumulative += count
                buckets.append((_le(bound), cumulative))
            latency.add_metric([api, operation], buckets, row[_SUM])
        yield from (requests, received, sent, latency)
        for name, gauge in self.gauges.items():
            if len(gauge) == 2:
                yield GaugeMetricFamily(name, gauge[0], value=gauge[1])
                continue
            family = GaugeMetricFamily(name, gauge[0], labels=gauge[1])
            for labels, value in gauge[2]:
                family.add_metric(labels, value)
            yield family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def render(directory: Path, own: Metrics | None, gauges: Callable[[], dict[str, Gauge]]) -> bytes:
    """The node's metrics in Prometheus text format."""
    from prometheus_client import CollectorRegistry, generate_latest

    if own is not None:
        own.flush()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node_totals(directory), gauges()))
    return generate_latest(registry)


# The S3 app names the operation it resolved in the ASGI scope under this key (``Route.name``).
S3_OPERATION = "s3.operation"
S3_BUCKET = "s3.bucket"
# What an answer read from Infrequent Access: (storage class, bytes; None: the body bytes sent).
S3_RETRIEVED = "s3.retrieved"


def _operation(scope: dict[str, Any]) -> str:
    name = scope.get(S3_OPERATION)
    if name is not None:
        return str(name)
    handler = scope.get("route_handler")  # Litestar's: the catalog's and the admin API's handler names
    return str(getattr(handler, "handler_name", "")) if handler is not None else ""


class MeteredApp:
    """Wraps one listener's ASGI app: counts its requests, body bytes both ways and latency."""

    def __init__(
        self, app: Any, api: str, metrics: Metrics, operations: OperationCounter | None = None
    ) -> None:
        self.app = app
        self.api = api
        self.metrics = metrics
        self.operations = operations  # R2's analytics: S3 operations per bucket (the S3 and public APIs)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = received = sent = 0

        async def counted_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        async def counted_send(message: Any) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counted_receive, counted_send)
        finally:
            operation = _operation(scope)
            self.metrics.record(self.api, operation, status, received, sent, time.perf_counter() - start)
            if self.operations is not None and operation:
                bucket = scope.get(S3_BUCKET, "")
                self.operations.record(bucket, operation, status)
                retrieved = scope.get(S3_RETRIEVED)
                if retrieved is not None:  # only reads of Infrequent Access data carry it
                    storage_class, size = retrieved
                    self.operations.record_retrieval(
                        bucket, operation, status, storage_class, sent if size is None else size
                    )
