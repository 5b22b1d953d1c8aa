"""``lakebox bucket ...``: wrangler's ``r2 bucket`` commands (create, list, info, delete) and ``r2 bucket catalog``
(enable, disable, get), through a running server's admin API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lakebox.cli import _client, _print, admin_options, main


@main.group()
def bucket() -> None:
    """Buckets and their R2 Data Catalogs."""


def _bucket_lines(b: dict[str, Any]) -> list[str]:
    return [f"{b['name']}  created {b['created_at']}  location {b['location']}  {b['storage_class']}"]


@bucket.command("create")
@click.argument("name")
@click.option("--location", default="auto", help="Location hint (auto, wnam, enam, weur, eeur, apac, oc)")
@click.option("--storage-class", default="Standard", type=click.Choice(["Standard", "InfrequentAccess"]))
@admin_options
def bucket_create(name: str, location: str, storage_class: str, **admin: Any) -> None:
    """Create a bucket."""
    result = _call(
        admin, "POST", "/buckets", {"name": name, "location": location, "storage_class": storage_class}
    )
    _print(result, admin["as_json"], _bucket_lines)


@bucket.command("list")
@admin_options
def bucket_list(**admin: Any) -> None:
    """List buckets."""
    result = _call(admin, "GET", "/buckets")
    _print(result, admin["as_json"], lambda r: [line for b in r["buckets"] for line in _bucket_lines(b)])


@bucket.command("info")
@click.argument("name")
@admin_options
def bucket_info(name: str, **admin: Any) -> None:
    """Show a bucket."""
    _print(_call(admin, "GET", f"/buckets/{name}"), admin["as_json"], _bucket_lines)


@bucket.command("delete")
@click.argument("name")
@admin_options
def bucket_delete(name: str, **admin: Any) -> None:
    """Delete an empty bucket."""
    _call(admin, "DELETE", f"/buckets/{name}")
    _print({"deleted": name}, admin["as_json"], lambda r: [f"Deleted bucket {r['deleted']}"])


@bucket.group()
def catalog() -> None:
    """The bucket's R2 Data Catalog (an Iceberg REST warehouse)."""


def _catalog_lines(c: dict[str, Any]) -> list[str]:
    state = "enabled" if c["enabled"] else "disabled"
    return [
        f"Catalog of bucket {c['bucket']}: {state}",
        f"Catalog URI:  {c['catalog_uri']}",
        f"Warehouse:    {c['warehouse']}",
    ]


def _call(admin: dict[str, Any], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data_dir: Path | None = admin["data_dir"]
    return _client(admin["console_url"], admin["token"], data_dir).call(method, path, body)


@bucket.group("dev-url")
def dev_url() -> None:
    """The bucket's public development URL (R2's r2.dev): anonymous GET/HEAD of its objects."""


def _dev_url_lines(p: dict[str, Any]) -> list[str]:
    if p["enabled"]:
        return [f"Public access is enabled at '{p['url']}'."]
    return [f"Public access via the dev URL is disabled for bucket '{p['bucket']}'."]


def _state_commands(
    group: click.Group, resource: str, lines: Callable[[dict[str, Any]], list[str]], docs: dict[str, str]
) -> None:
    """enable/disable/get of a per-bucket setting behind ``/buckets/{name}/<resource>`` of the admin API."""

    def command(action: str, method: str, suffix: str) -> None:
        @group.command(action, help=docs[action])
        @click.argument("name")
        @admin_options
        def run(name: str, **admin: Any) -> None:
            _print(_call(admin, method, f"/buckets/{name}/{resource}{suffix}"), admin["as_json"], lines)

    command("enable", "POST", "/enable")
    command("disable", "POST", "/disable")
    command("get", "GET", "")


_state_commands(
    catalog,
    "catalog",
    _catalog_lines,
    {
        "enable": "Turn the bucket into an Iceberg warehouse.",
        "disable": "Refuse catalog requests for the bucket (its tables are kept for a later enable).",
        "get": "Show the catalog's status, URI and warehouse name.",
    },
)
_state_commands(
    dev_url,
    "public",
    _dev_url_lines,
    {
        "enable": "Serve the bucket's objects to anyone at an address that names neither account nor bucket.",
        "disable": "Stop serving the bucket publicly (the address is kept for a later enable).",
        "get": "Show whether public access is enabled, and where.",
    },
)
