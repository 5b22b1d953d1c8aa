"""R2's analytics through ``POST /client/v4/graphql``: the docs' two queries and wrangler's ``r2 bucket info``
report exactly the operations the test performed and the bucket's real storage (two workers, sampled each
second)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.management.conftest import Wrangler, make_token
from tests.support.server import LakeboxServer, postgres_database, running

OPERATIONS_QUERY = """
query R2VolumeExample(
  $accountTag: string!
  $startDate: Time
  $endDate: Time
  $bucketName: string
) {
  viewer {
    accounts(filter: { accountTag: $accountTag }) {
      r2OperationsAdaptiveGroups(
        limit: 10000
        filter: {
          datetime_geq: $startDate
          datetime_leq: $endDate
          bucketName: $bucketName
        }
      ) {
        sum {
          requests
        }
        dimensions {
          actionType
        }
      }
    }
  }
}
"""

STORAGE_QUERY = """
query R2StorageExample(
  $accountTag: string!
  $startDate: Time
  $endDate: Time
  $bucketName: string
) {
  viewer {
    accounts(filter: { accountTag: $accountTag }) {
      r2StorageAdaptiveGroups(
        limit: 10000
        filter: {
          datetime_geq: $startDate
          datetime_leq: $endDate
          bucketName: $bucketName
        }
        orderBy: [datetime_DESC]
      ) {
        max {
          objectCount
          uploadCount
          payloadSize
          metadataSize
        }
        dimensions {
          datetime
        }
      }
    }
  }
}
"""

DETAIL_QUERY = """
query ($accountTag: string!, $bucketName: string) {
  viewer {
    accounts(filter: { accountTag: $accountTag }) {
      r2OperationsAdaptiveGroups(limit: 100, filter: { bucketName: $bucketName }) {
        sum { requests }
        dimensions { actionType actionClass actionStatus responseStatusCode bucketName objectName datetimeHour }
      }
    }
  }
}
"""

PUTS, GETS = 5, 7
TIMEOUT = 90.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    env = {"LAKEBOX_ANALYTICS_SAMPLE_SECONDS": "1"}
    with running(tmp_path_factory.mktemp("lakebox") / "data", workers=2, extra_env=env) as srv:
        yield srv


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "startDate": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDate": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _graphql(cf: httpx.Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = cf.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.get("errors") is None, body
    return body


def _poll(check: Any) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="module")
def workload(server: LakeboxServer) -> dict[str, Any]:
    """N PUTs, M GETs, a list and a 404 on a fresh bucket (created through S3: one CreateBucket)."""
    s3 = server.s3()
    bucket = "an-" + secrets.token_hex(5)
    s3.create_bucket(Bucket=bucket)
    sizes = []
    for i in range(PUTS):
        body = b"x" * (100 * (i + 1))
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body, Metadata={"m": "v"})
        sizes.append(len(body))
    for i in range(GETS):
        s3.get_object(Bucket=bucket, Key=f"k{i % PUTS}")["Body"].read()
    s3.list_objects_v2(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="missing")
    return {"bucket": bucket, "payload": sum(sizes)}


def test_docs_operations_query_counts_each_action(
    cf: httpx.Client, account_id: str, workload: dict[str, Any]
) -> None:
    variables = {"accountTag": account_id, "bucketName": workload["bucket"], **_window()}

    def counted() -> dict[str, int]:
        body = _graphql(cf, OPERATIONS_QUERY, variables)
        groups = body["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
        found = {g["dimensions"]["actionType"]: g["sum"]["requests"] for g in groups}
        assert found == {
            "CreateBucket": 1,
            "PutObject": PUTS,
            "GetObject": GETS + 1,
            "ListObjectsV2": 1,
        }
        return found

    _poll(counted)


def test_operations_by_status_code_and_class(
    cf: httpx.Client, account_id: str, workload: dict[str, Any]
) -> None:
    def counted() -> None:
        body = _graphql(cf, DETAIL_QUERY, {"accountTag": account_id, "bucketName": workload["bucket"]})
        rows = body["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
        found = {
            (d["actionType"], d["actionClass"], d["actionStatus"], d["responseStatusCode"]): g["sum"][
                "requests"
            ]
            for g in rows
            for d in [g["dimensions"]]
        }
        assert found == {
            ("CreateBucket", "A", "success", 200): 1,
            ("PutObject", "A", "success", 200): PUTS,
            ("GetObject", "B", "success", 200): GETS,
            ("GetObject", "B", "userError", 404): 1,
            ("ListObjectsV2", "A", "success", 200): 1,
        }
        assert {g["dimensions"]["bucketName"] for g in rows} == {workload["bucket"]}
        assert {g["dimensions"]["objectName"] for g in rows} == {None}
        by_class: dict[str, int] = {}
        for (_, klass, _, _), n in found.items():
            by_class[klass] = by_class.get(klass, 0) + n
        assert by_class == {"A": PUTS + 2, "B": GETS + 1}

    _poll(counted)


def test_docs_storage_query_reports_objects_and_size(
    cf: httpx.Client, account_id: str, server: LakeboxServer, workload: dict[str, Any]
) -> None:
    s3 = server.s3()
    upload = s3.create_multipart_upload(Bucket=workload["bucket"], Key="pending")["UploadId"]
    started = time.time()
    variables = {"accountTag": account_id, "bucketName": workload["bucket"], **_window()}

    def sampled() -> dict[str, Any]:
        body = _graphql(cf, STORAGE_QUERY, variables)
        groups = body["data"]["viewer"]["accounts"][0]["r2StorageAdaptiveGroups"]
        assert groups, "no storage sample yet"
        latest = groups[0]
        sampled_at = datetime.fromisoformat(latest["dimensions"]["datetime"]).timestamp()
        assert sampled_at >= started
        assert latest["max"]["objectCount"] == PUTS
        assert latest["max"]["payloadSize"] == workload["payload"]
        assert latest["max"]["uploadCount"] == 1
        assert latest["max"]["metadataSize"] > 0
        times = [g["dimensions"]["datetime"] for g in groups]
        assert times == sorted(times, reverse=True)
        return latest

    _poll(sampled)
    s3.abort_multipart_upload(Bucket=workload["bucket"], Key="pending", UploadId=upload)


def test_wrangler_bucket_info(
    wrangler: Wrangler, cf: httpx.Client, account_id: str, workload: dict[str, Any]
) -> None:
    """wrangler shows the latest sample's object count and payload + metadata size (prettyBytes, kB)."""
    variables = {"accountTag": account_id, "bucketName": workload["bucket"], **_window()}

    def shown() -> None:
        body = _graphql(cf, STORAGE_QUERY, variables)
        latest = body["data"]["viewer"]["accounts"][0]["r2StorageAdaptiveGroups"][0]["max"]
        assert latest["objectCount"] == PUTS
        total = latest["payloadSize"] + latest["metadataSize"]
        assert 1000 <= total < 1_000_000
        out = wrangler.run("r2", "bucket", "info", workload["bucket"]).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines()[1:] if ":" in line)
        assert fields["object_count"].strip() == str(PUTS), out
        assert fields["bucket_size"].strip() == f"{total / 1000:.3g} kB", out

    _poll(shown)


def test_other_account_and_bad_queries(cf: httpx.Client, account_id: str) -> None:
    response = cf.post(
        "/graphql",
        json={"query": OPERATIONS_QUERY, "variables": {"accountTag": "0" * 32}},
    )
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "not authorized for that account"
    response = cf.post("/graphql", json={"query": "{ viewer { nope } }"})
    assert response.json()["data"] is None
    assert "Cannot query field 'nope'" in response.json()["errors"][0]["message"]
    bad_time = {"accountTag": account_id, "startDate": "yesterday"}
    response = cf.post("/graphql", json={"query": OPERATIONS_QUERY, "variables": bad_time})
    assert "cannot parse 'yesterday' as Time" in response.json()["errors"][0]["message"]
    response = cf.post("/graphql", content=b"[1]")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 10040


def test_object_tokens_cannot_read_analytics(cf: httpx.Client, account_id: str) -> None:
    token = make_token(cf, "object-rw")
    response = httpx.post(
        str(cf.base_url).rstrip("/") + "/graphql",
        json={"query": OPERATIONS_QUERY, "variables": {"accountTag": account_id}},
        headers={"authorization": f"Bearer {token['token']}"},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == 10000


def test_cloudflare_api_object_routes_are_counted(
    cf: httpx.Client, account_id: str, server: LakeboxServer
) -> None:
    """Objects written and read through /client/v4 count as the same S3 operations; deletes are free."""
    bucket = "ao-" + secrets.token_hex(5)
    server.s3().create_bucket(Bucket=bucket)
    base = f"/accounts/{account_id}/r2/buckets/{bucket}/objects"
    assert cf.put(f"{base}/dir/a b", content=b"abc").status_code == 200
    assert cf.get(f"{base}/dir/a b").content == b"abc"
    assert cf.delete(f"{base}/dir/a b").status_code == 200
    assert cf.get(f"{base}/dir/a b").status_code == 404

    def counted() -> None:
        body = _graphql(cf, DETAIL_QUERY, {"accountTag": account_id, "bucketName": bucket})
        rows = body["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
        found = {
            (
                g["dimensions"]["actionType"],
                g["dimensions"]["actionClass"],
                g["dimensions"]["responseStatusCode"],
            ): (g["sum"]["requests"])
            for g in rows
        }
        assert found == {
            ("CreateBucket", "A", 200): 1,
            ("PutObject", "A", 200): 1,
            ("GetObject", "B", 200): 1,
            ("GetObject", "B", 404): 1,
            ("DeleteObject", "free", 200): 1,
        }

    _poll(counted)


def test_counts_survive_a_graceful_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Counts not yet flushed when the server stops are written at shutdown."""
    srv = LakeboxServer(tmp_path_factory.mktemp("restart") / "data", database_url=postgres_database())
    srv.start()
    try:
        s3 = srv.s3()
        s3.create_bucket(Bucket="restart")
        for _ in range(3):
            s3.put_object(Bucket="restart", Key="k", Body=b"x")
        srv.stop()  # at once: well inside the 2 s flush interval
        srv.start()
        account = srv.root_credentials()["account_id"]
        with httpx.Client(
            base_url=f"{srv.console_url}/client/v4",
            headers={"authorization": f"Bearer {srv.token}"},
            timeout=60,
        ) as client:
            body = _graphql(client, OPERATIONS_QUERY, {"accountTag": account, "bucketName": "restart"})
        groups = body["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
        assert {g["dimensions"]["actionType"]: g["sum"]["requests"] for g in groups} == {
            "CreateBucket": 1,
            "PutObject": 3,
        }
    finally:
        srv.stop()
