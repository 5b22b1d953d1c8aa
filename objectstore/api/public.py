"""Anonymous read access to public buckets (R2's ``r2.dev`` URL), on its own listener.

A bucket is addressed by its opaque public id, never by its name: ``Host: <public id>.<public domain>`` or the path
prefix ``/<public id>/``; or by one of its enabled custom domains: ``Host: <domain>``, the whole path its key. Only GET and HEAD of an object are served, with GetObject's behaviour (Range,
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
from objectstore.service.domains import CustomDomainService
from objectstore.service.errors import MethodNotAllowed, NoSuchBucket, NoSuchKey, StoreError
from objectstore.service.public import PublicAccessService

log = logging.getLogger("lakebox.public")


class PublicApp:
    def __init__(
        self,
        ctx: S3Context,
        public: PublicAccessService,
        domain: str | None,
        custom_domains: CustomDomainService | None = None,
    ) -> None:
        self.ctx = ctx
        self.public = public
        self.domain = domain
        self.custom_domains = custom_domains

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        custom = await self._custom_domain_bucket(scope)
        try:
            req = parse_request(
                _as_custom(scope) if custom else scope, receive, _CUSTOM_PARENT if custom else self.domain
            )
        except Exception as exc:  # a path or query that is not text
            if isinstance(exc, StoreError):
                exc.fields.pop("BucketName", None)  # here the "bucket" segment is a public id
            await refuse_unparsed(send, scope, exc)
            return
        # parse_request reads "<id>.<domain>" hosts as (bucket, key) and paths as /<bucket>/<key>: here the
        # "bucket" part is the public id.
        public_id, key = req.bucket, req.key
        if custom:
            req.headers["host"] = _host(scope)
        operation = {"GET": "GetObject", "HEAD": "HeadObject", "OPTIONS": "PreflightCORS"}.get(req.method, "")
        scope["s3.operation"] = operation
        bucket: str | None = None
        try:
            if req.method not in ("GET", "HEAD", "OPTIONS"):
                raise MethodNotAllowed(Method=req.method, ResourceType="OBJECT")
            bucket = custom or (await self.ctx.read(self.public.bucket_for, public_id) if public_id else None)
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

    async def _custom_domain_bucket(self, scope: Scope) -> str | None:
        """The bucket an enabled custom domain named by the Host header serves; None for r2.dev-style hosts."""
        host = _host(scope).rsplit(":", 1)[0].lower()
        if (
            self.custom_domains is None
            or "." not in host
            or host.startswith("[")
            or host.replace(".", "").isdigit()
            or (self.domain is not None and (host == self.domain or host.endswith("." + self.domain)))
        ):
            return None
        return await self.ctx.read(self.custom_domains.bucket_for, host)


# A custom domain's request is parsed as a virtual-host request to a placeholder bucket: the whole path is the key.
_CUSTOM_PARENT = "custom-domain.invalid"


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1"))
    return ""


def _as_custom(scope: Scope) -> Scope:
    headers = [(n, v) for n, v in scope.get("headers", ()) if n != b"host"]
    return {**scope, "headers": [*headers, (b"host", b"bucket." + _CUSTOM_PARENT.encode())]}


def _finish(resp: S3Response, request_id: str) -> None:
    resp.headers.append(("x-amz-request-id", request_id))
    resp.headers.append(("x-amz-id-2", host_id()))
