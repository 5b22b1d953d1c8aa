"""Request headers to service values, and object metadata to response headers."""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote

from objectstore.api.request import S3Request
from objectstore.api.response import S3Response
from objectstore.api.xml import http_date, quote_etag
from objectstore.service.checksums import decode_checksum, header_name, parse_algorithm, requested_checksums
from objectstore.service.conditions import Conditions, parse_http_date
from objectstore.service.errors import InvalidArgument, InvalidRequest
from objectstore.service.fields import check_field_value
from objectstore.service.model import CONTENT_HEADERS, ObjectMeta, WriteOptions
from objectstore.service.placement import check_storage_class
from objectstore.service.sse import ALGORITHM as SSE_ALGORITHM
from objectstore.service.sse import CustomerKey, parse_customer_key

META_PREFIX = "x-amz-meta-"


def conditions(req: S3Request, prefix: str = "") -> Conditions:
    """If-* headers (``prefix`` selects e.g. ``x-amz-copy-source-`` or R2's ``cf-copy-destination-``)."""
    h = req.headers
    return Conditions(
        if_match=h.get(prefix + "if-match"),
        if_none_match=h.get(prefix + "if-none-match"),
        if_modified_since=parse_http_date(h.get(prefix + "if-modified-since")),
        if_unmodified_since=parse_http_date(h.get(prefix + "if-unmodified-since")),
    )


def user_metadata(req: S3Request) -> dict[str, str]:
    return {
        name[len(META_PREFIX) :]: check_field_value(name, value)
        for name, value in req.headers.items()
        if name.startswith(META_PREFIX)
    }


def storage_class(req: S3Request) -> str | None:
    """``x-amz-storage-class``, checked; None when absent (the object gets its bucket's default)."""
    value = req.headers.get("x-amz-storage-class")
    return None if value is None else check_storage_class(value)


# A rule id is any text the client chose; in the header it is percent-encoded past printable ASCII and quotes.
_RULE_ID_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"%\\')
_AWS_CHUNKED = re.compile(r"(?:^|,)\s*aws-chunked\s*(?=,|$)", re.IGNORECASE)


def content_encoding(req: S3Request) -> str | None:
    """Content-Encoding without the transfer-only ``aws-chunked`` token."""
    value = req.headers.get("content-encoding")
    if value is None:
        return None
    kept = _AWS_CHUNKED.sub("", value).strip(", \t")  # the client's own spelling of the rest is kept
    return kept or None


def checksum_request(req: S3Request) -> tuple[str | None, str | None, bool]:
    """(algorithm, value from a header, value comes in a trailer)."""
    values = requested_checksums(req.headers)
    trailer = req.headers.get("x-amz-trailer", "").strip().lower()
    declared = req.headers.get("x-amz-sdk-checksum-algorithm") or req.headers.get("x-amz-checksum-algorithm")
    algorithm = parse_algorithm(declared) if declared else None
    if values:
        ((alg, value),) = values.items()
        if algorithm is not None and algorithm != alg:
            raise InvalidArgument("Value for x-amz-sdk-checksum-algorithm header is invalid.")
        decode_checksum(alg, value)  # a malformed value is refused before the body is read
        return alg, value, False
    if trailer.startswith("x-amz-checksum-"):
        alg = trailer[len("x-amz-checksum-") :]
        return parse_algorithm(alg, "x-amz-trailer"), None, True
    return algorithm, None, False


def write_options(
    req: S3Request, key: str, *, algorithm: str | None, sse: CustomerKey | None = None
) -> WriteOptions:
    h = req.headers
    for header in CONTENT_HEADERS.values():
        if header in h:
            check_field_value(header, h[header])
    content_type = (
        h.get("content-type") or mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"
    )
    return WriteOptions(
        content_type=check_field_value("content-type", content_type),
        content_encoding=content_encoding(req),
        content_disposition=h.get("content-disposition"),
        content_language=h.get("content-language"),
        cache_control=h.get("cache-control"),
        expires=h.get("expires"),
        user_metadata=user_metadata(req),
        storage_class=storage_class(req),
        checksum_algorithm=algorithm,
        sse_key_md5=sse.key_md5 if sse is not None else None,
        sse_key_check=sse.check_value() if sse is not None else None,
    )


_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


def response_overrides(req: S3Request) -> dict[str, str]:
    """The ``response-*`` query parameters of a GET/HEAD as {header: value}, checked before anything is read."""
    return {
        header: check_field_value(q, req.query[q])
        for q, header in _RESPONSE_OVERRIDES.items()
        if q in req.query
    }


def object_headers(
    resp: S3Response, meta: ObjectMeta, req: S3Request, overrides: dict[str, str], *, whole: bool
) -> S3Response:
    """The headers of GET/HEAD: system and user metadata, ETag, checksums on request, response-* overrides."""
    resp.header("etag", quote_etag(meta.etag))
    resp.header("last-modified", http_date(meta.last_modified))
    resp.header("accept-ranges", "bytes")
    for attr, header in CONTENT_HEADERS.items():
        value = overrides.get(header, getattr(meta, attr))
        resp.header(header, value)
    for name, value in meta.user_metadata.items():
        resp.header(META_PREFIX + name, value)
    if meta.storage_class != "STANDARD":
        resp.header("x-amz-storage-class", meta.storage_class)
    if meta.expiration is not None:
        at, rule_id = meta.expiration
        resp.header(
            "x-amz-expiration",
            f'expiry-date="{http_date(at)}", rule-id="{quote(rule_id, safe=_RULE_ID_SAFE)}"',
        )
    sse_headers(resp, meta.sse_key_md5, at_rest=meta.encrypted_at_rest)
    if meta.parts_count is not None and "partNumber" in req.query:
        resp.header("x-amz-mp-parts-count", meta.parts_count)
    if (
        meta.checksum_algorithm
        and meta.checksum_value
        and req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
        and whole
    ):
        resp.header(header_name(meta.checksum_algorithm), meta.checksum_value)
        resp.header("x-amz-checksum-type", meta.checksum_type)
    return resp


def invalid_argument(name: str, value: str) -> InvalidArgument:
    return InvalidArgument(f"Invalid argument: {name}", ArgumentName=name, ArgumentValue=value)


def int_query(req: S3Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_argument(name, raw) from None
    if value < low:
        raise invalid_argument(name, raw)
    return min(value, high)


_SSE = "x-amz-server-side-encryption"
_SSE_PREFIX = "x-amz-server-side-encryption-customer-"
_SSE_SOURCE_PREFIX = "x-amz-copy-source-server-side-encryption-customer-"


def customer_key(req: S3Request, *, source: bool = False) -> CustomerKey | None:
    """The SSE-C key of the request (of its copy source with ``source``), validated; None if none is given.

    Like S3, a key is refused on a channel where it could be read on the way (plain HTTP from another host);
    lakebox accepts plain HTTP from this machine, as a laptop or CI setup uses it.
    """
    h = req.headers
    prefix = _SSE_SOURCE_PREFIX if source else _SSE_PREFIX
    key = parse_customer_key(
        h.get(prefix + "algorithm"), h.get(prefix + "key"), h.get(prefix + "key-md5"), source=source
    )
    if not source:
        check_server_side_encryption(h.get(_SSE), key is not None)
    if key is not None and not req.private_channel:
        raise InvalidRequest(
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure "
            "connection."
        )
    return key


def check_server_side_encryption(value: str | None, customer_key: bool) -> None:
    """``x-amz-server-side-encryption``: AES256 is what lakebox does to every object anyway (encryption at rest);
    KMS does not exist here (R2 has none either), and S3 refuses the header next to an SSE-C key."""
    if value is None:
        return
    if customer_key:
        raise InvalidArgument(
            "Server Side Encryption with Customer provided keys is incompatible with the encryption method "
            "specified",
            ArgumentName=_SSE,
            ArgumentValue=value,
        )
    if value == "AES256":
        return
    if value.startswith("aws:kms"):
        raise InvalidArgument(
            f"Server Side Encryption with {value} is not supported: every object is encrypted at rest with "
            "AES256 (send AES256 or omit the header)",
            ArgumentName=_SSE,
            ArgumentValue=value,
        )
    raise InvalidArgument(
        "The encryption method specified is not supported", ArgumentName=_SSE, ArgumentValue=value
    )


def sse_headers(resp: S3Response, key_md5: str | None, *, at_rest: bool) -> S3Response:
    """The encryption headers of a response: SSE-C's for an object under a customer key, else
    ``x-amz-server-side-encryption: AES256`` for one encrypted at rest."""
    if key_md5 is not None:
        resp.header(_SSE_PREFIX + "algorithm", SSE_ALGORITHM)
        resp.header(_SSE_PREFIX + "key-md5", key_md5)
    elif at_rest:
        resp.header(_SSE, SSE_ALGORITHM)
    return resp
