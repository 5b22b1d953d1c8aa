"""``GET /accounts/{account_id}/lakebox/audit``: the audit log in Cloudflare's envelope (Admin Read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get

from audit.service.audit import MAX_PAGE, AuditLog
from auth.service.principal import Action, Principal
from management.api.context import check_account, require
from management.api.envelope import ok
from management.service.errors import InvalidRequest

STATE_KEY = "audit"


def parse_since(raw: str | None) -> float:
    """RFC 3339 time or epoch seconds; absent: everything kept."""
    if raw is None or raw == "":
        return 0.0
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"since: expected an RFC 3339 time or epoch seconds, got {raw!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= (MAX_PAGE if name == "per_page" else 2**62):
        raise InvalidRequest(f"{name}: expected a whole number{' up to 1000' if name == 'per_page' else ''}")
    return int(raw)


def entry_json(row: dict[str, Any]) -> dict[str, Any]:
    when = datetime.fromtimestamp(row["at"], UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": str(row["id"]),
        "time": when,
        "actor": row["actor"],
        "api": row["api"],
        "action": row["action"],
        "target": row["target"],
        "outcome": row["outcome"],
        "status": row["status"] or None,  # None: a change that committed before its answer (a success)
        "error_code": row["error_code"],
    }


@get("/accounts/{account_id:str}/lakebox/audit")
async def list_audit(request: Request[Any, Any, Any], caller: Principal, account_id: str) -> Response[Any]:
    check_account(request, account_id)
    require(caller, Action.LIST_BUCKETS)  # Admin Read
    since = parse_since(request.query_params.get("since"))
    per_page = _int(request.query_params.get("per_page"), "per_page", MAX_PAGE)
    after = _int(request.query_params.get("cursor"), "cursor", 0) if request.query_params.get("cursor") else 0
    audit: AuditLog = request.app.state[STATE_KEY]
    rows = await anyio.to_thread.run_sync(audit.list, since, after, per_page)
    cursor = str(rows[-1]["id"]) if len(rows) == per_page else ""
    info = {"per_page": per_page, "count": len(rows), "cursor": cursor}
    return ok([entry_json(r) for r in rows], result_info=info)


HANDLERS = [list_audit]
