"""Per-request cost of counting operations for R2's analytics, against the server's CPU cost of a 4 KiB GET.

1. In process: a trivial ASGI app through ``MeteredApp`` without and with the operation counter (the only work
   the analytics add to a request; the batch upsert every ~2 s is one statement per group, amortised to nothing).
2. A live ``lakebox serve --workers 1``: the server's CPU time (process tree) per 4 KiB GetObject.
Run: ``.venv/bin/python -m bench.analytics_bench`` (prints the ratio; the bar is 5%).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import boto3
from botocore.config import Config

from analytics.service.counting import OperationCounter
from bench.metrics_bench import app, per_request
from bench.targets import LakeboxTarget, TreeSampler
from lakebox.metrics import MeteredApp, Metrics

GETS = 2000


async def counting_cost() -> float:
    with tempfile.TemporaryDirectory() as folder:
        metrics = Metrics(Path(folder))
        without = min([await per_request(MeteredApp(app, "s3", metrics)) for _ in range(3)])
        counter = OperationCounter()
        with_counter = min([await per_request(MeteredApp(app, "s3", metrics, counter)) for _ in range(3)])
    return with_counter - without


def get_cpu_cost() -> float:
    target = LakeboxTarget(workers=1, tmp_dir=None)
    target.start()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=target.endpoint,
            region_name="auto",
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
            config=Config(retries={"max_attempts": 0}),
        )
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="k", Body=b"x" * 4096)
        for _ in range(200):  # warm up
            s3.get_object(Bucket="bench", Key="k")["Body"].read()
        sampler = TreeSampler(target.pid)
        before = sampler.cpu_seconds()
        for _ in range(GETS):
            s3.get_object(Bucket="bench", Key="k")["Body"].read()
        return (sampler.cpu_seconds() - before) / GETS * 1e6
    finally:
        target.stop()


def main() -> None:
    counting = asyncio.run(counting_cost())
    get = get_cpu_cost()
    print(f"operation counting          {counting:7.2f} us/request")
    print(f"server CPU of a 4 KiB GET   {get:7.2f} us/request")
    print(f"counting / GET              {counting / get * 100:7.2f} %  (bar: 5 %)")


if __name__ == "__main__":
    main()
