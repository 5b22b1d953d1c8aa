"""``lakebox bucket lifecycle ...`` and ``lakebox bucket cors ...``: wrangler's commands for a bucket's rules,
in the Cloudflare API's JSON form (``{"rules": [...]}``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lakebox.client.errors import ApiError, CliError
from lakebox.client.output import api, bucket_options, emit
from lakebox.commands.rule_edits import add_rule, remove_rule

DAY = 86400
NO_CORS = 10059  # the bucket has no CORS configuration: listed as no rules
FORCE = click.option("--force", "-y", is_flag=True, help="Do not ask (lakebox never asks)")
RULES_FILE = click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help='A JSON file: {"rules": [...]}',
)


def _rules_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read rules from {path}: {exc}") from None
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise CliError(f'{path} must hold {{"rules": [...]}}')
    return data


# -- lifecycle ---------------------------------------------------------------------------------------------


@click.group()
def lifecycle() -> None:
    """Lifecycle rules: expire objects, move them to Infrequent Access, abort stale multipart uploads."""


def _condition(days: int | None, date: str | None, what: str) -> dict[str, Any] | None:
    if days is not None and date is not None:
        raise click.UsageError(f"give only one of --{what}-days and --{what}-date")
    if days is not None:
        return {"type": "Age", "maxAge": days * DAY}
    if date is not None:
        try:
            when = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise click.BadParameter(
                f"{date!r} is not a date like 2027-01-31", param_hint=f"--{what}-date"
            ) from None
        return {"type": "Date", "date": when.isoformat().replace("+00:00", "Z")}
    return None


def _action_text(rule: dict[str, Any]) -> str:
    def when(c: dict[str, Any]) -> str:
        return f"after {c['maxAge'] // DAY} days" if c["type"] == "Age" else f"on {c['date'][:10]}"

    actions = []
    if rule.get("deleteObjectsTransition"):
        actions.append(f"Expire objects {when(rule['deleteObjectsTransition']['condition'])}")
    for t in rule.get("storageClassTransitions") or []:
        actions.append(f"Transition to Infrequent Access {when(t['condition'])}")
    if rule.get("abortMultipartUploadsTransition"):
        actions.append(
            f"Abort incomplete multipart uploads {when(rule['abortMultipartUploadsTransition']['condition'])}"
        )
    return ", ".join(actions)


def _lifecycle_lines(result: dict[str, Any]) -> list[str]:
    if not result["rules"]:
        return [f"There are no lifecycle rules for bucket '{result['bucket']}'."]
    out = []
    for rule in result["rules"]:
        out += [
            f"name:     {rule['id']}",
            f"enabled:  {'Yes' if rule['enabled'] else 'No'}",
            f"prefix:   {rule['conditions'].get('prefix') or '(all prefixes)'}",
            f"action:   {_action_text(rule)}",
            "",
        ]
    return out[:-1]


@lifecycle.command("list")
@click.argument("bucket")
@bucket_options
def lifecycle_list(bucket: str, **opts: Any) -> None:
    """List the bucket's lifecycle rules."""
    client = api(opts)
    rules = client.call("GET", client.bucket(bucket, "/lifecycle"))["rules"]
    emit({"bucket": bucket, "rules": rules}, opts["as_json"], _lifecycle_lines)


@lifecycle.command("add")
@click.argument("bucket")
@click.argument("name", required=False)
@click.argument("prefix", required=False)
@click.option("--id", "rule_id", help="The rule's name (same as NAME)")
@click.option("--expire-days", type=click.IntRange(min=1), help="Delete objects this many days old")
@click.option("--expire-date", help="Delete objects on this date (YYYY-MM-DD)")
@click.option("--ia-transition-days", type=click.IntRange(min=1), help="Move to Infrequent Access after days")
@click.option("--ia-transition-date", help="Move to Infrequent Access on this date (YYYY-MM-DD)")
@click.option("--abort-multipart-days", type=click.IntRange(min=1), help="Abort uploads this many days old")
@FORCE
@bucket_options
def lifecycle_add(
    bucket: str,
    name: str | None,
    prefix: str | None,
    rule_id: str | None,
    expire_days: int | None,
    expire_date: str | None,
    ia_transition_days: int | None,
    ia_transition_date: str | None,
    abort_multipart_days: int | None,
    force: bool,
    **opts: Any,
) -> None:
    """Add a lifecycle rule (the bucket's other rules are kept)."""
    name = name or rule_id
    if not name:
        raise click.UsageError("give the rule's NAME (or --id)")
    rule: dict[str, Any] = {
        "id": name,
        "enabled": True,
        "conditions": {"prefix": prefix or ""},
    }
    expire = _condition(expire_days, expire_date, "expire")
    transition = _condition(ia_transition_days, ia_transition_date, "ia-transition")
    if expire:
        rule["deleteObjectsTransition"] = {"condition": expire}
    if transition:
        rule["storageClassTransitions"] = [{"condition": transition, "storageClass": "InfrequentAccess"}]
    if abort_multipart_days:
        rule["abortMultipartUploadsTransition"] = {
            "condition": {"type": "Age", "maxAge": abort_multipart_days * DAY}
        }
    if not (expire or transition or abort_multipart_days):
        raise click.UsageError(
            "give an action: --expire-days/-date, --ia-transition-days/-date or --abort-multipart-days"
        )
    add_rule(opts, bucket, "lifecycle", rule)


@lifecycle.command("remove")
@click.argument("bucket")
@click.option("--name", "--id", "name", required=True, help="The rule to remove")
@bucket_options
def lifecycle_remove(bucket: str, name: str, **opts: Any) -> None:
    """Remove one lifecycle rule."""
    remove_rule(opts, bucket, "lifecycle", name)


@lifecycle.command("set")
@click.argument("bucket")
@RULES_FILE
@FORCE
@bucket_options
def lifecycle_set(bucket: str, file: Path, force: bool, **opts: Any) -> None:
    """Replace the bucket's lifecycle rules with those of a JSON file."""
    body = _rules_file(file)
    client = api(opts)
    client.call("PUT", client.bucket(bucket, "/lifecycle"), body)
    emit(
        {"bucket": bucket, "rules": body["rules"]},
        opts["as_json"],
        lambda r: [f"Set {len(r['rules'])} lifecycle rule(s) on bucket '{bucket}'."],
    )


# -- CORS --------------------------------------------------------------------------------------------------


@click.group()
def cors() -> None:
    """CORS rules: which web origins may call the S3 API on the bucket."""


def _cors_lines(result: dict[str, Any]) -> list[str]:
    if not result["rules"]:
        return [f"There are no CORS rules for bucket '{result['bucket']}'."]
    out = []
    for rule in result["rules"]:
        allowed = rule.get("allowed", {})
        out += [
            f"allowed_origins:  {', '.join(allowed.get('origins', []))}",
            f"allowed_methods:  {', '.join(allowed.get('methods', []))}",
            f"allowed_headers:  {', '.join(allowed.get('headers', []))}",
            f"exposed_headers:  {', '.join(rule.get('exposeHeaders', []))}",
            f"max_age_seconds:  {rule.get('maxAgeSeconds', '')}",
            "",
        ]
    return out[:-1]


@cors.command("list")
@click.argument("bucket")
@bucket_options
def cors_list(bucket: str, **opts: Any) -> None:
    """List the bucket's CORS rules."""
    client = api(opts)
    try:
        rules = client.call("GET", client.bucket(bucket, "/cors"))["rules"]
    except ApiError as exc:
        if exc.code != NO_CORS:
            raise
        rules = []
    emit({"bucket": bucket, "rules": rules}, opts["as_json"], _cors_lines)


@cors.command("set")
@click.argument("bucket")
@RULES_FILE
@FORCE
@bucket_options
def cors_set(bucket: str, file: Path, force: bool, **opts: Any) -> None:
    """Replace the bucket's CORS rules with those of a JSON file."""
    body = _rules_file(file)
    client = api(opts)
    client.call("PUT", client.bucket(bucket, "/cors"), body)
    emit(
        {"bucket": bucket, "rules": body["rules"]},
        opts["as_json"],
        lambda r: [f"Set {len(r['rules'])} CORS rule(s) on bucket '{bucket}'."],
    )


@cors.command("delete")
@click.argument("bucket")
@FORCE
@bucket_options
def cors_delete(bucket: str, force: bool, **opts: Any) -> None:
    """Remove all of the bucket's CORS rules."""
    client = api(opts)
    client.call("DELETE", client.bucket(bucket, "/cors"))
    emit(
        {"bucket": bucket, "deleted": True},
        opts["as_json"],
        lambda r: [f"Deleted the CORS rules of bucket '{bucket}'."],
    )
