"""pytest plugin that adapts ceph/s3-tests' harness (not its tests) to an R2-shaped server.

Loaded by scripts/s3-tests with ``-p s3tests_r2_plugin``. It changes two things of the suite's package
``s3tests.functional`` and nothing in any test:

* Bucket cleanup. Around every test the suite deletes its buckets with ``nuke_bucket``, which lists object
  versions (ListObjectVersions) and deletes with ``x-amz-bypass-governance-retention``; R2 implements
  neither, so every test would end in a teardown error. The replacement lists with ListObjectsV2, deletes
  with DeleteObjects, aborts unfinished multipart uploads and deletes the bucket: only operations in R2's
  table.
* TLS trust. The suite reads ``ssl_verify`` as a boolean, so a self-signed server certificate can only be
  skipped, not trusted. When ``S3TESTS_CA_BUNDLE`` names a PEM file, every client the suite makes verifies
  against it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

_BATCH = 1000


def _list_keys(client: Any, bucket: str) -> Iterator[list[dict[str, str]]]:
    kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": _BATCH}
    while True:
        listing = client.list_objects_v2(**kwargs)
        keys = [{"Key": obj["Key"]} for obj in listing.get("Contents", [])]
        if keys:
            yield keys
        token = listing.get("NextContinuationToken")
        if not listing.get("IsTruncated") or not token:
            return
        kwargs["ContinuationToken"] = token


def _abort_uploads(client: Any, bucket: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    while True:
        listing = client.list_multipart_uploads(**kwargs)
        for upload in listing.get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        if not listing.get("IsTruncated"):
            return
        kwargs["KeyMarker"] = listing.get("NextKeyMarker")
        kwargs["UploadIdMarker"] = listing.get("NextUploadIdMarker")


def nuke_bucket(client: Any, bucket: str) -> None:
    """Empty and delete one bucket using only operations R2 implements."""
    for keys in _list_keys(client, bucket):
        client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    _abort_uploads(client, bucket)
    client.delete_bucket(Bucket=bucket)


def list_versions(client: Any, bucket: str, batch_size: int) -> Iterator[list[dict[str, str]]]:
    """The suite's list_versions, without versions: batches of current keys."""
    yield from _list_keys(client, bucket)


def pytest_configure(config: pytest.Config) -> None:
    import s3tests.functional as suite  # the suite root is on sys.path (scripts/s3-tests sets PYTHONPATH)

    suite.nuke_bucket = nuke_bucket
    suite.list_versions = list_versions

    ca_bundle = os.environ.get("S3TESTS_CA_BUNDLE")
    if ca_bundle:
        original_configure = suite.configure

        def configure() -> None:
            original_configure()
            if suite.config.default_is_secure:
                suite.config.default_ssl_verify = ca_bundle

        suite.configure = configure
