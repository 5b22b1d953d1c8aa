"""PutObject, GetObject, HeadObject, DeleteObject."""

from __future__ import annotations

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api.context import S3Context
from objectstore.api.headers import (
    checksum_request,
    conditions,
    customer_key,
    int_query,
    object_headers,
    response_overrides,
    sse_headers,
    write_options,
)
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response, empty
from objectstore.api.router import route
from objectstore.api.xml import quote_etag
from objectstore.service.checksums import header_name
from objectstore.service.model import PutIntegrity
from objectstore.service.placement import INFREQUENT_ACCESS


@route("PutObject", "PUT", "object", Action.WRITE_OBJECT)
async def put_object(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    algorithm, checksum_value, in_trailer = checksum_request(req)
    sse = customer_key(req)
    length = req.payload_length()
    trailers = req.trailers
    result = await ctx.objects.put_object(
        req.bucket,
        req.key,
        req.body(),
        write_options(req, req.key, algorithm=algorithm, sse=sse),
        PutIntegrity(length, req.headers.get("content-md5"), checksum_value),
        conditions(req),
        trailer_checksum=(lambda: trailers.get(header_name(algorithm or ""))) if in_trailer else None,
        create_bucket_if_missing=req.headers.get("cf-create-bucket-if-missing", "").lower() == "true",
        sse=sse,
    )
    resp = sse_headers(
        empty().header("etag", quote_etag(result.etag)),
        sse.key_md5 if sse else None,
        at_rest=ctx.objects.atrest.enabled,
    )
    if result.checksum_algorithm and result.checksum_value:
        resp.header(header_name(result.checksum_algorithm), result.checksum_value)
        resp.header("x-amz-checksum-type", result.checksum_type)
    return resp


async def _read(ctx: S3Context, req: S3Request, *, with_body: bool) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    part = int_query(req, "partNumber", 0, 1, 10000) if "partNumber" in req.query else None
    overrides = response_overrides(req)
    plan = await ctx.read(
        ctx.objects.plan_read,
        req.bucket,
        req.key,
        conditions(req),
        req.headers.get("range"),
        part,
        with_body=with_body,
        sse=customer_key(req),
    )
    meta = plan.meta
    resp = S3Response(206 if plan.partial else 200)
    object_headers(resp, meta, req, overrides, whole=not plan.partial)
    if plan.partial and meta.size > 0:
        resp.header("content-range", f"bytes {plan.start}-{plan.end}/{meta.size}")
    resp.content_length = plan.length
    if with_body:
        resp.body = plan.body if plan.body is not None else ctx.objects.stream(plan)
        if meta.storage_class == INFREQUENT_ACCESS:
            resp.retrieved = (meta.storage_class, None)
    return resp


@route("GetObject", "GET", "object", Action.READ_OBJECT)
async def get_object(ctx: S3Context, req: S3Request) -> S3Response:
    return await _read(ctx, req, with_body=True)


@route("HeadObject", "HEAD", "object", Action.READ_OBJECT)
async def head_object(ctx: S3Context, req: S3Request) -> S3Response:
    return await _read(ctx, req, with_body=False)


@route("DeleteObject", "DELETE", "object", Action.WRITE_OBJECT)
async def delete_object(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    cond = conditions(req)
    await anyio.to_thread.run_sync(ctx.objects.delete, req.bucket, req.key, cond)
    return empty(204)
