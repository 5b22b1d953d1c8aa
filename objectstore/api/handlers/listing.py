"""ListObjects (v1) and ListObjectsV2."""

from __future__ import annotations

import base64

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import xml
from objectstore.api.context import S3Context
from objectstore.api.headers import int_query, invalid_argument
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response
from objectstore.api.router import route
from objectstore.service.errors import InvalidArgument, NotImplementedOp
from objectstore.service.listing import Listing, list_objects
from objectstore.service.names import key_identity
from objectstore.service.placement import bucket_name

OWNER = "<Owner><ID>lakebox</ID><DisplayName>lakebox</DisplayName></Owner>"


def _encoder(req: S3Request) -> tuple[str | None, object]:
    encoding = req.query.get("encoding-type")
    if encoding is None or encoding == "":
        return None, xml.escape
    if encoding.lower() != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request", ArgumentName="encoding-type")
    return "url", lambda s: xml.escape(xml.url_encode(s))


# S3 list parameters lakebox does not implement: R2 answers these 501 ("unsupported search parameters"). Any
# other unknown parameter (R2's ``x-id``, ``x-purpose``, a client's own) is ignored, as S3 and R2 ignore it.
UNSUPPORTED_LIST_PARAMETERS = frozenset({"allow-unordered"})


def _refuse_unsupported(req: S3Request) -> None:
    for name in req.query:
        if name in UNSUPPORTED_LIST_PARAMETERS:
            raise NotImplementedOp(f"The list parameter {name!r} is not implemented.")


def _identity(value: str) -> str:
    return key_identity(value) if len(value.encode()) <= 1024 else value


def _entries(listing: Listing, enc: object, fetch_owner: bool) -> str:
    encode = enc  # a callable str -> str
    out = []
    for o in listing.objects:
        owner = OWNER if fetch_owner else ""
        out.append(
            f"<Contents><Key>{encode(o.key)}</Key><LastModified>{xml.iso8601(o.last_modified)}</LastModified>"  # type: ignore[operator]
            f"<ETag>&quot;{o.etag}&quot;</ETag><Size>{o.size}</Size>{owner}"
            f"<StorageClass>{o.storage_class}</StorageClass></Contents>"
        )
    for p in listing.common_prefixes:
        out.append(f"<CommonPrefixes><Prefix>{encode(p)}</Prefix></CommonPrefixes>")  # type: ignore[operator]
    return "".join(out)


@route("ListObjectsV2", "GET", "bucket", Action.LIST_OBJECTS, query="list-type", keys="prefix")
async def list_objects_v2(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    _refuse_unsupported(req)
    if req.query["list-type"] != "2":
        raise invalid_argument("list-type", req.query["list-type"])
    encoding, enc = _encoder(req)
    prefix = req.query.get("prefix", "")
    delimiter = req.query.get("delimiter", "")
    max_keys = int_query(req, "max-keys", 1000, 0, 1000)
    start_after = req.query.get("start-after", "")
    token = req.query.get("continuation-token")
    after = _identity(start_after)
    if token is not None:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
            if "\0" in after:  # no key holds one (and PostgreSQL text cannot)
                raise ValueError(after)
        except ValueError:
            raise InvalidArgument(
                "The continuation token provided is incorrect", ArgumentName="continuation-token"
            ) from None
    listing = await anyio.to_thread.run_sync(
        list_objects, ctx.objects.repo, req.bucket, _identity(prefix), delimiter, after, max_keys
    )
    next_token = base64.urlsafe_b64encode(listing.last.encode()).decode() if listing.is_truncated else None
    inner = (
        f"<Name>{xml.escape(bucket_name(req.bucket))}</Name><Prefix>{enc(prefix)}</Prefix>"  # type: ignore[operator]
        + (f"<Delimiter>{enc(delimiter)}</Delimiter>" if delimiter else "")  # type: ignore[operator]
        + f"<MaxKeys>{max_keys}</MaxKeys>"
        + (f"<EncodingType>{encoding}</EncodingType>" if encoding else "")
        + f"<IsTruncated>{'true' if listing.is_truncated else 'false'}</IsTruncated><KeyCount>{listing.count}</KeyCount>"
        + (f"<ContinuationToken>{xml.escape(token)}</ContinuationToken>" if token is not None else "")
        + (f"<NextContinuationToken>{next_token}</NextContinuationToken>" if next_token else "")
        + (f"<StartAfter>{enc(start_after)}</StartAfter>" if start_after else "")  # type: ignore[operator]
    )
    body = xml.document(
        "ListBucketResult", inner + _entries(listing, enc, req.query.get("fetch-owner") == "true")
    )
    return S3Response(200, [("content-type", "application/xml")], body)


@route("ListObjects", "GET", "bucket", Action.LIST_OBJECTS, keys="prefix")
async def list_objects_v1(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    _refuse_unsupported(req)
    encoding, enc = _encoder(req)
    prefix = req.query.get("prefix", "")
    delimiter = req.query.get("delimiter", "")
    marker = req.query.get("marker", "")
    max_keys = int_query(req, "max-keys", 1000, 0, 1000)
    listing = await anyio.to_thread.run_sync(
        list_objects, ctx.objects.repo, req.bucket, _identity(prefix), delimiter, _identity(marker), max_keys
    )
    next_marker = None
    if listing.is_truncated and delimiter:
        last = listing.common_prefixes[-1] if listing.last == (listing.common_prefixes or [""])[-1] else None
        next_marker = last if last is not None else (listing.objects[-1].key if listing.objects else None)
    inner = (
        # v1 url-encodes keys, common prefixes, Delimiter, Marker and NextMarker, but not Prefix (as S3 does:
        # botocore decodes exactly those fields).
        f"<Name>{xml.escape(bucket_name(req.bucket))}</Name><Prefix>{xml.escape(prefix)}</Prefix><Marker>{enc(marker)}</Marker>"  # type: ignore[operator]
        + (f"<NextMarker>{enc(next_marker)}</NextMarker>" if next_marker is not None else "")  # type: ignore[operator]
        + f"<MaxKeys>{max_keys}</MaxKeys>"
        + (f"<Delimiter>{enc(delimiter)}</Delimiter>" if delimiter else "")  # type: ignore[operator]
        + f"<IsTruncated>{'true' if listing.is_truncated else 'false'}</IsTruncated>"
        + (f"<EncodingType>{encoding}</EncodingType>" if encoding else "")
    )
    body = xml.document("ListBucketResult", inner + _entries(listing, enc, True))
    return S3Response(200, [("content-type", "application/xml")], body)
