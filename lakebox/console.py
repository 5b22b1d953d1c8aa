"""The console port: health, metrics and (wired by the admin modules) the admin JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Litestar, get

if TYPE_CHECKING:
    from lakebox.app import Services


def create_console_app(services: Services) -> Litestar:
    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[health], openapi_config=None)
