"""The console port: health, metrics and the admin JSON API (``lakebox.admin``) with its OpenAPI document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig

from lakebox import admin

if TYPE_CHECKING:
    from lakebox.app import Services

OPENAPI_PATH = "/api"  # the document at /api/openapi.json (and .yaml)


def create_console_app(services: Services) -> Litestar:
    @get("/health", sync_to_thread=False, include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar(
        route_handlers=[health, admin.admin_router()],
        logging_config=None,  # the server configures logging (level, format); Litestar must not override it
        openapi_config=OpenAPIConfig(
            title="lakebox admin API",
            version="1",
            description=(
                "API tokens (R2's permissions: admin-rw, admin-ro, object-rw, object-ro) and temporary "
                "credentials. Authenticate with 'Authorization: Bearer <Admin Read & Write token>'."
            ),
            path=OPENAPI_PATH,
        ),
    )
    app.state.update(admin.install(services))
    return app
