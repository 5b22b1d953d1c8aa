"""The catalog's ASGI app: ``create_catalog_app(service, authenticator, s3_endpoint=...)``, served on
port 8181."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from litestar.routes import HTTPRoute

from catalog.api.config import ConfigController, OAuthController
from catalog.api.errors import EXCEPTION_HANDLERS
from catalog.api.namespaces import NamespaceController
from catalog.api.tables import TableController
from catalog.api.views import ViewController
from catalog.api.wire import WireSettings, provide_principal
from catalog.service.catalog import CatalogService
from catalog.service.ports import Authenticator

CONTROLLERS = [ConfigController, OAuthController, NamespaceController, TableController, ViewController]


def create_catalog_app(
    service: CatalogService,
    authenticator: Authenticator,
    *,
    s3_endpoint: str,
    region: str = "auto",
    path_style: bool = True,
    debug: bool = False,
) -> Litestar:
    """The Iceberg REST catalog. ``s3_endpoint`` is the S3 API URL handed to clients with each table (and with
    vended credentials); ``service`` holds the database, the object store port and the credential vendor."""
    app = Litestar(
        route_handlers=CONTROLLERS,
        dependencies={"principal": Provide(provide_principal, sync_to_thread=not service.reads_in_process)},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=None,
        logging_config=None,  # the server configures logging; Litestar's default would override its level
        debug=debug,
    )
    app.state["catalog_service"] = service
    app.state["catalog_authenticator"] = authenticator
    app.state["catalog_wire"] = WireSettings(s3_endpoint.rstrip("/"), region, path_style)
    app.state["catalog_endpoints"] = served_endpoints(app)
    return app


def served_endpoints(app: Litestar) -> list[str]:
    """The spec's ``endpoints`` list, derived from the routes actually served (so it is exact)."""
    out: list[str] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/v1/{prefix"):
            continue
        path = spec_path(route.path)
        for method in sorted(route.methods - {"OPTIONS"}):
            out.append(f"{method} {path}")
    return sorted(out)


def spec_path(litestar_path: str) -> str:
    return litestar_path.replace(":str}", "}")
