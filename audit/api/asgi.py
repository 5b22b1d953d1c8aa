"""The one place every API's configuration changes are recorded: ASGI wrappers around the console app
(``/client/v4``) and the S3 app. Each request that may be a change runs with a ``PendingEntry`` as
its transaction follower (the entry commits with the change), and its answer completes the record. They see the
method, path, status and actor, and peek only at small answers: an error's code, or a created resource's name or
id (never anything else of a body)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread

from audit.service.audit import S3_CHANGES, AuditLog, Change, PendingEntry, is_console_change
from infra.followers import following

log = logging.getLogger("lakebox.audit")
PEEK_LIMIT = 64 * 1024
_XML_CODE = re.compile(rb"<Code>([^<]{1,64})</Code>")
# Path segments followed by the name of what a console route changes.
_TARGET_AFTER = ("buckets", "r2-catalog", "tokens", "r2", "custom", "queues", "migrations")
_CREATED_KEYS = ("id", "name", "accessKeyId", "access_key_id")


def console_target(path: str) -> str:
    """``bucket`` (``bucket/domain``, ...) named by a console path; "" when the path names none."""
    parts = [p for p in path.split("/") if p]
    names = [
        parts[i + 1]
        for i, part in enumerate(parts[:-1])
        if part in _TARGET_AFTER and parts[i + 1] not in ("buckets", "temp-access-credentials", "verify")
    ]
    return "/".join(names)


def _peek(body: bytes, status: int) -> tuple[str, str]:
    """(error code, created name or id) found in an answer."""
    if not body:
        return "", ""
    if body.lstrip().startswith(b"<"):
        found = _XML_CODE.search(body)
        return (found.group(1).decode(errors="replace") if found else ""), ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    if status >= 400:
        errors = parsed.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("code", ""))[:64], ""
        return str(parsed.get("code") or parsed.get("status_code") or "")[:64], ""
    result = parsed.get("result", parsed)
    if isinstance(result, dict):
        for key in _CREATED_KEYS:
            if isinstance(result.get(key), str):
                return "", result[key]
    return "", ""


class _Answer:
    """What a wrapped app answers: its status and, when asked for, the first bytes of its body. ``finish`` runs
    before the answer's last message goes out, so a client that saw the answer can already read the entry."""

    def __init__(
        self, send: Any, peek: Callable[[int], bool], finish: Callable[[_Answer], Awaitable[None]]
    ) -> None:
        self._send = send
        self._peek = peek
        self._finish = finish
        self.status = 0
        self.keep = False
        self.finished = False
        self.body = bytearray()

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.keep = self._peek(self.status)
        elif message["type"] == "http.response.body":
            if self.keep and len(self.body) < PEEK_LIMIT:
                self.body += message.get("body", b"")[: PEEK_LIMIT - len(self.body)]
            if not message.get("more_body", False):
                await self.finish()
        await self._send(message)

    async def finish(self) -> None:
        if not self.finished:
            self.finished = True
            await self._finish(self)


class AuditedConsole:
    """Records every change through the console's APIs (``actor_of`` maps a bearer value to a token id)."""

    def __init__(self, app: Any, audit: AuditLog, actor_of: Callable[[str], str]) -> None:
        self.app = app
        self.audit = audit
        self.actor_of = actor_of

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_console_change(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        actor = await anyio.to_thread.run_sync(self.actor_of, _bearer(scope))
        change = Change(actor, "cloudflare", f"{method} {path}", console_target(path))
        pending = PendingEntry(self.audit, lambda: change)

        async def finish(answer: _Answer) -> None:
            code, created = _peek(bytes(answer.body), answer.status)
            # A creation is named by its answer: the new bucket's name, token's id, credential's key id.
            await _finish(pending, answer.status, code, created if method == "POST" else "")

        answer = _Answer(send, lambda status: status >= 400 or method == "POST", finish)
        try:
            with following(pending):
                await self.app(scope, receive, answer.send)
        finally:
            await answer.finish()


class AuditedS3:
    """Records S3 requests that change a bucket (CreateBucket, PutBucketCors, ...)."""

    def __init__(self, app: Any, audit: AuditLog) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "DELETE", "POST"):
            await self.app(scope, receive, send)
            return

        def describe() -> Change | None:
            operation = scope.get("s3.operation")
            if operation not in S3_CHANGES:
                return None
            return Change(scope.get("s3.actor", ""), "s3", operation, scope.get("s3.bucket", ""))

        pending = PendingEntry(self.audit, describe)

        async def finish(answer: _Answer) -> None:
            if scope.get("s3.operation") in S3_CHANGES:
                code, _ = _peek(bytes(answer.body), answer.status)
                await _finish(pending, answer.status, code, "")
            else:
                pending.close()

        answer = _Answer(
            send, lambda status: status >= 400 and scope.get("s3.operation") in S3_CHANGES, finish
        )
        try:
            with following(pending):
                await self.app(scope, receive, answer.send)
        finally:
            await answer.finish()


def _bearer(scope: Any) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


async def _finish(pending: PendingEntry, status: int, code: str, created: str) -> None:
    if pending.complete(status, created):  # closes it: the writes below are the audit log's own
        return
    try:
        await anyio.to_thread.run_sync(pending.finish, status, code, created)
    except Exception as exc:  # the change happened; losing its entry must not turn it into an error
        log.error("cannot complete an audit entry: %s", type(exc).__name__)
