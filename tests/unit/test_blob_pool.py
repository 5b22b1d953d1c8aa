"""The blob store's buffer pool when it is full: a reader's buffer that cannot be pooled is dropped, not closed
under its consumer (a soak at concurrency 32 answered GETs 500 with "BufferError: cannot close exported pointers
exist" once the pool had filled)."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from objectstore.store.blobs import _POOLED_BUFFERS, BUFFER_SIZE, LocalBlobStore


def test_a_reader_returns_its_buffer_to_a_full_pool_while_its_last_view_is_held(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, "node")
    data = os.urandom(3 * BUFFER_SIZE // 2)
    writer = store.create(None)
    writer.write(data)
    if writer.needs_drain:
        writer.drain()
    writer.finish()
    got = bytearray()
    with open(writer.path, "rb") as f:
        for view in store.read_views(f, 0, len(data), BUFFER_SIZE):
            while len(store.direct._free) < _POOLED_BUFFERS:  # other requests fill the pool meanwhile
                store.direct.give(mmap.mmap(-1, BUFFER_SIZE))
            got += view  # ``view`` is still held when the generator ends and gives its buffer back
    assert got == data
    assert len(store.direct._free) == _POOLED_BUFFERS
