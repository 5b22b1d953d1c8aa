"""The app factory: one ASGI application per worker that serves the S3 API, the catalog and the console, each on
its own port (dispatched by the port the connection arrived on)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from auth.service.secretbox import SecretBox
from auth.service.tokens import TokenService
from catalog.api.app import create_catalog_app
from catalog.service.catalog import CatalogService
from catalog.store.objectstore_files import ObjectStoreFiles
from lakebox.console import create_console_app
from lakebox.db import Database
from lakebox.settings import Settings
from objectstore.api.app import S3App
from objectstore.api.context import S3Context
from objectstore.service.buckets import BucketService
from objectstore.service.objects import ObjectService
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.repo import ObjectRepository

ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]
SETTINGS_ENV = "LAKEBOX__SETTINGS"
REAP_INTERVAL = 5.0
log = logging.getLogger("lakebox")


def settings_to_env(settings: Settings) -> str:
    return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()})


def settings_from_env() -> Settings:
    raw = json.loads(os.environ[SETTINGS_ENV])
    for name in ("data_dir", "tls_cert", "tls_key"):
        if raw.get(name) is not None:
            raw[name] = Path(raw[name])
    return Settings(**raw)


class Services:
    """Everything one worker process shares between requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url)
        self.tokens = TokenService(self.db, SecretBox.from_data_dir(settings.data_dir))
        repo = ObjectRepository(self.db)
        self.objects = ObjectService(repo, LocalBlobStore(settings.data_dir, settings.node_id))
        self.buckets = BucketService(repo)
        # The catalog reads and writes metadata files through the object store's service layer (in process)
        # and vends temporary credentials from the auth service.
        self.catalog = CatalogService(
            self.db, ObjectStoreFiles(self.objects, self.buckets), self.tokens.temporary
        )


class Dispatcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services = Services(settings)
        self.s3_context = S3Context(
            self.services.objects, self.services.buckets, self.services.tokens, settings.domain
        )
        s3 = S3App(self.s3_context)
        self.apps: dict[int, Any] = {
            settings.s3_port: s3,
            settings.catalog_port: create_catalog_app(
                self.services.catalog, self.services.tokens, s3_endpoint=settings.s3_endpoint
            ),
            settings.console_port: create_console_app(self.services),
        }

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
                    tg.start_soon(self._reaper)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    tg.cancel_scope.cancel()
                    self.services.db.dispose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _reaper(self) -> None:
        """Deletes the files of replaced and deleted objects, a little after the fact, and aborts multipart
        uploads left incomplete for longer than ``multipart_expiry_seconds`` (R2: 7 days)."""
        rounds = 0
        while True:
            await anyio.sleep(REAP_INTERVAL)
            with suppress(Exception):
                if rounds % 12 == 0:
                    expiry = self.settings.multipart_expiry_seconds
                    await anyio.to_thread.run_sync(self.s3_context.multipart.expire, expiry)
                await anyio.to_thread.run_sync(self.services.objects.reap_garbage)
            rounds += 1


def create_app() -> Dispatcher:
    """Factory used by every worker (settings come from the supervisor through the environment)."""
    return Dispatcher(settings_from_env())
