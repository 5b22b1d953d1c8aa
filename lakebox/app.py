"""The app factory: one ASGI application per worker that serves the S3 API, the catalog and the console, each on
its own port (dispatched by the port the connection arrived on)."""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import suppress
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from analytics.api.counting import CountedObjectRoutes
from audit.api.asgi import AuditedConsole, AuditedS3
from auth.service.errors import AuthError
from infra.jobs import JobRunner
from lakebox import heap_trace
from lakebox.background import build_runner, schedule_node_jobs
from lakebox.console import create_console_app
from lakebox.memory import trim_malloc
from lakebox.metrics import MeteredApp
from lakebox.services import Services
from lakebox.settings import Settings
from objectstore.api.app import S3App
from objectstore.api.context import S3Context
from objectstore.api.public import PublicApp

ASGIApp = Callable[..., Awaitable[None]]
if TYPE_CHECKING:
    pass

SETTINGS_ENV = "LAKEBOX__SETTINGS"
TRIM_INTERVAL = 60.0
JOB_HANDOVER_SECONDS = 5.0
METRICS_FLUSH_INTERVAL = 1.0
ANALYTICS_FLUSH_INTERVAL = 2.0
log = logging.getLogger("lakebox")


def settings_to_env(settings: Settings) -> str:
    return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()})


def settings_from_env() -> Settings:
    raw = json.loads(os.environ[SETTINGS_ENV])
    for item in fields(Settings):
        if "Path" in str(item.type) and raw.get(item.name) is not None:
            raw[item.name] = Path(raw[item.name])
    return Settings(**raw)


class Dispatcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services = Services(settings)
        self._runner: JobRunner | None = None
        self.s3_context = S3Context(
            self.services.objects, self.services.buckets, self.services.tokens, settings.domain
        )
        s3 = S3App(self.s3_context)
        self.catalog = LazyApp(self._catalog_app)
        metrics = self.services.metrics
        counter = self.services.analytics.counter
        self.apps: dict[int, Any] = {
            settings.s3_port: MeteredApp(AuditedS3(s3, self.services.audit), "s3", metrics, counter),
            settings.catalog_port: MeteredApp(self.catalog, "catalog", metrics),
            settings.console_port: MeteredApp(
                AuditedConsole(
                    CountedObjectRoutes(create_console_app(self.services), counter),
                    self.services.audit,
                    self._actor_of,
                ),
                "admin",
                metrics,
            ),
            settings.public_port: MeteredApp(
                PublicApp(
                    self.s3_context,
                    self.services.public,
                    settings.public_domain,
                    self.services.custom_domains,
                ),
                "public",
                metrics,
                counter,
            ),
        }

    def _actor_of(self, bearer: str) -> str:
        """The token id of a bearer token value (for the audit log); "" when it names no valid token."""
        if not bearer:
            return ""
        try:
            return self.services.tokens.authenticate_bearer(bearer).token_id
        except AuthError:
            return ""

    def _catalog_app(self) -> ASGIApp:
        from catalog.api.app import create_catalog_app

        services = self.services
        app: ASGIApp = create_catalog_app(
            services.catalog, services.tokens, s3_endpoint=self.settings.s3_endpoint
        )
        return app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        port = (scope.get("server") or ("", 0))[1]
        app = self.apps.get(port)
        if app is None:
            app = self.apps[self.settings.s3_port]
        await app(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        async with anyio.create_task_group() as tg:
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    tg.start_soon(self._run_jobs)
                    tg.start_soon(self._trim_memory)
                    tg.start_soon(self._warm_up)
                    tg.start_soon(self._flush_metrics)
                    tg.start_soon(self._flush_analytics)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._runner is not None:  # a job in progress hands over at its next checkpoint
                        self._runner.stop(wait=JOB_HANDOVER_SECONDS)
                    tg.cancel_scope.cancel()
                    with suppress(OSError):
                        self.services.metrics.flush()
                    self._flush_operations_now()  # in the cancelled scope: no await may run here
                    self.services.db.dispose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _warm_up(self) -> None:
        with suppress(Exception):
            await anyio.to_thread.run_sync(self.catalog.get)
        gc.freeze()  # what startup built lives as long as the worker: the collector need not walk it again

    async def _flush_metrics(self) -> None:
        """Publishes this worker's request totals for whichever worker answers a scrape of ``/metrics``."""
        while True:
            await anyio.sleep(METRICS_FLUSH_INTERVAL)
            try:
                self.services.metrics.flush()
            except OSError as exc:
                log.warning("cannot write request metrics: %s", exc)

    async def _flush_analytics(self) -> None:
        while True:
            await anyio.sleep(ANALYTICS_FLUSH_INTERVAL)
            await self._flush_operations()

    async def _flush_operations(self) -> None:
        """Adds this worker's operation counts to the database (kept for the next round if that fails)."""
        analytics = self.services.analytics
        batch = analytics.take_batch()
        if not batch:
            return
        try:
            await anyio.to_thread.run_sync(analytics.flush_batch, batch)
        except Exception as exc:
            analytics.restore_batch(batch)
            log.warning("cannot store operation counts: %s", exc)

    def _flush_operations_now(self) -> None:
        analytics = self.services.analytics
        try:
            analytics.flush_batch(analytics.take_batch())
        except Exception as exc:
            log.warning("cannot store operation counts at shutdown: %s", exc)

    async def _run_jobs(self) -> None:
        """Runs the background jobs (lakebox.background) that are due and held by no other worker, in a thread:
        foreground requests never wait on them."""
        runner = self._runner = build_runner(self.services, self.s3_context.multipart)
        poll = max(self.settings.jobs_poll_ms, 10) / 1000
        scheduled = False
        while True:
            try:
                if not scheduled:
                    await anyio.to_thread.run_sync(schedule_node_jobs, self.services.jobs, self.settings)
                    scheduled = True
                await anyio.to_thread.run_sync(runner.run_due)
            except Exception as exc:  # the database was unreachable: the next round tries again
                log.warning("background jobs: %s: %s", type(exc).__name__, exc)
            await anyio.sleep(poll)

    async def _trim_memory(self) -> None:
        """Returns the allocator's free memory to the kernel about once a minute (this process's own)."""
        while True:
            await anyio.sleep(TRIM_INTERVAL)
            await anyio.to_thread.run_sync(trim_malloc)


class LazyApp:
    """An ASGI app built on its first request (or by ``get`` from a warm-up thread), once."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()

    def get(self) -> ASGIApp:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
        return self._app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        app = self._app if self._app is not None else await anyio.to_thread.run_sync(self.get)
        await app(scope, receive, send)


def create_app() -> Dispatcher:
    """Factory used by every worker (settings come from the supervisor through the environment)."""
    heap_trace.start_from_env()  # a debugging aid, off unless its variable is set
    return Dispatcher(settings_from_env())
