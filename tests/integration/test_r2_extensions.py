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


def test_list_buckets_aws_pagination(server: LakeboxServer) -> None:
    s3 = server.s3()
    names = [f"aws-page-{i:02d}" for i in range(7)]
    for name in names:
        s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket="aws-other")
    paginator = s3.get_paginator("list_buckets")
    pages = list(paginator.paginate(Prefix="aws-page-", PaginationConfig={"PageSize": 3}))
    assert [[b["Name"] for b in p["Buckets"]] for p in pages] == [names[:3], names[3:6], names[6:]]
    assert [p.get("ContinuationToken") is not None for p in pages] == [True, True, False]
    assert {p["Prefix"] for p in pages} == {"aws-page-"}
    assert all(b["BucketRegion"] == "auto" for p in pages for b in p["Buckets"])
    whole = paginator.paginate(Prefix="aws-", PaginationConfig={"MaxItems": 5, "PageSize": 2})
    assert [b["Name"] for b in whole.build_full_result()["Buckets"]] == (["aws-other", *names])[:5]
    first = s3.list_buckets(Prefix="aws-page-", MaxBuckets=2)
    token = first["ContinuationToken"]
    raw = first["ResponseMetadata"]["HTTPHeaders"]
    assert raw["cf-is-truncated"] == "true"
    assert raw["cf-next-continuation-token"] == token
    rest = s3.list_buckets(Prefix="aws-page-", MaxBuckets=10000, ContinuationToken=token)
    assert [b["Name"] for b in rest["Buckets"]] == names[2:]
    assert "ContinuationToken" not in rest
    assert "Prefix" not in s3.list_buckets(MaxBuckets=1)  # echoed only when the request had one
    for bad in ("0", "10001", "-1", "x"):
        with pytest.raises(ClientError) as exc:
            _list_buckets_with(server, f"max-buckets={bad}")
        assert code(exc) == (400, "InvalidArgument")
        assert (
            exc.value.response["Error"]["Message"]
            == "Argument max-buckets must be an integer between 1 and 10000"
        )
    for bad_token in ("!!!", "AA=="):  # not base64; a NUL byte
        with pytest.raises(ClientError) as exc:
            s3.list_buckets(ContinuationToken=bad_token)
        assert code(exc) == (400, "InvalidArgument")


def _list_buckets_with(server: LakeboxServer, query: str) -> dict[str, Any]:
    client = server.s3()

    def add(params: dict[str, Any], **_: Any) -> None:
        params["url"] += ("&" if "?" in params["url"] else "?") + query

    client.meta.events.register("before-call.s3.ListBuckets", add)
    return client.list_buckets()


def test_list_buckets_r2_elements_and_header_precedence(server: LakeboxServer) -> None:
    s3 = server.s3()
    for i in range(3):
        s3.create_bucket(Bucket=f"r2-elems-{i}")
    client = server.s3()
    client.meta.events.register(
        "before-call.s3.ListBuckets",
        lambda params, **_: params["headers"].update({"cf-prefix": "r2-elems-", "cf-max-keys": "2"}),
    )
    client.meta.events.register(
        "before-call.s3.ListBuckets",
        lambda params, **_: params.update(url=params["url"] + "?prefix=nothing&max-keys=1"),
    )
    body: list[bytes] = []
    client.meta.events.register(
        "after-call.s3.ListBuckets", lambda http_response, **_: body.append(http_response.content)
    )
    page = client.list_buckets()
    assert [b["Name"] for b in page["Buckets"]] == ["r2-elems-0", "r2-elems-1"]  # the headers won
    text = body[0].decode()
    for element in ("<IsTruncated>true</IsTruncated>", "<KeyCount>2</KeyCount>", "<MaxKeys>2</MaxKeys>"):
        assert element in text
    assert f"<NextContinuationToken>{page['ContinuationToken']}</NextContinuationToken>" in text


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
