"""uvicorn's httptools protocol with three changes for the data path: small writes made in one event-loop turn
leave as one, request body chunks reach the app without being copied twice, and a response may run 2 MiB ahead of
the client.

uvicorn writes a response's status line and headers the moment the app sends ``http.response.start``, and each
body message separately. With TCP_NODELAY (set on every connection) a 4 KiB GET then costs two segments, two
system calls, and two wake-ups of the client, which on a small machine is a fifth of the request's cost. Here the
transport holds small writes until the end of the current loop turn (by then the app has usually sent its body
too) and sends them with one ``writelines``; a large write goes out at once, together with what is pending.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Writes at least this large are not held (and not copied): they leave at once with whatever is pending.
HOLD_LIMIT = 64 * 1024


class CoalescingTransport:
    """Wraps a transport; everything but writing is delegated to it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._scheduled = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= HOLD_LIMIT:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush_soon)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _flush_soon(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        if len(pending) == 1:
            self._transport.write(pending[0])
        else:
            self._transport.writelines(pending)
        self._pending = []
        self._pending_size = 0

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._pending_size

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._pending_size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # The default 64 KiB high-water mark stops a large download after every chunk until the client has
        # taken nearly all of it; room for two 1 MiB chunks keeps the socket busy (256 MiB GET: 470 -> 710 MiB/s).
        transport.set_write_buffer_limits(high=2 << 20)
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_body(self, body: bytes) -> None:
        """As uvicorn's, but a chunk that finds the buffer empty is kept as it is: uvicorn appends every chunk to
        a bytearray and copies that again into the bytes it hands the app, two copies of every uploaded byte.
        (``receive`` turns the buffer into bytes with ``bytes()``, which returns a bytes object itself.)"""
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        if cycle.body:
            cycle.body += body
        else:
            cycle.body = body  # type: ignore[assignment]
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()
