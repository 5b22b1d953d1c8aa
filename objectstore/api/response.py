"""What a handler returns: status, headers and a body (bytes or a stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

RETRIEVED = "s3.retrieved"
# Where an app below a mount that copies the scope reports it instead: a list the counting wrapper put there.
RETRIEVED_SLOT = "s3.retrieved_slot"


@dataclass(slots=True)
class S3Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | bytearray | AsyncIterator[bytes | bytearray] = b""  # a bytearray is never reused once sent
    content_length: int | None = None  # for streamed bodies
    # Infrequent Access data this answer read, for R2's data retrieval analytics: (storage class, bytes; None:
    # the body's bytes as sent). Put in the ASGI scope under RETRIEVED by the app that sends it.
    retrieved: tuple[str, int | None] | None = None

    def header(self, name: str, value: str | int | None) -> S3Response:
        if value is not None:
            self.headers.append((name, str(value)))
        return self


def xml(body: bytes, status: int = 200) -> S3Response:
    return S3Response(status, [("content-type", "application/xml")], body)


def empty(status: int = 200) -> S3Response:
    return S3Response(status)
