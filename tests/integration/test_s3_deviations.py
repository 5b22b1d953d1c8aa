"""Smaller deviations from S3 found by fuzzing (issue 14, item 8), one test each: DeleteObjects' Content-MD5 and
checksums, part order at completion, the SigV4 region, unknown query parameters, temporary credentials for a
bucket that does not exist, and SSE-C at completion and next to ``x-amz-server-side-encryption``."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.admin import cf, temp_body
from tests.support.raw_http import RawClient, RawResponse, send_signed, sign
from tests.support.server import LakeboxServer

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def raw(server: LakeboxServer) -> Iterator[RawClient]:
    client = RawClient("127.0.0.1", server.s3_port)
    yield client
    client.close()


def signed(
    server: LakeboxServer, raw: RawClient, method: str, target: bytes | str, body: bytes = b"", **headers: str
) -> RawResponse:
    return send_signed(raw, method, target, body, server.access_key_id, server.secret_access_key, **headers)


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def keys(server: LakeboxServer, bucket: str) -> list[str]:
    return [o["Key"] for o in server.s3().list_objects_v2(Bucket=bucket).get("Contents", [])]


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


# -- DeleteObjects verifies what it is sent -------------------------------------------------------------------

DELETE_BODY = b"<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object></Delete>"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"content-md5": b64(hashlib.md5(b"other").digest())}, (400, "BadDigest")),  # noqa: S324
        ({"content-md5": "not base64!"}, (400, "InvalidDigest")),
        ({"content-md5": b64(b"short")}, (400, "InvalidDigest")),
        ({"x-amz-checksum-crc32": b64(zlib.crc32(b"other").to_bytes(4, "big"))}, (400, "BadDigest")),
        ({"x-amz-checksum-sha256": b64(hashlib.sha256(b"other").digest())}, (400, "BadDigest")),
        ({"x-amz-checksum-crc32": "AAA"}, (400, "InvalidRequest")),
    ],
)
def test_delete_objects_refuses_a_body_that_does_not_match_its_digest(
    server: LakeboxServer, raw: RawClient, bucket: str, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    for key in ("a", "b"):
        server.s3().put_object(Bucket=bucket, Key=key, Body=b"x")
    response = signed(server, raw, "POST", f"/{bucket}?delete", DELETE_BODY, **headers)
    response.error_xml()
    assert (response.status, response.code) == expected
    assert keys(server, bucket) == ["a", "b"]


def test_delete_objects_with_matching_digests_deletes(
    server: LakeboxServer, raw: RawClient, bucket: str
) -> None:
    s3 = server.s3()
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    md5 = b64(hashlib.md5(DELETE_BODY).digest())  # noqa: S324
    crc = b64(zlib.crc32(DELETE_BODY).to_bytes(4, "big"))
    response = signed(
        server,
        raw,
        "POST",
        f"/{bucket}?delete",
        DELETE_BODY,
        **{"content-md5": md5, "x-amz-checksum-crc32": crc},
    )
    assert response.status == 200, response.body
    assert keys(server, bucket) == ["c"]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}]})  # boto3's own checksum
    assert keys(server, bucket) == []


def test_other_xml_bodies_are_verified_too(server: LakeboxServer, raw: RawClient, bucket: str) -> None:
    cors = (
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        b"</CORSRule></CORSConfiguration>"
    )
    wrong = b64(hashlib.md5(b"other").digest())  # noqa: S324
    response = signed(server, raw, "PUT", f"/{bucket}?cors", cors, **{"content-md5": wrong})
    assert (response.status, response.code) == (400, "BadDigest")
    assert signed(server, raw, "GET", f"/{bucket}?cors").code == "NoSuchCORSConfiguration"


# -- CompleteMultipartUpload: parts sorted (as R2), each once ------------------------------------------------


def test_parts_repeated_are_invalid_part_order_and_out_of_order_are_sorted(
    server: LakeboxServer, bucket: str
) -> None:
    s3 = server.s3()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    bodies = [os.urandom(5 * MiB), b"tail"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n, Body=b)["ETag"],
        }
        for n, b in enumerate(bodies, 1)
    ]
    for wrong in ([parts[0], parts[0], parts[1]], [parts[1], parts[0], parts[1]]):
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": wrong}
            )
        assert code(exc) == (400, "InvalidPartOrder")
    assert keys(server, bucket) == []
    # The upload is intact; listed out of order, its parts are sorted as R2 sorts them.
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": [parts[1], parts[0]]}
    )
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"".join(bodies)


# -- the SigV4 region -----------------------------------------------------------------------------------------


def client(server: LakeboxServer, region: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=server.s3_endpoint, region_name=region, aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key, config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


@pytest.mark.parametrize("region", ["auto", "us-east-1", "weur", "apac", "oc", "WNAM"])
def test_regions_r2_accepts(server: LakeboxServer, bucket: str, region: str) -> None:
    s3 = client(server, region)
    s3.put_object(Bucket=bucket, Key=region, Body=b"x")
    assert s3.get_object(Bucket=bucket, Key=region)["Body"].read() == b"x"


def test_empty_region_is_auto(server: LakeboxServer, raw: RawClient, bucket: str) -> None:
    host = f"127.0.0.1:{server.s3_port}"
    target = f"/{bucket}/empty-region"
    headers = sign(
        "PUT", host, target.encode(), [], b"x", server.access_key_id, server.secret_access_key, region=""
    )
    assert "//s3/aws4_request" in dict(headers)["Authorization"]
    assert raw.request("PUT", target.encode(), headers, b"x").status == 200


@pytest.mark.parametrize("region", ["eu-west-1", "us-west-2", "cn-north-1", "mars"])
def test_other_regions_are_invalid_region_name(server: LakeboxServer, bucket: str, region: str) -> None:
    s3 = client(server, region)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert code(exc) == (400, "InvalidRegionName")
    assert exc.value.response["Error"]["Message"] == (
        f"The region name '{region}' is not valid. Must be one of: wnam, enam, weur, eeur, apac, oc, auto"
    )
    request = AWSRequest(method="GET", url=f"{server.s3_endpoint}/{bucket}/k")
    S3SigV4QueryAuth(Credentials(server.access_key_id, server.secret_access_key), "s3", region, 60).add_auth(
        request
    )
    presigned = httpx.get(request.url)
    assert presigned.status_code == 400
    assert "<Code>InvalidRegionName</Code>" in presigned.text
    assert keys(server, bucket) == []


# -- unknown query parameters are ignored; known unimplemented sub-resources are 501 ---------------------------


def test_unknown_query_parameters_are_ignored(server: LakeboxServer, raw: RawClient, bucket: str) -> None:
    noise = "x-id=Whatever&x-purpose=Something&made-up=1&another"
    assert signed(server, raw, "PUT", f"/{bucket}/k?{noise}", b"data").status == 200
    assert signed(server, raw, "GET", f"/{bucket}/k?{noise}").body == b"data"
    assert signed(server, raw, "HEAD", f"/{bucket}/k?{noise}").status == 200
    for query in (f"list-type=2&{noise}", noise):
        listing = signed(server, raw, "GET", f"/{bucket}?{query}")
        assert listing.status == 200, listing.body
        assert b"<Key>k</Key>" in listing.body
    assert signed(server, raw, "GET", f"/?{noise}").status == 200  # ListBuckets
    assert signed(server, raw, "HEAD", f"/{bucket}?{noise}").status == 200
    assert signed(server, raw, "DELETE", f"/{bucket}/k?{noise}").status == 204
    assert keys(server, bucket) == []


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/{b}/k?tagging"), ("PUT", "/{b}/k?acl"), ("PUT", "/{b}?policy"), ("GET", "/{b}?website"),
     ("PUT", "/{b}?versioning"), ("GET", "/{b}?logging"), ("PUT", "/{b}?replication"), ("GET", "/{b}?versions"),
     ("POST", "/{b}/k?restore"), ("PUT", "/{b}/k?retention"), ("GET", "/{b}?list-type=2&allow-unordered=true")],
)  # fmt: skip
def test_known_unimplemented_subresources_are_501(
    server: LakeboxServer, raw: RawClient, bucket: str, method: str, target: str
) -> None:
    response = signed(server, raw, method, target.format(b=bucket), b"<x/>" if method != "GET" else b"")
    assert (response.status, response.code) == (501, "NotImplemented")


# -- temporary credentials need a bucket ---------------------------------------------------------------------


def test_temporary_credentials_for_a_missing_bucket_are_refused(server: LakeboxServer, bucket: str) -> None:
    path = "{account}/r2/temp-access-credentials"
    response = cf(server, "POST", path, temp_body("no-such-bucket-x", "object-read-only"))
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 10006  # Cloudflare's "bucket not found"
    fine = cf(server, "POST", path, temp_body(bucket, "object-read-only"))
    assert fine.status_code == 200, fine.text


# -- SSE-C ----------------------------------------------------------------------------------------------------


def sse(key: bytes) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def test_completing_an_sse_c_upload_needs_its_key(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    key = secrets.token_bytes(32)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="enc", **sse(key))["UploadId"]
    etag = s3.upload_part(
        Bucket=bucket, Key="enc", UploadId=upload, PartNumber=1, Body=b"secret", **sse(key)
    )["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    for given in ({}, sse(secrets.token_bytes(32))):
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="enc", UploadId=upload, MultipartUpload=parts, **given
            )
        assert code(exc) == (400, "InvalidRequest")
    assert keys(server, bucket) == []
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="enc", UploadId=upload, MultipartUpload=parts, **sse(key)
    )
    assert (
        done["ResponseMetadata"]["HTTPHeaders"]["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    )
    assert s3.get_object(Bucket=bucket, Key="enc", **sse(key))["Body"].read() == b"secret"
    # and a plain upload is not completed with a key
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="plain", UploadId=plain, PartNumber=1, Body=b"x")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="plain", UploadId=plain, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
            **sse(key),
        )  # fmt: skip
    assert code(exc) == (400, "InvalidRequest")


def test_sse_c_with_server_side_encryption_is_invalid_argument(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    key = secrets.token_bytes(32)
    both = {**sse(key), "ServerSideEncryption": "AES256"}
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    calls = {
        "put": lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", **both),
        "create upload": lambda: s3.create_multipart_upload(Bucket=bucket, Key="k", **both),
        "copy": lambda: s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/src", **both),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == (400, "InvalidArgument"), name
        assert exc.value.response["Error"].get("ArgumentName") == "x-amz-server-side-encryption", name
    assert keys(server, bucket) == ["src"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
