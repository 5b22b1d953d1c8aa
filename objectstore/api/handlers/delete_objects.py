"""DeleteObjects (POST /bucket?delete)."""

from __future__ import annotations

import anyio.to_thread

from auth.service.principal import Action
from objectstore.api import access, xml
from objectstore.api.context import S3Context
from objectstore.api.request import S3Request
from objectstore.api.response import S3Response
from objectstore.api.router import route
from objectstore.service.errors import MalformedXML, StoreError
from objectstore.service.names import key_identity

MAX_KEYS = 1000


@route("DeleteObjects", "POST", "bucket", Action.WRITE_OBJECT, query="delete", keys="body")
async def delete_objects(ctx: S3Context, req: S3Request) -> S3Response:
    assert req.bucket is not None
    root = xml.parse(await req.read_body(xml.MAX_XML_BODY))
    if xml.local(root.tag) != "Delete":
        raise MalformedXML()
    quiet = (xml.child_text(root, "Quiet") or "").strip().lower() == "true"
    keys = [xml.child_text(obj, "Key") for obj in xml.children(root, "Object")]
    if not keys or len(keys) > MAX_KEYS or any(k is None for k in keys):
        raise MalformedXML()
    valid: list[str] = []
    errors: list[str] = []
    for key in keys:
        assert key is not None
        if not access.allows_key(req, Action.WRITE_OBJECT, key):
            # As S3 evaluates a multi-object delete: permission per key, an AccessDenied entry for each refused
            # key, the others deleted.
            errors.append(
                f"<Error><Key>{xml.escape(key)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            )
            continue
        try:
            key_identity(key)
            valid.append(key)
        except StoreError as exc:
            errors.append(
                f"<Error><Key>{xml.escape(key)}</Key><Code>{exc.code}</Code><Message>{xml.escape(exc.message)}</Message></Error>"
            )
    locked = await anyio.to_thread.run_sync(ctx.objects.delete_many, req.bucket, valid)
    if locked:  # retained by a bucket lock: an error entry per key, as for a refused permission
        kept = [k for k in valid if key_identity(k) in locked]
        errors += [
            f"<Error><Key>{xml.escape(k)}</Key><Code>{locked[key_identity(k)].code}</Code>"
            f"<Message>{xml.escape(locked[key_identity(k)].message)}</Message></Error>"
            for k in kept
        ]
        valid = [k for k in valid if key_identity(k) not in locked]
    deleted = "" if quiet else "".join(f"<Deleted><Key>{xml.escape(k)}</Key></Deleted>" for k in valid)
    return S3Response(
        200, [("content-type", "application/xml")], xml.document("DeleteResult", deleted + "".join(errors))
    )
