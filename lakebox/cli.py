"""The ``lakebox`` command line: ``serve``, and (talking to a running server's admin API) bucket/object/token
commands that mirror wrangler's ``r2`` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lakebox.admin_client import AdminClient, parse_duration
from lakebox.settings import load_settings

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
    from lakebox.supervision import StartupError

    try:
        settings = load_settings(flags)
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


# -- tokens (through the admin API) ------------------------------------------------------------------------

PERMISSIONS = ["admin-rw", "admin-ro", "object-rw", "object-ro"]
TEMP_PERMISSIONS = ["object-read-only", "object-read-write"]


def admin_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--console-url, --token, --data-dir (each with its LAKEBOX_* variable) and --json."""
    options = [
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON"),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            envvar="LAKEBOX_DATA_DIR",
            help="Server data dir, for its root credentials [env LAKEBOX_DATA_DIR; ./data]",
        ),
        click.option("--token", envvar="LAKEBOX_TOKEN", help="Admin Read & Write token [env LAKEBOX_TOKEN]"),
        click.option(
            "--console-url", envvar="LAKEBOX_CONSOLE_URL", help="Admin API URL [env LAKEBOX_CONSOLE_URL]"
        ),
    ]
    for option in options:
        command = option(command)
    return command


def _client(console_url: str | None, token: str | None, data_dir: Path | None) -> AdminClient:
    return AdminClient.resolve(console_url, token, data_dir)


def _print(result: Any, as_json: bool, lines: Callable[[Any], list[str]]) -> None:
    click.echo(json.dumps(result, indent=2) if as_json else "\n".join(lines(result)))


def _token_lines(t: dict[str, Any]) -> list[str]:
    buckets = ", ".join(t.get("buckets") or []) or "all buckets"
    out = [
        f"id                 {t['id']}",
        f"name               {t.get('name') or '-'}",
        f"permission         {t['permission']}  ({buckets})",
        f"expires at         {t.get('expires_at') or 'never'}",
    ]
    if "status" in t:
        out.append(f"status             {t['status']}")
    if "token" in t:
        out += [
            f"token              {t['token']}",
            f"access key id      {t['access_key_id']}",
            f"secret access key  {t['secret_access_key']}",
            "(the token and the secret access key are shown only once)",
        ]
    return out


@main.group()
def token() -> None:
    """API tokens and temporary credentials (R2's permissions)."""


@token.command("create")
@click.option("--permission", required=True, type=click.Choice(PERMISSIONS), help="The token's permission")
@click.option(
    "--bucket", "buckets", multiple=True, help="Limit an object permission to this bucket (repeatable)"
)
@click.option("--ttl", help="Lifetime: 900, 15m, 12h, 30d, 2w [never expires]")
@click.option("--name", default="", help="A name to recognise the token by")
@admin_options
def token_create(
    permission: str,
    buckets: tuple[str, ...],
    ttl: str | None,
    name: str,
    console_url: str | None,
    token: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Create an API token; prints its value and S3 credentials once."""
    body = {
        "permission": permission,
        "buckets": list(buckets),
        "name": name,
        "ttl_seconds": parse_duration(ttl) if ttl else None,
    }
    result = _client(console_url, token, data_dir).call("POST", "/tokens", body)
    _print(result, as_json, _token_lines)


@token.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens")
@admin_options
def token_list(
    include_revoked: bool, console_url: str | None, token: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """List API tokens (never their secrets)."""
    result = _client(console_url, token, data_dir).call(
        "GET", "/tokens", include_revoked="true" if include_revoked else None
    )

    def lines(r: dict[str, Any]) -> list[str]:
        rows = [f"{'ID':<34}{'PERMISSION':<12}{'STATUS':<9}{'EXPIRES':<28}{'BUCKETS':<20}NAME"]
        for t in r["tokens"]:
            rows.append(
                f"{t['id']:<34}{t['permission']:<12}{t['status']:<9}{t['expires_at'] or 'never':<28}"
                f"{','.join(t['buckets']) or '*':<20}{t['name']}"
            )
        return rows

    _print(result, as_json, lines)


@token.command("get")
@click.argument("token_id")
@admin_options
def token_get(
    token_id: str, console_url: str | None, token: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Show one API token (never its secret)."""
    result = _client(console_url, token, data_dir).call("GET", f"/tokens/{token_id}")
    _print(result, as_json, _token_lines)


@token.command("revoke")
@click.argument("token_id")
@admin_options
def token_revoke(
    token_id: str, console_url: str | None, token: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Revoke an API token (and its temporary credentials) at once, on every worker and node."""
    result = _client(console_url, token, data_dir).call("DELETE", f"/tokens/{token_id}")
    _print(result, as_json, lambda t: [f"revoked {t['id']}"])


@token.command("temp")
@click.option("--bucket", required=True, help="The one bucket the credentials reach")
@click.option("--prefix", "prefixes", multiple=True, help="Limit to keys under this prefix (repeatable)")
@click.option("--object", "objects", multiple=True, help="Limit to this object key (repeatable)")
@click.option(
    "--permission", required=True, type=click.Choice(TEMP_PERMISSIONS), help="Read-only or read-write"
)
@click.option("--ttl", default="3600", show_default=True, help="Lifetime: 900, 15m, 12h (at most 7d)")
@click.option("--parent", help="Parent token id [the calling token]")
@admin_options
def token_temp(
    bucket: str,
    prefixes: tuple[str, ...],
    objects: tuple[str, ...],
    permission: str,
    ttl: str,
    parent: str | None,
    console_url: str | None,
    token: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Create temporary S3 credentials (use as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)."""
    body = {
        "bucket": bucket,
        "prefixes": list(prefixes),
        "objects": list(objects),
        "permission": permission,
        "ttl_seconds": parse_duration(ttl),
        "parent_access_key_id": parent,
    }
    result = _client(console_url, token, data_dir).call("POST", "/temp-credentials", body)

    def lines(c: dict[str, Any]) -> list[str]:
        return [
            f"AWS_ACCESS_KEY_ID={c['access_key_id']}",
            f"AWS_SECRET_ACCESS_KEY={c['secret_access_key']}",
            f"AWS_SESSION_TOKEN={c['session_token']}",
            f"# expires at {c['expires_at']}; {c['permission']} on {c['bucket']}"
            + (f" ({', '.join(c['prefixes'] + c['objects'])})" if c["prefixes"] or c["objects"] else ""),
        ]

    _print(result, as_json, lines)


# The other command groups register themselves on ``main`` (imported last: they use the helpers above).
from lakebox import (  # noqa: E402, F401
    cli_audit,
    cli_buckets,
    cli_objects,
)
