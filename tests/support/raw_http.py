"""HTTP/1.1 over a plain socket, for requests no client library would send: any bytes in the path, the query and
header values; and botocore's SigV4 signer applied to such requests so that they pass authentication."""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

Headers = list[tuple[str, str]]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names, last value wins
    body: bytes
    closed: bool = False  # the server closed the connection after it

    @property
    def code(self) -> str:
        match = re.search(rb"<Code>([^<]+)</Code>", self.body)
        return match.group(1).decode() if match else ""

    def error_xml(self) -> ElementTree.Element:
        """The body as S3's ``<Error>`` document; fails the test if it is not one."""
        root = ElementTree.fromstring(self.body)  # noqa: S314 - our own server's answer
        assert root.tag == "Error", self.body[:300]
        assert root.findtext("Code"), self.body[:300]
        assert root.findtext("RequestId") is not None, self.body[:300]
        return root


class ServerClosed(Exception):
    """The connection ended before a complete response."""


@dataclass
class RawClient:
    host: str
    port: int
    timeout: float = 60.0
    _sock: socket.socket | None = None
    _buffer: bytearray = field(default_factory=bytearray)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buffer.clear()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer.clear()
        return self._sock

    def request(
        self, method: str, target: bytes, headers: Headers | list[tuple[bytes, bytes]], body: bytes = b""
    ) -> RawResponse:
        """Sends one request (with Content-Length) and reads its response; a kept-alive connection the server
        had already closed is reopened once."""
        lines = [method.encode("latin-1") + b" " + target + b" HTTP/1.1"]
        names = set()
        for name, value in headers:
            raw_name = name if isinstance(name, bytes) else name.encode("latin-1")
            raw_value = value if isinstance(value, bytes) else value.encode()
            names.add(raw_name.lower())
            lines.append(raw_name + b": " + raw_value)
        if b"host" not in names:
            lines.append(f"Host: {self.host}:{self.port}".encode())
        if b"content-length" not in names and b"transfer-encoding" not in names:
            lines.append(b"Content-Length: " + str(len(body)).encode())
        data = b"\r\n".join(lines) + b"\r\n\r\n" + body
        for attempt in (0, 1):
            reused = self._sock is not None
            try:
                self._connect().sendall(data)
                response = self._read(method)
            except (ServerClosed, ConnectionError):
                nothing_read = not self._buffer
                self.close()
                if reused and attempt == 0 and nothing_read:  # an idle kept-alive connection the server ended
                    continue
                raise
            if response.closed:
                self.close()
            return response
        raise AssertionError("unreachable")

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ServerClosed()
        self._buffer += chunk

    def _read_until(self, marker: bytes) -> bytes:
        while (index := self._buffer.find(marker)) < 0:
            self._fill()
        out = bytes(self._buffer[:index])
        del self._buffer[: index + len(marker)]
        return out

    def _read_exact(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        out = bytes(self._buffer[:count])
        del self._buffer[:count]
        return out

    def _read(self, method: str) -> RawResponse:
        while True:
            head = self._read_until(b"\r\n\r\n").decode("latin-1")
            status_line, *header_lines = head.split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            if status != 100:
                break
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        closed = "close" in headers.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._read_until(b"\r\n").split(b";")[0], 16):
                parts.append(self._read_exact(size))
                self._read_exact(2)
            self._read_until(b"\r\n")
            body = b"".join(parts)
        else:
            chunks = [bytes(self._buffer)]
            self._buffer.clear()
            assert self._sock is not None
            while chunk := self._sock.recv(65536):
                chunks.append(chunk)
            body, closed = b"".join(chunks), True
        return RawResponse(status, headers, body, closed)


def encode_path(*segments: bytes) -> bytes:
    """``/seg1/seg2`` with each byte percent-encoded as SigV4 canonicalises it (so a signature made over it
    verifies)."""
    return b"/" + b"/".join(quote(s, safe="-_.~/").encode() for s in segments)


def encode_query(params: list[tuple[str, str]] | list[tuple[bytes, bytes]]) -> bytes:
    out = []
    for name, value in params:
        n = quote(name, safe="-_.~")
        out.append(n if value is None else f"{n}={quote(value, safe='-_.~')}")
    return "&".join(out).encode()


def sign(
    method: str,
    host: str,
    target: bytes,
    headers: Headers,
    body: bytes,
    key_id: str,
    secret: str,
    region: str = "auto",
) -> Headers:
    """``headers`` plus botocore's SigV4 headers for a request to ``target`` (already encoded canonically)."""
    request = AWSRequest(
        method=method, url=f"http://{host}{target.decode('ascii')}", data=body, headers=dict(headers)
    )
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(key_id, secret), "s3", region).add_auth(request)
    assert urlsplit(request.url).path == target.decode("ascii").partition("?")[0]
    return list(request.headers.items())


def send_signed(
    raw: RawClient, method: str, target: bytes | str, body: bytes, key_id: str, secret: str, **headers: str
) -> RawResponse:
    """One request on ``raw``'s connection, signed with SigV4 for ``raw``'s host and port."""
    path = target.encode() if isinstance(target, str) else target
    sent = sign(method, f"{raw.host}:{raw.port}", path, list(headers.items()), body, key_id, secret)
    return raw.request(method, path, sent, body)
