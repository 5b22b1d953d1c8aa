"""``lakebox migrate``: copy a bucket of any S3-compatible store into a lakebox bucket, as R2's Super Slurper
(``/client/v4/accounts/{account_id}/lakebox/migrations``). The copy runs on the server as a background job; these
commands start, follow and abort it. The source's secret can come from the environment, out of shell history."""

from __future__ import annotations

from typing import Any

import click

from lakebox.client.output import api, connection_options, emit

_BASE = "/lakebox/migrations"


@click.group()
def migrate() -> None:
    """Migrations from S3-compatible stores (R2's Super Slurper)."""


def _summary(m: dict[str, Any]) -> str:
    source = m["source"]
    where = f"{source['endpoint']}/{source['bucket']}" + (
        f" prefix={source['prefix']}" if source["prefix"] else ""
    )
    return (
        f"{m['id']}  {m['state']:<9} {where} -> {m['destination']['bucket']}  copied={m['objects_copied']} "
        f"bytes={m['bytes_copied']} skipped={m['objects_skipped']} failed={m['objects_failed']}"
    )


def _detail(m: dict[str, Any]) -> list[str]:
    lines = [
        _summary(m),
        f"  overwrite={'yes' if m['destination']['overwrite'] else 'no (skip existing)'}  "
        f"created={m['created_at']} started={m['started_at'] or '-'} finished={m['finished_at'] or '-'}",
    ]
    if m.get("error"):
        lines.append(f"  error: {m['error']}")
    lines += [f"  failed {f['key']}: {f['error']}" for f in m.get("failures", [])]
    return lines


@migrate.command("start")
@click.argument("dest_bucket")
@click.option("--source-endpoint", required=True, envvar="LAKEBOX_SOURCE_ENDPOINT", help="S3 endpoint URL")
@click.option("--source-bucket", required=True, help="The bucket to copy from")
@click.option("--source-region", default="auto", show_default=True, envvar="LAKEBOX_SOURCE_REGION")
@click.option(
    "--source-access-key-id", required=True, envvar="LAKEBOX_SOURCE_ACCESS_KEY_ID",
    help="[env LAKEBOX_SOURCE_ACCESS_KEY_ID]",
)  # fmt: skip
@click.option(
    "--source-secret-access-key", required=True, envvar="LAKEBOX_SOURCE_SECRET_ACCESS_KEY",
    help="[env LAKEBOX_SOURCE_SECRET_ACCESS_KEY: keeps it out of shell history]",
)  # fmt: skip
@click.option("--prefix", default="", help="Copy only keys under this prefix")
@click.option(
    "--overwrite/--skip-existing", default=True, help="Replace objects that exist (default) or skip them"
)
@connection_options
def migrate_start(
    dest_bucket: str,
    source_endpoint: str,
    source_bucket: str,
    source_region: str,
    source_access_key_id: str,
    source_secret_access_key: str,
    prefix: str,
    overwrite: bool,
    **opts: Any,
) -> None:
    """Start copying SOURCE into DEST_BUCKET; the server does the work in the background."""
    client = api(opts)
    body = {
        "bucket": dest_bucket,
        "source_endpoint": source_endpoint,
        "source_region": source_region,
        "source_bucket": source_bucket,
        "source_prefix": prefix,
        "source_access_key_id": source_access_key_id,
        "source_secret_access_key": source_secret_access_key,
        "overwrite": overwrite,
    }
    created = client.call("POST", client.account(_BASE), body)
    emit(
        created,
        opts["as_json"],
        lambda m: [f"Started migration {m['id']} (lakebox migrate status {m['id']})"],
    )


@migrate.command("list")
@connection_options
def migrate_list(**opts: Any) -> None:
    """List the migrations, newest first."""
    client = api(opts)
    found = client.call("GET", client.account(_BASE))
    emit(found, opts["as_json"], lambda ms: [_summary(m) for m in ms] or ["(no migrations)"])


@migrate.command("status")
@click.argument("migration_id")
@connection_options
def migrate_status(migration_id: str, **opts: Any) -> None:
    """Show a migration: state, counts, and the objects that failed."""
    client = api(opts)
    emit(client.call("GET", client.account(f"{_BASE}/{migration_id}")), opts["as_json"], _detail)


@migrate.command("abort")
@click.argument("migration_id")
@connection_options
def migrate_abort(migration_id: str, **opts: Any) -> None:
    """Stop a migration; what it copied stays."""
    client = api(opts)
    found = client.call("POST", client.account(f"{_BASE}/{migration_id}/abort"))
    emit(found, opts["as_json"], lambda m: [f"Aborted migration {m['id']}", *_detail(m)[1:]])
