"""``lakebox bucket ...``: wrangler's ``r2 bucket`` commands (create, list, info, delete, update storage-class,
dev-url, catalog) over the Cloudflare v4 API."""

from __future__ import annotations

from typing import Any

import click

from lakebox.client.api import Api
from lakebox.client.errors import CliError
from lakebox.client.output import api, bucket_options, connection_options, emit
from lakebox.commands.bucket_domains import domain
from lakebox.commands.bucket_locks import lock
from lakebox.commands.bucket_rules import cors, lifecycle
from lakebox.commands.catalog_maintenance import compaction, maintenance_group, snapshot_expiration

STORAGE_CLASSES = click.Choice(["Standard", "InfrequentAccess"])


@click.group()
def bucket() -> None:
    """Buckets, their rules, r2.dev URLs and R2 Data Catalogs."""


bucket.add_command(lifecycle)
bucket.add_command(cors)
bucket.add_command(lock)
bucket.add_command(domain)


def _bucket_lines(b: dict[str, Any]) -> list[str]:
    return [
        f"name:                   {b['name']}",
        f"creation_date:          {b['creation_date']}",
        f"location:               {b.get('location') or 'auto'}",
        f"default_storage_class:  {b.get('storage_class') or 'Standard'}",
        f"jurisdiction:           {b.get('jurisdiction') or 'default'}",
    ]


@bucket.command("create")
@click.argument("name")
@click.option("--location", help="Location hint: wnam, enam, weur, eeur, apac, oc [auto]")
@click.option("--storage-class", "-s", type=STORAGE_CLASSES, help="Default storage class [Standard]")
@bucket_options
def bucket_create(name: str, location: str | None, storage_class: str | None, **opts: Any) -> None:
    """Create a bucket."""
    client = api(opts)
    body: dict[str, Any] = {"name": name}
    if location:
        body["locationHint"] = location
    if storage_class:
        body["storageClass"] = storage_class
    result = client.call("POST", client.account("/r2/buckets"), body)
    emit(result, opts["as_json"], lambda b: [f"Created bucket '{b['name']}'."])


@bucket.command("list")
@bucket_options
def bucket_list(**opts: Any) -> None:
    """List buckets (every page)."""
    client = api(opts)
    buckets: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, info = client.call_full("GET", client.account("/r2/buckets"), cursor=cursor)
        buckets += page["buckets"]
        cursor = (info or {}).get("cursor")
        if not cursor:
            break
    emit(
        {"buckets": buckets},
        opts["as_json"],
        lambda r: [line for b in r["buckets"] for line in [*_bucket_lines(b), ""]][:-1] or ["No buckets."],
    )


@bucket.command("info")
@click.argument("name")
@bucket_options
def bucket_info(name: str, **opts: Any) -> None:
    """Show a bucket."""
    client = api(opts)
    emit(client.call("GET", client.bucket(name)), opts["as_json"], _bucket_lines)


@bucket.command("delete")
@click.argument("name")
@bucket_options
def bucket_delete(name: str, **opts: Any) -> None:
    """Delete an empty bucket."""
    client = api(opts)
    client.call("DELETE", client.bucket(name))
    emit({"deleted": name}, opts["as_json"], lambda r: [f"Deleted bucket '{r['deleted']}'."])


@bucket.group("update")
def update() -> None:
    """Change a bucket's settings."""


@update.command("storage-class")
@click.argument("name")
@click.option("--storage-class", "-s", required=True, type=STORAGE_CLASSES, help="The new default class")
@bucket_options
def update_storage_class(name: str, storage_class: str, **opts: Any) -> None:
    """Set the bucket's default storage class."""
    client = api(opts)
    result = client.call("PATCH", client.bucket(name), headers={"cf-r2-storage-class": storage_class})
    emit(result, opts["as_json"], lambda b: [f"Updated bucket '{name}' to storage class {storage_class}."])


# -- r2.dev ------------------------------------------------------------------------------------------------


@bucket.group("dev-url")
def dev_url() -> None:
    """The bucket's public development URL (R2's r2.dev): anonymous GET/HEAD of its objects."""


def _dev_url(client: Api, name: str, enabled: bool | None) -> dict[str, Any]:
    path = client.bucket(name, "/domains/managed")
    if enabled is None:
        result: dict[str, Any] = client.call("GET", path)
    else:
        result = client.call("PUT", path, {"enabled": enabled})
    scheme = client.target.console_url.partition("://")[0]  # the public port serves TLS when the console does
    url = f"{scheme}://{result['domain']}" if result.get("domain") else None
    return {"bucket": name, "enabled": result["enabled"], "public_id": result.get("publicId"), "url": url}


def _dev_url_lines(d: dict[str, Any]) -> list[str]:
    if d["enabled"]:
        return [f"Public access is enabled at '{d['url']}'."]
    return [f"Public access via the r2.dev URL is disabled for bucket '{d['bucket']}'."]


@dev_url.command("get")
@click.argument("name")
@bucket_options
def dev_url_get(name: str, **opts: Any) -> None:
    """Show whether the r2.dev URL is enabled, and where."""
    emit(_dev_url(api(opts), name, None), opts["as_json"], _dev_url_lines)


@dev_url.command("enable")
@click.argument("name")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@bucket_options
def dev_url_enable(name: str, force: bool, **opts: Any) -> None:
    """Serve the bucket's objects to anyone at an address that names neither account nor bucket."""
    emit(_dev_url(api(opts), name, True), opts["as_json"], _dev_url_lines)


@dev_url.command("disable")
@click.argument("name")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@bucket_options
def dev_url_disable(name: str, force: bool, **opts: Any) -> None:
    """Stop serving the bucket publicly (the address is kept for a later enable)."""
    emit(_dev_url(api(opts), name, False), opts["as_json"], _dev_url_lines)


# -- R2 Data Catalog ---------------------------------------------------------------------------------------


@bucket.group()
def catalog() -> None:
    """The bucket's R2 Data Catalog (an Iceberg REST warehouse)."""


def _catalog(client: Api, name: str, action: str | None) -> dict[str, Any]:
    path = client.account(f"/r2-catalog/{name}")
    if action is not None:
        client.call("POST", f"{path}/{action}")
    result: dict[str, Any] = client.call("GET", path)
    return {
        **result,
        "enabled": result["status"] == "active",
        "catalog_uri": client.server_info.get("catalog_uri"),
        "warehouse": result["name"],
    }


def _catalog_lines(c: dict[str, Any]) -> list[str]:
    return [
        f"Catalog of bucket {c['bucket']}: {'enabled' if c['enabled'] else 'disabled'}",
        f"Catalog URI:  {c['catalog_uri']}",
        f"Warehouse:    {c['warehouse']}",
    ]


@catalog.command("enable")
@click.argument("name")
@connection_options
def catalog_enable(name: str, **opts: Any) -> None:
    """Turn the bucket into an Iceberg warehouse."""
    emit(_catalog(api(opts), name, "enable"), opts["as_json"], _catalog_lines)


@catalog.command("disable")
@click.argument("name")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@connection_options
def catalog_disable(name: str, force: bool, **opts: Any) -> None:
    """Refuse catalog requests for the bucket (its tables are kept for a later enable)."""
    emit(_catalog(api(opts), name, "disable"), opts["as_json"], _catalog_lines)


@catalog.command("get")
@click.argument("name")
@connection_options
def catalog_get(name: str, **opts: Any) -> None:
    """Show the catalog's status, URI and warehouse name."""
    emit(_catalog(api(opts), name, None), opts["as_json"], _catalog_lines)


catalog.add_command(compaction)
catalog.add_command(snapshot_expiration)
catalog.add_command(maintenance_group)


# -- wrangler commands whose features lakebox has not built yet --------------------------------------------

NOT_BUILT = {
    (bucket, "sippy"): "Sippy (incremental migration)",
    (bucket, "notification"): "Event notifications",
}


def _not_built(feature: str) -> click.Command:
    def run(args: tuple[str, ...]) -> None:
        raise CliError(f"lakebox has no {feature.lower()} yet — the README lists what it has")

    return click.Command(
        None,
        callback=run,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=f"{feature}: not built in lakebox yet.",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


for (_group, _name), _feature in NOT_BUILT.items():
    _group.add_command(_not_built(_feature), _name)
