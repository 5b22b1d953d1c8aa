"""Infrequent Access in the analytics: the bytes each read of IA data retrieved (R2's data retrieval), storage
per class, and IA objects deleted, replaced or moved before their 30-day minimum storage duration. Driven with
boto3 and the Cloudflare API, read back through ``POST /client/v4/graphql``."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.management.test_analytics import _graphql, _poll, _window
from tests.support.server import LakeboxServer, running

MINIMUM = 30 * 86400
IA_SIZE, STANDARD_SIZE = 1000, 500

OPERATIONS = """
query ($accountTag: string!, $bucketName: string, $startDate: Time, $endDate: Time) {
  viewer { accounts(filter: { accountTag: $accountTag }) {
    r2OperationsAdaptiveGroups(limit: 1000, filter: {
      bucketName: $bucketName, datetime_geq: $startDate, datetime_leq: $endDate
    }) {
      sum { requests retrievedBytes }
      dimensions { actionType storageClass }
    }
  } }
}
"""

RETRIEVED_ONLY = """
query ($accountTag: string!, $bucketName: string) {
  viewer { accounts(filter: { accountTag: $accountTag }) {
    r2OperationsAdaptiveGroups(limit: 1000, filter: { bucketName: $bucketName }) {
      sum { requests retrievedBytes }
      dimensions { actionType datetimeHour }
    }
  } }
}
"""

STORAGE = """
query ($accountTag: string!, $bucketName: string) {
  viewer { accounts(filter: { accountTag: $accountTag }) {
    r2StorageAdaptiveGroups(limit: 10, filter: { bucketName: $bucketName }, orderBy: [datetime_DESC]) {
      max { objectCount uploadCount payloadSize }
      dimensions { datetime storageClass }
    }
  } }
}
"""

EARLY = """
query ($accountTag: string!, $bucketName: string) {
  viewer { accounts(filter: { accountTag: $accountTag }) {
    r2EarlyDeletionsAdaptiveGroups(limit: 100, filter: { bucketName: $bucketName }) {
      count
      sum { payloadSize byteSecondsShort }
      dimensions { bucketName }
    }
  } }
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    env = {
        "LAKEBOX_ANALYTICS_SAMPLE_SECONDS": "1",
        "LAKEBOX_LIFECYCLE_INTERVAL_SECONDS": "1",
        "LAKEBOX_JOBS_POLL_MS": "200",
    }
    with running(tmp_path_factory.mktemp("lakebox") / "data", workers=2, extra_env=env) as srv:
        yield srv


def _fresh(s3: Any) -> str:
    bucket = "ia-" + secrets.token_hex(5)
    s3.create_bucket(Bucket=bucket)
    return bucket


def _rows(body: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = body["data"]["viewer"]["accounts"][0][dataset]
    return rows


@pytest.fixture(scope="module")
def reads(server: LakeboxServer, cf: httpx.Client, account_id: str) -> str:
    """Reads of one IA and one STANDARD object on every path that retrieves data."""
    s3 = server.s3()
    bucket = _fresh(s3)
    s3.put_object(Bucket=bucket, Key="cold", Body=b"c" * IA_SIZE, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="warm", Body=b"w" * STANDARD_SIZE)
    assert len(s3.get_object(Bucket=bucket, Key="cold")["Body"].read()) == IA_SIZE
    ranged = s3.get_object(Bucket=bucket, Key="cold", Range="bytes=100-199")
    assert len(ranged["Body"].read()) == 100
    for _ in range(2):
        assert len(s3.get_object(Bucket=bucket, Key="warm")["Body"].read()) == STANDARD_SIZE
    s3.head_object(Bucket=bucket, Key="cold")  # metadata only: retrieves nothing
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "cold"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    s3.upload_part_copy(
        Bucket=bucket, Key="assembled", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "cold"}, CopySourceRange="bytes=0-299",
    )  # fmt: skip
    s3.abort_multipart_upload(Bucket=bucket, Key="assembled", UploadId=upload)
    response = cf.get(f"/accounts/{account_id}/r2/buckets/{bucket}/objects/cold")
    assert response.status_code == 200
    assert len(response.content) == IA_SIZE
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="cold", Range="bytes=5000-5001")  # 416: nothing retrieved
    managed = cf.put(f"/accounts/{account_id}/r2/buckets/{bucket}/domains/managed", json={"enabled": True})
    assert managed.status_code == 200, managed.text
    public = httpx.get(f"http://{managed.json()['result']['domain']}/cold", timeout=60)  # the r2.dev URL
    assert public.status_code == 200
    assert len(public.content) == IA_SIZE
    return bucket


def test_reads_of_ia_data_record_exactly_the_bytes_retrieved(
    cf: httpx.Client, account_id: str, reads: str
) -> None:
    variables = {"accountTag": account_id, "bucketName": reads, **_window()}

    def counted() -> None:
        rows = _rows(_graphql(cf, OPERATIONS, variables), "r2OperationsAdaptiveGroups")
        found = {
            (r["dimensions"]["actionType"], r["dimensions"]["storageClass"]): (
                r["sum"]["requests"], r["sum"]["retrievedBytes"],
            )
            for r in rows
        }  # fmt: skip
        # S3 (whole + 100-byte range), the Cloudflare API's object GET and the public URL; the 416 read nothing.
        assert found.get(("GetObject", "InfrequentAccess")) == (4, IA_SIZE + 100 + 2 * IA_SIZE)
        assert found.get(("GetObject", "Standard")) == (3, 0)  # two STANDARD reads and the 416
        assert found.get(("CopyObject", "InfrequentAccess")) == (1, IA_SIZE)
        assert found.get(("UploadPartCopy", "InfrequentAccess")) == (1, 300)
        assert found.get(("HeadObject", "Standard")) == (1, 0)
        assert ("HeadObject", "InfrequentAccess") not in found
        assert found.get(("PutObject", "Standard")) == (2, 0)
        standard = [v for (_a, klass), v in found.items() if klass == "Standard"]
        assert all(size == 0 for _n, size in standard)

    _poll(counted)


def test_retrieved_bytes_without_the_class_dimension(cf: httpx.Client, account_id: str, reads: str) -> None:
    def counted() -> None:
        body = _graphql(cf, RETRIEVED_ONLY, {"accountTag": account_id, "bucketName": reads})
        found = {
            r["dimensions"]["actionType"]: (r["sum"]["requests"], r["sum"]["retrievedBytes"])
            for r in _rows(body, "r2OperationsAdaptiveGroups")
        }
        assert found.get("GetObject") == (7, 3 * IA_SIZE + 100)
        assert found.get("PutObject") == (2, 0)

    _poll(counted)


def test_storage_samples_split_by_class(cf: httpx.Client, account_id: str, reads: str) -> None:
    started = time.time()

    def sampled() -> None:
        rows = _rows(
            _graphql(cf, STORAGE, {"accountTag": account_id, "bucketName": reads}), "r2StorageAdaptiveGroups"
        )
        assert rows, "no sample yet"
        latest = rows[0]["dimensions"]["datetime"]
        by_class = {
            r["dimensions"]["storageClass"]: r["max"] for r in rows if r["dimensions"]["datetime"] == latest
        }
        assert by_class.get("InfrequentAccess") == {
            "objectCount": 1,
            "uploadCount": 0,
            "payloadSize": IA_SIZE,
        }
        # "warm" and "copied" (a copy takes the bucket's default class, not its source's)
        assert by_class.get("Standard") == {
            "objectCount": 2,
            "uploadCount": 0,
            "payloadSize": STANDARD_SIZE + IA_SIZE,
        }
        assert time.time() >= started

    _poll(sampled)


def _early(cf: httpx.Client, account_id: str, bucket: str) -> dict[str, Any] | None:
    rows = _rows(
        _graphql(cf, EARLY, {"accountTag": account_id, "bucketName": bucket}),
        "r2EarlyDeletionsAdaptiveGroups",
    )
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_deleting_a_new_ia_object_records_its_bytes_times_the_time_short_of_30_days(
    server: LakeboxServer, cf: httpx.Client, account_id: str
) -> None:
    s3 = server.s3()
    bucket = _fresh(s3)
    before = time.time()
    s3.put_object(Bucket=bucket, Key="brief", Body=b"b" * 2048, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p" * 4096)
    s3.delete_object(Bucket=bucket, Key="plain")  # STANDARD has no minimum duration
    assert _early(cf, account_id, bucket) is None
    s3.delete_object(Bucket=bucket, Key="brief")
    after = time.time()
    row = _early(cf, account_id, bucket)  # recorded with the deletion: no flush to wait for
    assert row is not None
    assert row["count"] == 1
    assert row["sum"]["payloadSize"] == 2048
    assert row["dimensions"]["bucketName"] == bucket
    age = after - before
    assert 2048 * (MINIMUM - age) - 1 <= row["sum"]["byteSecondsShort"] <= 2048 * MINIMUM


def test_replacing_or_moving_an_ia_object_early_is_recorded_too(
    server: LakeboxServer, cf: httpx.Client, account_id: str
) -> None:
    s3 = server.s3()
    bucket = _fresh(s3)
    for key in ("replaced", "moved", "batch"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"r" * 100, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="replaced", Body=b"new")
    s3.copy_object(Bucket=bucket, Key="moved", CopySource=f"{bucket}/moved", StorageClass="STANDARD")
    assert s3.head_object(Bucket=bucket, Key="moved").get("StorageClass", "STANDARD") == "STANDARD"
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "batch"}, {"Key": "replaced"}]})
    row = _early(cf, account_id, bucket)
    assert row is not None
    assert row["count"] == 3  # "replaced" left IA once, when it was replaced
    assert row["sum"]["payloadSize"] == 300
    assert 300 * (MINIMUM - 600) <= row["sum"]["byteSecondsShort"] <= 300 * MINIMUM


def test_a_lifecycle_expiration_of_a_new_ia_object_is_recorded(
    server: LakeboxServer, cf: httpx.Client, account_id: str
) -> None:
    s3 = server.s3()
    bucket = _fresh(s3)
    s3.put_object(Bucket=bucket, Key="gone/a", Body=b"a" * 700, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="kept/b", Body=b"b" * 900, StorageClass="STANDARD_IA")
    expired = {
        "ID": "past",
        "Filter": {"Prefix": "gone/"},
        "Status": "Enabled",
        "Expiration": {"Date": datetime(2020, 1, 1, tzinfo=UTC)},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [expired]})

    def expired_and_recorded() -> None:
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        assert listed == {"kept/b"}
        row = _early(cf, account_id, bucket)
        assert row is not None
        assert (row["count"], row["sum"]["payloadSize"]) == (1, 700)

    _poll(expired_and_recorded)


def test_a_lifecycle_transition_back_to_standard_is_refused(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = _fresh(s3)
    rule = {
        "ID": "warm-up",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Transitions": [{"Days": 1, "StorageClass": "STANDARD"}],
    }
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    error = exc.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (400, "InvalidArgument")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in rules] == ["Default Multipart Abort Rule"]  # nothing was stored
