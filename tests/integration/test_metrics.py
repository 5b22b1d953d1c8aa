"""``/metrics`` on the console port: Prometheus text summed over every worker of the node."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import LakeboxServer, running

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    data_dir = tmp_path_factory.mktemp("lakebox-metrics") / "data"
    stale = data_dir / "metrics" / "node-a"
    stale.mkdir(parents=True)
    (stale / "1-1.json").write_text('[["s3", "PutObject", "2xx", 1000, 0, 0, 0]]')
    with running(data_dir, workers=2, extra_env={"LAKEBOX_NODE_ID": "node-a"}) as srv:
        yield srv


def scrape(server: LakeboxServer) -> tuple[httpx.Response, Samples]:
    resp = httpx.get(f"{server.console_url}/metrics", timeout=10)
    samples: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return resp, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for(server: LakeboxServer, ready: Callable[[Samples], bool]) -> Samples:
    """Scrapes until ``ready`` (other workers publish their totals about once a second)."""
    deadline = time.monotonic() + 10
    while True:
        _, samples = scrape(server)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_requests_bytes_and_latency_of_all_workers(two_workers: LakeboxServer) -> None:
    s3 = two_workers.s3()
    s3.create_bucket(Bucket="metered")
    bodies = [b"x" * 1000, b"y" * 2000, b"z" * 3000]
    for i, body in enumerate(bodies):
        s3.put_object(Bucket="metered", Key=f"k{i}", Body=body)
    for i in range(3):
        assert s3.get_object(Bucket="metered", Key=f"k{i}")["Body"].read() == bodies[i]
    for _ in range(4):  # several connections, so both workers answer some
        with pytest.raises(ClientError):
            two_workers.s3().head_object(Bucket="metered", Key="missing")

    samples = wait_for(
        two_workers,
        lambda s: (
            value(s, "lakebox_requests_total", api="s3", operation="HeadObject", status="4xx") == 4
            and value(s, "lakebox_request_duration_seconds_count", api="s3", operation="GetObject") == 3
        ),
    )
    s3_ops = {"api": "s3"}
    assert value(samples, "lakebox_requests_total", **s3_ops, operation="PutObject", status="2xx") == 3
    assert value(samples, "lakebox_requests_total", **s3_ops, operation="GetObject", status="2xx") == 3
    assert value(samples, "lakebox_requests_total", **s3_ops, operation="CreateBucket", status="2xx") == 1
    assert value(samples, "lakebox_requests_total", **s3_ops, operation="HeadObject", status="4xx") == 4
    assert value(samples, "lakebox_sent_bytes_total", **s3_ops, operation="GetObject") == 6000
    # boto3 sends bodies aws-chunked with a checksum trailer: the framing counts as received bytes too.
    assert 6000 <= value(samples, "lakebox_received_bytes_total", **s3_ops, operation="PutObject") < 7000
    get = {"api": "s3", "operation": "GetObject"}
    assert value(samples, "lakebox_request_duration_seconds_count", **get) == 3
    assert value(samples, "lakebox_request_duration_seconds_bucket", **get, le="+Inf") == 3
    assert value(samples, "lakebox_request_duration_seconds_sum", **get) > 0
    # The stale file of an earlier run of this node was removed by the supervisor at start.
    assert value(samples, "lakebox_requests_total", **s3_ops, operation="PutObject", status="2xx") < 1000


def test_catalog_and_console_requests_by_handler(two_workers: LakeboxServer) -> None:
    auth = {"authorization": f"Bearer {two_workers.token}"}
    assert httpx.get(f"{two_workers.catalog_uri}/v1/config?warehouse=none", headers=auth).status_code == 404
    assert httpx.get(f"{two_workers.console_url}/client/v4/user/tokens", headers=auth).status_code == 200
    assert httpx.get(f"{two_workers.console_url}/client/v4/user/tokens").status_code == 401
    samples = wait_for(
        two_workers,
        lambda s: (
            all(
                value(s, "lakebox_requests_total", api="admin", operation="management_api", status=status)
                >= 1
                for status in ("2xx", "4xx")
            )
            and value(s, "lakebox_requests_total", api="catalog", operation="get_config", status="4xx") >= 1
        ),
    )
    assert (
        value(samples, "lakebox_requests_total", api="admin", operation="management_api", status="2xx") >= 1
    )
    assert (
        value(samples, "lakebox_requests_total", api="admin", operation="management_api", status="4xx") >= 1
    )
    assert value(samples, "lakebox_requests_total", api="catalog", operation="get_config", status="4xx") >= 1


def test_garbage_pending_and_format(two_workers: LakeboxServer) -> None:
    s3 = two_workers.s3()
    s3.create_bucket(Bucket="garbage")
    s3.put_object(Bucket="garbage", Key="k", Body=b"old")
    s3.put_object(Bucket="garbage", Key="k", Body=b"new")  # the old blob waits out the reaper's grace period
    resp, samples = scrape(two_workers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert value(samples, "lakebox_blob_garbage_pending") >= 1
    assert "# TYPE lakebox_request_duration_seconds histogram" in resp.text


def test_metrics_dir_is_per_node(two_workers: LakeboxServer) -> None:
    files = list((Path(two_workers.data_dir) / "metrics" / "node-a").glob("*.json"))
    assert 1 <= len(files) <= 2
