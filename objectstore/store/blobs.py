"""Blob files on local disk (or any POSIX file system every node mounts).

A write streams into ``incoming/<node>/<id>``, is fsynced with its directory, and only then may a metadata
transaction reference it; after the commit the file is renamed to ``blobs/<id[:2]>/<id[2:4]>/<id>``. So ``incoming/<node>/`` holds nothing but uploads in flight on this node, and on restart
``recover`` publishes the files a committed row references and deletes the rest: no orphan survives a crash, and
no directory walk of ``blobs/`` is ever needed. Readers that find no published file look in ``incoming/`` (the
short window between commit and rename).

Every write is staged in a pooled, page-aligned 1 MiB buffer. A blob that fits in it goes through the page cache,
so the small objects that are read again soon (Iceberg metadata and manifests, small files) are served from memory.
A blob that outgrows it is streamed around the cache (``O_DIRECT``), as MinIO and Ceph's BlueStore write theirs:
a big write then neither copies every byte into kernel memory nor evicts the hot small objects, and its fsync has
only the metadata and the unaligned tail left to do. It is read around the cache too, in whole aligned blocks
into pooled buffers, so a scan of big objects neither pays for kernel memory it will not reuse nor evicts the
small ones. File systems without ``O_DIRECT`` get the page cache for all.

An encrypted blob's writer stages plaintext like any other (the observer hashes it there) and seals each full
buffer into a second pooled buffer just before it goes to disk, in the worker thread that writes it; what the
sealing adds beyond the block alignment is carried over to the next write. The store never sees a key: the
writer is given a ``seal(plain, out) -> bytes written`` function.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import logging
import mmap
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from objectstore.store.inline import INLINE_MAX, INLINE_ROOT, is_inline, memory_file

log = logging.getLogger("lakebox.blobs")
# Seals a staged buffer's plaintext into an output buffer, returning the bytes written there.
Seal = Callable[[memoryview, memoryview], int]
# A writer's staging buffer (a blob larger than this bypasses the page cache), and a read's chunk.
BUFFER_SIZE = 1 << 20
# What a pooled buffer holds beyond BUFFER_SIZE: room for a sealed buffer's tags and the carried unaligned tail.
_BUFFER_ROOM = 64 * 1024
# A stored blob larger than this was written (and is read) around the page cache; sealing adds < 1% to a blob.
DIRECT_READ_OVER = BUFFER_SIZE + 16 * 1024
_BLOCK = 4096  # O_DIRECT alignment of memory, offsets and lengths: covers 512-byte and 4 KiB sectors
_POOLED_BUFFERS = 32
_ROOT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,23}")


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


class DirectIO:
    """Page-aligned staging buffers, pooled per process (fresh memory costs page faults; reused memory does
    not), and whether this data directory's file system takes ``O_DIRECT`` (learned on first use)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._free: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        with self._lock:
            if self._free:
                return self._free.pop()
        return mmap.mmap(-1, BUFFER_SIZE + _BUFFER_ROOM)

    def give(self, buffer: mmap.mmap) -> None:
        with self._lock:
            if len(self._free) < _POOLED_BUFFERS:
                self._free.append(buffer)
                return
        # A reader's last view may still be held by its consumer (read_views gives its buffer back as the consumer
        # asks for the next view): the map is then unmapped when that view goes.
        with contextlib.suppress(BufferError):
            buffer.close()

    def set_direct(self, fd: int) -> bool:
        """Switches an open file to O_DIRECT; False (and never again tried) where the file system refuses."""
        if not self.enabled:
            return False
        try:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self.enabled = False
            log.info("the data directory's file system has no O_DIRECT: all blob I/O uses the page cache")
            return False
        return True


def _clear_direct(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_DIRECT)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view) :]


class BlobWriter:
    """Appends to a new blob file through a pooled staging buffer; not thread-safe (one request owns it).

    ``write`` only copies into memory and never blocks on the disk. When it reports ``needs_drain``, the
    caller runs ``drain`` (blocking) in a worker thread before the next write; ``finish`` makes the file durable.
    ``observe``, if given, sees every byte in order before it is written, in the thread that writes it (so
    hashing the body costs the event loop nothing); ``observe_staged`` hands it what is still only in memory.
    ``seal``, if given, encrypts each staged buffer on its way to disk (see the module's docstring); ``blob_key``
    is the service's label of the key, which the store only carries. ``size`` counts what was written to it.
    """

    def __init__(
        self,
        blob_id: str,
        path: Path,
        direct: DirectIO,
        observe: Callable[[memoryview], None] | None = None,
        seal: Seal | None = None,
        blob_key: str | None = None,
    ) -> None:
        self.blob_id = blob_id
        self.path = path
        self.blob_key = blob_key
        self.size = 0
        self.seal = seal
        self._sealed: mmap.mmap | None = None  # the sealing's output buffer
        self._sealed_view = memoryview(b"")
        self._carried = 0  # sealed bytes left at the front of that buffer by the last write (below one block)
        self._direct = direct
        self._observe = observe
        self._observed = 0  # how much of the buffer ``observe`` has seen
        self._fd = -1  # created by the first write to disk, in a worker thread: creating an inode can block
        self._buffer: mmap.mmap | None = None
        self._view = memoryview(b"")
        self._filled = 0
        self._overflow: list[bytes] = []  # what did not fit in the buffer, until ``drain``
        self._on_disk = 0
        self._is_direct = False
        self.inline: bytes | None = None  # stored bytes of an inline blob (``keep_inline``)

    @classmethod
    def adopt(cls, blob_id: str, path: Path, size: int) -> BlobWriter:
        """A writer for a blob file that is already complete and durable (a hard link): only ``abort`` applies."""
        writer = cls.__new__(cls)
        writer.blob_id, writer.path, writer.size, writer.blob_key = blob_id, path, size, None
        writer._fd, writer._buffer, writer._overflow, writer._observe, writer.seal = -1, None, [], None, None
        writer._sealed = None
        writer.inline = None
        return writer

    @property
    def needs_drain(self) -> bool:
        return bool(self._overflow)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)
        self._stage(data)

    def _stage(self, data: bytes | bytearray | memoryview) -> None:
        size = len(data)
        if self._overflow:
            self._overflow.append(bytes(data))
            return
        if self._buffer is None:
            self._buffer = self._direct.take()
            self._view = memoryview(self._buffer)[:BUFFER_SIZE]
        space = BUFFER_SIZE - self._filled
        if size <= space:
            self._view[self._filled : self._filled + size] = data
            self._filled += size
            return
        with memoryview(data) as view:
            self._view[self._filled :] = view[:space]
            self._overflow.append(bytes(view[space:]))  # the caller may reuse its buffer once we return
        self._filled = BUFFER_SIZE

    def observe_staged(self) -> None:
        """Shows ``observe`` the staged bytes it has not seen (blocking: it may hash a whole buffer)."""
        if self._observe is not None and self._observed < self._filled:
            self._observe(self._view[self._observed : self._filled])
            self._observed = self._filled

    def drain(self) -> None:
        """Writes out full buffers until what is held fits in memory again (blocking)."""
        while self._overflow:
            self.observe_staged()
            self._write_buffer(BUFFER_SIZE, direct=True, last=False)  # the blob outgrew the buffer
            held, self._overflow = self._overflow, []
            for chunk in held:
                self._stage(chunk)

    def _write_buffer(self, count: int, direct: bool, last: bool) -> None:
        """Writes the buffer's first ``count`` bytes (sealed first, if the writer seals), around the page cache
        if ``direct`` and the file system allows it. Only the ``last`` write may leave an unaligned tail; any
        other's (sealing makes one) waits at the front of the sealed buffer for the next."""
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        if direct and not self._is_direct:
            self._is_direct = self._direct.set_direct(self._fd)
        if self.seal is None:
            view, total = self._view, count
        else:
            if self._sealed is None:
                self._sealed = self._direct.take()
                self._sealed_view = memoryview(self._sealed)
            view = self._sealed_view
            total = self._carried + self.seal(self._view[:count], view[self._carried :])
        aligned = total - total % _BLOCK if self._is_direct else total
        if aligned:
            _write_all(self._fd, view[:aligned])
        if aligned < total:
            if last:
                if self._is_direct:
                    _clear_direct(self._fd)
                    self._is_direct = False
                _write_all(self._fd, view[aligned:total])
            else:  # below one block: carry it to the front of the sealed buffer
                view[: total - aligned] = bytes(view[aligned:total])
        self._carried = 0 if last else total - aligned
        self._on_disk += count
        self._filled = self._observed = 0

    def finish(self) -> None:
        """Makes the file durable (blocking: call from a worker thread)."""
        self.drain()
        self.observe_staged()
        if self._filled or self._fd < 0 or self._carried:
            self._write_buffer(self._filled, direct=self._on_disk > 0, last=True)
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        self._release_buffer()
        fsync_dir(self.path.parent)

    def keep_inline(self, limit: int = INLINE_MAX) -> bool:
        """Instead of ``finish``: if the whole blob is still staged and at most ``limit`` bytes (and below
        INLINE_MAX once stored), it becomes an inline blob (objectstore.store.inline) with a new id, its stored
        bytes in ``inline`` for the caller to write in the transaction of its row; no file is made, nothing is
        fsynced. False (nothing changed) otherwise."""
        if self._fd >= 0 or self._overflow or self._on_disk or self.size > min(limit, INLINE_MAX - 1024):
            return False
        self.observe_staged()
        plain = self._view[: self._filled]
        if self.seal is None:
            stored = bytes(plain)
        else:
            out = bytearray(self.size + self.size // 4096 + 32)  # room for the tags: 16 bytes per 64 KiB
            stored = bytes(memoryview(out)[: self.seal(plain, memoryview(out))])
        self.inline = stored
        self.blob_id = f"{INLINE_ROOT}.{new_blob_id()}"
        self._release_buffer()
        return True

    def abort(self) -> None:
        if self.inline is not None:
            return  # no file; its row, if any, went with the transaction
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._release_buffer()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _release_buffer(self) -> None:
        self._overflow = []
        if self._buffer is not None:
            self._view.release()
            self._direct.give(self._buffer)
            self._buffer = None
        if self._sealed is not None:
            self._sealed_view.release()
            self._direct.give(self._sealed)
            self._sealed = None


class UnknownStorageRoot(LookupError):
    """A blob id names a storage root this node was not configured with."""


class StorageRoot:
    """One directory (or volume) blobs live in: ``blobs/`` for published ones, ``incoming/<node>/`` for writes
    in flight. A blob never leaves its root: its id names it (``<root>.<hex>``; the default root's ids are bare)."""

    def __init__(self, name: str, directory: Path, node_id: str) -> None:
        self.name = name
        self.directory = directory
        self.blobs = directory / "blobs"
        self.incoming_root = directory / "incoming"
        self.incoming = self.incoming_root / node_id
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        name = blob_id.rpartition(".")[2]
        return self.blobs / name[:2] / name[2:4] / blob_id


def root_of(blob_id: str) -> str:
    """The name of the storage root a blob lives in ("" for the default root)."""
    return blob_id.rpartition(".")[0]


class LocalBlobStore:
    """Blob files under named storage roots: the default one (the data directory) and those ``roots`` names
    (name -> directory; names are made of ``[a-z0-9._-]``). Every operation on a blob works in the root its id
    names, so its bytes, its in-flight file and its deletion all stay there."""

    def __init__(
        self, data_dir: Path, node_id: str, direct_io: bool = True, roots: Mapping[str, Path] | None = None
    ) -> None:
        self.direct = DirectIO(direct_io)
        default = StorageRoot("", data_dir, node_id)
        self._roots = {"": default}
        for name, directory in (roots or {}).items():
            if not _ROOT_NAME.fullmatch(name):
                raise ValueError(f"invalid storage root name {name!r}")
            self._roots[name] = StorageRoot(name, directory, node_id)
        self.root = default.blobs
        self._root = str(self.root)
        self.incoming_root = default.incoming_root
        self.incoming = default.incoming
        # The stored bytes of an inline blob (objectstore.store.inline), None if gone; installed by the
        # object service, which owns the database they live in.
        self.inline_source: Callable[[str], bytes | None] | None = None

    @property
    def roots(self) -> dict[str, StorageRoot]:
        return dict(self._roots)

    def storage_root(self, name: str) -> StorageRoot:
        try:
            return self._roots[name]
        except KeyError:
            raise UnknownStorageRoot(f"storage root {name!r} is not configured on this node") from None

    def _root_of(self, blob_id: str) -> StorageRoot:
        return self.storage_root(root_of(blob_id))

    def path(self, blob_id: str) -> Path:
        return self._root_of(blob_id).path(blob_id)

    def new_id(self, root: str = "") -> str:
        self.storage_root(root)
        return f"{root}.{new_blob_id()}" if root else new_blob_id()

    def create(
        self,
        observe: Callable[[memoryview], None] | None = None,
        seal: Seal | None = None,
        blob_key: str | None = None,
        root: str = "",
    ) -> BlobWriter:
        blob_id = self.new_id(root)
        return BlobWriter(
            blob_id, self.storage_root(root).incoming / blob_id, self.direct, observe, seal, blob_key
        )

    def link(self, source_blob_id: str, root: str = "") -> BlobWriter:
        """A new blob in ``root`` with the (immutable) data of ``source_blob_id``: a hard link, or where the two
        roots are on different file systems (or links are impossible) a copy of its stored bytes; durable on
        return (blocking). Like a written blob it sits in ``incoming/`` until its row commits, so a crash before
        that removes only the new file. FileNotFoundError if the source is gone.
        """
        target_root = self.storage_root(root)
        blob_id = self.new_id(root)
        target = target_root.incoming / blob_id
        if is_inline(source_blob_id):
            _write_file(target, self._inline_bytes(source_blob_id))
            fsync_dir(target_root.incoming)
            return BlobWriter.adopt(blob_id, target, target.stat().st_size)
        source_root = self._root_of(source_blob_id)
        in_flight = (d / source_blob_id for d in source_root.incoming_root.iterdir())
        for source in itertools.chain([source_root.path(source_blob_id)], in_flight):
            try:
                os.link(source, target)
                break
            except FileNotFoundError:
                continue
            except OSError:  # another file system, or no hard links here: copy the bytes
                try:
                    _copy_file(source, target)
                except FileNotFoundError:
                    continue
                break
        else:
            raise FileNotFoundError(source_blob_id)
        fsync_dir(target_root.incoming)
        return BlobWriter.adopt(blob_id, target, target.stat().st_size)

    def publish(self, blob_id: str) -> None:
        """Moves a committed blob from incoming/ to its place (blocking).

        Not fsynced on purpose: the blob is already durable under incoming/, and a rename lost to a power
        failure leaves it there, where ``recover`` finds a committed row naming it and publishes it again.
        """
        if is_inline(blob_id):
            return  # committed with its row
        root = self._root_of(blob_id)
        target = root.path(blob_id)
        try:
            os.rename(root.incoming / blob_id, target)
        except FileNotFoundError:
            if target.parent.is_dir():
                raise
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(root.incoming / blob_id, target)

    def open(self, blob_id: str) -> BinaryIO:
        """Opens a blob for reading; FileNotFoundError if it was deleted (the caller re-reads its row)."""
        if is_inline(blob_id):
            return memory_file(self._inline_bytes(blob_id))
        try:
            if (
                "." not in blob_id
            ):  # the default root; a string path: building a Path costs more than the open
                return open(f"{self._root}/{blob_id[:2]}/{blob_id[2:4]}/{blob_id}", "rb")
            return open(self.path(blob_id), "rb")
        except FileNotFoundError:
            for node_dir in self._root_of(blob_id).incoming_root.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    return open(node_dir / blob_id, "rb")
            raise

    def read(self, f: BinaryIO, offset: int, length: int) -> Iterator[bytes]:
        """Bytes ``[offset, offset + length)`` of an open blob in chunks of up to BUFFER_SIZE (blocking); a blob
        that outgrew the staging buffer (written around the page cache) is read around it. EOFError if the file
        is short."""
        fd = f.fileno()
        if length > 0 and os.fstat(fd).st_size > DIRECT_READ_OVER and self.direct.set_direct(fd):
            yield from self._read_direct(fd, offset, length)
            return
        f.seek(offset)
        while length > 0:
            data = f.read(min(BUFFER_SIZE, length))
            if not data:
                raise EOFError("blob shorter than its index entry")
            length -= len(data)
            yield data

    def read_views(self, f: BinaryIO, offset: int, length: int, chunk: int) -> Iterator[memoryview]:
        """Bytes ``[offset, offset + length)`` of an open blob as views of ``chunk`` bytes (the last may be
        shorter; ``chunk`` <= BUFFER_SIZE + 60 KiB), each valid only until the next is asked for (blocking). Like
        ``read`` it goes around the page cache for large blobs. EOFError if the file is short."""
        fd = f.fileno()
        direct = length > 0 and os.fstat(fd).st_size > DIRECT_READ_OVER and self.direct.set_direct(fd)
        buffer = self.direct.take()
        try:
            with memoryview(buffer) as view:
                while length > 0:
                    take = min(chunk, length)
                    position = offset - offset % _BLOCK if direct else offset
                    skip = offset - position
                    want = -(-(skip + take) // _BLOCK) * _BLOCK if direct else take
                    got = os.preadv(fd, [view[:want]], position)
                    if got - skip < take:
                        raise EOFError("blob shorter than its index entry")
                    yield view[skip : skip + take]
                    offset += take
                    length -= take
        finally:
            self.direct.give(buffer)

    def _read_direct(self, fd: int, offset: int, length: int) -> Iterator[bytes]:
        """Reads whole aligned blocks into a pooled buffer and hands out copies of the asked-for bytes."""
        buffer = self.direct.take()
        try:
            with memoryview(buffer) as view:
                position = offset - offset % _BLOCK
                skip = offset - position
                while length > 0:
                    want = min(BUFFER_SIZE, -(-(skip + length) // _BLOCK) * _BLOCK)
                    got = os.preadv(fd, [view[:want]], position)
                    take = min(got - skip, length)
                    if take <= 0 or (got < want and take < length):
                        raise EOFError("blob shorter than its index entry")
                    yield bytes(view[skip : skip + take])
                    length -= take
                    position += got
                    skip = 0
        finally:
            self.direct.give(buffer)

    def _inline_bytes(self, blob_id: str) -> bytes:
        data = self.inline_source(blob_id) if self.inline_source is not None else None
        if data is None:
            raise FileNotFoundError(blob_id)
        return data

    def delete(self, blob_id: str) -> None:
        """Deletes a blob file (an inline blob's row goes with its garbage row: ``InlineBlobStore.forget_in``)."""
        if is_inline(blob_id):
            return
        with contextlib.suppress(FileNotFoundError):
            self.path(blob_id).unlink()

    def recover(self, referenced: Callable[[Iterable[str]], set[str]]) -> tuple[int, int]:
        """Settles this node's incoming/ of every root after a crash: publishes what a row references, deletes
        the rest.

        Must run before this node serves requests. Returns (published, deleted).
        """
        published = deleted = 0
        for root in self._roots.values():
            names = [p.name for p in root.incoming.iterdir()]
            keep = referenced(names) if names else set()
            for name in names:
                if name in keep:
                    self.publish(name)
                else:
                    (root.incoming / name).unlink()
            if names:
                fsync_dir(root.incoming)
            published += len(keep)
            deleted += len(names) - len(keep)
        return published, deleted

    def stored_blob_ids(self, root: str | None = None) -> set[str]:
        """Every published blob, of one root or of all (a full walk: for tests and fsck only, never on a request
        path)."""
        roots = self._roots.values() if root is None else [self.storage_root(root)]
        return {p.name for r in roots for p in r.blobs.glob("*/*/*")}


def _write_file(target: Path, data: bytes) -> None:
    """A new file holding ``data``, durable (the directory is the caller's)."""
    _new_durable_file(target, lambda fd: _write_all(fd, data))


def _copy_file(source: Path, target: Path) -> None:
    """Copies a blob file's bytes to a new file and makes them durable (the directory is the caller's)."""
    with open(source, "rb") as src:

        def send(fd: int) -> None:
            size = os.fstat(src.fileno()).st_size
            sent = 0
            while sent < size:
                count = os.sendfile(fd, src.fileno(), sent, size - sent)
                if count == 0:
                    break
                sent += count

        _new_durable_file(target, send)


def _new_durable_file(target: Path, fill: Callable[[int], None]) -> None:
    """Creates ``target`` (which must not exist), lets ``fill`` write it, fsyncs it; removed again on failure."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fill(fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        raise
    os.close(fd)
