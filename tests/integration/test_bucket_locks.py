"""Bucket locks against a live server (two workers): rules through the Cloudflare API, every write path refused
for a locked key (boto3 and the API's object routes) with R2's S3 answer, allowed once the retention ends,
bucket deletion refused, 1,001 rules refused, and a race of 16 overwriters that lets none through."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer, running

PART = 5 * 1024 * 1024
LOCKED = (403, "AccessDenied")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    with running(tmp_path_factory.mktemp("lakebox-locks") / "data", workers=2) as srv:
        yield srv


@pytest.fixture(scope="module")
def cf(server: LakeboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.console_url}/client/v4",
        headers={"authorization": f"Bearer {server.token}"},
        timeout=120,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def account_id(server: LakeboxServer) -> str:
    value: str = server.root_credentials()["account_id"]
    return value


@pytest.fixture
def s3(server: LakeboxServer) -> Any:
    return server.s3()


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


FUTURE = _iso(datetime.now(UTC) + timedelta(days=3650))
PAST = _iso(datetime(2020, 1, 1, tzinfo=UTC))


def _lock_url(account_id: str, bucket: str) -> str:
    return f"/accounts/{account_id}/r2/buckets/{bucket}/lock"


def set_rules(cf: httpx.Client, account_id: str, bucket: str, rules: list[dict[str, Any]]) -> None:
    response = cf.put(_lock_url(account_id, bucket), json={"rules": rules})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "success": True,
        "errors": [],
        "messages": [],
        "result": {},
        "result_info": None,
    }


def get_rules(cf: httpx.Client, account_id: str, bucket: str) -> list[dict[str, Any]]:
    response = cf.get(_lock_url(account_id, bucket))
    assert response.status_code == 200, response.text
    rules: list[dict[str, Any]] = response.json()["result"]["rules"]
    return rules


def until(date: str, prefix: str = "", rule_id: str = "hold") -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id, "enabled": True, "condition": {"type": "Date", "date": date}}
    if prefix:
        rule["prefix"] = prefix
    return rule


def s3_error(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"].get("Message", ""),
    )


def envelope_error(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["success"] is False
    return response.status_code, body["errors"][0]["code"], body["errors"][0]["message"]


def body_of(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _start_upload(s3: Any, bucket: str, key: str, data: bytes) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=data)["ETag"]
    return upload_id, [{"PartNumber": 1, "ETag": etag}]


# -- the configuration ------------------------------------------------------------------------------------


def test_rules_round_trip_in_r2_shape(cf: httpx.Client, account_id: str, bucket: str) -> None:
    assert get_rules(cf, account_id, bucket) == []
    rules = [
        {
            "id": "logs-7d",
            "enabled": True,
            "prefix": "logs/",
            "condition": {"type": "Age", "maxAgeSeconds": 604800},
        },
        {"id": "images", "enabled": True, "prefix": "images/", "condition": {"type": "Indefinite"}},
        {"id": "all-until", "enabled": False, "condition": {"type": "Date", "date": "2030-01-01T00:00:00Z"}},
        {
            "id": "empty-prefix",
            "enabled": True,
            "prefix": "",
            "condition": {"type": "Date", "date": "2031-06-01"},
        },
    ]
    set_rules(cf, account_id, bucket, rules)
    assert get_rules(cf, account_id, bucket) == [
        rules[0],
        rules[1],
        {
            "id": "all-until",
            "enabled": False,
            "condition": {"type": "Date", "date": "2030-01-01T00:00:00.000Z"},
        },
        {
            "id": "empty-prefix",
            "enabled": True,
            "condition": {"type": "Date", "date": "2031-06-01T00:00:00.000Z"},
        },
    ]
    set_rules(cf, account_id, bucket, [])
    assert get_rules(cf, account_id, bucket) == []


def test_at_most_1000_rules(cf: httpx.Client, account_id: str, bucket: str) -> None:
    rules = [
        {"id": f"r{i}", "enabled": True, "prefix": f"p{i}/", "condition": {"type": "Indefinite"}}
        for i in range(1001)
    ]
    refused = cf.put(_lock_url(account_id, bucket), json={"rules": rules})
    assert envelope_error(refused) == (
        400,
        10040,
        "A bucket lock configuration can hold at most 1,000 rules, not 1,001",
    )
    assert get_rules(cf, account_id, bucket) == []
    set_rules(cf, account_id, bucket, rules[:1000])
    assert len(get_rules(cf, account_id, bucket)) == 1000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rules": "x"}, "'rules' must be a list"),
        ({"rules": [], "other": 1}, 'The body must be an object of the form {"rules": [...]}'),
        ([], 'The body must be an object of the form {"rules": [...]}'),
        ({"rules": [{"enabled": True, "condition": {"type": "Indefinite"}}]}, "'rules[0].id' must be a non-empty string of at most 255 characters"),
        ({"rules": [{"id": "a", "condition": {"type": "Indefinite"}}]}, "'rules[0].enabled' must be true or false"),
        ({"rules": [{"id": "a", "enabled": True}]}, "'rules[0].condition.type' must be Age, Date or Indefinite"),
        ({"rules": [{"id": "a", "enabled": True, "condition": {"type": "Forever"}}]}, "'rules[0].condition.type' must be Age, Date or Indefinite"),
        ({"rules": [{"id": "a", "enabled": True, "condition": {"type": "Age", "maxAgeSeconds": 0}}]}, "'rules[0].condition.maxAgeSeconds' must be a positive number of seconds"),
        ({"rules": [{"id": "a", "enabled": True, "condition": {"type": "Age", "maxAgeSeconds": "9"}}]}, "'rules[0].condition.maxAgeSeconds' must be a positive number of seconds"),
        ({"rules": [{"id": "a", "enabled": True, "condition": {"type": "Age", "maxAge": 9}}]}, "Unknown field in 'rules[0].condition' of type Age: 'maxAge'"),
        ({"rules": [{"id": "a", "enabled": True, "condition": {"type": "Date", "date": "soon"}}]}, "'condition.date' must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z: 'soon'"),
        ({"rules": [{"id": "a", "enabled": True, "prefix": 3, "condition": {"type": "Indefinite"}}]}, "'rules[0].prefix' must be a string"),
        ({"rules": [{"id": "a", "enabled": True, "conditions": {}, "condition": {"type": "Indefinite"}}]}, "Unknown field in 'rules[0]': 'conditions'"),
        ({"rules": [{"id": "a", "enabled": True, "condition": {"type": "Indefinite"}}] * 2}, "Two rules have the id 'a': rule ids must be unique"),
    ],
)  # fmt: skip
def test_bad_configurations_are_refused_and_change_nothing(
    cf: httpx.Client, account_id: str, bucket: str, body: Any, message: str
) -> None:
    kept = [until(FUTURE, "keep/")]
    set_rules(cf, account_id, bucket, kept)
    assert envelope_error(cf.put(_lock_url(account_id, bucket), json=body)) == (400, 10040, message)
    assert get_rules(cf, account_id, bucket) == kept


def test_missing_bucket(cf: httpx.Client, account_id: str) -> None:
    missing = "no-such-" + secrets.token_hex(4)
    assert envelope_error(cf.get(_lock_url(account_id, missing)))[:2] == (404, 10006)
    assert envelope_error(cf.put(_lock_url(account_id, missing), json={"rules": []}))[:2] == (404, 10006)


# -- enforcement ------------------------------------------------------------------------------------------


def test_every_write_path_refused_for_a_locked_key_then_allowed(
    cf: httpx.Client, account_id: str, server: LakeboxServer, s3: Any, bucket: str
) -> None:
    key, other = "vault/a.txt", "open/b.txt"
    s3.put_object(
        Bucket=bucket, Key=key, Body=b"original"
    )  # before the rule: rules apply to existing objects
    s3.put_object(Bucket=bucket, Key=other, Body=b"free")
    upload_id, parts = _start_upload(s3, bucket, key, b"m" * PART)
    set_rules(cf, account_id, bucket, [until(FUTURE, "vault/")])

    message = f"Access Denied: the object is locked by bucket lock rule 'hold' until {FUTURE} and cannot be deleted or overwritten before its retention ends"
    assert s3_error(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"new")) == (*LOCKED, message)
    assert s3_error(lambda: s3.delete_object(Bucket=bucket, Key=key)) == (*LOCKED, message)
    assert s3_error(
        lambda: s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": other})
    ) == (*LOCKED, message)
    assert s3_error(
        lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    ) == (*LOCKED, message)
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}, {"Key": other}]})
    assert [d["Key"] for d in deleted["Deleted"]] == [other]
    assert deleted["Errors"] == [{"Key": key, "Code": "AccessDenied", "Message": message}]
    objects_url = f"/accounts/{account_id}/r2/buckets/{bucket}/objects/{key}"
    assert envelope_error(cf.put(objects_url, content=b"api")) == (403, 10003, message)
    assert envelope_error(cf.delete(objects_url)) == (403, 10003, message)
    # Nothing changed: the object, and the multipart upload (it can be completed once the lock allows).
    assert body_of(s3, bucket, key) == b"original"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [upload_id]
    # Reading and copying from a locked object are fine; a new key under the prefix may be created once.
    s3.copy_object(Bucket=bucket, Key="vault/copy.txt", CopySource={"Bucket": bucket, "Key": key})
    assert body_of(s3, bucket, "vault/copy.txt") == b"original"
    assert s3_error(lambda: s3.put_object(Bucket=bucket, Key="vault/copy.txt", Body=b"x"))[:2] == LOCKED

    set_rules(cf, account_id, bucket, [until(PAST, "vault/")])  # retention over
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert body_of(s3, bucket, key) == b"m" * PART
    s3.put_object(Bucket=bucket, Key=key, Body=b"put")
    s3.put_object(Bucket=bucket, Key=other, Body=b"free")
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": other})
    assert body_of(s3, bucket, key) == b"free"
    assert cf.put(objects_url, content=b"api").status_code == 200
    assert body_of(s3, bucket, key) == b"api"
    assert cf.delete(objects_url).status_code == 200
    s3.put_object(Bucket=bucket, Key=key, Body=b"again")
    s3.delete_object(Bucket=bucket, Key=key)
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "vault/copy.txt"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == ["vault/copy.txt"]
    assert "Errors" not in deleted
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [other]


def test_age_retention_ends_and_the_strictest_rule_wins(
    cf: httpx.Client, account_id: str, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    short = {"id": "short", "enabled": True, "condition": {"type": "Age", "maxAgeSeconds": 1}}
    long = {"id": "long", "enabled": True, "condition": {"type": "Age", "maxAgeSeconds": 86400}}
    disabled = {"id": "off", "enabled": False, "condition": {"type": "Indefinite"}}
    set_rules(cf, account_id, bucket, [short, long, disabled])
    status, code, message = s3_error(lambda: s3.delete_object(Bucket=bucket, Key="k"))
    assert (status, code) == LOCKED
    assert "bucket lock rule 'long' until " in message
    set_rules(cf, account_id, bucket, [short, {**long, "prefix": "elsewhere/"}, disabled])
    deadline = time.monotonic() + 60
    codes = []
    while time.monotonic() < deadline:  # the 1-second retention ends shortly after the upload
        try:
            s3.delete_object(Bucket=bucket, Key="k")
            break
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
            time.sleep(0.2)
    assert set(codes) <= {"AccessDenied"}
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_indefinite_and_prefix_scope(cf: httpx.Client, account_id: str, s3: Any, bucket: str) -> None:
    set_rules(
        cf,
        account_id,
        bucket,
        [{"id": "img", "enabled": True, "prefix": "images/", "condition": {"type": "Indefinite"}}],
    )
    s3.put_object(Bucket=bucket, Key="images/x", Body=b"1")
    s3.put_object(Bucket=bucket, Key="imagesx", Body=b"1")
    s3.put_object(Bucket=bucket, Key="imagesx", Body=b"2")  # outside the prefix: overwritten
    status, code, message = s3_error(lambda: s3.put_object(Bucket=bucket, Key="images/x", Body=b"2"))
    assert (status, code, message) == (
        *LOCKED,
        "Access Denied: the object is locked by bucket lock rule 'img' indefinitely and cannot be deleted or "
        "overwritten before its retention ends",
    )
    assert body_of(s3, bucket, "images/x") == b"1"


def test_bucket_deletion_refused_while_locked_objects_exist(
    cf: httpx.Client, account_id: str, server: LakeboxServer, s3: Any
) -> None:
    name = "lock-del-" + secrets.token_hex(4)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="kept", Body=b"x")
    set_rules(cf, account_id, name, [until(FUTURE)])
    assert s3_error(lambda: s3.delete_bucket(Bucket=name))[:2] == (409, "BucketNotEmpty")
    assert envelope_error(cf.delete(f"/accounts/{account_id}/r2/buckets/{name}"))[:2] == (409, 10008)
    assert s3_error(lambda: s3.delete_object(Bucket=name, Key="kept"))[:2] == LOCKED
    assert body_of(s3, name, "kept") == b"x"
    set_rules(cf, account_id, name, [until(PAST)])
    s3.delete_object(Bucket=name, Key="kept")
    s3.delete_bucket(Bucket=name)
    # A new bucket of the same name starts without the old one's rules.
    s3.create_bucket(Bucket=name)
    assert get_rules(cf, account_id, name) == []
    s3.put_object(Bucket=name, Key="kept", Body=b"y")
    s3.delete_object(Bucket=name, Key="kept")


# -- races ------------------------------------------------------------------------------------------------


def _race(server: LakeboxServer, bucket: str, key: str, n: int) -> list[tuple[bytes, str | None]]:
    """``n`` concurrent PutObjects of distinct bodies to ``key``: (body, error code or None) of each."""
    clients = [server.s3() for _ in range(n)]
    barrier = threading.Barrier(n)
    outcomes: list[tuple[bytes, str | None]] = [(b"", "not run")] * n

    def write(i: int) -> None:
        body = f"writer-{i}".encode()
        barrier.wait()
        try:
            clients[i].put_object(Bucket=bucket, Key=key, Body=body)
            outcomes[i] = (body, None)
        except ClientError as exc:
            outcomes[i] = (body, exc.response["Error"]["Code"])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return outcomes


def test_sixteen_overwriters_of_a_locked_object_all_refused(
    cf: httpx.Client, account_id: str, server: LakeboxServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="race", Body=b"first")
    set_rules(cf, account_id, bucket, [until(FUTURE)])
    outcomes = _race(server, bucket, "race", 16)
    assert [code for _body, code in outcomes] == ["AccessDenied"] * 16
    assert body_of(s3, bucket, "race") == b"first"


def test_sixteen_creators_under_a_lock_exactly_one_wins(
    cf: httpx.Client, account_id: str, server: LakeboxServer, s3: Any, bucket: str
) -> None:
    """The key does not exist yet: the first write creates it, and from then on it is locked, so every other
    writer, racing in the same instant over two worker processes, is refused in its own transaction."""
    set_rules(cf, account_id, bucket, [{"id": "all", "enabled": True, "condition": {"type": "Indefinite"}}])
    outcomes = _race(server, bucket, "fresh", 16)
    winners = [body for body, code in outcomes if code is None]
    assert len(winners) == 1
    assert sorted(code for _body, code in outcomes if code is not None) == ["AccessDenied"] * 15
    assert body_of(s3, bucket, "fresh") == winners[0]


# -- audit ------------------------------------------------------------------------------------------------


def test_a_lock_change_is_audited(
    cf: httpx.Client, account_id: str, server: LakeboxServer, bucket: str
) -> None:
    started = time.time() - 1
    set_rules(cf, account_id, bucket, [until(FUTURE)])
    response = cf.get(f"/accounts/{account_id}/lakebox/audit", params={"since": started})
    assert response.status_code == 200, response.text
    entries = [
        (e["api"], e["action"], e["actor"], e["target"], e["outcome"], e["status"])
        for e in response.json()["result"]
        if e["target"] == bucket and e["api"] == "cloudflare"
    ]
    assert entries == [
        (
            "cloudflare",
            f"PUT /client/v4/accounts/{account_id}/r2/buckets/{bucket}/lock",
            server.access_key_id,
            bucket,
            "success",
            None,  # written in the change's own transaction, before the answer has a status
        )
    ]
