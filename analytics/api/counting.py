"""Counts object operations made through the Cloudflare API (``/client/v4/.../r2/buckets/{b}/objects/{key}``)
as R2 does: they are the same operations as through S3 (PutObject, GetObject, DeleteObject)."""

from __future__ import annotations

from typing import Any

from analytics.service.counting import OperationCounter
from objectstore.api.response import RETRIEVED_SLOT

_OBJECT_ACTIONS = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
_PREFIX = "/client/v4/accounts/"


def object_route_bucket(path: str) -> str | None:
    """The bucket of a management object route, None for any other path."""
    if not path.startswith(_PREFIX):
        return None
    parts = path[len(_PREFIX) :].split("/", 5)  # account, r2, buckets, bucket, objects, key
    if len(parts) == 6 and parts[1] == "r2" and parts[2] == "buckets" and parts[4] == "objects" and parts[5]:
        return parts[3]
    return None


class CountedObjectRoutes:
    """Wraps the console app; every other request passes through untouched."""

    def __init__(self, app: Any, counter: OperationCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        action = _OBJECT_ACTIONS.get(scope.get("method", "")) if scope["type"] == "http" else None
        bucket = object_route_bucket(scope["path"]) if action else None
        if action is None or bucket is None:
            await self.app(scope, receive, send)
            return
        status = sent = 0
        # The management app runs below a mount that copies the scope: it reports a read of IA data in this list.
        retrieved: list[tuple[str, int | None]] = []
        scope[RETRIEVED_SLOT] = retrieved

        async def observed(message: Any) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self.counter.record(bucket, action, status)
            if retrieved and 200 <= status < 300:
                storage_class, size = retrieved[0]
                self.counter.record_retrieval(
                    bucket, action, status, storage_class, sent if size is None else size
                )
