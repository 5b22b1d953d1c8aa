"""The management app: Cloudflare's v4 API for R2, mounted at ``/client/v4`` on the console port."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.di import Provide

from auth.service.tokens import TokenService
from infra.jobs import JobStore
from management.api import accounts, buckets, jobs, locks, maintenance, migrations, objects
from management.api.context import Management, authenticate
from management.api.errors import EXCEPTION_HANDLERS
from management.service.bucket_config import R2BucketConfig
from management.service.buckets import R2Buckets
from management.service.maintenance import R2Maintenance
from management.service.migrations import Migrations
from management.service.objects import R2Objects
from management.service.tokens import R2Tokens
from objectstore.service.bucket_config import BucketConfigService
from objectstore.service.buckets import BucketService
from objectstore.service.locks import LockService
from objectstore.service.objects import ObjectService
from objectstore.service.public import PublicAccessService
from objectstore.store.locks import LockRepository

if TYPE_CHECKING:
    from catalog.service.catalog import CatalogService

MOUNT_PATH = "/client/v4"


def build_management(
    *,
    account_id: str,
    tokens: TokenService,
    bucket_service: BucketService,
    object_service: ObjectService,
    public: PublicAccessService,
    catalog: Callable[[], CatalogService],
    public_url: Callable[[str], str],
) -> Management:
    return Management(
        account_id=account_id,
        account_name="lakebox",
        tokens=tokens,
        buckets=R2Buckets(bucket_service, public, catalog, public_url),
        config=R2BucketConfig(BucketConfigService(bucket_service.repo)),
        objects=R2Objects(object_service),
        r2_tokens=R2Tokens(tokens, account_id),
        locks=LockService(LockRepository(bucket_service.repo.db)),
        maintenance=R2Maintenance(bucket_service, catalog),
    )


def create_management_app(
    management: Management,
    job_store: JobStore | None = None,
    migration_service: Migrations | None = None,
    extensions: Sequence[tuple[list[Any], str, object]] = (),
) -> Litestar:
    """Routes relative to the mount path; every answer, an unknown route's too, is a v4 envelope.

    ``extensions`` are the routes other packages serve in this API (analytics, audit), each with the app-state key
    and value their handlers read: the composition package wires them, so this package never imports them."""
    handlers: list[Any] = [
        *accounts.HANDLERS,
        buckets.BucketRoutes,
        *locks.HANDLERS,
        *maintenance.HANDLERS,
        *objects.HANDLERS,
    ]
    if job_store is not None:
        handlers += jobs.HANDLERS
    if migration_service is not None:
        handlers += migrations.HANDLERS
    for routes, _, _ in extensions:
        handlers += routes
    app = Litestar(
        route_handlers=handlers,
        dependencies={"caller": Provide(authenticate, sync_to_thread=True)},
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,
        openapi_config=None,
        request_max_body_size=None,  # object uploads stream; JSON bodies are limited where they are read
    )
    app.state["management"] = management
    app.state[jobs.STATE_KEY] = job_store
    app.state[migrations.STATE_KEY] = migration_service
    for _, state_key, value in extensions:
        app.state[state_key] = value
    return app
