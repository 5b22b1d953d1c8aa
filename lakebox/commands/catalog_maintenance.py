"""``lakebox bucket catalog compaction|snapshot-expiration enable|disable BUCKET [NAMESPACE TABLE]`` (wrangler's
commands) and ``lakebox bucket catalog maintenance runs BUCKET``."""

from __future__ import annotations

from typing import Any

import click

from lakebox.client import maintenance
from lakebox.client.errors import CliError
from lakebox.client.output import api, connection_options, emit


def _target(namespace: str | None, table: str | None) -> tuple[str | None, str | None]:
    if (namespace is None) != (table is None):
        raise CliError("Give both NAMESPACE and TABLE, or neither (the warehouse's configuration)")
    return namespace, table


def _config_lines(config: dict[str, Any]) -> list[str]:
    comp, exp = config["compaction"], config["snapshot_expiration"]
    return [
        f"compaction:           {comp['state']} (target {comp['target_size_mb']} MB)",
        f"snapshot expiration:  {exp['state']} (older than {exp['max_snapshot_age']}, "
        f"retain last {exp['min_snapshots_to_keep']})",
    ]


@click.group()
def compaction() -> None:
    """Bin-packing of small data files into target-size files (per warehouse or table)."""


@compaction.command("enable")
@click.argument("bucket")
@click.argument("namespace", required=False)
@click.argument("table", required=False)
@click.option("--target-size", type=click.IntRange(1, 512), help="Target file size in MB [128]")
@connection_options
def compaction_enable(
    bucket: str,
    namespace: str | None,
    table: str | None,
    target_size: int | None,
    **opts: Any,
) -> None:
    """Compact the warehouse's tables (or one table)."""
    ns, name = _target(namespace, table)
    body = maintenance.compaction_body(True, target_size, name is not None)
    emit(maintenance.configure(api(opts), bucket, ns, name, body), opts["as_json"], _config_lines)


@compaction.command("disable")
@click.argument("bucket")
@click.argument("namespace", required=False)
@click.argument("table", required=False)
@connection_options
def compaction_disable(bucket: str, namespace: str | None, table: str | None, **opts: Any) -> None:
    """Stop compacting the warehouse's tables (or one table)."""
    ns, name = _target(namespace, table)
    body = maintenance.compaction_body(False, None, name is not None)
    emit(maintenance.configure(api(opts), bucket, ns, name, body), opts["as_json"], _config_lines)


@click.group("snapshot-expiration")
def snapshot_expiration() -> None:
    """Expiry of old snapshots and removal of the files only they referenced."""


@snapshot_expiration.command("enable")
@click.argument("bucket")
@click.argument("namespace", required=False)
@click.argument("table", required=False)
@click.option(
    "--older-than-days", type=click.IntRange(1, 36500), help="Expire snapshots older than this [30]"
)
@click.option(
    "--retain-last", type=click.IntRange(1, 100000), help="Always keep this many newest snapshots [5]"
)
@connection_options
def expiration_enable(
    bucket: str, namespace: str | None, table: str | None, older_than_days: int | None, retain_last: int | None,
    **opts: Any,
) -> None:  # fmt: skip
    """Expire old snapshots of the warehouse's tables (or one table)."""
    ns, name = _target(namespace, table)
    body = maintenance.expiration_body(True, older_than_days, retain_last, name is not None)
    emit(maintenance.configure(api(opts), bucket, ns, name, body), opts["as_json"], _config_lines)


@snapshot_expiration.command("disable")
@click.argument("bucket")
@click.argument("namespace", required=False)
@click.argument("table", required=False)
@connection_options
def expiration_disable(bucket: str, namespace: str | None, table: str | None, **opts: Any) -> None:
    """Stop expiring snapshots of the warehouse's tables (or one table)."""
    ns, name = _target(namespace, table)
    body = maintenance.expiration_body(False, None, None, name is not None)
    emit(maintenance.configure(api(opts), bucket, ns, name, body), opts["as_json"], _config_lines)


@click.group("maintenance")
def maintenance_group() -> None:
    """The record of maintenance runs."""


def _run_lines(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["No maintenance runs yet."]
    lines = [
        f"{'started':<25} {'kind':<20} {'table':<24} {'outcome':<10} files before->after  bytes before->after"
    ]
    for r in runs:
        table = ".".join([*r["namespace"], r["table"]])
        lines.append(
            f"{r['started_at']:<25} {r['kind']:<20} {table:<24} {r['outcome']:<10} "
            f"{r['files_before']}->{r['files_after']}  {r['bytes_before']}->{r['bytes_after']}"
        )
    return lines


@maintenance_group.command("runs")
@click.argument("bucket")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@connection_options
def maintenance_runs(bucket: str, limit: int, **opts: Any) -> None:
    """The newest maintenance runs of the warehouse's tables."""
    emit(maintenance.runs(api(opts), bucket, limit), opts["as_json"], _run_lines)
