"""``lakebox token ...``: API tokens and temporary credentials through the Cloudflare API's token routes, shown
as lakebox's four R2 permissions (admin-rw, admin-ro, object-rw, object-ro)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from lakebox.client.output import api, connection_options, emit

# R2's permission groups (Cloudflare's ids) and whether they apply to the account or to buckets.
GROUPS = {
    "admin-rw": ("bf7481a1826f439697cb59a20b22293e", True),
    "admin-ro": ("b4992e1108244f5d8bfbd5744320c2e1", True),
    "object-rw": ("2efd5506f9c8494dacb1fa10a3e7d5b6", False),
    "object-ro": ("6a018a9f2fc74eb6b293b0c548f38b39", False),
}
PERMISSION_OF_GROUP = {group_id: name for name, (group_id, _) in GROUPS.items()}
TEMP_PERMISSIONS = ["object-read-only", "object-read-write"]
BUCKET_RESOURCE = "com.cloudflare.edge.r2.bucket."
ACCOUNT_RESOURCE = "com.cloudflare.api.account."
_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    """Seconds from ``900``, ``90s``, ``15m``, ``12h``, ``30d`` or ``2w``."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration like 900, 15m, 12h, 30d or 2w")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _policies(permission: str, buckets: tuple[str, ...], account_id: str) -> list[dict[str, Any]]:
    group_id, account_level = GROUPS[permission]
    account = f"{ACCOUNT_RESOURCE}{account_id}"
    if buckets:
        resources: dict[str, Any] = {f"{BUCKET_RESOURCE}{account_id}_default_{b}": "*" for b in buckets}
    elif account_level:
        resources = {account: "*"}
    else:
        resources = {account: {f"{BUCKET_RESOURCE}*": "*"}}
    return [{"effect": "allow", "resources": resources, "permission_groups": [{"id": group_id}]}]


def _described(token: dict[str, Any]) -> dict[str, Any]:
    """A Cloudflare token as lakebox shows it: its permission and buckets, read back from its policy."""
    policy = (token.get("policies") or [{}])[0]
    group = (policy.get("permission_groups") or [{}])[0].get("id", "")
    buckets = [
        key[len(BUCKET_RESOURCE) :].split("_", 2)[2]
        for key in policy.get("resources", {})
        if key.startswith(BUCKET_RESOURCE) and key != f"{BUCKET_RESOURCE}*"
    ]
    status = {"disabled": "revoked"}.get(token["status"], token["status"])
    return {
        "id": token["id"],
        "name": token.get("name") or "",
        "permission": PERMISSION_OF_GROUP.get(group, "unknown"),
        "buckets": buckets,
        "status": status,
        "expires_at": token.get("expires_on"),
    }


def _token_lines(t: dict[str, Any]) -> list[str]:
    out = [
        f"id                 {t['id']}",
        f"name               {t.get('name') or '-'}",
        f"permission         {t['permission']}  ({', '.join(t['buckets']) or 'all buckets'})",
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


@click.group()
def token() -> None:
    """API tokens and temporary credentials (R2's permissions)."""


@token.command("create")
@click.option("--permission", required=True, type=click.Choice(list(GROUPS)), help="The token's permission")
@click.option(
    "--bucket", "buckets", multiple=True, help="Limit an object permission to this bucket (repeatable)"
)
@click.option("--ttl", help="Lifetime: 900, 15m, 12h, 30d, 2w [never expires]")
@click.option("--name", default="", help="A name to recognise the token by")
@connection_options
def token_create(permission: str, buckets: tuple[str, ...], ttl: str | None, name: str, **opts: Any) -> None:
    """Create an API token; prints its value and S3 credentials once."""
    seconds = parse_duration(ttl) if ttl else None
    client = api(opts)
    body: dict[str, Any] = {"name": name, "policies": _policies(permission, buckets, client.account_id)}
    if seconds is not None:
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
        body["expires_on"] = expires.isoformat().replace("+00:00", "Z")
    created = client.call("POST", "/user/tokens", body)
    result = {
        **_described(created),
        "token": created["value"],
        "access_key_id": created["id"],
        "secret_access_key": hashlib.sha256(created["value"].encode()).hexdigest(),
    }
    emit(result, opts["as_json"], _token_lines)


@token.command("list")
@click.option(
    "--all",
    "include_revoked",
    is_flag=True,
    help="Include expired tokens (revoked ones are gone, as on Cloudflare)",
)
@connection_options
def token_list(include_revoked: bool, **opts: Any) -> None:
    """List API tokens (never their secrets)."""
    client = api(opts)
    tokens: list[dict[str, Any]] = []
    page = 1
    while True:
        found, info = client.call_full("GET", "/user/tokens", page=page, per_page=1000)
        tokens += [_described(t) for t in found]
        if page >= (info or {}).get("total_pages", 1):
            break
        page += 1
    if not include_revoked:
        tokens = [t for t in tokens if t["status"] == "active"]

    def lines(r: dict[str, Any]) -> list[str]:
        rows = [f"{'ID':<34}{'PERMISSION':<12}{'STATUS':<9}{'EXPIRES':<28}{'BUCKETS':<20}NAME"]
        for t in r["tokens"]:
            rows.append(
                f"{t['id']:<34}{t['permission']:<12}{t['status']:<9}{t['expires_at'] or 'never':<28}"
                f"{','.join(t['buckets']) or '*':<20}{t['name']}"
            )
        return rows

    emit({"tokens": tokens}, opts["as_json"], lines)


@token.command("get")
@click.argument("token_id")
@connection_options
def token_get(token_id: str, **opts: Any) -> None:
    """Show one API token (never its secret)."""
    emit(_described(api(opts).call("GET", f"/user/tokens/{token_id}")), opts["as_json"], _token_lines)


@token.command("revoke")
@click.argument("token_id")
@connection_options
def token_revoke(token_id: str, **opts: Any) -> None:
    """Revoke an API token (and its temporary credentials) at once, on every worker and node."""
    api(opts).call("DELETE", f"/user/tokens/{token_id}")
    emit({"id": token_id, "status": "revoked"}, opts["as_json"], lambda t: [f"revoked {t['id']}"])


@token.command("temp")
@click.option("--bucket", required=True, help="The one bucket the credentials reach")
@click.option("--prefix", "prefixes", multiple=True, help="Limit to keys under this prefix (repeatable)")
@click.option("--object", "objects", multiple=True, help="Limit to this object key (repeatable)")
@click.option(
    "--permission", required=True, type=click.Choice(TEMP_PERMISSIONS), help="Read-only or read-write"
)
@click.option("--ttl", default="3600", show_default=True, help="Lifetime: 900, 15m, 12h (at most 7d)")
@click.option("--parent", help="Parent token id [the calling token]")
@connection_options
def token_temp(
    bucket: str,
    prefixes: tuple[str, ...],
    objects: tuple[str, ...],
    permission: str,
    ttl: str,
    parent: str | None,
    **opts: Any,
) -> None:
    """Create temporary S3 credentials (use as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)."""
    seconds = parse_duration(ttl)
    client = api(opts)
    parent = parent or client.call("GET", "/user/tokens/verify")["id"]
    body = {
        "bucket": bucket,
        "prefixes": list(prefixes),
        "objects": list(objects),
        "permission": permission,
        "ttlSeconds": seconds,
        "parentAccessKeyId": parent,
    }
    issued = client.call("POST", client.account("/r2/temp-access-credentials"), body)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
    result = {
        "access_key_id": issued["accessKeyId"],
        "secret_access_key": issued["secretAccessKey"],
        "session_token": issued["sessionToken"],
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "permission": permission,
        "bucket": bucket,
        "prefixes": list(prefixes),
        "objects": list(objects),
        "parent_access_key_id": parent,
    }

    def lines(c: dict[str, Any]) -> list[str]:
        scope = c["prefixes"] + c["objects"]
        return [
            f"AWS_ACCESS_KEY_ID={c['access_key_id']}",
            f"AWS_SECRET_ACCESS_KEY={c['secret_access_key']}",
            f"AWS_SESSION_TOKEN={c['session_token']}",
            f"# expires at {c['expires_at']}; {c['permission']} on {c['bucket']}"
            + (f" ({', '.join(scope)})" if scope else ""),
        ]

    emit(result, opts["as_json"], lines)
