"""Revocation is seen at once by every worker: no worker keeps a token it has already served from a cache.

The server runs two workers; ``x-amz-id-2`` (S3's host id) tells which one answered. Requests go out on fresh
connections, a few at a time, until both workers have served the token, then until both have refused it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.admin import client, create_token, revoke, temp_credentials
from tests.support.server import LakeboxServer, running

BUCKET = "shared"
MAX_ROUNDS = 100


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    with running(tmp_path_factory.mktemp("workers") / "data", workers=2) as srv:
        srv.s3().create_bucket(Bucket=BUCKET)
        srv.s3().put_object(Bucket=BUCKET, Key="logs/k", Body=b"v")
        yield srv


def _outcome(call: Callable[[], Any]) -> tuple[str, str]:
    """(host id, "ok" or the error code) of one request."""
    try:
        response = call()
        return response["ResponseMetadata"]["HostId"], "ok"
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HostId"], exc.response["Error"]["Code"]


def until_both_workers(
    server: LakeboxServer, creds: dict[str, Any], key: str = "logs/k"
) -> dict[str, set[str]]:
    """Outcomes per worker, requesting on fresh connections until two workers have answered."""
    seen: dict[str, set[str]] = {}

    def one(_: int) -> tuple[str, str]:
        c = client(server, creds)  # a new client: a new connection, accepted by whichever worker is free
        return _outcome(lambda: c.get_object(Bucket=BUCKET, Key=key))

    with ThreadPoolExecutor(4) as pool:
        for _ in range(MAX_ROUNDS):
            for host, outcome in pool.map(one, range(4)):
                seen.setdefault(host, set()).add(outcome)
            if len(seen) >= 2:
                return seen
    raise AssertionError(f"only one worker answered in {MAX_ROUNDS * 4} requests: {seen}")


def test_revocation_is_seen_by_every_worker(server: LakeboxServer) -> None:
    token = create_token(server, "object-ro", buckets=[BUCKET])
    before = until_both_workers(server, token)
    assert all(outcomes == {"ok"} for outcomes in before.values()), before
    revoke(server, token["id"])
    after = until_both_workers(server, token)
    assert all(outcomes == {"InvalidAccessKeyId"} for outcomes in after.values()), after


def test_parent_revocation_ends_temporary_credentials_on_every_worker(server: LakeboxServer) -> None:
    parent = create_token(server, "object-rw", buckets=[BUCKET])
    creds = temp_credentials(
        server, BUCKET, "object-read-only", prefixes=["logs/"], parent_access_key_id=parent["id"]
    )
    assert all(o == {"ok"} for o in until_both_workers(server, creds).values())
    revoke(server, parent["id"])
    assert all(o == {"InvalidAccessKeyId"} for o in until_both_workers(server, creds).values())
