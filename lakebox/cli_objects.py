"""``lakebox object put|get|delete BUCKET/KEY``: wrangler's ``r2 object`` commands.

They go through the S3 API with the token's own S3 credentials (access key id from the admin API's ``/whoami``,
secret access key = SHA-256 of the token), so an object token works too, the bytes stream both ways, and every
rule of the S3 layer (limits, metadata, authorisation, durability) applies unchanged.
"""

from __future__ import annotations

import mimetypes
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from lakebox.cli import _client, _print, admin_options, main
from lakebox.s3_client import S3Client

CHUNK = 1024 * 1024
HEADER_OPTIONS = {
    "content_type": "content-type",
    "content_disposition": "content-disposition",
    "content_encoding": "content-encoding",
    "content_language": "content-language",
    "cache_control": "cache-control",
}


@main.group("object")
def object_() -> None:
    """Objects in a bucket (through the S3 API with the token's S3 credentials)."""


def s3_options(command: Any) -> Any:
    command = click.option(
        "--s3-endpoint",
        envvar="LAKEBOX_S3_ENDPOINT",
        help="S3 endpoint [env LAKEBOX_S3_ENDPOINT; the server's, from the admin API]",
    )(command)
    return admin_options(command)


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise click.UsageError(f"expected BUCKET/KEY, got {path!r}")
    return bucket, key


def _s3(admin: dict[str, Any]) -> S3Client:
    client = _client(admin["console_url"], admin["token"], admin["data_dir"])
    me = client.call("GET", "/whoami")
    endpoint = admin["s3_endpoint"] or me["s3_endpoint"]
    return S3Client.for_token(endpoint, me["access_key_id"], client.token)


class _Source:
    """A file or pipe read in chunks, counting the bytes sent."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.stream.read(CHUNK):
            self.size += len(chunk)
            yield chunk


@object_.command("put")
@click.argument("path", metavar="BUCKET/KEY")
@click.option("--file", "-f", "file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--pipe", "-p", is_flag=True, help="Read the object from standard input")
@click.option("--content-type", "--ct", help="Content-Type [guessed from --file's name]")
@click.option("--content-disposition", "--cd", help="Content-Disposition")
@click.option("--content-encoding", "--ce", help="Content-Encoding")
@click.option("--content-language", "--cl", help="Content-Language")
@click.option("--cache-control", "--cc", help="Cache-Control")
@s3_options
def object_put(path: str, file: Path | None, pipe: bool, **opts: Any) -> None:
    """Upload an object from --file or from standard input (--pipe), streamed."""
    bucket, key = _split(path)
    if (file is None) == (not pipe):
        raise click.UsageError("give exactly one of --file and --pipe")
    headers = {name: opts[opt] for opt, name in HEADER_OPTIONS.items() if opts[opt]}
    if file is not None and "content-type" not in headers:
        guessed, _ = mimetypes.guess_type(file.name)
        if guessed:
            headers["content-type"] = guessed
    s3 = _s3(opts)
    if not opts["as_json"]:
        click.echo(f'Creating object "{key}" in bucket "{bucket}".')
    with open(file, "rb") if file is not None else os.fdopen(os.dup(sys.stdin.fileno()), "rb") as source:
        if file is not None:
            headers["content-length"] = str(os.fstat(source.fileno()).st_size)
        body = _Source(source)
        with s3.request("PUT", bucket, key, headers, body) as resp:
            etag = resp.headers.get("etag", "").strip('"')
    _print(
        {"bucket": bucket, "key": key, "etag": etag, "size": body.size},
        opts["as_json"],
        lambda _: ["Upload complete."],
    )


@object_.command("get")
@click.argument("path", metavar="BUCKET/KEY")
@click.option("--file", "-f", "file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pipe", "-p", is_flag=True, help="Write the object to standard output")
@s3_options
def object_get(path: str, file: Path | None, pipe: bool, **opts: Any) -> None:
    """Download an object to --file (default: the key's last segment, in the current directory) or to
    standard output (--pipe)."""
    bucket, key = _split(path)
    if file is not None and pipe:
        raise click.UsageError("give at most one of --file and --pipe")
    if pipe and opts["as_json"]:
        raise click.UsageError("--json prints the result on standard output; it cannot go with --pipe")
    target = file or Path(key.rsplit("/", 1)[-1])
    if not pipe and target.name in ("", ".", ".."):
        raise click.UsageError(f"the key {key!r} names no file; give --file")
    s3 = _s3(opts)
    if pipe:
        with s3.request("GET", bucket, key) as resp:
            out = sys.stdout.buffer
            for chunk in resp.iter_raw(CHUNK):
                out.write(chunk)
            out.flush()
        return
    if not opts["as_json"]:
        click.echo(f'Downloading "{key}" from "{bucket}".')
    with s3.request("GET", bucket, key) as resp:
        size = _download(resp.iter_raw(CHUNK), target)
        result = {
            "bucket": bucket,
            "key": key,
            "file": str(target),
            "size": size,
            "etag": resp.headers.get("etag", "").strip('"'),
            "content_type": resp.headers.get("content-type"),
        }
    _print(result, opts["as_json"], lambda _: ["Download complete."])


def _download(chunks: Iterator[bytes], target: Path) -> int:
    """Writes to a temporary file beside ``target``, renamed into place only when the whole body arrived."""
    folder = target.parent if str(target.parent) else Path()
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return size


@object_.command("delete")
@click.argument("path", metavar="BUCKET/KEY")
@s3_options
def object_delete(path: str, **opts: Any) -> None:
    """Delete an object (irreversible)."""
    bucket, key = _split(path)
    s3 = _s3(opts)
    if not opts["as_json"]:
        click.echo(f'Deleting object "{key}" from bucket "{bucket}".')
    with s3.request("DELETE", bucket, key):
        pass
    _print({"bucket": bucket, "key": key, "deleted": True}, opts["as_json"], lambda _: ["Delete complete."])
