"""``lakebox audit list``: the audit log of configuration changes, through the Cloudflare-style API
(``/client/v4/accounts/{account_id}/lakebox/audit``)."""

from __future__ import annotations

from typing import Any

import click

from lakebox.admin_client import AdminError
from lakebox.cli import _client, _print, admin_options, main


@main.group()
def audit() -> None:
    """The audit log: who changed which configuration, when, and with what outcome."""


def _get(client: Any, path: str, **params: Any) -> Any:
    import httpx  # here: the CLI starts faster without it

    try:
        resp = httpx.get(
            f"{client.console_url}/client/v4{path}",
            params={k: v for k, v in params.items() if v is not None},
            headers={"authorization": f"Bearer {client.token}"},
            timeout=30,
            verify=client.verify,
        )
    except httpx.HTTPError as exc:
        raise AdminError(f"cannot reach the API at {client.console_url}: {exc}") from None
    try:
        payload = resp.json()
    except ValueError:
        raise AdminError(f"{resp.status_code}: {resp.text[:200]}") from None
    if not payload.get("success"):
        error = (payload.get("errors") or [{}])[0]
        raise AdminError(f"{error.get('code', resp.status_code)}: {error.get('message', '')}")
    return payload


def _lines(entries: list[dict[str, Any]]) -> list[str]:
    return [
        f"{e['time']}  {e['outcome']:<7} {e['status']:>3} {e['error_code'] or '-':<20} "
        f"{e['actor'] or '(anonymous)':<32}  {e['api']:<10} {e['action']}  [{e['target']}]"
        for e in entries
    ] or ["(no entries)"]


@audit.command("list")
@click.option("--since", help="Only entries at or after this time (RFC 3339, or epoch seconds)")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries (oldest first)")
@admin_options
def audit_list(since: str | None, limit: int | None, **admin: Any) -> None:
    """List configuration changes (oldest first)."""
    client = _client(admin["console_url"], admin["token"], admin["data_dir"])
    account_id = _get(client, "/accounts")["result"][0]["id"]
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while limit is None or len(entries) < limit:
        page = _get(
            client, f"/accounts/{account_id}/lakebox/audit", since=since, cursor=cursor, per_page=1000
        )
        entries += page["result"]
        cursor = page["result_info"].get("cursor")
        if not cursor:
            break
    _print(entries[:limit] if limit else entries, admin["as_json"], _lines)
