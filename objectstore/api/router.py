"""Routing: each request resolves to one typed S3 operation (garage's router), then a single dispatch.

A route is chosen by method, by what the path addresses (service, bucket or object) and by the sub-resource
query parameter or header that names the operation. Each operation declares the action it needs, which the app
authorises before the handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from auth.service.principal import Action
from objectstore.api.context import S3Context
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response
from objectstore.service.errors import MethodNotAllowed, NotImplementedOp

Handler = Callable[[S3Context, S3Request], Awaitable[S3Response]]
KeysTouched = Literal["prefix", "body", "none"]


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # the S3 operation name (e.g. "PutObject")
    method: str
    target: str  # "service", "bucket" or "object"
    action: Action
    handler: Handler
    query: str | None = None  # a query parameter whose presence selects this route
    header: str | None = None  # a header whose presence selects this route
    # Which object keys a bucket route touches, for scoped credentials (see objectstore.api.access):
    # "prefix" (a listing's prefix), "body" (the handler checks each key), "none"; None refuses scoped callers.
    keys: KeysTouched | None = None


ROUTES: list[Route] = []

# S3 sub-resources R2 does not implement: answered 501 NotImplemented, never treated as a plain object/bucket
# call. Any other query parameter an operation does not know is ignored (as S3 and R2 do: ``x-id``, ``x-purpose``).
UNSUPPORTED_SUBRESOURCES = frozenset(
    {
        "acl", "analytics", "accelerate", "intelligent-tiering", "inventory", "legal-hold", "logging",
        "metrics", "notification", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
        "replication", "requestPayment", "restore", "retention", "select", "tagging", "torrent", "versioning",
        "versions", "website", "object-lock", "encryption", "attributes", "session", "metadataTable",
        "metadataConfiguration", "renameObject",
    }
)  # fmt: skip


def route(
    name: str,
    method: str,
    target: str,
    action: Action,
    *,
    query: str | None = None,
    header: str | None = None,
    keys: KeysTouched | None = None,
) -> Callable[[Handler], Handler]:
    """Registers a handler for an operation."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(name, method, target, action, handler, query, header, keys))
        return handler

    return register


def resolve(req: S3Request) -> Route:
    target = "object" if req.key is not None else "bucket" if req.bucket is not None else "service"
    method = "GET" if req.method == "HEAD" and target == "service" else req.method
    candidates = [r for r in ROUTES if r.target == target and r.method == method]
    # Routes named by both a query parameter and a header first, then by either, then the plain operation.
    candidates.sort(key=lambda r: (r.query is None) + (r.header is None))
    for r in candidates:
        if r.query is None and r.header is None and any(q in UNSUPPORTED_SUBRESOURCES for q in req.query):
            raise NotImplementedOp()
        if r.query is not None and r.query not in req.query:
            continue
        if r.header is not None and r.header not in req.headers:
            continue
        return r
    if candidates or any(q in UNSUPPORTED_SUBRESOURCES for q in req.query):
        raise NotImplementedOp()
    raise MethodNotAllowed(Method=req.method, ResourceType=target.upper())
