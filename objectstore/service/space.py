"""Free space: writes are refused while the disk is short, so that deletes always have room to commit.

A write that would leave less than the reserve free on the file system of the blobs (or of the SQLite database) is
refused with ``InsufficientStorage`` before its body is stored, after reclaiming whatever garbage there is at once
(the grace period is skipped while the disk is short). DeleteObject, DeleteObjects and AbortMultipartUpload are
never refused: they need a few pages of the database's log, which the reserve keeps free, so an operator can
always free space through the API. A write that meets an out-of-space error anyway (another process filled the
disk meanwhile) fails the same way, with its blob removed and no row committed.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from objectstore.service.errors import InsufficientStorage

log = logging.getLogger("lakebox.space")
_NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_PG_DISK_FULL = "53100"


class DiskSpace:
    """The free space of the file systems a write fills, against a reserve (0: only the OS says when full)."""

    def __init__(self, paths: Sequence[Path], reserve_bytes: int) -> None:
        self.reserve = reserve_bytes
        seen: set[int] = set()
        self.paths: list[str] = []
        for path in paths:
            device = os.stat(path).st_dev
            if device not in seen:
                seen.add(device)
                self.paths.append(str(path))

    def free(self) -> int:
        """Bytes an unprivileged writer may still use, on the fullest of the file systems."""
        return min(_available(path) for path in self.paths)

    def short(self, incoming: int = 0) -> bool:
        """Whether storing ``incoming`` more bytes would eat into the reserve."""
        return self.free() - incoming < self.reserve


def _available(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def is_out_of_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it wraps) says a disk or quota is full: ENOSPC/EDQUOT, SQLite's
    SQLITE_FULL, PostgreSQL's disk_full."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in _NO_SPACE_ERRNOS:
            return True
        if isinstance(err, sqlite3.Error) and getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if getattr(err, "sqlstate", None) == _PG_DISK_FULL:
            return True
        orig = getattr(err, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        todo += [err.__cause__, err.__context__, orig if isinstance(orig, BaseException) else None]
    return False


def raise_if_out_of_space(exc: BaseException) -> None:
    """Re-raises an out-of-space error as ``InsufficientStorage`` (the caller re-raises anything else)."""
    if is_out_of_space(exc) and not isinstance(exc, InsufficientStorage):
        log.warning("a write ran out of space: %s", exc)
        raise InsufficientStorage() from exc
