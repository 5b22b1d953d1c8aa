"""Object transfers for the CLI: uploads streamed from a file (multipart, with parts sent in parallel, above the
part size), downloads streamed into a file that appears only when complete, and a progress bar (rich) on a TTY."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from lakebox.client.s3 import S3Client

CHUNK = 1024 * 1024
MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last
MAX_PARTS = 10_000
Advance = Callable[[int], None]


@contextmanager
def progress(label: str, total: int | None, show: bool | None) -> Iterator[Advance]:
    """A progress bar on standard error: shown when ``show`` is True, or when None and stderr is a TTY."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True, force_terminal=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _chunks(stream: IO[bytes], advance: Advance, counter: list[int]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        counter[0] += len(chunk)
        advance(len(chunk))
        yield chunk


def _file_range(fd: int, offset: int, length: int, advance: Advance) -> Iterator[bytes]:
    end = offset + length
    while offset < end:
        chunk = os.pread(fd, min(CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(f"the file shrank while it was being uploaded (at byte {offset})")
        offset += len(chunk)
        advance(len(chunk))
        yield chunk


def put_stream(s3: S3Client, bucket: str, key: str, headers: dict[str, str], stream: IO[bytes],
               advance: Advance) -> dict[str, Any]:  # fmt: skip
    """One PUT, the body streamed from ``stream`` (a file or a pipe)."""
    counter = [0]
    with s3.request("PUT", bucket, key, headers, _chunks(stream, advance, counter)) as resp:
        etag = resp.headers.get("etag", "").strip('"')
    return {"bucket": bucket, "key": key, "etag": etag, "size": counter[0], "parts": 1}


def part_size_for(size: int, wanted: int) -> int:
    """``wanted``, raised when a file would otherwise need more than S3's 10,000 parts."""
    return max(wanted, MIN_PART, -(-size // MAX_PARTS))


def put_multipart(s3: S3Client, bucket: str, key: str, headers: dict[str, str], file: IO[bytes], size: int,
                  part_size: int, concurrency: int, advance: Advance) -> dict[str, Any]:  # fmt: skip
    """A multipart upload of ``size`` bytes of ``file``, ``concurrency`` parts at a time; aborted on any failure so
    that no parts are left behind."""
    created = s3.xml("POST", bucket, key, {"uploads": ""}, headers=headers)
    upload_id = created.findtext("UploadId") or ""
    fd = file.fileno()
    count = -(-size // part_size)

    def send(number: int) -> str:
        offset = (number - 1) * part_size
        length = min(part_size, size - offset)
        params = {"partNumber": str(number), "uploadId": upload_id}
        body = _file_range(fd, offset, length, advance)
        with s3.request("PUT", bucket, key, {"content-length": str(length)}, body, params) as resp:
            return str(resp.headers.get("etag", ""))

    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            etags = list(pool.map(send, range(1, count + 1)))
        parts = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(etag)}</ETag></Part>"
            for n, etag in enumerate(etags, 1)
        )
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        done = s3.xml("POST", bucket, key, {"uploadId": upload_id}, body)
    except BaseException:
        try:
            with s3.request("DELETE", bucket, key, params={"uploadId": upload_id}):
                pass
        except Exception:  # noqa: S110 — the first failure is the one to report
            pass
        raise
    etag = (done.findtext("ETag") or "").strip('"')
    return {"bucket": bucket, "key": key, "etag": etag, "size": size, "parts": count}


def download(chunks: Iterator[bytes], target: Path, advance: Advance) -> int:
    """Writes to a temporary file beside ``target``, renamed into place only when the whole body arrived."""
    folder = target.parent if str(target.parent) else Path()
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
                advance(len(chunk))
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return size
