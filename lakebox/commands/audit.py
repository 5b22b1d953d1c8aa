"""``lakebox audit list``: the audit log of configuration changes, through the Cloudflare-style API
(``/client/v4/accounts/{account_id}/lakebox/audit``)."""

from __future__ import annotations

from typing import Any

import click

from lakebox.client.output import api, connection_options, emit


@click.group()
def audit() -> None:
    """The audit log: who changed which configuration, when, and with what outcome."""


def _lines(entries: list[dict[str, Any]]) -> list[str]:
    return [
        f"{e['time']}  {e['outcome']:<7} {e['status'] or '-':>3} {e['error_code'] or '-':<20} "
        f"{e['actor'] or '(anonymous)':<32}  {e['api']:<10} {e['action']}  [{e['target']}]"
        for e in entries
    ] or ["(no entries)"]


@audit.command("list")
@click.option("--since", help="Only entries at or after this time (RFC 3339, or epoch seconds)")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries (oldest first)")
@connection_options
def audit_list(since: str | None, limit: int | None, **opts: Any) -> None:
    """List configuration changes (oldest first)."""
    client = api(opts)
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while limit is None or len(entries) < limit:
        page, info = client.call_full(
            "GET", client.account("/lakebox/audit"), since=since, cursor=cursor, per_page=1000
        )
        entries += page
        cursor = (info or {}).get("cursor")
        if not cursor:
            break
    emit(entries[:limit] if limit else entries, opts["as_json"], _lines)
