"""``GET /accounts/{account_id}/lakebox/jobs``: the background jobs and their state in Cloudflare's envelope
(Admin Read). Cloudflare has no such route; it follows the style of the others."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get

from auth.service.principal import Action, Principal
from infra.jobs import JobInfo, JobStore
from management.api.context import authorize
from management.api.envelope import ok

STATE_KEY = "jobs"


def _time(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_json(job: JobInfo) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "target": job.target,
        "state": job.state,
        "interval_seconds": job.interval,
        "next_run_at": _time(job.next_run_at),
        "lease_owner": job.lease_owner,
        "lease_expires_at": _time(job.lease_expires),
        "checkpoint": job.checkpoint,
        "progress": job.progress,
        "attempts": job.attempts,
        "runs": job.runs,
        "failures": job.failures,
        "takeovers": job.takeovers,
        "last_error": job.last_error,
        "last_owner": job.last_owner,
        "last_started_at": _time(job.last_started),
        "last_finished_at": _time(job.last_finished),
    }


@get("/accounts/{account_id:str}/lakebox/jobs")
async def list_jobs(request: Request[Any, Any, Any], caller: Principal, account_id: str) -> Response[Any]:
    authorize(request, account_id, caller, Action.LIST_BUCKETS)  # Admin Read
    store: JobStore = request.app.state[STATE_KEY]
    kind = request.query_params.get("kind") or None
    found = await anyio.to_thread.run_sync(store.list, kind)
    return ok([job_json(j) for j in found], result_info={"count": len(found)})


HANDLERS = [list_jobs]
