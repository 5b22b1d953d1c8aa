"""``lakebox bucket domain ...``: wrangler's ``r2 bucket domain`` commands (list, add, get, update, remove) over
the Cloudflare API's ``/r2/buckets/{bucket}/domains/custom[/{domain}]``. The public-bucket port serves an enabled
domain's bucket to requests whose Host is the domain."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from lakebox.client.api import Api
from lakebox.client.output import api, bucket_options, emit

MIN_TLS = click.Choice(["1.0", "1.1", "1.2", "1.3"])


@click.group()
def domain() -> None:
    """Custom domains: serve a bucket's objects at a hostname of yours (Host header on the public port)."""


def _path(client: Api, bucket: str, name: str | None = None) -> str:
    return client.bucket(bucket, "/domains/custom" + (f"/{quote(name, safe='')}" if name else ""))


def _shown(bucket: str, d: dict[str, Any]) -> dict[str, Any]:
    status = d.get("status") or {}
    return {
        "bucket": bucket,
        "domain": d["domain"],
        "enabled": d["enabled"],
        "ownership_status": status.get("ownership"),
        "ssl_status": status.get("ssl"),
        "min_tls": d.get("minTLS"),
        "zone_id": d.get("zoneId"),
        "zone_name": d.get("zoneName"),
    }


def _lines(d: dict[str, Any]) -> list[str]:
    return [
        f"domain:            {d['domain']}",
        f"enabled:           {'Yes' if d['enabled'] else 'No'}",
        f"ownership_status:  {d['ownership_status']}",
        f"ssl_status:        {d['ssl_status']}",
        f"min_tls_version:   {d['min_tls']}",
        f"zone_id:           {d['zone_id'] or '-'}",
        f"zone_name:         {d['zone_name'] or '-'}",
    ]


def _list_lines(result: dict[str, Any]) -> list[str]:
    if not result["domains"]:
        return [f"There are no custom domains for bucket '{result['bucket']}'."]
    out: list[str] = []
    for d in result["domains"]:
        out += [*_lines(d), ""]
    return out[:-1]


@domain.command("list")
@click.argument("bucket")
@bucket_options
def domain_list(bucket: str, **opts: Any) -> None:
    """List the bucket's custom domains."""
    client = api(opts)
    found = client.call("GET", _path(client, bucket))["domains"]
    emit({"bucket": bucket, "domains": [_shown(bucket, d) for d in found]}, opts["as_json"], _list_lines)


@domain.command("get")
@click.argument("bucket")
@click.option("--domain", "name", required=True, help="The custom domain")
@bucket_options
def domain_get(bucket: str, name: str, **opts: Any) -> None:
    """Show one custom domain of the bucket."""
    client = api(opts)
    emit(_shown(bucket, client.call("GET", _path(client, bucket, name))), opts["as_json"], _lines)


@domain.command("add")
@click.argument("bucket")
@click.option("--domain", "name", required=True, help="The domain to serve the bucket at")
@click.option("--zone-id", required=True, help="The id of the domain's zone (kept as given)")
@click.option("--min-tls", type=MIN_TLS, help="Minimum TLS version the domain accepts [default: 1.0]")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@bucket_options
def domain_add(bucket: str, name: str, zone_id: str, min_tls: str | None, force: bool, **opts: Any) -> None:
    """Connect a custom domain to the bucket (served at once, by Host header on the public port)."""
    client = api(opts)
    body: dict[str, Any] = {"domain": name, "zoneId": zone_id, "enabled": True}
    if min_tls is not None:
        body["minTLS"] = min_tls
    result = client.call("POST", _path(client, bucket), body)
    emit(
        _shown(bucket, result),
        opts["as_json"],
        lambda d: [f"Added custom domain '{d['domain']}' to bucket '{bucket}'."],
    )


@domain.command("update")
@click.argument("bucket")
@click.option("--domain", "name", required=True, help="The custom domain")
@click.option("--min-tls", type=MIN_TLS, help="Minimum TLS version the domain accepts")
@click.option("--enabled/--disabled", "enabled", default=None, help="Serve the domain or stop serving it")
@bucket_options
def domain_update(bucket: str, name: str, min_tls: str | None, enabled: bool | None, **opts: Any) -> None:
    """Change a custom domain's minimum TLS version (or switch it on or off)."""
    client = api(opts)
    body: dict[str, Any] = {"domain": name}
    if min_tls is not None:
        body["minTLS"] = min_tls
    if enabled is not None:
        body["enabled"] = enabled
    result = client.call("PUT", _path(client, bucket, name), body)
    emit(
        _shown(bucket, result),
        opts["as_json"],
        lambda d: [f"Updated custom domain '{d['domain']}' of bucket '{bucket}'."],
    )


@domain.command("remove")
@click.argument("bucket")
@click.option("--domain", "name", required=True, help="The custom domain to disconnect")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@bucket_options
def domain_remove(bucket: str, name: str, force: bool, **opts: Any) -> None:
    """Disconnect a custom domain from the bucket."""
    client = api(opts)
    client.call("DELETE", _path(client, bucket, name))
    emit(
        {"bucket": bucket, "domain": name, "removed": True},
        opts["as_json"],
        lambda d: [f"Removed custom domain '{name}' from bucket '{bucket}'."],
    )
