"""A live lakebox with fast maintenance jobs, and what the maintenance tests share."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import IntegerType, LongType, NestedField, StringType

from tests.support.server import LakeboxServer

FAST_JOBS = {
    "LAKEBOX_MAINTENANCE_INTERVAL_SECONDS": "1",
    "LAKEBOX_JOBS_POLL_MS": "200",
}
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "part", IntegerType(), required=False),
    NestedField(3, "payload", StringType(), required=False),
)
SPEC = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="part"))
ARROW = pa.schema(
    [pa.field("id", pa.int64()), pa.field("part", pa.int32()), pa.field("payload", pa.string())]
)


def row(i: int) -> pa.Table:
    return pa.Table.from_pylist([{"id": i, "part": i % 2, "payload": f"row-{i}-" + "x" * 40}], schema=ARROW)


class Lake:
    def __init__(self, server: LakeboxServer) -> None:
        self.server = server
        self.account = str(server.root_credentials()["account_id"])
        self.cf = httpx.Client(
            base_url=f"{server.console_url}/client/v4",
            headers={"authorization": f"Bearer {server.token}"},
            timeout=60,
        )

    def warehouse(self) -> str:
        name = f"mt-{secrets.token_hex(4)}"
        self.server.s3().create_bucket(Bucket=name)
        assert self.cf.post(f"/accounts/{self.account}/r2-catalog/{name}/enable").status_code == 200
        return name

    def catalog(self, bucket: str) -> RestCatalog:
        return RestCatalog("lb", uri=self.server.catalog_uri, warehouse=bucket, token=self.server.token)

    def configure(self, bucket: str, body: dict[str, Any]) -> None:
        response = self.cf.post(
            f"/accounts/{self.account}/r2-catalog/{bucket}/maintenance-configs", json=body
        )
        assert response.status_code == 200, response.text

    def runs(self, bucket: str) -> list[dict[str, Any]]:
        response = self.cf.get(f"/accounts/{self.account}/lakebox/r2-catalog/{bucket}/maintenance-runs")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["result"]
        return found

    def wait_run(
        self, bucket: str, kind: str, accept: Callable[[dict[str, Any]], bool], timeout: float = 240
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run in self.runs(bucket):
                if run["kind"] == kind and run["outcome"] != "running" and accept(run):
                    return run
            time.sleep(0.3)
        raise AssertionError(f"no {kind} run in {timeout}s: {self.runs(bucket)}\n{self.server.log()[-3000:]}")

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        out: dict[str, int] = {}
        for page in self.server.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return out


def files_by_partition(table: Table) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for task in table.scan().plan_files():
        out.setdefault(task.file.partition[0], []).append(task.file.file_size_in_bytes)
    return out


def assert_packed(before: dict[Any, list[int]], after: dict[Any, list[int]], target: int) -> None:
    for part, sizes in before.items():
        assert len(after[part]) <= math.ceil(sum(sizes) / target), (part, sizes, after[part])
