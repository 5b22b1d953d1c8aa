"""``lakebox bucket lock ...``: wrangler's ``r2 bucket lock`` commands (list, add, remove, set) over the
Cloudflare API's ``/r2/buckets/{bucket}/lock`` (``{"rules": [...]}``)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lakebox.client.errors import CliError
from lakebox.client.output import api, bucket_options, emit
from lakebox.commands.rule_edits import add_rule, remove_rule

DAY = 86400


@click.group()
def lock() -> None:
    """Bucket lock rules: keep objects from being deleted or overwritten for a time, or indefinitely."""


def _retention_text(condition: dict[str, Any]) -> str:
    kind = condition.get("type")
    if kind == "Age":
        seconds = condition["maxAgeSeconds"]
        if seconds % DAY == 0:
            return f"{int(seconds // DAY)} day(s) after upload"
        return f"{seconds} second(s) after upload"
    if kind == "Date":
        return f"until {condition['date']}"
    return "indefinitely"


def _lock_lines(result: dict[str, Any]) -> list[str]:
    if not result["rules"]:
        return [f"There are no lock rules for bucket '{result['bucket']}'."]
    out = []
    for rule in result["rules"]:
        out += [
            f"name:       {rule['id']}",
            f"enabled:    {'Yes' if rule['enabled'] else 'No'}",
            f"prefix:     {rule.get('prefix') or '(all prefixes)'}",
            f"condition:  {_retention_text(rule['condition'])}",
            "",
        ]
    return out[:-1]


def _condition(days: float | None, date: str | None, indefinite: bool) -> dict[str, Any]:
    given = sum(x for x in (days is not None, date is not None, indefinite))
    if given > 1:
        raise click.UsageError(
            "give only one of --retention-days, --retention-date and --retention-indefinite"
        )
    if days is not None:
        if not math.isfinite(days) or days <= 0:
            raise click.BadParameter(
                f"{days} is not a positive number of days", param_hint="--retention-days"
            )
        seconds = days * DAY
        return {"type": "Age", "maxAgeSeconds": int(seconds) if seconds.is_integer() else seconds}
    if date is not None:
        try:
            when = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise click.BadParameter(
                f"{date!r} is not a date like 2030-01-31", param_hint="--retention-date"
            ) from None
        return {"type": "Date", "date": when.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if indefinite:
        return {"type": "Indefinite"}
    raise click.UsageError("give a retention: --retention-days, --retention-date or --retention-indefinite")


@lock.command("list")
@click.argument("bucket")
@bucket_options
def lock_list(bucket: str, **opts: Any) -> None:
    """List the bucket's lock rules."""
    client = api(opts)
    rules = client.call("GET", client.bucket(bucket, "/lock")).get("rules") or []
    emit({"bucket": bucket, "rules": rules}, opts["as_json"], _lock_lines)


@lock.command("add")
@click.argument("bucket")
@click.argument("name", required=False)
@click.argument("prefix", required=False)
@click.option("--name", "--id", "rule_name", help="The rule's unique name (same as NAME)")
@click.option(
    "--prefix", "rule_prefix", help="Only keys starting with this (same as PREFIX; all keys if omitted)"
)
@click.option("--retention-days", type=float, help="Retain objects this many days after upload")
@click.option("--retention-date", help="Retain objects until this date (YYYY-MM-DD)")
@click.option("--retention-indefinite", is_flag=True, help="Retain objects indefinitely")
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@bucket_options
def lock_add(
    bucket: str,
    name: str | None,
    prefix: str | None,
    rule_name: str | None,
    rule_prefix: str | None,
    retention_days: float | None,
    retention_date: str | None,
    retention_indefinite: bool,
    force: bool,
    **opts: Any,
) -> None:
    """Add a lock rule (the bucket's other rules are kept)."""
    name = name or rule_name
    if not name:
        raise click.UsageError("give the rule's NAME (or --name)")
    prefix = prefix if prefix is not None else rule_prefix
    rule: dict[str, Any] = {"id": name, "enabled": True}
    if prefix:
        rule["prefix"] = prefix
    rule["condition"] = _condition(retention_days, retention_date, retention_indefinite)
    add_rule(opts, bucket, "lock", rule)


@lock.command("remove")
@click.argument("bucket")
@click.option("--name", "--id", "name", required=True, help="The rule to remove")
@bucket_options
def lock_remove(bucket: str, name: str, **opts: Any) -> None:
    """Remove one lock rule."""
    remove_rule(opts, bucket, "lock", name)


@lock.command("set")
@click.argument("bucket")
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help='A JSON file: {"rules": [...]} (the body of the Cloudflare API\'s put bucket lock rules)',
)
@click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
@bucket_options
def lock_set(bucket: str, file: Path, force: bool, **opts: Any) -> None:
    """Replace the bucket's lock rules with those of a JSON file."""
    try:
        body = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read lock rules from {file}: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        raise CliError(f'{file} must hold {{"rules": [...]}}')
    client = api(opts)
    client.call("PUT", client.bucket(bucket, "/lock"), {"rules": body["rules"]})
    emit(
        {"bucket": bucket, "rules": body["rules"]},
        opts["as_json"],
        lambda r: [f"Set {len(r['rules'])} lock rule(s) on bucket '{bucket}'."],
    )
