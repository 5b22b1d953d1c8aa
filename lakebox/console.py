"""The console port: health, metrics, and Cloudflare's v4 API for R2 at ``/client/v4`` (``management``), the one
management API. lakebox's former ``/api/v1`` is retired: every request there answers 410 with where to go."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from litestar import Litestar, Response, asgi, get
from sqlalchemy import func, select

from analytics.api import routes as analytics_routes
from audit.api import routes as audit_routes
from lakebox import metrics
from management.api import domains as domain_routes
from management.api.app import MOUNT_PATH, build_management, create_management_app
from management.store.account import ensure_account_id
from objectstore.store.tables import BlobGarbageRow

if TYPE_CHECKING:
    from lakebox.services import Services

RETIRED_PATH = "/api/v1"
RETIRED_MESSAGE = (
    "lakebox's /api/v1 is retired: use the Cloudflare API at /client/v4 (tokens: /client/v4/user/tokens; "
    "buckets, temporary credentials, catalog, public access: /client/v4/accounts/{account_id}/r2..., "
    "/client/v4/accounts/{account_id}/r2-catalog/...), or the lakebox CLI"
)
_RETIRED_BODY = json.dumps(
    {
        "success": False,
        "errors": [{"code": 410, "message": RETIRED_MESSAGE}],
        "messages": [],
        "result": None,
        "error": {"code": "Gone", "message": RETIRED_MESSAGE},  # the shape /api/v1's errors had
    }
).encode()


def create_console_app(services: Services) -> Litestar:
    @get("/health", sync_to_thread=False, include_in_schema=False)
    def health() -> dict[str, str]:
        # The endpoints are public facts; the CLI finds the S3 API here from the console URL alone.
        settings = services.settings
        return {"status": "ok", "s3_endpoint": settings.s3_endpoint, "catalog_uri": settings.catalog_uri}

    @get("/metrics", include_in_schema=False)
    async def node_metrics() -> Response[bytes]:
        """Prometheus text: every worker of this node (requests, bytes, latency) and the node's gauges."""
        services.metrics.flush()  # on the event loop, where this worker's totals change
        body = await anyio.to_thread.run_sync(
            metrics.render, services.metrics.directory, None, lambda: _gauges(services)
        )
        return Response(body, media_type=metrics.CONTENT_TYPE)

    management_app = create_management_app(
        build_management(
            account_id=ensure_account_id(services.db),
            tokens=services.tokens,
            bucket_service=services.buckets,
            object_service=services.objects,
            public=services.public,
            catalog=lambda: services.catalog,
            public_url=services.settings.public_bucket_url,
        ),
        services.jobs,
        services.migrations,
        extensions=[
            (analytics_routes.HANDLERS, analytics_routes.STATE_KEY, services.analytics),
            (audit_routes.HANDLERS, audit_routes.STATE_KEY, services.audit),
            (domain_routes.HANDLERS, domain_routes.STATE_KEY, services.custom_domains),
        ],
    )

    @asgi(MOUNT_PATH, is_mount=True, copy_scope=True, include_in_schema=False)
    async def management_api(scope: Any, receive: Any, send: Any) -> None:
        """Cloudflare's v4 API for R2 (``management``): wrangler and the cloudflare SDKs point here."""
        await management_app(scope, receive, send)

    @asgi(RETIRED_PATH, is_mount=True, include_in_schema=False)
    async def retired_api(scope: Any, receive: Any, send: Any) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(_RETIRED_BODY)).encode()),
        ]
        await send({"type": "http.response.start", "status": 410, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else _RETIRED_BODY}
        )

    return Litestar(
        route_handlers=[health, node_metrics, management_api, retired_api],
        logging_config=None,  # the server configures logging (level, format); Litestar must not override it
        openapi_config=None,
    )


_GARBAGE_COUNT = select(func.count()).select_from(BlobGarbageRow.__table__)  # type: ignore[attr-defined]


def _gauges(services: Services) -> dict[str, metrics.Gauge]:
    with services.db.read(snapshot=False) as conn:
        pending = conn.execute(_GARBAGE_COUNT).scalar_one()
    gauges: dict[str, metrics.Gauge] = {
        "lakebox_blob_garbage_pending": (
            "Blobs of replaced or deleted objects not yet reaped (all nodes of the database)",
            float(pending),
        )
    }
    return gauges | job_gauges(services.jobs.summary(time.time()))


def job_gauges(summary: dict[str, dict[str, Any]]) -> dict[str, metrics.Gauge]:
    """The background jobs of every node of the database, per kind (``lakebox jobs list`` shows each job)."""
    kinds = sorted(summary)

    def per_kind(field: str) -> list[tuple[list[str], float]]:
        return [([kind], float(summary[kind][field])) for kind in kinds]

    states = [
        ([kind, state], float(n)) for kind in kinds for state, n in sorted(summary[kind]["states"].items())
    ]
    return {
        "lakebox_jobs": ("Background jobs by kind and state", ["kind", "state"], states),
        "lakebox_job_runs": ("Runs finished successfully", ["kind"], per_kind("runs")),
        "lakebox_job_failures": ("Runs that ended in an error", ["kind"], per_kind("failures")),
        "lakebox_job_takeovers": (
            "Runs taken over after their holder's lease lapsed", ["kind"], per_kind("takeovers"),
        ),
        "lakebox_job_last_success_timestamp_seconds": (
            "When a run of the kind last finished successfully (epoch seconds)", ["kind"], per_kind("last_success"),
        ),
        "lakebox_job_overdue_seconds": (
            "How long the most overdue job of the kind has been due without a holder", ["kind"], per_kind("overdue"),
        ),
    }  # fmt: skip
