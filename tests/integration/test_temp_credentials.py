"""Temporary credentials scoped to ``bucket-a/logs/``: everything outside is refused, everything inside works,
and they die on time and with their parent. Driven through boto3 (AWS_SESSION_TOKEN) and presigned URLs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.admin import cf, client, create_token, revoke, temp_body, temp_credentials
from tests.support.server import LakeboxServer, running

A = "bucket-a"
B = "bucket-b"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    with running(tmp_path_factory.mktemp("temp") / "data") as srv:
        root = srv.s3()
        for name in (A, B):
            root.create_bucket(Bucket=name)
        for key in ("logs/a.txt", "logs/b/c.txt", "other.txt", "logsX/y.txt"):
            root.put_object(Bucket=A, Key=key, Body=key.encode())
        root.put_object(Bucket=B, Key="logs/a.txt", Body=b"b")
        yield srv


@pytest.fixture
def creds(server: LakeboxServer) -> dict[str, Any]:
    return temp_credentials(server, A, "object-read-write", prefixes=["logs/"], ttl_seconds=900)


def code(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def test_response_fields(server: LakeboxServer) -> None:
    body = temp_body(A, "object-read-write", 900, prefixes=["logs/"])
    response = cf(server, "POST", "{account}/r2/temp-access-credentials", body)
    assert response.status_code == 200, response.text
    assert set(response.json()["result"]) == {"accessKeyId", "secretAccessKey", "sessionToken"}


def test_inside_the_scope_everything_works(server: LakeboxServer, creds: dict[str, Any]) -> None:
    c = client(server, creds)
    c.put_object(Bucket=A, Key="logs/new.txt", Body=b"new")
    assert c.get_object(Bucket=A, Key="logs/new.txt")["Body"].read() == b"new"
    assert c.head_object(Bucket=A, Key="logs/a.txt")["ContentLength"] == len("logs/a.txt")
    keys = [o["Key"] for o in c.list_objects_v2(Bucket=A, Prefix="logs/")["Contents"]]
    assert keys == ["logs/a.txt", "logs/b/c.txt", "logs/new.txt"]
    assert [o["Key"] for o in c.list_objects(Bucket=A, Prefix="logs/b/")["Contents"]] == ["logs/b/c.txt"]
    c.copy_object(Bucket=A, Key="logs/copy.txt", CopySource={"Bucket": A, "Key": "logs/a.txt"})
    upload = c.create_multipart_upload(Bucket=A, Key="logs/mp.bin")["UploadId"]
    etag = c.upload_part(Bucket=A, Key="logs/mp.bin", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    assert c.list_multipart_uploads(Bucket=A, Prefix="logs/")["Uploads"][0]["Key"] == "logs/mp.bin"
    assert len(c.list_parts(Bucket=A, Key="logs/mp.bin", UploadId=upload)["Parts"]) == 1
    c.complete_multipart_upload(
        Bucket=A,
        Key="logs/mp.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]},
    )
    aborted = c.create_multipart_upload(Bucket=A, Key="logs/abort.bin")["UploadId"]
    c.abort_multipart_upload(Bucket=A, Key="logs/abort.bin", UploadId=aborted)
    c.delete_object(Bucket=A, Key="logs/copy.txt")
    c.head_bucket(Bucket=A)


def test_outside_the_scope_everything_is_refused(server: LakeboxServer, creds: dict[str, Any]) -> None:
    c = client(server, creds)
    refused = {
        "get other key": lambda: c.get_object(Bucket=A, Key="other.txt"),
        "get sibling prefix": lambda: c.get_object(Bucket=A, Key="logsX/y.txt"),
        "get other bucket": lambda: c.get_object(Bucket=B, Key="logs/a.txt"),
        "put outside": lambda: c.put_object(Bucket=A, Key="evil.txt", Body=b"x"),
        "put other bucket": lambda: c.put_object(Bucket=B, Key="logs/evil.txt", Body=b"x"),
        "delete outside": lambda: c.delete_object(Bucket=A, Key="other.txt"),
        "list without prefix": lambda: c.list_objects_v2(Bucket=A),
        "list v1 without prefix": lambda: c.list_objects(Bucket=A),
        "list shorter prefix": lambda: c.list_objects_v2(Bucket=A, Prefix="logs"),
        "list other prefix": lambda: c.list_objects_v2(Bucket=A, Prefix="other"),
        "list other bucket": lambda: c.list_objects_v2(Bucket=B, Prefix="logs/"),
        "copy from outside": lambda: c.copy_object(
            Bucket=A, Key="logs/stolen.txt", CopySource={"Bucket": A, "Key": "other.txt"}
        ),
        "copy from other bucket": lambda: c.copy_object(
            Bucket=A, Key="logs/stolen.txt", CopySource={"Bucket": B, "Key": "logs/a.txt"}
        ),
        "copy to outside": lambda: c.copy_object(
            Bucket=A, Key="stolen.txt", CopySource={"Bucket": A, "Key": "logs/a.txt"}
        ),
        "multipart outside": lambda: c.create_multipart_upload(Bucket=A, Key="big.bin"),
        "list uploads without prefix": lambda: c.list_multipart_uploads(Bucket=A),
        "list buckets": lambda: c.list_buckets(),
        "create bucket": lambda: c.create_bucket(Bucket="new-bucket"),
        "bucket location": lambda: c.get_bucket_location(Bucket=A),
    }
    for what, call in refused.items():
        assert code(call) == "AccessDenied", what
    root = server.s3()
    assert root.get_object(Bucket=A, Key="other.txt")["Body"].read() == b"other.txt"
    assert code(lambda: root.head_object(Bucket=A, Key="logs/stolen.txt")) == "404"
    assert code(lambda: root.head_object(Bucket=A, Key="stolen.txt")) == "404"


def test_multipart_of_someone_else_outside_the_scope(server: LakeboxServer, creds: dict[str, Any]) -> None:
    root = server.s3()
    upload = root.create_multipart_upload(Bucket=A, Key="secret.bin")["UploadId"]
    c = client(server, creds)
    assert code(
        lambda: c.upload_part(Bucket=A, Key="secret.bin", UploadId=upload, PartNumber=1, Body=b"x")
    ) == ("AccessDenied")
    assert code(lambda: c.list_parts(Bucket=A, Key="secret.bin", UploadId=upload)) == "AccessDenied"
    assert (
        code(lambda: c.abort_multipart_upload(Bucket=A, Key="secret.bin", UploadId=upload)) == "AccessDenied"
    )
    root.abort_multipart_upload(Bucket=A, Key="secret.bin", UploadId=upload)


def test_delete_objects_mixing_inside_and_outside(server: LakeboxServer, creds: dict[str, Any]) -> None:
    """As S3 evaluates a multi-object delete: each key on its own; the outside key gets AccessDenied and stays."""
    root = server.s3()
    root.put_object(Bucket=A, Key="logs/del.txt", Body=b"x")
    result = client(server, creds).delete_objects(
        Bucket=A, Delete={"Objects": [{"Key": "logs/del.txt"}, {"Key": "other.txt"}]}
    )
    assert [d["Key"] for d in result["Deleted"]] == ["logs/del.txt"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("other.txt", "AccessDenied")]
    assert code(lambda: root.head_object(Bucket=A, Key="logs/del.txt")) == "404"
    root.head_object(Bucket=A, Key="other.txt")


def test_read_only_credentials(server: LakeboxServer) -> None:
    c = client(server, temp_credentials(server, A, "object-read-only", prefixes=["logs/"]))
    assert c.get_object(Bucket=A, Key="logs/a.txt")["Body"].read() == b"logs/a.txt"
    assert code(lambda: c.put_object(Bucket=A, Key="logs/w.txt", Body=b"x")) == "AccessDenied"
    assert code(lambda: c.delete_object(Bucket=A, Key="logs/a.txt")) == "AccessDenied"
    assert (
        code(lambda: c.delete_objects(Bucket=A, Delete={"Objects": [{"Key": "logs/a.txt"}]}))
        == "AccessDenied"
    )


def test_object_keys_scope(server: LakeboxServer) -> None:
    c = client(server, temp_credentials(server, A, "object-read-only", objects=["other.txt"]))
    assert c.get_object(Bucket=A, Key="other.txt")["Body"].read() == b"other.txt"
    assert code(lambda: c.get_object(Bucket=A, Key="logs/a.txt")) == "AccessDenied"
    assert code(lambda: c.list_objects_v2(Bucket=A, Prefix="other.txt")) == "AccessDenied"


def test_presigned_urls_carry_the_session_token(server: LakeboxServer, creds: dict[str, Any]) -> None:
    c = client(server, creds)
    url = c.generate_presigned_url("get_object", Params={"Bucket": A, "Key": "logs/a.txt"}, ExpiresIn=60)
    assert "X-Amz-Security-Token=" in url
    assert httpx.get(url).content == b"logs/a.txt"
    outside = c.generate_presigned_url("get_object", Params={"Bucket": A, "Key": "other.txt"}, ExpiresIn=60)
    assert httpx.get(outside).status_code == 403
    tampered = url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x")
    response = httpx.get(tampered)
    assert response.status_code == 400
    assert "<Code>InvalidToken</Code>" in response.text
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "X-Amz-Security-Token"]
    stripped = httpx.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert stripped.status_code == 403
    assert "<Code>InvalidAccessKeyId</Code>" in stripped.text


def _signed(creds: dict[str, Any], url: str, token: str | None, *, sign_token: bool = True) -> httpx.Response:
    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(creds["access_key_id"], creds["secret_access_key"], token if sign_token else None), "s3", "auto").add_auth(request)  # fmt: skip
    headers = dict(request.headers.items())
    if token is not None and not sign_token:
        headers["X-Amz-Security-Token"] = token
    return httpx.get(url, headers=headers)


def test_session_token_must_match_and_be_signed(server: LakeboxServer, creds: dict[str, Any]) -> None:
    url = f"{server.s3_endpoint}/{A}/logs/a.txt"
    assert _signed(creds, url, creds["session_token"]).status_code == 200
    wrong = _signed(creds, url, creds["session_token"][:-2] + "xx")
    assert (wrong.status_code, "<Code>InvalidToken</Code>" in wrong.text) == (400, True)
    missing = _signed(creds, url, None)
    assert (missing.status_code, "<Code>InvalidAccessKeyId</Code>" in missing.text) == (403, True)
    unsigned = _signed(creds, url, creds["session_token"], sign_token=False)
    assert (unsigned.status_code, "<Code>AccessDenied</Code>" in unsigned.text) == (403, True)
    other = temp_credentials(server, A, "object-read-only", prefixes=["logs/"])
    crossed = _signed(creds, url, other["session_token"])  # another credential's (valid) session token
    assert (crossed.status_code, "<Code>InvalidToken</Code>" in crossed.text) == (400, True)


def test_expire_on_time(server: LakeboxServer) -> None:
    creds = temp_credentials(server, A, "object-read-only", prefixes=["logs/"], ttl_seconds=1)
    c = client(server, creds)
    c.get_object(Bucket=A, Key="logs/a.txt")
    time.sleep(1.2)
    assert code(lambda: c.get_object(Bucket=A, Key="logs/a.txt")) == "ExpiredToken"


def test_die_with_the_parent(server: LakeboxServer) -> None:
    parent = create_token(server, "object-rw", buckets=[A])
    creds = temp_credentials(
        server, A, "object-read-write", prefixes=["logs/"], parent_access_key_id=parent["id"]
    )
    c = client(server, creds)
    c.get_object(Bucket=A, Key="logs/a.txt")
    revoke(server, parent["id"])
    assert code(lambda: c.get_object(Bucket=A, Key="logs/a.txt")) == "InvalidAccessKeyId"
    body = temp_body(A, "object-read-only", parent_access_key_id=parent["id"])
    response = cf(server, "POST", "{account}/r2/temp-access-credentials", body)
    assert response.status_code == 404


def test_never_outlive_an_expiring_parent(server: LakeboxServer) -> None:
    parent = create_token(server, "object-rw", buckets=[A], ttl_seconds=1)
    creds = temp_credentials(
        server, A, "object-read-only", ttl_seconds=3600, parent_access_key_id=parent["id"]
    )
    time.sleep(1.2)
    assert code(lambda: client(server, creds).get_object(Bucket=A, Key="logs/a.txt")) == "ExpiredToken"


@pytest.mark.parametrize(
    ("parent_kind", "body", "status"),
    [
        ("object-ro", {"bucket": A, "permission": "object-read-write"}, 403),
        ("object-rw", {"bucket": B, "permission": "object-read-only"}, 403),
        ("admin-ro", {"bucket": A, "permission": "object-read-write"}, 403),
        ("admin-ro", {"bucket": A, "permission": "object-read-only"}, 200),
        ("admin-rw", {"bucket": A, "permission": "admin-rw"}, 400),
        ("admin-rw", {"bucket": A, "permission": "object-read-only", "ttl_seconds": 0}, 400),
        ("admin-rw", {"bucket": A, "permission": "object-read-only", "ttl_seconds": 8 * 86400}, 400),
    ],
)
def test_never_exceed_the_parent(
    server: LakeboxServer, parent_kind: str, body: dict[str, Any], status: int
) -> None:
    parent = create_token(server, parent_kind, buckets=[A] if parent_kind.startswith("object") else [])
    body = temp_body(**body, parent_access_key_id=parent["id"])
    response = cf(server, "POST", "{account}/r2/temp-access-credentials", body)
    assert response.status_code == status, response.text
