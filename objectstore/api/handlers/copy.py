"""CopyObject and UploadPartCopy (``x-amz-copy-source``)."""

from __future__ import annotations

import re

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.access import copy_source
from objectstore.api.context import S3Context
from objectstore.api.handlers.multipart import _part_number
from objectstore.api.headers import conditions, customer_key, sse_headers, storage_class, write_options
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response
from objectstore.api.router import route
from objectstore.api.xml import quote_etag
from objectstore.service.conditions import Conditions, check_copy_source
from objectstore.service.copy import CopyRequest
from objectstore.service.errors import InvalidArgument, InvalidRange
from objectstore.service.model import CONTENT_HEADERS, ReadPlan
from objectstore.service.placement import INFREQUENT_ACCESS

_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


def _source(req: S3Request) -> tuple[str, str]:
    parsed = copy_source(req)
    assert parsed is not None  # the route is chosen by the header
    return parsed[0], parsed[1]


@route("CopyObject", "PUT", "object", Action.WRITE_OBJECT, header="x-amz-copy-source")
async def copy_object(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    source_bucket, source_key = _source(req)
    directive = req.headers.get("x-amz-metadata-directive", "COPY").strip().upper()
    sse = customer_key(req)
    given_headers = frozenset(h for h in CONTENT_HEADERS.values() if h in req.headers)
    result = await ctx.copies.copy(
        CopyRequest(
            source_bucket=source_bucket,
            source_key=source_key,
            bucket=req.bucket,
            key=req.key,
            directive=directive,
            given=write_options(req, req.key, algorithm=None),
            given_headers=given_headers,
            storage_class=storage_class(req),
            source_conditions=conditions(req, "x-amz-copy-source-"),
            destination_conditions=conditions(req, "cf-copy-destination-"),
            source_sse=customer_key(req, source=True),
            sse=sse,
        )
    )
    inner = xml.elements(LastModified=xml.iso8601(result.last_modified), ETag=quote_etag(result.etag))
    if result.checksum_algorithm and result.checksum_value:
        inner += xml.elements(
            **{
                "Checksum" + result.checksum_algorithm: result.checksum_value,
                "ChecksumType": result.checksum_type,
            }
        )
    resp = S3Response(200, [("content-type", "application/xml")], xml.document("CopyObjectResult", inner))
    if result.source_storage_class == INFREQUENT_ACCESS:
        resp.retrieved = (result.source_storage_class, result.source_size)
    return sse_headers(resp, sse.key_md5 if sse else None, at_rest=ctx.objects.atrest.enabled)


def copy_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``x-amz-copy-source-range``: exactly ``bytes=first-last``; a malformed one is InvalidArgument and one
    beyond the object InvalidRange (as S3)."""
    if header is None:
        return None
    match = _COPY_RANGE.match(header.strip())
    if match is None:
        raise InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are "
            "the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first > last:
        raise InvalidArgument(
            "The x-amz-copy-source-range value is invalid", ArgumentName="x-amz-copy-source-range"
        )
    if last >= size:
        raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
    return first, last


@route("UploadPartCopy", "PUT", "object", Action.WRITE_OBJECT, query="uploadId", header="x-amz-copy-source")
async def upload_part_copy(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    source_bucket, source_key = _source(req)
    number = _part_number(req)
    ctx.multipart.check_part_number(number)
    source_conditions = conditions(req, "x-amz-copy-source-")
    await anyio.to_thread.run_sync(ctx.multipart.get, req.bucket, req.key, req.query["uploadId"])
    source_sse, sse = customer_key(req, source=True), customer_key(req)

    def plan() -> ReadPlan:
        whole = ctx.objects.plan_read(
            source_bucket, source_key, Conditions(), with_body=False, sse=source_sse
        )
        check_copy_source(source_conditions, whole.meta.etag, whole.meta.last_modified)
        bounds = copy_range(req.headers.get("x-amz-copy-source-range"), whole.meta.size)
        if bounds is None:
            return whole
        return ReadPlan(whole.meta, bounds[0], bounds[1], True, whole.segments, key=whole.key)

    for _attempt in range(5):
        source_plan = await anyio.to_thread.run_sync(plan)
        try:
            part = await ctx.multipart.upload_part_copy(
                req.bucket, req.key, req.query["uploadId"], number, source_plan, sse
            )
            break
        except FileNotFoundError:
            continue  # the source was replaced while being read: copy the new version
    else:
        raise InvalidArgument("The copy source changed too often", ArgumentName="x-amz-copy-source")
    inner = xml.elements(LastModified=xml.iso8601(part.last_modified), ETag=quote_etag(part.etag))
    if part.checksum_algorithm and part.checksum_value:
        inner += xml.elements(**{"Checksum" + part.checksum_algorithm: part.checksum_value})
    resp = S3Response(200, [("content-type", "application/xml")], xml.document("CopyPartResult", inner))
    if source_plan.meta.storage_class == INFREQUENT_ACCESS:
        resp.retrieved = (source_plan.meta.storage_class, source_plan.length)
    return sse_headers(resp, sse.key_md5 if sse else None, at_rest=ctx.objects.atrest.enabled)
