"""An S3 request parsed from the ASGI scope: addressing (path-style or virtual-hosted), query, headers, body."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_to_bytes

from auth.service.principal import Principal
from objectstore.service.checksums import (
    algorithm_of_header,
    check_body,
    decode_checksum,
    parse_content_md5,
    requested_checksums,
)
from objectstore.service.errors import (
    IncompleteBody,
    InvalidArgument,
    InvalidBucketName,
    InvalidURI,
    MissingContentLength,
    XAmzContentSHA256Mismatch,
)
from objectstore.service.placement import JURISDICTIONS, bucket_id

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Scope = MutableMapping[str, Any]


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


@dataclass(slots=True)
class S3Request:
    method: str
    raw_path: str  # as on the wire, still percent-encoded
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; repeated headers joined with ','
    bucket: str | None  # as lakebox knows it: ``<jurisdiction>_<name>`` on a jurisdiction's endpoint
    key: str | None
    jurisdiction: str | None
    request_id: str
    receive: Receive
    principal: Principal | None = None
    # The decoded payload: set by authentication (signed hash check, aws-chunked decoding).
    payload: Callable[[], AsyncIterator[bytes]] | None = None
    trailers: dict[str, str] = field(default_factory=dict)
    # Reached over TLS, or from this machine: where secrets such as SSE-C keys may travel.
    private_channel: bool = False

    @property
    def resource(self) -> str:
        return unquote(self.raw_path)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        try:
            length = int(value)
        except ValueError:
            raise InvalidArgument("Invalid Content-Length", ArgumentName="Content-Length") from None
        if length < 0:
            raise InvalidArgument("Invalid Content-Length", ArgumentName="Content-Length")
        return length

    def payload_length(self) -> int | None:
        """The length of the object data a write carries: ``x-amz-decoded-content-length`` for aws-chunked bodies,
        else Content-Length; None for a chunked transfer of unknown length. Neither: MissingContentLength."""
        length = self.content_length()
        if length is None and self.headers.get("transfer-encoding", "").lower() != "chunked":
            raise MissingContentLength()
        decoded = self.headers.get("x-amz-decoded-content-length")
        if decoded is not None:
            return int(decoded) if decoded.isascii() and decoded.isdigit() and len(decoded) <= 19 else None
        return length

    def body(self) -> AsyncIterator[bytes]:
        """The request payload, decoded and verified as its signing mode demands."""
        if self.payload is None:
            return raw_body(self.receive)
        return self.payload()

    async def read_body(self, limit: int, *, body_checksums: bool = True) -> bytes:
        """A small body (XML documents) read whole, refusing more than ``limit`` bytes, and verified against its
        Content-MD5 and (unless ``body_checksums`` is False: CompleteMultipartUpload's name the object) the
        ``x-amz-checksum-*`` header or trailer."""
        if "content-md5" in self.headers:
            parse_content_md5(
                self.headers["content-md5"]
            )  # a malformed one is refused before the body is read
        checksums = requested_checksums(self.headers) if body_checksums else {}
        for algorithm, value in checksums.items():
            decode_checksum(algorithm, value)
        out = bytearray()
        async for chunk in self.body():
            out += chunk
            if len(out) > limit:
                raise InvalidArgument("Request body too large")
        body = bytes(out)
        if body_checksums and not checksums:
            checksums = {
                alg: value
                for name, value in self.trailers.items()
                if (alg := algorithm_of_header(name)) is not None
            }
        check_body(body, self.headers.get("content-md5"), checksums)
        return body


async def raw_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IncompleteBody()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def sha256_checked(source: AsyncIterator[bytes], expected_hex: str) -> AsyncIterator[bytes]:
    """Passes the body through, failing at its end if its SHA-256 is not the signed one."""
    digest = hashlib.sha256()
    async for chunk in source:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != expected_hex:
        raise XAmzContentSHA256Mismatch(
            ClientComputedContentSHA256=expected_hex, S3ComputedContentSHA256=digest.hexdigest()
        )


def _header_text(raw: bytes) -> str:
    """Header bytes as text: clients (botocore among them) send and sign non-ASCII values as UTF-8."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _address(raw_path: bytes, virtual_bucket: str | None) -> tuple[str | None, str | None]:
    """(bucket, key) of a request path, each decoded as strict UTF-8 after percent-decoding.

    Bytes that are not UTF-8 (``%FF``, overlong ``%C0%AE``, encoded surrogates, truncated sequences) or a NUL
    (which no text column of PostgreSQL can hold) are refused as S3 refuses them: InvalidBucketName in the
    bucket segment, InvalidURI in the key; so is an empty bucket segment (``//key``).
    """
    path = unquote_to_bytes(raw_path)
    if virtual_bucket is not None:
        rest = path[1:] if path.startswith(b"/") else path
        return virtual_bucket, _key_text(rest) if rest else None
    if not path.startswith(b"/"):
        if path == b"*":  # "OPTIONS * HTTP/1.1": the server itself
            return None, None
        raise InvalidURI()
    bucket_part, slash, key_part = path[1:].partition(b"/")
    if not bucket_part:
        if slash:
            raise InvalidBucketName(BucketName="")
        return None, None
    try:
        bucket = bucket_part.decode()
    except UnicodeDecodeError:
        raise InvalidBucketName(BucketName=bucket_part.decode(errors="replace")) from None
    if "\0" in bucket:
        raise InvalidBucketName(BucketName=bucket)
    return bucket, _key_text(key_part) if slash and key_part else None


def _jurisdiction(virtual_bucket: str | None, raw_path: bytes) -> tuple[str | None, str | None, bytes]:
    """(jurisdiction, virtual-host bucket, path) of a request to a jurisdiction's endpoint: the host
    ``<jurisdiction>.<domain>`` or ``<bucket>.<jurisdiction>.<domain>``, or path-style ``/_<jurisdiction>/...``
    (``_`` is in no bucket name, so this prefix is never a bucket). (None, virtual bucket, path) otherwise."""
    if virtual_bucket is not None:
        bucket, _, jurisdiction = virtual_bucket.rpartition(".")
        if jurisdiction in JURISDICTIONS:
            return jurisdiction, bucket or None, raw_path
        return None, virtual_bucket, raw_path
    if raw_path.startswith(b"/_"):
        first, slash, rest = raw_path[2:].partition(b"/")
        name = first.decode("latin-1")
        if name in JURISDICTIONS:
            return name, None, slash + rest if slash else b"/"
    return None, None, raw_path


def _key_text(raw: bytes) -> str:
    try:
        key = raw.decode()
    except UnicodeDecodeError:
        raise InvalidURI() from None
    if "\0" in key:
        raise InvalidURI()
    return key


def _query(raw_query: bytes) -> dict[str, str]:
    """Query parameters, strict UTF-8 after percent-decoding and without NUL (else InvalidURI)."""
    try:
        pairs = parse_qsl(raw_query.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise InvalidURI() from None
    query = dict(pairs)
    if any("\0" in name or "\0" in value for name, value in query.items()):
        raise InvalidURI()
    return query


def parse_request(scope: Scope, receive: Receive, domain: str | None) -> S3Request:
    """The request as an S3Request; a path or query that is not text is a StoreError (answered 400)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = _header_text(raw_value)
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    raw_path_bytes: bytes = scope.get("raw_path") or scope["path"].encode()
    raw_path_bytes, _, embedded_query = raw_path_bytes.partition(b"?")
    raw_query_bytes: bytes = scope.get("query_string", b"") or embedded_query
    host = (
        headers.get("host", "").rsplit(":", 1)[0].lower()
        if not headers.get("host", "").startswith("[")
        else ""
    )
    virtual_bucket = host[: -len(domain) - 1] if domain and host.endswith("." + domain) else None
    jurisdiction, virtual_bucket, path = _jurisdiction(virtual_bucket, raw_path_bytes)
    bucket, key = _address(path, virtual_bucket)
    if bucket is not None:
        if "_" in bucket:  # no bucket name holds one: lakebox's own names of jurisdiction buckets do
            raise InvalidBucketName(BucketName=bucket)
        bucket = bucket_id(bucket, jurisdiction)
    return S3Request(
        method=scope["method"],
        raw_path=raw_path_bytes.decode("latin-1"),
        raw_query=raw_query_bytes.decode("latin-1"),
        query=_query(raw_query_bytes),
        headers=headers,
        bucket=bucket,
        key=key,
        jurisdiction=jurisdiction,
        request_id=new_request_id(),
        receive=receive,
        private_channel=scope.get("scheme") == "https" or _is_loopback((scope.get("client") or ("",))[0]),
    )


def _is_loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")
