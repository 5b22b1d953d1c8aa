"""``lakebox bulk put BUCKET --filename FILE`` (also ``lakebox object bulk put``): wrangler's ``r2 bulk put``.

FILE is wrangler's: a JSON array of ``{"key": ..., "file": ...}`` objects, each file a path (relative to the current
directory) uploaded as the object ``key``, ``--concurrency`` objects at a time. The whole list is checked before the
first upload, with wrangler's messages. The first failed upload stops the rest (objects already uploaded stay, as
with wrangler). Unlike wrangler, which sends each object in one API request (300 MiB at most), files above
``--part-size`` go as multipart uploads, so there is no size limit.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, NamedTuple

import click

from lakebox.client.errors import CliError
from lakebox.client.output import emit
from lakebox.commands.objects import put_headers, put_options, s3_client, s3_options, upload_file

PART_CONCURRENCY = 4  # parts of one multipart upload sent at once


class Entry(NamedTuple):
    key: str
    file: Path
    size: int


def read_entries(filename: Path) -> list[Entry]:
    """The entries of a bulk put file, each file checked to exist (wrangler's checks and messages)."""
    if not filename.exists():
        raise CliError(f'The file "{filename}" does not exist.')
    try:
        text = filename.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise CliError(f'The file "{filename}" is not readable.') from None
    try:
        parsed = json.loads(text)
    except ValueError:
        raise CliError(f'The file "{filename}" is not a valid JSON.') from None
    if not isinstance(parsed, list):
        raise CliError(f'The file "{filename}" must contain an array of entries.')
    entries = []
    for item in parsed:
        if not (
            isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("file"), str)
        ):
            raise CliError(
                f'Each entry in the file "{filename}" must be an object with "key" and "file" string properties.'
            )
        path = Path(item["file"])
        if not path.exists():
            raise CliError(f'The file "{path}" does not exist.')
        if not path.is_file():
            raise CliError(f'The path "{path}" is not a file.')
        entries.append(Entry(item["key"], path, path.stat().st_size))
    return entries


@click.group("bulk")
def bulk() -> None:
    """Many objects at once (wrangler's r2 bulk)."""


@bulk.command("put")
@click.argument("bucket")
@click.option(
    "--filename",
    "-f",
    type=click.Path(path_type=Path),
    help='A JSON array of {"key": ..., "file": ...} objects',
)
@put_options
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Objects uploaded at once",
)
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@s3_options
def bulk_put(
    bucket: str,
    filename: Path | None,
    storage_class: str | None,
    part_size: int,
    concurrency: int,
    force: bool,
    **opts: Any,
) -> None:
    """Upload the files a JSON list names, each as an object of BUCKET, several at once."""
    from lakebox.client import transfer

    if filename is None:
        raise CliError("The --filename argument is required for bulk put operations.")
    if part_size < transfer.MIN_PART:
        raise click.BadParameter("must be at least 5MiB", param_hint="--part-size")
    entries = read_entries(filename)
    s3 = s3_client(opts)
    as_json = opts["as_json"]
    if not as_json:
        in_class = f" with {storage_class} storage class" if storage_class else ""
        click.echo(
            f"Starting bulk upload of {len(entries)} objects to bucket {bucket}{in_class} "
            f"using a concurrency of {concurrency}"
        )
    total = sum(entry.size for entry in entries)
    results: list[dict[str, Any] | None] = [None] * len(entries)
    with (
        transfer.progress(f"bulk put {len(entries)} objects", total, opts["progress"]) as advance,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):

        def upload(entry: Entry) -> dict[str, Any]:
            headers = put_headers(opts, storage_class, entry.file)
            done = upload_file(
                s3, bucket, entry.key, headers, entry.file, part_size, PART_CONCURRENCY, advance
            )
            return {**done, "file": str(entry.file)}

        futures: dict[Future[dict[str, Any]], int] = {
            pool.submit(upload, entry): i for i, entry in enumerate(entries)
        }
        for finished, future in enumerate(as_completed(futures), 1):
            index = futures[future]
            try:
                results[index] = future.result()
            except Exception as exc:
                pool.shutdown(wait=True, cancel_futures=True)
                reason = exc.format_message() if isinstance(exc, click.ClickException) else repr(exc)
                raise CliError(f'Error uploading "{entries[index].file}": {reason}') from None
            if not as_json and (finished % 10 == 0 or finished == len(entries)):
                percent = 100 * finished // len(entries)
                click.echo(f"Uploaded {percent}% ({finished:,} out of {len(entries):,})")
    summary = {"bucket": bucket, "count": len(entries), "size": total, "objects": results}
    emit(summary, as_json, lambda _: ["Bulk upload complete."])
