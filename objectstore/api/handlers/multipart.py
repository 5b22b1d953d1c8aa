"""Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
ListMultipartUploads. (UploadPartCopy is with the copies.)"""

from __future__ import annotations

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.context import S3Context
from objectstore.api.headers import (
    checksum_request,
    conditions,
    customer_key,
    int_query,
    sse_headers,
    write_options,
)
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response, empty
from objectstore.api.router import route
from objectstore.api.xml import quote_etag
from objectstore.service.checksums import ALGORITHMS, header_name, parse_algorithm, requested_checksums
from objectstore.service.errors import InvalidArgument, MalformedXML
from objectstore.service.model import PutIntegrity
from objectstore.service.multipart import RequestedPart, UploadInfo
from objectstore.service.placement import bucket_name

OWNER = "<ID>lakebox</ID><DisplayName>lakebox</DisplayName>"


def _encoder(req: S3Request) -> tuple[str | None, object]:
    encoding = req.query.get("encoding-type")
    if not encoding:
        return None, xml.escape
    if encoding.lower() != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request", ArgumentName="encoding-type")
    return "url", lambda s: xml.escape(xml.url_encode(s))


def _checksum_algorithm_element(upload: UploadInfo) -> str:
    if upload.options.checksum_algorithm is None:
        return ""
    return xml.elements(
        ChecksumAlgorithm=upload.options.checksum_algorithm, ChecksumType=upload.checksum_type
    )


@route("CreateMultipartUpload", "POST", "object", Action.WRITE_OBJECT, query="uploads")
async def create_multipart_upload(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    declared = req.headers.get("x-amz-checksum-algorithm")
    algorithm = parse_algorithm(declared, "x-amz-checksum-algorithm") if declared else None
    sse = customer_key(req)
    options = write_options(req, req.key, algorithm=algorithm, sse=sse)
    upload = await anyio.to_thread.run_sync(
        lambda: ctx.multipart.create(
            req.bucket or "",
            req.key or "",
            options,
            req.headers.get("x-amz-checksum-type"),
            conditions(req),
            create_bucket_if_missing=req.headers.get("cf-create-bucket-if-missing", "").lower() == "true",
        )
    )
    body = xml.document(
        "InitiateMultipartUploadResult",
        xml.elements(Bucket=bucket_name(upload.bucket), Key=upload.key, UploadId=upload.upload_id),
    )
    resp = sse_headers(
        S3Response(200, [("content-type", "application/xml")], body),
        options.sse_key_md5,
        at_rest=ctx.objects.atrest.enabled,
    )
    if upload.options.checksum_algorithm:
        resp.header("x-amz-checksum-algorithm", upload.options.checksum_algorithm)
        resp.header("x-amz-checksum-type", upload.checksum_type)
    return resp


def _part_number(req: S3Request) -> int:
    raw = req.query.get("partNumber", "")
    try:
        number = int(raw)
    except ValueError:
        raise InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw,
        ) from None
    return number


@route("UploadPart", "PUT", "object", Action.WRITE_OBJECT, query="uploadId")
async def upload_part(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    number = _part_number(req)
    algorithm, checksum_value, in_trailer = checksum_request(req)
    sse = customer_key(req)
    length = req.payload_length()
    trailers = req.trailers
    part = await ctx.multipart.upload_part(
        req.bucket,
        req.key,
        req.query["uploadId"],
        number,
        req.body(),
        PutIntegrity(length, req.headers.get("content-md5"), checksum_value),
        algorithm,
        trailer_checksum=(lambda: trailers.get(header_name(algorithm or ""))) if in_trailer else None,
        sse=sse,
    )
    resp = sse_headers(
        empty().header("etag", quote_etag(part.etag)),
        sse.key_md5 if sse else None,
        at_rest=ctx.objects.atrest.enabled,
    )
    if part.checksum_algorithm and part.checksum_value:
        resp.header(header_name(part.checksum_algorithm), part.checksum_value)
    return resp


def _parse_complete(body: bytes) -> list[RequestedPart]:
    root = xml.parse(body)
    if xml.local(root.tag) != "CompleteMultipartUpload":
        raise MalformedXML()
    out = []
    for element in xml.children(root, "Part"):
        number_text = xml.child_text(element, "PartNumber")
        etag = xml.child_text(element, "ETag")
        if number_text is None or etag is None:
            raise MalformedXML()
        try:
            number = int(number_text.strip())
        except ValueError:
            raise MalformedXML() from None
        checksums = {}
        for algorithm in ALGORITHMS:
            value = xml.child_text(element, "Checksum" + algorithm)
            if value is not None:
                checksums[algorithm] = value
        out.append(RequestedPart(number, etag, checksums))
    if not out:
        raise MalformedXML()
    return out


@route("CompleteMultipartUpload", "POST", "object", Action.WRITE_OBJECT, query="uploadId")
async def complete_multipart_upload(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    body = await req.read_body(xml.MAX_XML_BODY, body_checksums=False)
    if not body.strip():
        raise MalformedXML()
    requested = _parse_complete(body)
    sse = customer_key(req)
    object_checksums = requested_checksums(req.headers)
    size_header = req.headers.get("x-amz-mp-object-size")
    object_size = None
    if size_header is not None:
        if not size_header.isascii() or not size_header.isdigit() or len(size_header) > 19:
            raise InvalidArgument("Invalid x-amz-mp-object-size", ArgumentName="x-amz-mp-object-size")
        object_size = int(size_header)
    result = await anyio.to_thread.run_sync(
        lambda: ctx.multipart.complete(
            req.bucket or "",
            req.key or "",
            req.query["uploadId"],
            requested,
            object_checksums,
            conditions(req),
            object_size,
            sse,
        )
    )
    inner = xml.elements(
        Location=f"/{bucket_name(result.bucket)}/{result.key}",
        Bucket=bucket_name(result.bucket),
        Key=result.key,
        ETag=quote_etag(result.etag),
    )
    if result.checksum_algorithm and result.checksum_value:
        inner += xml.elements(
            **{
                "Checksum" + result.checksum_algorithm: result.checksum_value,
                "ChecksumType": result.checksum_type,
            }
        )
    return sse_headers(
        S3Response(
            200, [("content-type", "application/xml")], xml.document("CompleteMultipartUploadResult", inner)
        ),
        result.sse_key_md5,
        at_rest=result.encrypted_at_rest,
    )


@route("AbortMultipartUpload", "DELETE", "object", Action.WRITE_OBJECT, query="uploadId")
async def abort_multipart_upload(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    await anyio.to_thread.run_sync(ctx.multipart.abort, req.bucket, req.key, req.query["uploadId"])
    return empty(204)


@route("ListParts", "GET", "object", Action.READ_OBJECT, query="uploadId")
async def list_parts(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    assert req.key is not None
    max_parts = int_query(req, "max-parts", 1000, 0, 1000)
    marker = int_query(req, "part-number-marker", 0, 0, 10_000)
    upload, parts, truncated = await anyio.to_thread.run_sync(
        ctx.multipart.list_parts, req.bucket, req.key, req.query["uploadId"], marker, max_parts
    )
    algorithm = upload.options.checksum_algorithm
    entries = "".join(
        "<Part>"
        + xml.elements(
            PartNumber=p.part_number,
            LastModified=xml.iso8601(p.last_modified),
            ETag=quote_etag(p.etag),
            Size=p.size,
        )
        + (
            xml.elements(**{"Checksum" + algorithm: p.checksum_value})
            if algorithm and p.checksum_value
            else ""
        )
        + "</Part>"
        for p in parts
    )
    inner = (
        xml.elements(Bucket=bucket_name(upload.bucket), Key=upload.key, UploadId=upload.upload_id)
        + f"<Initiator>{OWNER}</Initiator><Owner>{OWNER}</Owner>"
        + xml.elements(
            StorageClass=upload.options.storage_class,
            PartNumberMarker=marker,
            NextPartNumberMarker=parts[-1].part_number if parts else marker,
            MaxParts=max_parts,
            IsTruncated=truncated,
        )
        + _checksum_algorithm_element(upload)
        + entries
    )
    return S3Response(200, [("content-type", "application/xml")], xml.document("ListPartsResult", inner))


@route("ListMultipartUploads", "GET", "bucket", Action.LIST_OBJECTS, query="uploads", keys="prefix")
async def list_multipart_uploads(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    encoding, enc = _encoder(req)
    prefix = req.query.get("prefix", "")
    delimiter = req.query.get("delimiter", "")
    key_marker = req.query.get("key-marker", "")
    upload_id_marker = req.query.get("upload-id-marker", "") if key_marker else ""
    max_uploads = int_query(req, "max-uploads", 1000, 0, 1000)
    listing = await anyio.to_thread.run_sync(
        lambda: ctx.multipart.list_uploads(
            req.bucket or "", prefix, delimiter, key_marker, upload_id_marker, max_uploads
        )
    )
    entries = "".join(
        f"<Upload><Key>{enc(u.key)}</Key>"  # type: ignore[operator]
        + xml.elements(UploadId=u.upload_id)
        + f"<Initiator>{OWNER}</Initiator><Owner>{OWNER}</Owner>"
        + xml.elements(StorageClass=u.options.storage_class, Initiated=xml.iso8601(u.initiated_at))
        + _checksum_algorithm_element(u)
        + "</Upload>"
        for u in listing.uploads
    )
    prefixes = "".join(
        f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>"  # type: ignore[operator]
        for p in listing.common_prefixes
    )
    inner = (
        f"<Bucket>{xml.escape(bucket_name(req.bucket))}</Bucket>"
        f"<KeyMarker>{enc(key_marker)}</KeyMarker>"  # type: ignore[operator]
        + xml.elements(UploadIdMarker=upload_id_marker)
        + (
            f"<NextKeyMarker>{enc(listing.next_key_marker)}</NextKeyMarker>"  # type: ignore[operator]
            + xml.elements(NextUploadIdMarker=listing.next_upload_id_marker)
            if listing.is_truncated
            else ""
        )
        + (f"<Delimiter>{enc(delimiter)}</Delimiter>" if delimiter else "")  # type: ignore[operator]
        + f"<Prefix>{enc(prefix)}</Prefix>"  # type: ignore[operator]
        + xml.elements(MaxUploads=max_uploads, IsTruncated=listing.is_truncated)
        + (f"<EncodingType>{encoding}</EncodingType>" if encoding else "")
        + entries
        + prefixes
    )
    return S3Response(
        200, [("content-type", "application/xml")], xml.document("ListMultipartUploadsResult", inner)
    )
