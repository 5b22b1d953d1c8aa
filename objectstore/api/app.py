"""The S3 ASGI application.

A plain ASGI callable rather than a Litestar router: S3 needs the raw, percent-encoded path (SigV4 signs it, and
keys keep ``//`` and trailing ``/`` byte-exact), which a web framework's path normalisation would change. The
request is parsed into a typed operation (``router.resolve``), authenticated, authorised, and dispatched once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from auth.service.authorize import authorize
from auth.service.errors import AuthError
from objectstore.api import authn, errors
from objectstore.api.context import S3Context
from objectstore.api.handlers import buckets, delete_objects, listing, objects  # noqa: F401 - registers routes
from objectstore.api.request import Receive, Scope, Send, new_request_id, parse_request
from objectstore.api.response import S3Response
from objectstore.api.router import resolve
from objectstore.service.errors import StoreError

log = logging.getLogger("lakebox.s3")


class S3App:
    def __init__(self, ctx: S3Context) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            req = parse_request(scope, receive, self.ctx.domain)
        except Exception:  # an undecodable request line: answer without a handler
            await _send(send, "GET", _error_response(StoreError("Invalid request"), new_request_id(), ""))
            return
        try:
            op = resolve(req)
            req.principal = await authn.authenticate(req, self.ctx.tokens)
            authorize(req.principal, op.action, req.bucket)
            resp = await op.handler(self.ctx, req)
        except (StoreError, AuthError) as exc:
            resp = _error_response(exc, req.request_id, req.resource)
        except Exception:
            log.exception("internal error in %s %s", req.method, req.bucket)
            resp = _error_response(RuntimeError(), req.request_id, req.resource)
        resp.headers.append(("x-amz-request-id", req.request_id))
        resp.headers.append(("x-amz-id-2", req.request_id))
        try:
            await _send(send, req.method, resp)
        except StoreError as exc:
            # The body failed mid-stream (object gone, disk error): nothing more can be said on this response.
            log.warning("response body aborted: %s", exc.code)


def _error_response(exc: BaseException, request_id: str, resource: str) -> S3Response:
    code, message, fields = errors.describe(exc)
    status = errors.error_status(code)
    if status == 304:
        return S3Response(304)
    body = errors.error_body(code, message, request_id, resource, **fields)
    return S3Response(status, [("content-type", "application/xml")], body)


async def _send(send: Send, method: str, resp: S3Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in resp.headers]
    body = resp.body
    if isinstance(body, bytes):
        length = resp.content_length if resp.content_length is not None and method == "HEAD" else len(body)
        if resp.status != 304 and resp.status != 204:
            headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return
    headers.append((b"content-length", str(resp.content_length or 0).encode()))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await _stream(send, body)


async def _stream(send: Send, body: AsyncIterator[bytes]) -> None:
    async for chunk in body:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
