"""The read-modify-write shape that ``lakebox bucket lock|lifecycle add|remove`` share: the Cloudflare API keeps a
bucket's rules as one ``{"rules": [...]}`` document, so adding or removing one rule is GET, edit, PUT."""

from __future__ import annotations

from typing import Any

from lakebox.client.errors import CliError
from lakebox.client.output import api, emit


def add_rule(opts: dict[str, Any], bucket: str, kind: str, rule: dict[str, Any]) -> None:
    """Append ``rule`` to the bucket's ``kind`` rules (``lock``, ``lifecycle``), refusing a name already taken."""
    client = api(opts)
    path = client.bucket(bucket, f"/{kind}")
    rules = client.call("GET", path).get("rules") or []
    name = rule["id"]
    if any(r["id"] == name for r in rules):
        raise CliError(
            f"bucket '{bucket}' already has a {kind} rule '{name}' — remove it first or pick another name"
        )
    client.call("PUT", path, {"rules": [*rules, rule]})
    emit(
        {"bucket": bucket, "rule": rule},
        opts["as_json"],
        lambda r: [f"Added {kind} rule '{name}' to bucket '{bucket}'."],
    )


def remove_rule(opts: dict[str, Any], bucket: str, kind: str, name: str) -> None:
    """Drop the bucket's ``kind`` rule called ``name``, which must exist."""
    client = api(opts)
    path = client.bucket(bucket, f"/{kind}")
    rules = client.call("GET", path).get("rules") or []
    kept = [r for r in rules if r["id"] != name]
    if len(kept) == len(rules):
        raise CliError(f"bucket '{bucket}' has no {kind} rule '{name}' — lakebox bucket {kind} list {bucket}")
    client.call("PUT", path, {"rules": kept})
    emit(
        {"bucket": bucket, "removed": name},
        opts["as_json"],
        lambda r: [f"Removed {kind} rule '{name}' from bucket '{bucket}'."],
    )
