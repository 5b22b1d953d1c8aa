"""``lakebox jobs list``: the background jobs of every node (``/client/v4/accounts/{account_id}/lakebox/jobs``)."""

from __future__ import annotations

from typing import Any

import click

from lakebox.client.output import api, connection_options, emit


@click.group()
def jobs() -> None:
    """Background jobs: garbage reaping, upload expiry, lifecycle scans, analytics sampling."""


def _progress(progress: Any) -> str:
    if not progress:
        return "-"
    return ",".join(f"{k}={v}" for k, v in sorted(progress.items()))


def _lines(found: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{j['kind']:<20} {j['target'] or '-':<24} {j['state']:<9} runs={j['runs']:<6} "
        f"failures={j['failures']:<4} last={j['last_finished_at'] or '-':<24} next={j['next_run_at']}  "
        f"holder={j['lease_owner'] or '-'}  progress={_progress(j['progress'])}"
        + (f"  error={j['last_error'].splitlines()[-1]}" if j["last_error"] else "")
        for j in found
    ]
    return lines or ["(no jobs)"]


@jobs.command("list")
@click.option("--kind", help="Only jobs of this kind (e.g. lifecycle, blob-garbage)")
@connection_options
def jobs_list(kind: str | None, **opts: Any) -> None:
    """List the jobs with their state, holder, progress and last error."""
    client = api(opts)
    found = client.call("GET", client.account("/lakebox/jobs"), kind=kind)
    emit(found, opts["as_json"], _lines)
