"""Per-request cost of the request metrics (``lakebox.metrics.MeteredApp``), in microseconds.

Calls a trivial ASGI app (one request message, a response start and a 1 KiB body) directly and through
``MeteredApp``, and, as the reference, through the same wrapper recording with prometheus_client's multiprocess
mode (a counter, two byte counters and a histogram, as the alternative design would). Run: ``.venv/bin/python -m
bench.metrics_bench``.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from lakebox.metrics import MeteredApp, Metrics

N = 200_000
BODY = b"x" * 1024


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    scope["s3.operation"] = "GetObject"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": BODY})


async def receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    return None


async def per_request(target: Any) -> float:
    start = time.perf_counter()
    for _ in range(N):
        await target({"type": "http"}, receive, send)
    return (time.perf_counter() - start) / N * 1e6


class PrometheusMetrics:
    """The reference: prometheus_client multiprocess values written on every request."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.requests = Counter("r", "r", ["api", "operation", "status"])
        self.received = Counter("i", "i", ["api", "operation"])
        self.sent = Counter("o", "o", ["api", "operation"])
        self.latency = Histogram("d", "d", ["api", "operation"])

    def record(self, api: str, operation: str, status: int, received: int, sent: int, seconds: float) -> None:
        self.requests.labels(api, operation, f"{status // 100}xx").inc()
        self.received.labels(api, operation).inc(received)
        self.sent.labels(api, operation).inc(sent)
        self.latency.labels(api, operation).observe(seconds)


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        plain = await per_request(app)
        metered = await per_request(MeteredApp(app, "s3", Metrics(Path(folder))))
        reference = await per_request(MeteredApp(app, "s3", PrometheusMetrics()))  # type: ignore[arg-type]
    print(f"plain ASGI call                      {plain:7.2f} us/request")
    print(f"MeteredApp (lakebox.metrics)         {metered:7.2f} us/request  (+{metered - plain:.2f} us)")
    print(f"MeteredApp (prometheus multiprocess) {reference:7.2f} us/request  (+{reference - plain:.2f} us)")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
