"""Limits on what a client can hold before it is served, enforced in the HTTP protocol (before any app code, so
before authentication).

- The request line's URL and the header section (each header counted as ``name: value`` CRLF) have byte caps
  (httptools has none: it would buffer a head of any size). A head is measured exactly only when the reads it
  came in were larger than the smaller cap, so a usual request pays nothing; a head still incomplete after both
  caps' worth of bytes is refused before it ends (one endless header line).
- The whole request head must arrive within ``header_timeout`` of the connection opening or of the request's
  first byte: a total, so a client that sends one byte every few seconds (slowloris) is cut off too.
- A request body, or a response, that makes no progress for ``body_timeout`` while lakebox waits on the client
  ends the connection. On the catalog and console ports, whose apps read a body before they know the caller, the
  whole body is due within ``body_timeout``. (The S3 API knows the caller from the head and answers a refused
  request without reading its body; a response that leaves a body unread closes the connection.)
- Past ``max_connections`` connections on a worker, a request is answered 503 SlowDown at once.

A refusal is answered in the style of the port it arrived on (S3 XML, Iceberg JSON, Cloudflare's envelope) and
closes the connection. Deadlines are checked by one sweep a second per worker, so the request path pays no timer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from dataclasses import dataclass
from time import monotonic
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from lakebox.http_protocol import CoalescingHttpToolsProtocol
from lakebox.settings import Settings
from objectstore.api.errors import error_body
from objectstore.api.request import new_request_id

log = logging.getLogger("lakebox")
SWEEP_INTERVAL = 1.0
DISCARD_LIMIT = 1 << 20  # bytes of an answered request's unread body dropped to keep its connection


@dataclass(frozen=True)
class Refusal:
    s3_status: int
    s3_code: str
    status: int  # on the catalog and console ports
    message: str
    retry_after: int | None = None
    catalog_type: str | None = None  # the Iceberg error type when it is not the S3 code


class Refused(Exception):
    """Raised from a parser callback to stop parsing and answer ``refusal``."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.s3_code)
        self.refusal = refusal


URL_TOO_LONG = Refusal(
    414, "RequestURITooLong", 414, "The request line's URL exceeds the maximum allowed size."
)
HEADERS_TOO_LARGE = Refusal(
    400,
    "RequestHeaderSectionTooLarge",
    431,
    "Your request header section exceeds the maximum allowed size.",
)
HEAD_TIMEOUT = Refusal(
    400,
    "RequestTimeout",
    408,
    "Your socket connection to the server was not read from or written to within the timeout period.",
)
MALFORMED = Refusal(
    400,
    "BadRequest",
    400,
    "The request could not be parsed as HTTP/1.1.",
    catalog_type="BadRequestException",
)
BUSY = Refusal(503, "SlowDown", 503, "Please reduce your request rate.", retry_after=1)


@dataclass(frozen=True)
class ConnectionLimits:
    max_request_line_bytes: int
    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int
    s3_ports: frozenset[int]  # S3 and public buckets: errors as S3 XML
    catalog_port: int  # Iceberg's ErrorModel; any other port: Cloudflare's v4 envelope

    @property
    def smaller_cap(self) -> int:
        return min(self.max_request_line_bytes, self.max_header_bytes)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            max_request_line_bytes=settings.max_request_line_bytes,
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_connections=settings.max_connections,
            s3_ports=frozenset((settings.s3_port, settings.public_port)),
            catalog_port=settings.catalog_port,
        )


def guarded_protocol(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, carrying this server's limits."""
    limits = ConnectionLimits.from_settings(settings)
    return type("LakeboxHttpProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})


class GuardedHttpToolsProtocol(CoalescingHttpToolsProtocol):
    limits: ClassVar[ConnectionLimits]

    _head_started: float | None  # when the pending request head began (None: no head pending)
    _head_begun: bool  # some byte of the pending head has arrived
    _head_seen: int  # bytes received since the pending head began (whole reads: at least the head's size)
    _read_size: int
    _last_read: float
    _body_started: float  # when the current request's head was complete
    _write_stalled_since: float | None
    _write_buffered: int
    _discarding: int

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = monotonic()
        self._head_started, self._head_begun, self._head_seen, self._read_size = now, False, 0, 0
        self._last_read = self._body_started = now
        self._write_stalled_since, self._write_buffered = None, 0
        self._discarding = 0  # bytes of an answered request's unread body still to drop (-1: over the limit)
        port = self.server[1] if self.server else None
        self._style = (
            "s3" if port in self.limits.s3_ports else "catalog" if port == self.limits.catalog_port else ""
        )
        _Sweeper.watch(self.loop, self.connections)

    def data_received(self, data: bytes) -> None:
        self._last_read = monotonic()
        self._read_size = len(data)
        if self._head_started is not None:
            self._head_seen += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, Refused):
                self.refuse(exc.__context__.refusal)
            else:
                self._invalid_request()
            return
        except httptools.HttpParserError:
            self._invalid_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        limits = self.limits
        if (
            self._head_started is not None
            and self._head_seen > limits.max_request_line_bytes + limits.max_header_bytes
        ):
            # Still no end of the head after more than both caps: refused before it is complete.
            url_too_long = not self.headers and len(self.url) > limits.max_request_line_bytes
            self.refuse(URL_TOO_LONG if url_too_long else HEADERS_TOO_LARGE)

    def _invalid_request(self) -> None:
        """Bytes that are not HTTP/1.1 (uvicorn would answer a plain-text 400): answered in the port's style."""
        self.logger.debug("Invalid HTTP request received.")
        self.refuse(MALFORMED)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._discarding = 0
        if self._head_started is None:
            self._head_started = monotonic()
        self._head_begun, self._head_seen = True, self._read_size

    def on_headers_complete(self) -> None:
        self._head_started, self._head_begun = None, False
        self._body_started = self._last_read
        limits = self.limits
        # Only a head that came with more bytes than the smaller cap can be over either: counted only then.
        if self._head_seen > limits.smaller_cap:
            if len(self.url) > limits.max_request_line_bytes:
                raise Refused(URL_TOO_LONG)
            if sum(len(name) + len(value) + 4 for name, value in self.headers) > limits.max_header_bytes:
                raise Refused(HEADERS_TOO_LARGE)
        if len(self.connections) > limits.max_connections:
            raise Refused(BUSY)
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # The client may still be sending a body nobody will read. Closing now, with its bytes arriving, makes the
        # kernel reset the connection, and a reset can destroy the answer before the client reads it; so up to
        # DISCARD_LIMIT bytes are read and dropped (as uvicorn does) and the connection lives on. A larger rest is
        # cut off, and one that stalls is closed by the sweep. (A pipelined request's body was read to its end.)
        self._discarding = DISCARD_LIMIT if not self.pipeline and self.cycle.more_body else 0
        super().on_response_complete()

    def on_body(self, body: bytes) -> None:
        if self._discarding:
            self._discarding = max(self._discarding - len(body), -1)
            if self._discarding < 0 and not self.transport.is_closing():
                log.info("closing a connection whose unread request body is over %d bytes", DISCARD_LIMIT)
                self.transport.close()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._discarding = 0
        super().on_message_complete()

    def refuse(self, refusal: Refusal) -> None:
        """Answers ``refusal`` and closes the connection (after the response in progress, if one is)."""
        self._head_started = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # A pipelined request refused while the one before it is still answered: finish that one, then close.
            cycle.keep_alive = False
            self.flow.pause_reading()
            return
        status, headers, body = self._render(refusal)
        content = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            content += [name, b": ", value, b"\r\n"]
        content += [b"content-length: ", str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body]
        self.transport.write(b"".join(content))
        self.transport.close()

    def _render(self, refusal: Refusal) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers: list[tuple[bytes, bytes]] = []
        if refusal.retry_after is not None:
            headers.append((b"retry-after", str(refusal.retry_after).encode()))
        if self._style == "s3":
            request_id = new_request_id()
            headers += [(b"content-type", b"application/xml"), (b"x-amz-request-id", request_id.encode())]
            return refusal.s3_status, headers, error_body(refusal.s3_code, refusal.message, request_id)
        document: dict[str, Any]
        if self._style == "catalog":  # the Iceberg REST spec's ErrorModel
            document = {
                "error": {
                    "message": refusal.message,
                    "type": refusal.catalog_type or refusal.s3_code,
                    "code": refusal.status,
                }
            }
        else:  # Cloudflare's v4 envelope
            error = {"code": refusal.status, "message": refusal.message}
            document = {"success": False, "errors": [error], "messages": [], "result": None}
        headers.append((b"content-type", b"application/json"))
        return refusal.status, headers, json.dumps(document).encode()

    def check_deadlines(self, now: float) -> None:
        """Called by the sweep: ends a connection whose client is past one of its deadlines."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        limits = self.limits
        if self._head_started is not None and now - self._head_started > limits.header_timeout:
            if self._head_begun:
                self.refuse(HEAD_TIMEOUT)
            else:  # a connection that never sent a byte gets no answer
                self._head_started = None
                transport.close()
            return
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.more_body
            and (self._discarding or not cycle.response_complete)
            and not cycle.waiting_for_100_continue
        ):  # waiting on the client's body (or on the rest of one answered without it)
            stalled = not self.flow.read_paused and now - self._last_read > limits.body_timeout
            # The catalog and the console read their (small, JSON) bodies before they know the caller: a whole
            # body is due within the timeout, so a client without credentials cannot trickle one for hours.
            # So is the rest of a body lakebox answered without reading.
            late = (
                self._style != "s3" or self._discarding
            ) and now - self._body_started > limits.body_timeout
            if stalled or late:
                log.info("closing a connection whose request body did not arrive in %ss", limits.body_timeout)
                transport.close()
                return
        if not self.flow.write_paused:
            self._write_stalled_since = None
            return
        buffered = transport.get_write_buffer_size()
        if self._write_stalled_since is None or buffered < self._write_buffered:
            self._write_stalled_since, self._write_buffered = now, buffered  # paused, or the client read some
        elif now - self._write_stalled_since > limits.body_timeout:
            log.info("aborting a connection whose client read nothing for %ss", limits.body_timeout)
            transport.abort()


class _Sweeper:
    """Once a second per event loop, checks every connection's deadlines."""

    _loops: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sweeper]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        self._loop = loop
        self._connections = connections

    @classmethod
    def watch(cls, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        if loop not in cls._loops:
            sweeper = cls._loops[loop] = cls(loop, connections)
            loop.call_later(SWEEP_INTERVAL, sweeper.sweep)

    def sweep(self) -> None:
        now = monotonic()
        for connection in list(self._connections):
            if isinstance(connection, GuardedHttpToolsProtocol):
                try:
                    connection.check_deadlines(now)
                except Exception:  # one broken connection must not stop the sweep for the others
                    log.exception("checking a connection's deadlines")
        if not self._loop.is_closed():
            self._loop.call_later(SWEEP_INTERVAL, self.sweep)
