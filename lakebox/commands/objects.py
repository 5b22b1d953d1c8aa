"""``lakebox object put|get|delete BUCKET/KEY``: wrangler's ``r2 object`` commands.

They go through the S3 API with the token's own S3 credentials (access key id = the token's id from
``/user/tokens/verify``, secret access key = SHA-256 of the token), so an object token works too, the bytes stream
both ways, and every rule of the S3 layer (limits, metadata, authorisation, durability) applies unchanged.
"""

from __future__ import annotations

import mimetypes
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from lakebox.client.errors import CliError
from lakebox.client.output import api, bucket_options, emit

HEADER_OPTIONS = {
    "content_type": "content-type",
    "content_disposition": "content-disposition",
    "content_encoding": "content-encoding",
    "content_language": "content-language",
    "cache_control": "cache-control",
    "expires": "expires",
}
S3_STORAGE_CLASSES = {"Standard": "STANDARD", "InfrequentAccess": "STANDARD_IA"}  # R2's names -> S3's
_SIZE = re.compile(r"^(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)$")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class ByteSize(click.ParamType[int]):
    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value).strip().lower())
        if match is None:
            self.fail(f"{value!r} is not a size like 8MiB, 64M or 1048576", param, ctx)
        return int(match.group(1)) * _SIZE_UNITS[match.group(2)[:1]]


@click.group("object")
def object_() -> None:
    """Objects in a bucket (through the S3 API with the token's S3 credentials)."""


def s3_options(command: Any) -> Any:
    """The connection options, wrangler's -J, --remote (what lakebox always is) and --local (refused), the S3
    endpoint and the progress bar."""
    command = click.option("--remote", is_flag=True, hidden=True)(command)
    command = click.option("--local", is_flag=True, hidden=True)(command)
    command = click.option(
        "--progress/--no-progress",
        default=None,
        help="Show a progress bar on standard error [when it is a terminal]",
    )(command)
    command = click.option(
        "--s3-endpoint",
        envvar="LAKEBOX_S3_ENDPOINT",
        help="S3 endpoint [env LAKEBOX_S3_ENDPOINT; config file; the server's own]",
    )(command)
    return bucket_options(command)


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise click.UsageError(f"expected BUCKET/KEY, got {path!r}")
    return bucket, key


def s3_client(opts: dict[str, Any]) -> Any:
    from lakebox.client.s3 import S3Client

    if opts["local"]:
        raise CliError("lakebox has no local mode: its objects are on the server (drop --local)")
    if opts["jurisdiction"] not in (None, "default"):
        raise CliError(
            f"lakebox object commands reach the default jurisdiction only, not {opts['jurisdiction']!r}: use an S3 "
            f"client with the endpoint URL <S3 endpoint>/_{opts['jurisdiction']} (drop -J)"
        )

    client = api(opts, opts["s3_endpoint"])
    me = client.call("GET", "/user/tokens/verify")
    return S3Client.for_token(client.s3_endpoint, me["id"], client.target.token)


def put_options(command: Any) -> Any:
    """wrangler's object headers and storage class, and the multipart part size."""
    options = [
        click.option("--content-type", "--ct", help="Content-Type [guessed from the file's name]"),
        click.option("--content-disposition", "--cd", help="Content-Disposition"),
        click.option("--content-encoding", "--ce", help="Content-Encoding"),
        click.option("--content-language", "--cl", help="Content-Language"),
        click.option("--cache-control", "--cc", help="Cache-Control"),
        click.option("--expires", help="Expires (an HTTP date)"),
        click.option(
            "--storage-class", "-s", type=click.Choice(list(S3_STORAGE_CLASSES)),
            help="Storage class [the bucket's]",
        ),
        click.option(
            "--part-size", type=ByteSize(), default="64MiB", show_default=True,
            help="A file larger than this is sent as a multipart upload in parts of this size (at least 5MiB)",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def put_headers(opts: dict[str, Any], storage_class: str | None, file: Path | None) -> dict[str, str]:
    """The headers of an upload: the options', and a Content-Type guessed from ``file``'s name if none."""
    headers = {name: opts[opt] for opt, name in HEADER_OPTIONS.items() if opts[opt]}
    if storage_class:
        headers["x-amz-storage-class"] = S3_STORAGE_CLASSES[storage_class]
    if file is not None and "content-type" not in headers:
        guessed, _ = mimetypes.guess_type(file.name)
        if guessed:
            headers["content-type"] = guessed
    return headers


def upload_file(s3: Any, bucket: str, key: str, headers: dict[str, str], file: Path, part_size: int,
                concurrency: int, advance: Any) -> dict[str, Any]:  # fmt: skip
    """One file as one object: a single PUT up to ``part_size``, a parallel multipart upload above."""
    from lakebox.client import transfer

    with open(file, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        if size > part_size:
            chosen = transfer.part_size_for(size, part_size)
            return transfer.put_multipart(
                s3, bucket, key, headers, source, size, chosen, concurrency, advance
            )
        return transfer.put_stream(s3, bucket, key, {**headers, "content-length": str(size)}, source, advance)


@object_.command("put")
@click.argument("path", metavar="BUCKET/KEY")
@click.option("--file", "-f", "file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--pipe", "-p", is_flag=True, help="Read the object from standard input")
@put_options
@click.option(
    "--concurrency", type=click.IntRange(1, 32), default=4, show_default=True, help="Parts sent at once"
)
@s3_options
def object_put(
    path: str,
    file: Path | None,
    pipe: bool,
    storage_class: str | None,
    part_size: int,
    concurrency: int,
    **opts: Any,
) -> None:
    """Upload an object from --file or from standard input (--pipe), streamed."""
    from lakebox.client import transfer

    bucket, key = _split(path)
    if (file is None) == (not pipe):
        raise click.UsageError("give exactly one of --file and --pipe")
    if part_size < transfer.MIN_PART:
        raise click.BadParameter("must be at least 5MiB", param_hint="--part-size")
    headers = put_headers(opts, storage_class, file)
    s3 = s3_client(opts)
    if not opts["as_json"]:
        click.echo(f'Creating object "{key}" in bucket "{bucket}".')
    with open(file, "rb") if file is not None else os.fdopen(os.dup(sys.stdin.fileno()), "rb") as source:
        size = os.fstat(source.fileno()).st_size if file is not None else None
        with transfer.progress(f"put {key}", size, opts["progress"]) as advance:
            if size is not None and size > part_size:
                chosen = transfer.part_size_for(size, part_size)
                result = transfer.put_multipart(
                    s3, bucket, key, headers, source, size, chosen, concurrency, advance
                )
            else:
                if size is not None:
                    headers["content-length"] = str(size)
                result = transfer.put_stream(s3, bucket, key, headers, source, advance)
    emit(result, opts["as_json"], lambda _: ["Upload complete."])


@object_.command("get")
@click.argument("path", metavar="BUCKET/KEY")
@click.option("--file", "-f", "file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pipe", "-p", is_flag=True, help="Write the object to standard output")
@s3_options
def object_get(path: str, file: Path | None, pipe: bool, **opts: Any) -> None:
    """Download an object to --file (default: the key's last segment, in the current directory) or to
    standard output (--pipe)."""
    from lakebox.client import transfer

    bucket, key = _split(path)
    if file is not None and pipe:
        raise click.UsageError("give at most one of --file and --pipe")
    if pipe and opts["as_json"]:
        raise click.UsageError("--json prints the result on standard output; it cannot go with --pipe")
    target = file or Path(key.rsplit("/", 1)[-1])
    if not pipe and target.name in ("", ".", ".."):
        raise click.UsageError(f"the key {key!r} names no file; give --file")
    s3 = s3_client(opts)
    if pipe:
        with s3.request("GET", bucket, key) as resp:
            out = sys.stdout.buffer
            for chunk in resp.iter_raw(transfer.CHUNK):
                out.write(chunk)
            out.flush()
        return
    if not opts["as_json"]:
        click.echo(f'Downloading "{key}" from "{bucket}".')
    with s3.request("GET", bucket, key) as resp:
        total = int(resp.headers["content-length"]) if "content-length" in resp.headers else None
        with transfer.progress(f"get {key}", total, opts["progress"]) as advance:
            size = transfer.download(resp.iter_raw(transfer.CHUNK), target, advance)
        result = {
            "bucket": bucket,
            "key": key,
            "file": str(target),
            "size": size,
            "etag": resp.headers.get("etag", "").strip('"'),
            "content_type": resp.headers.get("content-type"),
        }
    emit(result, opts["as_json"], lambda _: ["Download complete."])


@object_.command("delete")
@click.argument("path", metavar="BUCKET/KEY")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@s3_options
def object_delete(path: str, **opts: Any) -> None:
    """Delete an object (irreversible)."""
    bucket, key = _split(path)
    s3 = s3_client(opts)
    if not opts["as_json"]:
        click.echo(f'Deleting object "{key}" from bucket "{bucket}".')
    with s3.request("DELETE", bucket, key):
        pass
    emit({"bucket": bucket, "key": key, "deleted": True}, opts["as_json"], lambda _: ["Delete complete."])
