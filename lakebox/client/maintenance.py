"""Catalog maintenance over the Cloudflare API: the bodies wrangler 4.86 sends for each route (the warehouse's
route in its spelling, a table's in its own) and the record of runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from lakebox.client.api import Api


def config_path(client: Api, bucket: str, namespace: str | None, table: str | None) -> str:
    path = client.account(f"/r2-catalog/{quote(bucket, safe='')}")
    if namespace is not None and table is not None:
        path += f"/namespaces/{quote(namespace, safe='')}/tables/{quote(table, safe='')}"
    return f"{path}/maintenance-configs"


def compaction_body(enabled: bool, target_mb: int | None, table: bool) -> dict[str, Any]:
    section: dict[str, Any] = {"state": "enabled" if enabled else "disabled"}
    if enabled and target_mb is not None:
        section["target_size_mb" if table else "targetSizeMb"] = target_mb
    return {"compaction": section}


def expiration_body(
    enabled: bool, older_than_days: int | None, retain_last: int | None, table: bool
) -> dict[str, Any]:
    section: dict[str, Any] = {"state": "enabled" if enabled else "disabled"}
    if enabled:
        if older_than_days is not None:
            section["older_than_days" if table else "max_snapshot_age"] = (
                older_than_days if table else f"{older_than_days}d"
            )
        if retain_last is not None:
            section["retain_last" if table else "min_snapshots_to_keep"] = retain_last
    return {"snapshot_expiration": section}


def configure(
    client: Api, bucket: str, namespace: str | None, table: str | None, body: dict[str, Any]
) -> Any:
    return client.call("POST", config_path(client, bucket, namespace, table), body)


def runs(client: Api, bucket: str, limit: int) -> Any:
    return client.call(
        "GET", client.account(f"/lakebox/r2-catalog/{quote(bucket, safe='')}/maintenance-runs"), limit=limit
    )
