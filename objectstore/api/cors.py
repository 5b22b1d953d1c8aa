"""CORS on the wire: preflight requests (OPTIONS, answered without credentials as browsers send them) and the
CORS headers of actual requests that carry an Origin, both decided by the bucket's rules.

A request without an Origin header pays nothing here. With one, the bucket row is read (the same point lookup
every object request makes) and its rules are parsed once per distinct configuration, so a PutBucketCors is
honoured by every worker and node on the next request.
"""

from __future__ import annotations

import logging

from objectstore.api.context import S3Context
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response
from objectstore.service.cors import CorsRule, first_match, parse_rules
from objectstore.service.errors import NoSuchBucket, StoreError

log = logging.getLogger("lakebox.s3")

NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request "
    "method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the "
    "resource's CORS spec."
)


class AccessForbidden(StoreError):
    code = "AccessForbidden"
    default_message = NOT_ALLOWED


class CorsBadRequest(StoreError):
    code = "BadRequest"
    default_message = "Insufficient information. Origin request header needed."


async def _rules(ctx: S3Context, bucket: str) -> tuple[CorsRule, ...] | None:
    """The bucket's rules (empty: no configuration); None if there is no such bucket."""
    row = await ctx.read(ctx.objects.repo.get_bucket, bucket)
    if row is None:
        return None
    return parse_rules(row.cors) if row.cors else ()


def _allow(resp: S3Response, rule: CorsRule, origin: str) -> None:
    resp.header("access-control-allow-origin", "*" if rule.any_origin else origin)
    resp.header("access-control-allow-methods", ", ".join(rule.methods))
    if rule.expose:
        resp.header("access-control-expose-headers", ", ".join(rule.expose))
    if rule.max_age is not None:
        resp.header("access-control-max-age", str(rule.max_age))
    if not rule.any_origin:
        resp.header("access-control-allow-credentials", "true")


async def preflight(ctx: S3Context, req: S3Request, bucket: str | None) -> S3Response:
    """The answer to an OPTIONS request for ``bucket`` (its name, already resolved)."""
    origin = req.headers.get("origin")
    if not origin:
        raise CorsBadRequest()
    method = req.headers.get("access-control-request-method")
    if not method:
        raise CorsBadRequest("Invalid Access-Control-Request-Method: null")
    resource = "OBJECT" if req.key is not None else "BUCKET"
    rules = await _rules(ctx, bucket) if bucket else ()
    if rules is None:
        raise NoSuchBucket(BucketName=bucket or "")
    if not rules:
        raise AccessForbidden(
            "CORSResponse: CORS is not enabled for this bucket.", Method=method, ResourceType=resource
        )
    requested = [
        h.strip() for h in req.headers.get("access-control-request-headers", "").split(",") if h.strip()
    ]
    rule = first_match(rules, origin, method, requested)
    if rule is None:
        raise AccessForbidden(Method=method, ResourceType=resource)
    resp = S3Response(200)
    _allow(resp, rule, origin)
    if requested:
        resp.header("access-control-allow-headers", ", ".join(requested))
    resp.header("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
    return resp


async def decorate(ctx: S3Context, req: S3Request, bucket: str | None, resp: S3Response) -> None:
    """Adds the CORS headers of the rule that allows this cross-origin request (if one does)."""
    origin = req.headers.get("origin")
    if not origin or not bucket:
        return
    try:
        rules = await _rules(ctx, bucket)
    except StoreError:
        return
    except Exception:  # a configuration stored before it was validated as today: no CORS headers, no 500
        log.exception("CORS configuration of bucket %s cannot be read", bucket)
        return
    rule = first_match(rules or (), origin, req.method)
    if rule is not None:
        _allow(resp, rule, origin)
        resp.header("vary", "Origin")
