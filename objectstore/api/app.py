"""The S3 ASGI application.

A plain ASGI callable rather than a Litestar router: S3 needs the raw, percent-encoded path (SigV4 signs it, and
keys keep ``//`` and trailing ``/`` byte-exact), which a web framework's path normalisation would change. The
request is parsed into a typed operation (``router.resolve``), authenticated, authorised, and dispatched once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from auth.service.errors import AuthError
from objectstore.api import access, authn, cors, errors
from objectstore.api.context import S3Context
from objectstore.api.handlers import (  # noqa: F401 - registers routes
    bucket_config,
    bucket_encryption,
    buckets,
    copy,
    delete_objects,
    listing,
    multipart,
    objects,
)
from objectstore.api.request import Receive, Scope, Send, new_request_id, parse_request
from objectstore.api.response import RETRIEVED, S3Response
from objectstore.api.router import resolve
from objectstore.service.errors import StoreError
from objectstore.service.space import is_out_of_space

log = logging.getLogger("lakebox.s3")


class S3App:
    def __init__(self, ctx: S3Context) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = _BodyTracker(receive)
        try:
            req = parse_request(scope, body.receive, self.ctx.domain)
            scope["s3.bucket"] = req.bucket or ""  # for the analytics counts
        except Exception as exc:  # a path or query that is not text: answered without a handler
            await refuse_unparsed(send, scope, exc)
            return
        try:
            if req.method == "OPTIONS":  # a CORS preflight: browsers send it without credentials
                scope["s3.operation"] = "PreflightCORS"
                resp = await cors.preflight(self.ctx, req, req.bucket)
            else:
                op = resolve(req)
                scope["s3.operation"] = op.name  # for the server's request metrics
                req.principal = await authn.authenticate(req, self.ctx)
                scope["s3.actor"] = req.principal.token_id if req.principal else ""  # for the audit log
                access.enforce(req, op)
                resp = await op.handler(self.ctx, req)
        except (StoreError, AuthError) as exc:
            resp = error_response(exc, req.request_id, req.resource)
        except Exception as exc:
            if is_out_of_space(exc):
                log.warning("out of space in %s %s: %s", req.method, req.bucket, exc)
            else:
                log.exception("internal error in %s %s", req.method, req.bucket)
            resp = error_response(exc, req.request_id, req.resource)
        if resp.retrieved is not None and resp.status < 300:
            scope[RETRIEVED] = resp.retrieved  # for the analytics' data retrieval
        if "origin" in req.headers and req.method != "OPTIONS":
            await cors.decorate(self.ctx, req, req.bucket, resp)
        resp.headers.append(("x-amz-request-id", req.request_id))
        resp.headers.append(("x-amz-id-2", host_id()))
        if not body.finished and _may_have_body(req.headers):
            # Answered without reading the body (an error, usually after "Expect: 100-continue", where the client
            # never sends it): the connection cannot carry another request, so it must close (RFC 9110 10.1.1).
            resp.headers.append(("connection", "close"))
        try:
            await send_response(send, req.method, resp)
        except StoreError as exc:
            # The body failed mid-stream (object gone, disk error): nothing more can be said on this response.
            log.warning("response body aborted: %s", exc.code)


class _BodyTracker:
    """Wraps ``receive`` to know whether the request body was read to its end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.finished = False

    async def receive(self) -> MutableMapping[str, Any]:
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.finished = True
        return message


def _may_have_body(headers: dict[str, str]) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("0", "")


async def refuse_unparsed(send: Send, scope: Scope, exc: Exception) -> None:
    """The answer to a request ``parse_request`` refused (S3's 400 for a path or query that is not text)."""
    if not isinstance(exc, StoreError):
        log.error("unparsable request: %s", type(exc).__name__)
    request_id = new_request_id()
    resp = error_response(exc, request_id, "")
    resp.headers += [("x-amz-request-id", request_id), ("x-amz-id-2", host_id())]
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    if _may_have_body(headers):  # the body is left unread
        resp.headers.append(("connection", "close"))
    await send_response(send, scope["method"], resp)


@functools.cache
def _host_id(pid: int) -> str:
    digest = hashlib.sha256(f"{socket.gethostname()}:{pid}".encode()).digest()
    return base64.b64encode(digest[:12]).decode()


def host_id() -> str:
    """``x-amz-id-2``: which server process answered (S3's host id), opaque but stable per worker."""
    return _host_id(os.getpid())


def error_response(exc: BaseException, request_id: str, resource: str) -> S3Response:
    code, message, fields = errors.describe(exc)
    status = errors.error_status(code)
    if status == 304:
        return S3Response(304, [("etag", fields["ETag"]), ("last-modified", fields["LastModified"])])
    body = errors.error_body(code, message, request_id, resource, **fields)
    headers = [("content-type", "application/xml")]
    if code in errors.RETRY_AFTER:
        headers.append(("retry-after", errors.RETRY_AFTER[code]))
    return S3Response(status, headers, body)


# What the HTTP server refuses to write (it would drop the connection instead): see RFC 9110 5.1 and 5.5.
_BAD_NAME = re.compile(b'[\x00-\x20\x7f()<>@,;:\\[\\]={}\\\\"]')
_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")


async def send_response(send: Send, method: str, resp: S3Response) -> None:
    headers = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in resp.headers]
    if _BAD_NAME.search(b"-".join(k for k, _ in headers)) or _BAD_VALUE.search(
        b"\t".join(v for _, v in headers)
    ):
        # Values are checked when received; one stored before that (or a bug) must still get an answer.
        resp, headers = await _unencodable(resp)
    body = resp.body
    if isinstance(body, bytes | bytearray):
        length = resp.content_length if resp.content_length is not None and method == "HEAD" else len(body)
        if resp.status != 304 and resp.status != 204:
            headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return
    headers.append((b"content-length", str(resp.content_length or 0).encode()))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await _stream(send, body)


async def _unencodable(resp: S3Response) -> tuple[S3Response, list[tuple[bytes, bytes]]]:
    names = [name for name, value in resp.headers if _BAD_VALUE.search(value.encode("latin-1", "replace"))]
    log.error("response header(s) %s cannot be sent: answered 500", ", ".join(names)[:200])
    if not isinstance(resp.body, bytes | bytearray):
        close = getattr(resp.body, "aclose", None)
        if close is not None:
            await close()
    request_id = next((v for k, v in resp.headers if k == "x-amz-request-id"), None) or new_request_id()
    error = error_response(RuntimeError(), request_id, "")
    error.headers += [("x-amz-request-id", request_id), ("x-amz-id-2", host_id())]
    return error, [(k.encode(), v.encode()) for k, v in error.headers]


async def _stream(send: Send, body: AsyncIterator[bytes | bytearray]) -> None:
    async for chunk in body:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
