"""Bucket configuration: CORS and lifecycle (R2 implements both), and the dummy answers R2
gives, as a new AWS bucket would, for GetBucketAcl, GetBucketVersioning, GetBucketReplication, GetBucketTagging and
GetObjectLockConfiguration."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.context import S3Context
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response, empty
from objectstore.api.router import route
from objectstore.service.bucket_config import BucketConfigService, Node
from objectstore.service.errors import (
    MalformedXML,
    NoSuchTagSet,
    ObjectLockConfigurationNotFoundError,
    ReplicationConfigurationNotFoundError,
)

OWNER = "<ID>lakebox</ID><DisplayName>lakebox</DisplayName>"


def to_nodes(element: Element) -> list[Node]:
    out: list[Node] = []
    for child in element:
        name = xml.local(child.tag)
        if len(child):
            out.append([name, to_nodes(child)])
        else:
            out.append([name, (child.text or "").strip()])
    return out


def render(nodes: list[Node]) -> str:
    return "".join(
        f"<{tag}>{render(value) if isinstance(value, list) else xml.escape(value)}</{tag}>"
        for tag, value in nodes
    )


def _config(ctx: S3Context) -> BucketConfigService:
    return BucketConfigService(ctx.objects.repo)


async def _body(req: S3Request, root: str) -> list[Node]:
    element = xml.parse(await req.read_body(xml.MAX_XML_BODY))
    if xml.local(element.tag) != root:
        raise MalformedXML()
    return to_nodes(element)


def _xml(root: str, inner: str) -> S3Response:
    return S3Response(200, [("content-type", "application/xml")], xml.document(root, inner))


# -- CORS ------------------------------------------------------------------------------------------------------


@route("PutBucketCors", "PUT", "bucket", Action.WRITE_BUCKET_CONFIG, query="cors", keys="none")
async def put_bucket_cors(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    rules = await _body(req, "CORSConfiguration")
    await anyio.to_thread.run_sync(_config(ctx).put_cors, req.bucket, rules)
    return empty()


@route("GetBucketCors", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="cors", keys="none")
async def get_bucket_cors(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    rules = await anyio.to_thread.run_sync(_config(ctx).get_cors, req.bucket)
    return _xml("CORSConfiguration", render(rules))


@route("DeleteBucketCors", "DELETE", "bucket", Action.WRITE_BUCKET_CONFIG, query="cors", keys="none")
async def delete_bucket_cors(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).delete_cors, req.bucket)
    return empty(204)


# -- lifecycle -------------------------------------------------------------------------------------------------


@route(
    "PutBucketLifecycleConfiguration",
    "PUT",
    "bucket",
    Action.WRITE_BUCKET_CONFIG,
    query="lifecycle",
    keys="none",
)
async def put_bucket_lifecycle(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    rules = await _body(req, "LifecycleConfiguration")
    await anyio.to_thread.run_sync(_config(ctx).put_lifecycle, req.bucket, rules)
    return empty()


@route(
    "GetBucketLifecycleConfiguration",
    "GET",
    "bucket",
    Action.READ_BUCKET_CONFIG,
    query="lifecycle",
    keys="none",
)
async def get_bucket_lifecycle(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    rules = await anyio.to_thread.run_sync(_config(ctx).get_lifecycle, req.bucket)
    return _xml("LifecycleConfiguration", render(rules))


@route(
    "DeleteBucketLifecycle", "DELETE", "bucket", Action.WRITE_BUCKET_CONFIG, query="lifecycle", keys="none"
)
async def delete_bucket_lifecycle(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).delete_lifecycle, req.bucket)
    return empty(204)


# -- fixed answers ---------------------------------------------------------------------------------------------


@route("GetBucketAcl", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="acl", keys="none")
async def get_bucket_acl(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).check_bucket, req.bucket)
    grant = (
        '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
        f"{OWNER}</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
    )
    return _xml(
        "AccessControlPolicy", f"<Owner>{OWNER}</Owner><AccessControlList>{grant}</AccessControlList>"
    )


@route("GetBucketVersioning", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="versioning", keys="none")
async def get_bucket_versioning(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).check_bucket, req.bucket)
    return _xml("VersioningConfiguration", "")


@route("GetBucketReplication", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="replication", keys="none")
async def get_bucket_replication(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).check_bucket, req.bucket)
    raise ReplicationConfigurationNotFoundError(BucketName=req.bucket)


@route("GetBucketTagging", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="tagging", keys="none")
async def get_bucket_tagging(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).check_bucket, req.bucket)
    raise NoSuchTagSet(BucketName=req.bucket)


@route(
    "GetObjectLockConfiguration", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="object-lock", keys="none"
)
async def get_object_lock_configuration(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(_config(ctx).check_bucket, req.bucket)
    raise ObjectLockConfigurationNotFoundError(BucketName=req.bucket)
