"""PutBucketEncryption, GetBucketEncryption and DeleteBucketEncryption (R2: AES256 only): valid configurations are
accepted and change nothing (every object is encrypted at rest with AES256 anyway); every invalid one gets the
exact error S3 gives, and the configuration a GET answers stays the same."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer

AES256_RULE = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema."


def rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return list(s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"])


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def put_raw(server: LakeboxServer, bucket: str, body: bytes) -> httpx.Response:
    url = f"{server.s3_endpoint}/{bucket}?encryption"
    request = AWSRequest(method="PUT", url=url, data=body)
    S3SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "s3", "auto").add_auth(request)
    return httpx.put(url, content=body, headers=dict(request.headers.items()))


def test_aes256_is_accepted_and_delete_leaves_it(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    assert rules(s3, bucket) == [AES256_RULE]
    for rule in (
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False},
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True},
    ):
        put = s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
        assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert rules(s3, bucket) == [AES256_RULE]
    deleted = s3.delete_bucket_encryption(Bucket=bucket)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert rules(s3, bucket) == [AES256_RULE]  # S3 too answers SSE-S3 once the configuration is deleted
    assert s3.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
def test_kms_is_refused(server: LakeboxServer, bucket: str, algorithm: str) -> None:
    s3 = server.s3()
    for defaults in (
        {"SSEAlgorithm": algorithm},
        {"SSEAlgorithm": algorithm, "KMSMasterKeyID": "alias/mine"},
    ):
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": defaults}]
                },
            )
        assert error(caught) == (
            400,
            "InvalidArgument",
            f"Server Side Encryption with {algorithm} is not supported: every object is encrypted at rest with AES256",
        )
        assert caught.value.response["Error"]["ArgumentName"] == "SSEAlgorithm"
        assert caught.value.response["Error"]["ArgumentValue"] == algorithm
    assert rules(s3, bucket) == [AES256_RULE]


def test_kms_key_id_with_aes256_is_refused(server: LakeboxServer, bucket: str) -> None:
    s3 = server.s3()
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}
                ]
            },
        )
    assert error(caught) == (
        400,
        "InvalidArgument",
        "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
    )
    assert caught.value.response["Error"]["ArgumentName"] == "ApplyServerSideEncryptionByDefault"
    assert rules(s3, bucket) == [AES256_RULE]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<CORSConfiguration/>",
        b"<ServerSideEncryptionConfiguration/>",
        b"<ServerSideEncryptionConfiguration><Rule/></ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><BucketKeyEnabled>true</BucketKeyEnabled></Rule>"
        b"</ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault/></Rule>"
        b"</ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES128"
        b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aes256"
        b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        b"</SSEAlgorithm><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
        b"</ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        b"</SSEAlgorithm><Other>x</Other></ApplyServerSideEncryptionByDefault></Rule>"
        b"</ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>yes</BucketKeyEnabled></Rule>"
        b"</ServerSideEncryptionConfiguration>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
        b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule><Rule><ApplyServerSideEncryptionByDefault>"
        b"<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
        b"</ServerSideEncryptionConfiguration>",
    ],
)
def test_malformed_configurations(server: LakeboxServer, bucket: str, body: bytes) -> None:
    response = put_raw(server, bucket, body)
    assert response.status_code == 400
    assert "<Code>MalformedXML</Code>" in response.text
    assert f"<Message>{MALFORMED}</Message>" in response.text
    assert rules(server.s3(), bucket) == [AES256_RULE]


def test_missing_bucket(server: LakeboxServer) -> None:
    s3 = server.s3()
    configuration = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    for call in (
        lambda: s3.put_bucket_encryption(
            Bucket="no-such-bucket", ServerSideEncryptionConfiguration=configuration
        ),
        lambda: s3.delete_bucket_encryption(Bucket="no-such-bucket"),
        lambda: s3.get_bucket_encryption(Bucket="no-such-bucket"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == (404, "NoSuchBucket", "The specified bucket does not exist.")
