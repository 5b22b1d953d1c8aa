"""Lifecycle rules enforced on a live server (boto3 and the CLI): the scanner runs every second, and the jobs'
clock runs 40 days ahead so Days rules act on objects written now (never sleeping for days)."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support import cli
from tests.support.server import LakeboxServer, running

DAY = 86400
OFFSET_DAYS = 40
TIMEOUT = 120.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    env = {
        "LAKEBOX_LIFECYCLE_INTERVAL_SECONDS": "1",
        "LAKEBOX_JOBS_POLL_MS": "200",
        "LAKEBOX_JOBS_CLOCK_OFFSET_SECONDS": str(OFFSET_DAYS * DAY),
    }
    with running(tmp_path_factory.mktemp("lifecycle") / "data", extra_env=env) as srv:
        yield srv


def fresh(s3: Any) -> str:
    name = "lc-" + secrets.token_hex(5)
    s3.create_bucket(Bucket=name)
    return name


def wait_for(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {TIMEOUT}s: {what}"
        time.sleep(0.3)


def keys(s3: Any, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def rule(rule_id: str, prefix: str, status: str = "Enabled", **actions: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": status, **actions}


def put_rules(s3: Any, bucket: str, *rules: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"], exc.value.response["Error"]["Code"]


def lifecycle_pass_done(server: LakeboxServer, bucket: str, since: float) -> bool:
    """A lifecycle pass over ``bucket`` that started after ``since`` (job clock) has finished."""
    account = server.root_credentials()["account_id"]
    found = httpx.get(
        f"{server.console_url}/client/v4/accounts/{account}/lakebox/jobs",
        params={"kind": "lifecycle"},
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    ).json()["result"]
    for job in found:
        if job["target"] == bucket and job["last_finished_at"] and job["last_error"] is None:
            started = datetime.fromisoformat(job["last_started_at"].replace("Z", "+00:00")).timestamp()
            return started > since + OFFSET_DAYS * DAY and job["lease_owner"] is None
    return False


def settle(server: LakeboxServer, bucket: str) -> None:
    """Waits for a whole pass that began after now (so everything due now has been acted on)."""
    since = time.time()
    wait_for(lambda: lifecycle_pass_done(server, bucket, since), f"a lifecycle pass over {bucket}")


def test_a_past_expiration_date_removes_exactly_the_matching_objects(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    doomed = {f"logs/{i}" for i in range(12)}
    kept = {"logs", "log/x", "other/logs/1", "disabled/1"}
    for key in doomed | kept:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    put_rules(
        s3,
        bucket,
        rule("old-logs", "logs/", Expiration={"Date": yesterday}),
        rule("off", "disabled/", status="Disabled", Expiration={"Date": yesterday}),
    )
    wait_for(lambda: keys(s3, bucket) == kept, "the logs/ objects expire")
    settle(server, bucket)
    assert keys(s3, bucket) == kept  # nothing else, and a later pass takes nothing more

    account = server.root_credentials()["account_id"]
    query = """query ($accountTag: string!, $bucketName: string) { viewer { accounts(filter: {accountTag: $accountTag})
      { r2OperationsAdaptiveGroups(limit: 100, filter: {bucketName: $bucketName})
        { sum { requests } dimensions { actionType actionStatus } } } } }"""

    def deletions() -> int:
        response = httpx.post(
            f"{server.console_url}/client/v4/graphql",
            json={"query": query, "variables": {"accountTag": account, "bucketName": bucket}},
            headers={"authorization": f"Bearer {server.token}"},
            timeout=60,
        )
        groups = response.json()["data"]["viewer"]["accounts"][0]["r2OperationsAdaptiveGroups"]
        return sum(
            g["sum"]["requests"] for g in groups if g["dimensions"]["actionType"] == "LifecycleDeletion"
        )

    assert deletions() == len(doomed)  # counted in the deleting transaction: once each


def test_days_rules_act_through_the_test_clock_and_expiration_beats_transition(server: LakeboxServer) -> None:
    ia_blobs = server.data_dir / "ia" / "blobs"  # the Infrequent Access tier's default location
    before = set(ia_blobs.glob("*/*/*"))
    s3 = server.s3()
    bucket = fresh(s3)
    for key in ("old/a", "young/a", "cold/a", "both/a", "edge/a", "warm/a"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"data")
    put_rules(
        s3,
        bucket,
        rule("expire-30", "old/", Expiration={"Days": 30}),
        rule("expire-60", "young/", Expiration={"Days": 60}),
        rule("cold-10", "cold/", Transitions=[{"Days": 10, "StorageClass": "STANDARD_IA"}]),
        # Both due: expiration wins, no transition first.
        rule(
            "both",
            "both/",
            Expiration={"Days": 30},
            Transitions=[{"Days": 30, "StorageClass": "STANDARD_IA"}],
        ),
        # The transition is due, the expiration a day later: within 24 hours, so the transition waits for it.
        rule(
            "edge",
            "edge/",
            Expiration={"Days": 40},
            Transitions=[{"Days": 39, "StorageClass": "STANDARD_IA"}],
        ),
        # The transition is due, the expiration weeks away: the object moves.
        rule(
            "warm",
            "warm/",
            Expiration={"Days": 90},
            Transitions=[{"Days": 20, "StorageClass": "STANDARD_IA"}],
        ),
    )
    wait_for(lambda: "old/a" not in keys(s3, bucket), "old/a expires")
    settle(server, bucket)
    assert keys(s3, bucket) == {"young/a", "cold/a", "edge/a", "warm/a"}
    assert s3.head_object(Bucket=bucket, Key="cold/a")["StorageClass"] == "STANDARD_IA"
    assert s3.head_object(Bucket=bucket, Key="warm/a")["StorageClass"] == "STANDARD_IA"
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="edge/a")  # still STANDARD
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="young/a")
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed["cold/a"] == "STANDARD_IA"
    assert len(set(ia_blobs.glob("*/*/*")) - before) == 2  # the two moved objects' blobs live on the IA tier
    assert s3.get_object(Bucket=bucket, Key="cold/a")["Body"].read() == b"data"


def test_get_and_head_carry_x_amz_expiration(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    put_rules(
        s3,
        bucket,
        rule("expire-90", "a/", Expiration={"Days": 90}),
        rule("later", "a/b", Expiration={"Days": 95}),
    )
    s3.put_object(Bucket=bucket, Key="a/b", Body=b"x")
    s3.put_object(Bucket=bucket, Key="z", Body=b"x")
    head = s3.head_object(Bucket=bucket, Key="a/b")
    modified = head["LastModified"].timestamp()
    expected_at = math.ceil((modified + 90 * DAY) / DAY) * DAY
    expected_date = format_datetime(datetime.fromtimestamp(expected_at, UTC), usegmt=True)
    header = f'expiry-date="{expected_date}", rule-id="expire-90"'
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"] == header
    assert head["Expiration"] == header
    got = s3.get_object(Bucket=bucket, Key="a/b")
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"] == header
    assert "x-amz-expiration" not in s3.head_object(Bucket=bucket, Key="z")["ResponseMetadata"]["HTTPHeaders"]


def test_abort_rules_act_per_bucket(server: LakeboxServer) -> None:
    s3 = server.s3()
    default, longer, replaced, scoped = fresh(s3), fresh(s3), fresh(s3), fresh(s3)
    put_rules(s3, longer, rule("abort-60", "", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 60}))
    put_rules(s3, replaced, rule("expire-only", "nothing/", Expiration={"Days": 1}))
    put_rules(s3, scoped, rule("tmp", "tmp/", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 30}))

    def start(bucket: str, key: str) -> str:
        upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        return upload_id

    def pending(bucket: str) -> set[str]:
        return {u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}

    start(default, "k")
    start(longer, "k")
    start(replaced, "k")
    start(scoped, "tmp/k")
    start(scoped, "keep/k")
    wait_for(lambda: not pending(default), "the default rule aborts the upload after 7 days")
    wait_for(lambda: pending(scoped) == {"keep/k"}, "the tmp/ rule aborts the tmp/ upload")
    for bucket in (longer, replaced, scoped):
        settle(server, bucket)
    assert pending(longer) == {"k"}  # 40 days < the bucket's own 60
    assert pending(replaced) == {"k"}  # its configuration replaced the default rule
    assert pending(scoped) == {"keep/k"}
    assert pending(default) == set()


def test_more_than_1000_rules_are_refused_and_nothing_changes(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    put_rules(s3, bucket, rule("only", "x/", Expiration={"Days": 5}))
    too_many = [rule(f"r{i}", f"p{i}/", Expiration={"Days": 5}) for i in range(1001)]
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": too_many})
    assert code(exc) == (400, "MalformedXML")
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == ["only"]
    put_rules(s3, bucket, *too_many[:1000])  # exactly 1,000 is fine
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 1000


def test_only_prefix_filters_are_accepted(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    tagged = {
        "ID": "t",
        "Filter": {"Tag": {"Key": "a", "Value": "b"}},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    }
    with pytest.raises(ClientError) as exc:
        put_rules(s3, bucket, tagged)
    assert code(exc) == (400, "InvalidArgument")
    sized = {
        "ID": "s",
        "Filter": {"ObjectSizeGreaterThan": 10},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    }
    with pytest.raises(ClientError) as exc:
        put_rules(s3, bucket, sized)
    assert code(exc) == (400, "InvalidArgument")
    default = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in default] == ["Default Multipart Abort Rule"]


def test_delete_lifecycle_then_get_answers_no_such_configuration(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    put_rules(s3, bucket, rule("x", "x/", Expiration={"Days": 5}))
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(exc) == (404, "NoSuchLifecycleConfiguration")
    # The default abort rule applies again: the Cloudflare API (and wrangler) show it as the rules in effect.
    listed = cli.run("bucket", "lifecycle", "list", bucket, "--json", env=cli.server_env(server))
    assert listed.returncode == 0, cli.err(listed)
    assert '"Default Multipart Abort Rule"' in listed.stdout.decode()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    wait_for(
        lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "the default rule acts again"
    )
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert code(exc) == (404, "NoSuchUpload")
    put_rules(s3, bucket, rule("back", "y/", Expiration={"Days": 5}))
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == ["back"]


def test_rules_added_with_the_cli_act(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    for key in ("cli/1", "cli/2", "stay/1"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    past = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")
    env = cli.server_env(server)
    added = cli.run(
        "bucket", "lifecycle", "add", bucket, "gone", "cli/", "--expire-date", past, "-y", env=env
    )
    assert added.returncode == 0, cli.err(added)
    moved = cli.run(
        "bucket", "lifecycle", "add", bucket, "ia", "stay/", "--ia-transition-days", "30", "-y", env=env
    )
    assert moved.returncode == 0, cli.err(moved)
    wait_for(lambda: keys(s3, bucket) == {"stay/1"}, "the CLI's expiration rule acts")
    wait_for(
        lambda: s3.head_object(Bucket=bucket, Key="stay/1").get("StorageClass") == "STANDARD_IA",
        "the CLI's transition rule acts",
    )


def test_a_bucket_lock_keeps_what_lifecycle_would_expire(server: LakeboxServer) -> None:
    """Locks take precedence over lifecycle: expired keys under a locked prefix stay, the others go."""
    s3 = server.s3()
    bucket = fresh(s3)
    locked, free = {"logs/held/1", "logs/held/2"}, {"logs/free/1", "logs/free/2"}
    for key in locked | free:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    account = server.root_credentials()["account_id"]
    response = httpx.put(
        f"{server.console_url}/client/v4/accounts/{account}/r2/buckets/{bucket}/lock",
        json={
            "rules": [
                {"id": "hold", "enabled": True, "prefix": "logs/held/", "condition": {"type": "Indefinite"}}
            ]
        },
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    assert response.json()["success"], response.text
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    put_rules(s3, bucket, rule("all-logs", "logs/", Expiration={"Date": yesterday}))
    wait_for(lambda: keys(s3, bucket) == locked, "the unlocked logs expire")
    settle(server, bucket)
    assert keys(s3, bucket) == locked


def test_each_bucket_gets_its_own_lifecycle_job_until_it_is_deleted(server: LakeboxServer) -> None:
    s3 = server.s3()
    bucket = fresh(s3)
    account = server.root_credentials()["account_id"]

    def targets() -> set[str]:
        found = httpx.get(
            f"{server.console_url}/client/v4/accounts/{account}/lakebox/jobs",
            params={"kind": "lifecycle"},
            headers={"authorization": f"Bearer {server.token}"},
            timeout=60,
        ).json()["result"]
        return {job["target"] for job in found}

    wait_for(lambda: bucket in targets(), "the new bucket's lifecycle job")
    s3.delete_bucket(Bucket=bucket)
    wait_for(lambda: bucket not in targets(), "the deleted bucket's job goes")
