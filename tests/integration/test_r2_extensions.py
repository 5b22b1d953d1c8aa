"""R2's extensions and quirks through boto3: bucket CORS and lifecycle, the dummy bucket answers, GetBucketEncryption,
ListBuckets pagination (query parameters or cf-* headers), ``x-id`` ignored, 501 for unsupported list parameters."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_cors_configuration(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(exc) == (404, "NoSuchCORSConfiguration")
    rules = [
        {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://example.com", "*.example.org"],
         "AllowedHeaders": ["x-custom"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    ]  # fmt: skip
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules
    bad = [
        ({"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}, (400, "InvalidRequest")),
        ({"AllowedMethods": ["GET"], "AllowedOrigins": ["not an origin"]}, (400, "InvalidArgument")),
        (
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "AllowedHeaders": [""]},
            (400, "InvalidArgument"),
        ),
    ]
    for rule, expected in bad:
        with pytest.raises(ClientError) as exc:
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
        assert code(exc) == expected
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules  # unchanged by the refused ones
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(exc) == (404, "NoSuchCORSConfiguration")


def test_lifecycle_configuration(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    default = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert default[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}  # R2's default rule
    rules = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 90}},
        {"ID": "ia", "Filter": {"Prefix": ""}, "Status": "Enabled",
         "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]},
        {"ID": "legacy", "Prefix": "old/", "Status": "Disabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
    ]  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    bad: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"ID": "a" * 256, "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 1}}, (400, "InvalidArgument")),
        ({"ID": "x", "Prefix": "", "Status": "Enabled", "Expiration": {"Date": "20200101"}}, (400, "InvalidArgument")),
        ({"ID": "x", "Prefix": "", "Status": "Enabled",
          "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}, (400, "InvalidArgument")),
        ({"ID": "x", "Prefix": "", "Status": "Enabled"}, (400, "InvalidRequest")),
    ]  # fmt: skip
    for rule, expected in bad:
        with pytest.raises(ClientError) as exc:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
        assert code(exc) == expected
    same_id = [dict(rules[0]), dict(rules[0])]
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": same_id})
    assert code(exc) == (400, "InvalidArgument")
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as exc:  # as AWS answers; R2's default abort rule applies again meanwhile
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(exc) == (404, "NoSuchLifecycleConfiguration")


def test_dummy_answers(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    for call, expected in (
        (s3.get_bucket_replication, (404, "ReplicationConfigurationNotFoundError")),
        (s3.get_bucket_tagging, (404, "NoSuchTagSet")),
        (s3.get_object_lock_configuration, (404, "ObjectLockConfigurationNotFoundError")),
    ):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket)
        assert code(exc) == expected
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_acl(Bucket="no-such-bucket-z")
    assert code(exc) == (404, "NoSuchBucket")
    with pytest.raises(ClientError) as exc:  # still unimplemented on R2
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert code(exc) == (501, "NotImplemented")


def test_list_buckets_pagination(server: LakeboxServer) -> None:
    s3 = server.s3()
    names = [f"page-{i:02d}" for i in range(5)]
    for name in names:
        s3.create_bucket(Bucket=name)
    seen: list[str] = []
    token = None
    while True:
        headers = {"cf-prefix": "page-", "cf-max-keys": "2"}
        if token:
            headers["cf-continuation-token"] = token
        client = server.s3()
        client.meta.events.register(
            "before-call.s3.ListBuckets", lambda params, h=headers, **_: params["headers"].update(h)
        )
        response = client.list_buckets()
        page_headers = response["ResponseMetadata"]["HTTPHeaders"]
        seen += [b["Name"] for b in response["Buckets"]]
        if page_headers["cf-is-truncated"] != "true":
            break
        token = page_headers["cf-next-continuation-token"]
    assert seen == names
    after = server.s3()
    after.meta.events.register(
        "before-call.s3.ListBuckets",
        lambda params, **_: params["headers"].update({"cf-start-after": "page-02"}),
    )
    assert [b["Name"] for b in after.list_buckets()["Buckets"] if b["Name"].startswith("page-")] == names[3:]


def test_x_id_ignored_and_unsupported_list_parameters(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")

    def x_id(params: dict[str, Any], **_: Any) -> None:
        params["url"] += ("&" if "?" in params["url"] else "?") + "x-id=Whatever"

    ignoring = server.s3()
    ignoring.meta.events.register("before-call.s3.ListObjectsV2", x_id)
    ignoring.meta.events.register("before-call.s3.GetObject", x_id)
    assert [o["Key"] for o in ignoring.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    assert ignoring.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"

    def add(params: dict[str, Any], **_: Any) -> None:
        params["url"] += "&allow-unordered=true"

    client = server.s3()
    client.meta.events.register("before-call.s3.ListObjectsV2", add)
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket=bucket)
    assert code(exc) == (501, "NotImplemented")
