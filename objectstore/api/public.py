"""Anonymous read access to public buckets (R2's ``r2.dev`` URL), on its own listener.

A bucket is addressed by its opaque public id, never by its name: ``Host: <public id>.<public domain>`` or the path
prefix ``/<public id>/``. Only GET and HEAD of an object are served, with GetObject's behaviour (Range,
conditionals, object headers); a listing, an unknown id and a disabled bucket are all the same 404.
"""

from __future__ import annotations

import logging

from objectstore.api import cors
from objectstore.api.app import error_response, host_id, refuse_unparsed, send_response
from objectstore.api.context import S3Context
from objectstore.api.handlers.objects import get_object, head_object
from objectstore.api.request import Receive, Scope, Send, parse_request
from objectstore.api.response import RETRIEVED, S3Response
from objectstore.service.errors import MethodNotAllowed, NoSuchBucket, NoSuchKey, StoreError
from objectstore.service.public import PublicAccessService

log = logging.getLogger("lakebox.public")


class PublicApp:
    def __init__(self, ctx: S3Context, public: PublicAccessService, domain: str | None) -> None:
        self.ctx = ctx
        self.public = public
        self.domain = domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            req = parse_request(scope, receive, self.domain)
        except Exception as exc:  # a path or query that is not text
            if isinstance(exc, StoreError):
                exc.fields.pop("BucketName", None)  # here the "bucket" segment is a public id
            await refuse_unparsed(send, scope, exc)
            return
        # parse_request reads "<id>.<domain>" hosts as (bucket, key) and paths as /<bucket>/<key>: here the
        # "bucket" part is the public id.
        public_id, key = req.bucket, req.key
        operation = {"GET": "GetObject", "HEAD": "HeadObject", "OPTIONS": "PreflightCORS"}.get(req.method, "")
        scope["s3.operation"] = operation
        bucket: str | None = None
        try:
            if req.method not in ("GET", "HEAD", "OPTIONS"):
                raise MethodNotAllowed(Method=req.method, ResourceType="OBJECT")
            bucket = await self.ctx.read(self.public.bucket_for, public_id) if public_id else None
            scope["s3.bucket"] = bucket or ""
            if bucket is None:
                raise NoSuchBucket()
            if req.method == "OPTIONS":
                resp = await cors.preflight(self.ctx, req, bucket)
            else:
                if key is None:
                    raise NoSuchKey()  # public buckets are never listed
                req.bucket = bucket
                resp = await (get_object if req.method == "GET" else head_object)(self.ctx, req)
        except StoreError as exc:
            exc.fields.pop("BucketName", None)  # the address must never reveal the bucket's name
            resp = error_response(exc, req.request_id, "")
        except Exception:
            log.exception("internal error in public %s", req.method)
            resp = error_response(RuntimeError(), req.request_id, "")
        if resp.retrieved is not None and resp.status < 300:
            scope[RETRIEVED] = resp.retrieved  # for the analytics' data retrieval
        if "origin" in req.headers and req.method != "OPTIONS":
            await cors.decorate(self.ctx, req, bucket, resp)
        _finish(resp, req.request_id)
        try:
            await send_response(send, req.method, resp)
        except StoreError as exc:
            log.warning("response body aborted: %s", exc.code)


def _finish(resp: S3Response, request_id: str) -> None:
    resp.headers.append(("x-amz-request-id", request_id))
    resp.headers.append(("x-amz-id-2", host_id()))
