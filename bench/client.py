"""A small, fast S3 client for the benchmark: HTTP/1.1 keep-alive connections on asyncio with httptools'
response parser, plus a minimal SigV4 signer.

The client shares the machine's cores with the server under test, so every microsecond it spends is taken from
the server: boto3 spends around a millisecond of CPU per request, aiohttp ~150 us, this client ~40 us. It signs
with a signing key computed once per day and a canonical request assembled from known pieces
(``host;x-amz-content-sha256;x-amz-date`` signed, ``UNSIGNED-PAYLOAD`` for every body), writes each request
with one system call (bodies in slices, under flow control) and parses responses in C. Keys used by the
benchmark are plain ASCII (letters, digits, ``/``, ``-``, ``_``, ``.``), which need no percent-encoding.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote, urlsplit

import httptools

UNSIGNED = "UNSIGNED-PAYLOAD"
SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"
_SAFE_KEY = re.compile(r"[A-Za-z0-9/._-]*")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode(), "sha256")


class Signer:
    """SigV4 (header form) for one access key, region and host."""

    def __init__(self, access_key_id: str, secret_access_key: str, region: str, host: str) -> None:
        self.access_key_id = access_key_id
        self.secret = secret_access_key
        self.region = region
        self.host = host
        self._day = ""
        self._key = b""
        self._scope = ""
        self._stamp_second = -1
        self._stamp = ""

    def _amz_date(self) -> str:
        now = int(time.time())
        if now != self._stamp_second:
            self._stamp_second = now
            self._stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        return self._stamp

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            key = _hmac(("AWS4" + self.secret).encode(), day)
            for part in (self.region, "s3", "aws4_request"):
                key = _hmac(key, part)
            self._day, self._key = day, key
            self._scope = f"{day}/{self.region}/s3/aws4_request"
        return self._key

    def headers(self, method: str, path: str, canonical_query: str) -> dict[str, str]:
        """The auth headers for a request; ``path`` is already URI-encoded, ``canonical_query`` sorted."""
        amz_date = self._amz_date()
        key = self._signing_key(amz_date[:8])
        creq = (
            f"{method}\n{path}\n{canonical_query}\nhost:{self.host}\nx-amz-content-sha256:{UNSIGNED}\n"
            f"x-amz-date:{amz_date}\n\n{SIGNED_HEADERS}\n{UNSIGNED}"
        )
        sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{self._scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
        sig = hmac.digest(key, sts.encode(), "sha256").hex()
        return {
            "x-amz-date": amz_date,
            "x-amz-content-sha256": UNSIGNED,
            "authorization": (
                f"AWS4-HMAC-SHA256 Credential={self.access_key_id}/{self._scope}, "
                f"SignedHeaders={SIGNED_HEADERS}, Signature={sig}"
            ),
        }


def canonical_query(params: dict[str, str] | None) -> str:
    if not params:
        return ""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(params.items()))


@dataclass(slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names lower-case
    body: bytes | bytearray
    length: int  # bytes received (equals len(body) unless the body was drained without keeping it)


class ConnectionDropped(Exception):
    """The server closed a kept-alive connection before answering (safe to resend on a new one)."""


WRITE_SLICE = 1024 * 1024
SCRATCH = 64 * 1024  # receive buffer for status lines, headers and bodies of unknown length
WINDOW = 1024 * 1024  # receive buffer handed to a sink as it fills
# Takes (offset, chunk) as a body arrives; a memoryview chunk is valid only during the call (its buffer is reused).
Sink = Callable[[int, bytes | memoryview], None]


class _Connection(asyncio.BufferedProtocol):
    """One keep-alive HTTP/1.1 connection carrying one request at a time.

    The status line and headers go through httptools; a body of known length is then received straight into its
    final buffer (``get_buffer``), so a 1 MiB GET costs the client one kernel copy instead of four.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._done: asyncio.Future[None] | None = None
        self._scratch = bytearray(SCRATCH)
        self._reset(False, None)

    def _reset(self, head: bool, sink: Sink | None) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._head = head
        self._sink = sink
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._length = 0  # body bytes received
        self._expected = -1  # Content-Length (-1: delimited otherwise)
        self._keep_alive = False
        self._body: bytearray | None = None  # the whole body when its length is known and no sink takes it
        self._direct = False  # past the parser: the socket fills the body buffer itself
        self._window: bytearray | None = None  # with a sink: a reused buffer handed to it as it fills
        self._window_fill = 0
        self._started = False
        self._complete = False

    # -- asyncio.BufferedProtocol ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def get_buffer(self, sizehint: int) -> memoryview | bytearray:
        if not self._direct or self._complete:
            return self._scratch  # also between exchanges: the loop asks for a buffer before data arrives
        remaining = self._expected - self._length
        if self._body is not None:
            return memoryview(self._body)[self._length : self._expected]
        assert self._window is not None
        return memoryview(self._window)[self._window_fill : self._window_fill + remaining]

    def buffer_updated(self, nbytes: int) -> None:
        self._started = True
        if self._direct:
            self._length += nbytes
            if self._window is not None:
                self._window_fill += nbytes
                if self._window_fill == len(self._window) or self._length == self._expected:
                    assert self._sink is not None
                    with memoryview(self._window) as window:
                        self._sink(self._length - self._window_fill, window[: self._window_fill])
                    self._window_fill = 0
            if self._length == self._expected:
                self._direct = False
                self._finish()
            return
        try:
            self._parser.feed_data(memoryview(self._scratch)[:nbytes])
        except httptools.HttpParserUpgrade:  # pragma: no cover - never asked for
            self._fail(ConnectionError("unexpected protocol upgrade"))
            return
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad response: {exc}"))
            return
        if not self._complete and self._expected > self._length and (self._body is not None or self._sink):
            self._direct = True
            if self._body is None:
                self._window = bytearray(min(WINDOW, self._expected - self._length))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._can_write.set()
        if self._done is None or self._done.done():
            return
        delimited = "content-length" in self._headers or "transfer-encoding" in self._headers
        if self._started and not delimited and not self._keep_alive and not self._direct:
            self._finish()  # a body delimited by the connection's end
        elif self._started:
            self._fail(ConnectionError("connection closed mid-response"))
        else:
            self._fail(ConnectionDropped())

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # -- httptools callbacks ---------------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        if self._head:
            self._finish()
            return
        length = self._headers.get("content-length")
        bodiless = self._parser.get_status_code() in (204, 304)
        if length is not None and "transfer-encoding" not in self._headers and not bodiless:
            self._expected = int(length)
            if self._sink is None:
                self._body = bytearray(self._expected)

    def on_body(self, body: bytes) -> None:
        if self._body is not None:
            self._body[self._length : self._length + len(body)] = body
        elif self._sink is not None:
            self._sink(self._length, body)
        else:
            self._chunks.append(body)
        self._length += len(body)

    def on_message_complete(self) -> None:
        if not self._complete:
            self._finish()

    def _finish(self) -> None:
        self._complete = True
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    # -- one exchange ----------------------------------------------------------------------------------------

    async def exchange(
        self,
        head: bytes,
        body: bytes | memoryview | None,
        is_head: bool,
        sink: Sink | None,
    ) -> Reply:
        assert self.transport is not None
        self._reset(is_head, sink)
        self._done = asyncio.get_running_loop().create_future()
        if body is None or len(body) <= WRITE_SLICE:
            self.transport.writelines((head, body) if body else (head,))
        else:
            self.transport.write(head)
            view = memoryview(body)
            for start in range(0, len(view), WRITE_SLICE):
                await self._can_write.wait()
                if self.closed:
                    break
                self.transport.write(view[start : start + WRITE_SLICE])
        await self._done
        status = self._parser.get_status_code()
        if not self._keep_alive or self._headers.get("connection", "").lower() == "close":
            self.transport.close()
            self.closed = True
        data = self._body if self._body is not None else b"".join(self._chunks)
        return Reply(status, self._headers, data, self._length)


class S3Client:
    """Keep-alive connections (one per concurrent request, reused) signing every request."""

    def __init__(self, endpoint: str, access_key_id: str, secret_access_key: str, region: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        url = urlsplit(self.endpoint)
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"the benchmark client speaks plain http: {endpoint}")
        self.address = (url.hostname, url.port or 80)
        host = f"{url.hostname}:{url.port}" if url.port and url.port != 80 else url.hostname
        self.signer = Signer(access_key_id, secret_access_key, region, host)
        self._host_line = f"host: {host}\r\n"
        self._idle: list[_Connection] = []

    async def __aenter__(self) -> S3Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self._idle:
            if conn.transport is not None:
                conn.transport.close()
        self._idle.clear()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _transport, conn = await loop.create_connection(_Connection, *self.address)
        return conn

    async def request(
        self,
        method: str,
        bucket: str,
        key: str = "",
        params: dict[str, str] | None = None,
        body: bytes | memoryview | None = None,
        *,
        sink: Sink | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Reply:
        """One signed request. With ``sink`` the body is streamed to ``sink(offset, chunk)``, not kept."""
        if not _SAFE_KEY.fullmatch(key):
            raise ValueError(f"benchmark keys must not need percent-encoding: {key!r}")
        path = f"/{bucket}/{key}" if key else f"/{bucket}"
        cq = canonical_query(params)
        headers = self.signer.headers(method, path, cq)
        if extra_headers:
            headers.update(extra_headers)
        if body is not None:
            headers["content-length"] = str(len(body))
        elif method in ("PUT", "POST"):
            headers["content-length"] = "0"
        target = f"{path}?{cq}" if cq else path
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"{method} {target} HTTP/1.1\r\n{self._host_line}{lines}\r\n".encode()
        for attempt in range(2):
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._connect()
            try:
                reply = await conn.exchange(head, body, method == "HEAD", sink)
            except ConnectionDropped:
                if reused and attempt == 0:
                    continue  # the server had closed this idle connection: resend on a new one
                raise
            if not conn.closed:
                self._idle.append(conn)
            return reply
        raise AssertionError("unreachable")
