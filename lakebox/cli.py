"""The ``lakebox`` command line: ``serve``, and (talking to a running server's admin API) bucket/object/token
commands that mirror wrangler's ``r2`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lakebox.settings import load_settings


@click.group()
def main() -> None:
    """lakebox: a self-hosted R2 and R2 Data Catalog."""


@main.command()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory [env LAKEBOX_DATA_DIR; ./data]"
)
@click.option("--host", help="Listen address [127.0.0.1]")
@click.option("--s3-port", type=int, help="S3 API port [9000]")
@click.option("--catalog-port", type=int, help="Iceberg REST catalog port [8181]")
@click.option("--console-port", type=int, help="Console and admin API port [9001]")
@click.option("--workers", type=int, help="Worker processes [one per core]")
@click.option("--domain", help="Domain for virtual-hosted addressing (<bucket>.<domain>)")
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True), help="TLS certificate (PEM)")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True), help="TLS private key (PEM)")
@click.option("--database-url", help="Metadata database (default: SQLite in the data dir)")
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="Log level [info]"
)
def serve(**flags: Any) -> None:
    """Start the S3 API, the Iceberg REST catalog and the console."""
    from lakebox.server import serve as run

    settings = load_settings(flags)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    run(settings)
