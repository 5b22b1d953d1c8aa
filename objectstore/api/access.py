"""Access control for S3 operations: one mechanism for every route.

Before a handler runs, ``enforce`` checks, from what the route declares:

1. the permission table for the route's action on the addressed bucket (``auth.service.authorize``);
2. the object key in the path (object routes) against a temporary credential's scope;
3. the copy source (``x-amz-copy-source``: CopyObject, UploadPartCopy): read access to that bucket and key;
4. for bucket routes, what the route says it touches (``Route.keys``):
   ``"prefix"``: a listing, allowed only if its ``prefix`` query parameter confines it to the scope;
   ``"body"``: keys named in the body, which the handler checks one by one with ``permits_key``/``check_key``;
   ``"none"``: no object keys (HeadBucket, bucket configuration);
   undeclared: refused to a key-restricted credential (a new route fails closed until it declares its keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, unquote_to_bytes

from auth.service.authorize import authorize, authorize_key, authorize_listing, permits_key
from auth.service.errors import AccessDenied
from auth.service.principal import Action
from objectstore.api.request import S3Request
from objectstore.service.errors import InvalidArgument, InvalidBucketName
from objectstore.service.placement import bucket_id

if TYPE_CHECKING:
    from objectstore.api.router import Route

COPY_SOURCE = "x-amz-copy-source"


def copy_source(req: S3Request) -> tuple[str, str, str | None] | None:
    """``x-amz-copy-source`` as (bucket, key, version id); None when absent. Accepts ``/bucket/key`` and
    ``bucket/key``, percent-encoded, with an optional ``?versionId=``. The source bucket is in the jurisdiction
    of the endpoint the request came to (as every bucket a request names)."""
    raw = req.headers.get(COPY_SOURCE)
    if raw is None:
        return None
    path, _, query = raw.partition("?")
    version = None
    if query:
        name, _, value = query.partition("=")
        if name != "versionId":
            raise InvalidArgument("Invalid copy source", ArgumentName=COPY_SOURCE)
        version = unquote(value)
    try:  # as the request path: UTF-8 after percent-decoding, no NUL
        path = unquote_to_bytes(path).decode()
    except UnicodeDecodeError:
        path = "\0"
    if "\0" in path:
        raise InvalidArgument("Invalid copy source encoding.", ArgumentName=COPY_SOURCE)
    bucket, slash, key = path.removeprefix("/").partition("/")
    if not bucket or not slash or not key:
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName=COPY_SOURCE,
        )
    if "_" in bucket:
        raise InvalidBucketName(BucketName=bucket)
    return bucket_id(bucket, req.jurisdiction), key, version


def enforce(req: S3Request, route: Route) -> None:
    principal = req.principal
    authorize(principal, route.action, req.bucket)
    if req.bucket is not None and req.key is not None:
        authorize_key(principal, route.action, req.bucket, req.key)
    source = copy_source(req) if req.method == "PUT" and req.key is not None else None
    if source is not None:
        authorize_key(principal, Action.READ_OBJECT, source[0], source[1])
    if req.bucket is None or req.key is not None:
        return
    if route.keys == "prefix":
        authorize_listing(principal, req.bucket, req.query.get("prefix", ""))
    elif route.keys not in ("body", "none") and principal is not None and principal.key_restricted:
        raise AccessDenied()


def allows_key(req: S3Request, action: Action, key: str) -> bool:
    """For handlers of ``keys="body"`` routes: may the caller perform ``action`` on ``key`` of this bucket?"""
    assert req.bucket is not None
    return permits_key(req.principal, action, req.bucket, key)


def check_key(req: S3Request, action: Action, key: str) -> None:
    if not allows_key(req, action, key):
        raise AccessDenied()
