"""What a handler returns: status, headers and a body (bytes or a stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class S3Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | bytearray | AsyncIterator[bytes | bytearray] = b""  # a bytearray is never reused once sent
    content_length: int | None = None  # for streamed bodies

    def header(self, name: str, value: str | int | None) -> S3Response:
        if value is not None:
            self.headers.append((name, str(value)))
        return self


def xml(body: bytes, status: int = 200) -> S3Response:
    return S3Response(status, [("content-type", "application/xml")], body)


def empty(status: int = 200) -> S3Response:
    return S3Response(status)
