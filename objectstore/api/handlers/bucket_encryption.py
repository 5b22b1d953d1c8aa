"""Bucket default encryption: GetBucketEncryption, PutBucketEncryption and DeleteBucketEncryption, which R2
supports with AES256 only (see ``objectstore.service.bucket_encryption``)."""

from __future__ import annotations

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.context import S3Context
from objectstore.api.handlers.bucket_config import to_nodes
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response, empty
from objectstore.api.router import route
from objectstore.service.bucket_config import BucketConfigService
from objectstore.service.bucket_encryption import check_encryption_rules
from objectstore.service.errors import MalformedXML

_RULE = (
    "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
    "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule>"
)


async def _check_bucket(ctx: S3Context, bucket: str) -> None:
    await anyio.to_thread.run_sync(BucketConfigService(ctx.objects.repo).check_bucket, bucket)


@route("GetBucketEncryption", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="encryption", keys="none")
async def get_bucket_encryption(ctx: S3Context, req: S3Request) -> S3Response:
    """R2 encrypts everything at rest with AES-256; this is the only configuration there is."""
    assert req.bucket is not None
    await _check_bucket(ctx, req.bucket)
    body = xml.document("ServerSideEncryptionConfiguration", _RULE)
    return S3Response(200, [("content-type", "application/xml")], body)


@route("PutBucketEncryption", "PUT", "bucket", Action.WRITE_BUCKET_CONFIG, query="encryption", keys="none")
async def put_bucket_encryption(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await _check_bucket(ctx, req.bucket)  # NoSuchBucket before the body's errors
    element = xml.parse(await req.read_body(xml.MAX_XML_BODY))
    if xml.local(element.tag) != "ServerSideEncryptionConfiguration":
        raise MalformedXML()
    check_encryption_rules(to_nodes(element))
    return empty()


@route(
    "DeleteBucketEncryption", "DELETE", "bucket", Action.WRITE_BUCKET_CONFIG, query="encryption", keys="none"
)
async def delete_bucket_encryption(ctx: S3Context, req: S3Request) -> S3Response:
    """Leaves the default, AES256, as S3 does."""
    assert req.bucket is not None
    await _check_bucket(ctx, req.bucket)
    return empty(204)
