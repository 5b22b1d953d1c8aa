"""Blob files on local disk (or any POSIX file system every node mounts).

A write streams into ``incoming/<node>/<id>``, is fsynced with its directory, and only then may a metadata
transaction reference it; after the commit the file is renamed to ``blobs/<id[:2]>/<id[2:4]>/<id>``. So ``incoming/<node>/`` holds nothing but uploads in flight on this node, and on restart
``recover`` publishes the files a committed row references and deletes the rest: no orphan survives a crash, and
no directory walk of ``blobs/`` is ever needed. Readers that find no published file look in ``incoming/`` (the
short window between commit and rename).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

_WRITE_BUFFER = 1 << 20
_DIRECT_WRITE = 64 << 10


def new_blob_id() -> str:
    return uuid.uuid4().hex


def _fsync_dir_now(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _DirSync:
    """Coalesces fsyncs of one directory between threads: an fsync that starts after a caller arrives makes
    that caller's entries durable too, so concurrent uploads into ``incoming/`` share one directory fsync
    instead of queueing one each on the disk."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cond = threading.Condition()
        self._started = 0  # generation of the last fsync begun
        self._done = 0  # generation of the last fsync finished
        self._running = False

    def sync(self) -> None:
        with self._cond:
            needed = self._started + 1  # the first fsync to begin from now on covers this caller
            while self._done < needed:
                if self._running:
                    self._cond.wait()
                    continue
                self._running = True
                self._started += 1
                generation = self._started
                self._cond.release()
                try:
                    _fsync_dir_now(self._path)
                finally:
                    self._cond.acquire()
                    self._running = False
                    self._cond.notify_all()
                self._done = generation


_dir_syncs: dict[Path, _DirSync] = {}
_dir_syncs_lock = threading.Lock()


def fsync_dir(path: Path) -> None:
    """Makes the directory's entries durable (blocking), sharing an fsync with concurrent callers."""
    syncer = _dir_syncs.get(path)
    if syncer is None:
        with _dir_syncs_lock:
            syncer = _dir_syncs.setdefault(path, _DirSync(path))
    syncer.sync()


class BlobWriter:
    """Appends to a new blob file through a small buffer; not thread-safe (one request owns it)."""

    def __init__(self, blob_id: str, path: Path) -> None:
        self.blob_id = blob_id
        self.path = path
        self.size = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._buffer = bytearray()

    @classmethod
    def adopt(cls, blob_id: str, path: Path, size: int) -> BlobWriter:
        """A writer for a blob file that is already complete and durable (a hard link): only ``abort`` applies."""
        writer = cls.__new__(cls)
        writer.blob_id, writer.path, writer.size = blob_id, path, size
        writer._fd, writer._buffer = -1, bytearray()
        return writer

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if len(data) >= _DIRECT_WRITE and not self._buffer:
            self._write_all(data)  # large chunks go straight to the file: no copy into the buffer
            return
        self._buffer += data
        if len(self._buffer) >= _WRITE_BUFFER:
            self._flush()

    def _write_all(self, data: bytes | bytearray | memoryview) -> None:
        with memoryview(data) as whole:
            view = whole
            while view:
                view = view[os.write(self._fd, view) :]
            view.release()  # a bytearray cannot be resized while a view of it exists

    def _flush(self) -> None:
        self._write_all(self._buffer)
        self._buffer.clear()

    def finish(self) -> None:
        """Makes the file durable (blocking: call from a worker thread)."""
        self._flush()
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        fsync_dir(self.path.parent)

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class LocalBlobStore:
    def __init__(self, data_dir: Path, node_id: str) -> None:
        self.root = data_dir / "blobs"
        self._root = str(self.root)
        self.incoming_root = data_dir / "incoming"
        self.incoming = self.incoming_root / node_id
        self.root.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id[2:4] / blob_id

    def create(self) -> BlobWriter:
        blob_id = new_blob_id()
        return BlobWriter(blob_id, self.incoming / blob_id)

    def link(self, source_blob_id: str) -> BlobWriter:
        """A new blob that shares the (immutable) data of ``source_blob_id`` through a hard link, durable on
        return (blocking). Like a written blob it sits in ``incoming/`` until its row commits, so a crash before
        that removes only the link. FileNotFoundError if the source is gone; OSError where links are impossible.
        """
        blob_id = new_blob_id()
        target = self.incoming / blob_id
        try:
            os.link(self.path(source_blob_id), target)
        except FileNotFoundError:
            for node_dir in self.incoming_root.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    os.link(node_dir / source_blob_id, target)
                    break
            else:
                raise
        fsync_dir(self.incoming)
        return BlobWriter.adopt(blob_id, target, target.stat().st_size)

    def publish(self, blob_id: str) -> None:
        """Moves a committed blob from incoming/ to its place (blocking).

        Not fsynced on purpose: the blob is already durable under incoming/, and a rename lost to a power
        failure leaves it there, where ``recover`` finds a committed row naming it and publishes it again.
        """
        target = self.path(blob_id)
        try:
            os.rename(self.incoming / blob_id, target)
        except FileNotFoundError:
            if target.parent.is_dir():
                raise
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.incoming / blob_id, target)

    def open(self, blob_id: str) -> BinaryIO:
        """Opens a blob for reading; FileNotFoundError if it was deleted (the caller re-reads its row)."""
        try:
            # A string path: building the Path costs more than opening the file.
            return open(f"{self._root}/{blob_id[:2]}/{blob_id[2:4]}/{blob_id}", "rb")
        except FileNotFoundError:
            for node_dir in self.incoming_root.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    return open(node_dir / blob_id, "rb")
            raise

    def delete(self, blob_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(blob_id).unlink()

    def recover(self, referenced: Callable[[Iterable[str]], set[str]]) -> tuple[int, int]:
        """Settles this node's incoming/ after a crash: publishes what a row references, deletes the rest.

        Must run before this node serves requests. Returns (published, deleted).
        """
        names = [p.name for p in self.incoming.iterdir()]
        keep = referenced(names) if names else set()
        for name in names:
            if name in keep:
                self.publish(name)
            else:
                (self.incoming / name).unlink()
        if names:
            fsync_dir(self.incoming)
        return len(keep), len(names) - len(keep)

    def stored_blob_ids(self) -> set[str]:
        """Every published blob (a full walk: for tests and fsck only, never on a request path)."""
        return {p.name for p in self.root.glob("*/*/*")}
