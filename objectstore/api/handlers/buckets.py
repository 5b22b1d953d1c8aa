"""Bucket operations: ListBuckets (with R2's pagination extension), CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation."""

from __future__ import annotations

import base64

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.context import S3Context
from objectstore.api.headers import int_query, invalid_argument
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response, empty
from objectstore.api.router import route
from objectstore.service.errors import InvalidArgument, MalformedXML

MAX_CREATE_BODY = 64 * 1024
LOCATION_HINTS = {"auto", "wnam", "enam", "weur", "eeur", "apac", "oc", "us-east-1", ""}


def _list_param(req: S3Request, name: str) -> str | None:
    """R2 takes ListBuckets parameters as query parameters or as ``cf-<name>`` headers."""
    return req.query.get(name, req.headers.get("cf-" + name))


@route("ListBuckets", "GET", "service", Action.LIST_BUCKETS)
async def list_buckets(ctx: S3Context, req: S3Request) -> S3Response:
    prefix = _list_param(req, "prefix") or ""
    start_after = _list_param(req, "start-after") or ""
    token = _list_param(req, "continuation-token")
    if token:
        try:
            decoded = base64.urlsafe_b64decode(token.encode()).decode()
            if "\0" in decoded:  # no bucket name holds one (and PostgreSQL text cannot)
                raise ValueError(decoded)
            start_after = max(start_after, decoded)
        except ValueError:
            raise invalid_argument("continuation-token", token) from None
    raw_max = _list_param(req, "max-keys")
    req.query.setdefault("max-keys", raw_max or "")
    max_keys = int_query(req, "max-keys", 1000, 1, 1000)
    page, truncated = await anyio.to_thread.run_sync(ctx.buckets.list, prefix, start_after, max_keys)
    entries = "".join(
        f"<Bucket><Name>{xml.escape(b.name)}</Name><CreationDate>{xml.iso8601(b.created_at)}</CreationDate></Bucket>"
        for b in page
    )
    owner = "<Owner><ID>lakebox</ID><DisplayName>lakebox</DisplayName></Owner>"
    next_token = base64.urlsafe_b64encode(page[-1].name.encode()).decode() if truncated and page else None
    inner = f"{owner}<Buckets>{entries}</Buckets>" + xml.elements(
        Prefix=prefix or None, ContinuationToken=next_token
    )
    resp = S3Response(
        200, [("content-type", "application/xml")], xml.document("ListAllMyBucketsResult", inner)
    )
    resp.header("cf-is-truncated", "true" if truncated else "false")
    resp.header("cf-next-continuation-token", next_token)
    return resp


@route("CreateBucket", "PUT", "bucket", Action.CREATE_BUCKET)
async def create_bucket(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    body = await req.read_body(MAX_CREATE_BODY)
    location = "auto"
    if body.strip():
        root = xml.parse(body)
        if xml.local(root.tag) != "CreateBucketConfiguration":
            raise MalformedXML()
        constraint = xml.child_text(root, "LocationConstraint")
        if constraint is not None:
            if constraint not in LOCATION_HINTS:
                raise InvalidArgument("Invalid location constraint", ArgumentName="LocationConstraint")
            location = constraint or "auto"
    storage = req.headers.get("cf-default-storage-class", "Standard")
    await anyio.to_thread.run_sync(ctx.buckets.create, req.bucket, location, storage)
    return empty().header("location", f"/{req.bucket}")


@route("HeadBucket", "HEAD", "bucket", Action.LIST_OBJECTS, keys="none")
async def head_bucket(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(ctx.buckets.get, req.bucket)
    return empty().header("x-amz-bucket-region", ctx.region)


@route("DeleteBucket", "DELETE", "bucket", Action.DELETE_BUCKET)
async def delete_bucket(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(ctx.buckets.delete, req.bucket)
    return empty(204)


@route("GetBucketLocation", "GET", "bucket", Action.READ_BUCKET_CONFIG, query="location", keys="none")
async def get_bucket_location(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    await anyio.to_thread.run_sync(ctx.buckets.get, req.bucket)
    body = f'{xml.HEADER}<LocationConstraint xmlns="{xml.NS}">{ctx.region}</LocationConstraint>'.encode()
    return S3Response(200, [("content-type", "application/xml")], body)
