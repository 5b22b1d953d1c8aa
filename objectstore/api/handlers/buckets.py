"""Bucket operations: ListBuckets (with R2's pagination extension), CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation."""

from __future__ import annotations

import base64

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.context import S3Context
from objectstore.api.headers import invalid_argument
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response, empty
from objectstore.api.router import route
from objectstore.service.errors import InvalidArgument, MalformedXML
from objectstore.service.placement import bucket_name, check_bucket_default

MAX_CREATE_BODY = 64 * 1024
MAX_BUCKETS_PAGE = 1000  # R2: "Default and max is 1000"
MAX_BUCKETS_ARGUMENT = 10000  # what AWS accepts as max-buckets
LOCATION_HINTS = {"auto", "wnam", "enam", "weur", "eeur", "apac", "oc", "us-east-1", ""}


def _list_param(req: S3Request, name: str) -> str | None:
    """R2 takes ListBuckets parameters as query parameters or as ``cf-<name>`` headers (a header wins)."""
    return req.headers.get("cf-" + name, req.query.get(name))


def _page_size(req: S3Request) -> int:
    """AWS's ``max-buckets`` (1 to 10,000) or R2's ``max-keys``; a page holds at most 1,000 buckets either way
    (a client asking for more pages on through the continuation token)."""
    raw = req.query.get("max-buckets")
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_BUCKETS_ARGUMENT:
            raise InvalidArgument(
                f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS_ARGUMENT}",
                ArgumentName="max-buckets",
                ArgumentValue=raw,
            )
        return min(int(raw), MAX_BUCKETS_PAGE)
    raw = _list_param(req, "max-keys")
    if raw is None or raw == "":
        return MAX_BUCKETS_PAGE
    if not raw.isdigit() or int(raw) < 1:
        raise invalid_argument("max-keys", raw)
    return min(int(raw), MAX_BUCKETS_PAGE)


def _decode_token(token: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        raise invalid_argument("continuation-token", token) from None
    if not decoded or "\0" in decoded:  # no bucket name is empty or holds a NUL (PostgreSQL text cannot)
        raise invalid_argument("continuation-token", token)
    return decoded


@route("ListBuckets", "GET", "service", Action.LIST_BUCKETS)
async def list_buckets(ctx: S3Context, req: S3Request) -> S3Response:
    """AWS's pagination (``max-buckets``, ``continuation-token``, ``prefix``; the next page's token in
    ``ContinuationToken``) and R2's (``max-keys``, ``start-after``, the same as ``cf-*`` headers; the token also in
    ``NextContinuationToken`` and the ``cf-next-continuation-token`` header)."""
    prefix = _list_param(req, "prefix") or ""
    start_after = _list_param(req, "start-after") or ""
    token = _list_param(req, "continuation-token")
    after = max(start_after, _decode_token(token)) if token else start_after
    max_keys = _page_size(req)
    page, truncated = await anyio.to_thread.run_sync(
        lambda: ctx.buckets.list(prefix, after, max_keys, jurisdiction=req.jurisdiction)
    )
    entries = "".join(
        f"<Bucket><Name>{xml.escape(b.name)}</Name><CreationDate>{xml.iso8601(b.created_at)}</CreationDate>"
        f"<BucketRegion>{xml.escape(ctx.region)}</BucketRegion></Bucket>"
        for b in page
    )
    owner = "<Owner><ID>lakebox</ID><DisplayName>lakebox</DisplayName></Owner>"
    next_token = base64.urlsafe_b64encode(page[-1].name.encode()).decode() if truncated and page else None
    inner = f"<Buckets>{entries}</Buckets>{owner}" + xml.elements(
        ContinuationToken=next_token,
        Prefix=prefix if "prefix" in req.query or "cf-prefix" in req.headers else None,
        IsTruncated=truncated,
        NextContinuationToken=next_token,
        KeyCount=len(page),
        MaxKeys=max_keys,
        StartAfter=start_after or None,
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
            if constraint.lower() not in LOCATION_HINTS:
                raise InvalidArgument("Invalid location constraint", ArgumentName="LocationConstraint")
            location = constraint.lower() or "auto"
    storage = check_bucket_default(req.headers.get("cf-default-storage-class", "Standard"))
    await anyio.to_thread.run_sync(
        ctx.buckets.create, bucket_name(req.bucket), location, storage, req.jurisdiction
    )
    return empty().header("location", f"/{bucket_name(req.bucket)}")


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
