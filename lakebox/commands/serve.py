"""``lakebox serve``: the server. Its modules (Litestar, SQLAlchemy, pyiceberg, ...) are imported only when it
runs, so that the client commands start fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

# Settings that must be positive whichever source set them (flag, environment or lakebox.toml).
LIMITS = (
    "max_request_line_bytes",
    "max_header_bytes",
    "header_timeout",
    "body_timeout",
    "keep_alive_timeout",
    "max_connections",
    "backlog",
)


@click.command()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory [env LAKEBOX_DATA_DIR; ./data]"
)
@click.option("--host", help="Listen address [127.0.0.1]")
@click.option("--s3-port", type=int, help="S3 API port [9000]")
@click.option("--catalog-port", type=int, help="Iceberg REST catalog port [8181]")
@click.option("--console-port", type=int, help="Console and admin API port [9001]")
@click.option("--public-port", type=int, help="Public buckets port (anonymous GET/HEAD) [9002]")
@click.option("--public-domain", help="Domain for public buckets by Host (<public id>.<domain>)")
@click.option("--workers", type=int, help="Worker processes [one per core]")
@click.option("--domain", help="Domain for virtual-hosted addressing (<bucket>.<domain>)")
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True), help="TLS certificate (PEM)")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True), help="TLS private key (PEM)")
@click.option("--database-url", help="Metadata database (default: SQLite in the data dir)")
@click.option(
    "--forwarded-allow-ips",
    help="Reverse proxies trusted for X-Forwarded-For/-Proto (comma-separated IPs, or *) [none]",
)
@click.option(
    "--direct-io/--no-direct-io",
    default=None,
    help="Write blobs over 1 MiB around the page cache (O_DIRECT) where the file system allows it [on]",
)
@click.option(
    "--master-key-file",
    type=click.Path(path_type=Path),
    help="Master keys of encryption at rest, kept apart from the data [env LAKEBOX_MASTER_KEY_FILE; "
    "LAKEBOX_MASTER_KEY takes base64 keys; <data-dir>/master.key]",
)
@click.option(
    "--encryption/--no-encryption",
    default=None,
    help="Encrypt new objects at rest [on]; off only to measure its cost in a benchmark",
)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="Log level [info]"
)
@click.option(
    "--max-request-line-bytes", type=click.IntRange(min=1), help="Largest request URL, bytes [16384]"
)
@click.option(
    "--max-header-bytes", type=click.IntRange(min=1), help="Largest request header section, bytes [32768]"
)
@click.option("--header-timeout", type=click.IntRange(min=1), help="Seconds to receive a request head [20]")
@click.option(
    "--body-timeout",
    type=click.IntRange(min=1),
    help="Seconds a request body or response may stall while waiting on the client [60]",
)
@click.option(
    "--keep-alive-timeout", type=click.IntRange(min=1), help="Seconds an idle connection stays open [30]"
)
@click.option(
    "--max-connections", type=click.IntRange(min=1), help="Connections per worker before 503 SlowDown [1000]"
)
@click.option("--backlog", type=click.IntRange(min=1), help="Listen backlog of each port [2048]")
def serve(**flags: Any) -> None:
    """Start the S3 API, the Iceberg REST catalog and the console."""
    from lakebox.server import serve as run
    from lakebox.settings import load_settings
    from lakebox.supervision import StartupError
    from objectstore.service.keyring import KeyringError

    try:
        settings = load_settings(flags)
        settings.check_locations()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    for name in LIMITS:
        if getattr(settings, name) < 1:
            raise click.UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    try:
        run(settings)
    except StartupError as exc:
        click.echo(f"lakebox: {exc}", err=True)
        raise SystemExit(1) from None
    except KeyringError as exc:
        raise click.ClickException(f"cannot start: {exc}") from None
