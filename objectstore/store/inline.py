"""Small blobs kept in the database: a write that names one costs the database commit alone.

A blob file costs its own fsync and one of its directory before the row naming it may commit; a small blob
written in that row's transaction costs neither, and is exactly as durable. Used where many small files are
written one at a time (the catalog's metadata files). Its id names the pseudo-root ``INLINE_ROOT``, which no
storage root can be called, so a path that does not know inline blobs fails instead of reading a wrong file.
Readers get it as an anonymous in-memory file, so every read path (ranges, decryption) works unchanged; its
deletion follows the garbage of blob files (``s3_blob_garbage``), after the same grace for readers."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import BinaryIO

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Connection

from infra.db import Database
from objectstore.store.tables import InlineBlobRow

INLINE_ROOT = "@db"
INLINE_MAX = 256 * 1024
"""The largest blob kept inline (bytes as stored): well below the size from which blobs are read with O_DIRECT."""

inline_blobs = InlineBlobRow.__table__  # type: ignore[attr-defined]
_GET = select(inline_blobs.c.data).where(inline_blobs.c.blob_id == bindparam("i_"))


def is_inline(blob_id: str) -> bool:
    return blob_id.startswith(INLINE_ROOT + ".")


def memory_file(data: bytes) -> BinaryIO:
    """An anonymous file holding ``data``, open for reading at offset 0 (a real descriptor: preadv works)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("lakebox-inline-blob", os.MFD_CLOEXEC)
        f: BinaryIO = os.fdopen(fd, "w+b")
    else:  # pragma: no cover - no memfd on this platform
        f = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    try:
        f.write(data)
        f.flush()
        f.seek(0)
    except BaseException:
        f.close()
        raise
    return f


class InlineBlobStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._get = db.prepare(_GET)

    def get(self, blob_id: str) -> bytes | None:
        row = self._get.first({"i_": blob_id})
        return None if row is None else bytes(row.data)

    @staticmethod
    def put_in(conn: Connection, blob_id: str, data: bytes) -> None:
        conn.execute(insert(inline_blobs).values(blob_id=blob_id, data=data))

    @staticmethod
    def forget_in(conn: Connection, blob_ids: Sequence[str]) -> None:
        """Deletes the inline ones of ``blob_ids`` (reaped garbage)."""
        ids = [b for b in blob_ids if is_inline(b)]
        if ids:
            conn.execute(delete(inline_blobs).where(inline_blobs.c.blob_id.in_(ids)))
