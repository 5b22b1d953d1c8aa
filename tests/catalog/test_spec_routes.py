"""Every route the catalog serves exists in the Iceberg REST OpenAPI spec (the copy in catalog/api/) with the
same method, and every endpoint advertised by /v1/config is one of them."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import yaml

from catalog.api.app import create_catalog_app, served_endpoints, spec_path

SPEC = Path(__file__).resolve().parents[2] / "catalog" / "api" / "rest-catalog-open-api.yaml"
METHODS = {"get", "put", "post", "delete", "head", "patch"}


def spec_operations() -> set[str]:
    doc = yaml.safe_load(SPEC.read_text())
    return {f"{m.upper()} {path}" for path, item in doc["paths"].items() for m in item if m in METHODS}


def test_every_served_route_is_in_the_spec() -> None:
    app = create_catalog_app(MagicMock(), MagicMock(), s3_endpoint="http://s3")
    ops = spec_operations()
    served = {
        f"{m} {spec_path(route.path)}"
        for route in app.routes
        for m in getattr(route, "methods", set())
        if m != "OPTIONS"
    }
    assert served, "no routes"
    assert served - ops == set()
    assert set(served_endpoints(app)) <= ops


def test_the_clients_operations_are_served() -> None:
    app = create_catalog_app(MagicMock(), MagicMock(), s3_endpoint="http://s3")
    endpoints = set(served_endpoints(app))
    for needed in (
        "GET /v1/{prefix}/namespaces",
        "POST /v1/{prefix}/namespaces",
        "HEAD /v1/{prefix}/namespaces/{namespace}",
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "POST /v1/{prefix}/transactions/commit",
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
        "POST /v1/{prefix}/views/rename",
        "POST /v1/{prefix}/namespaces/{namespace}/register-view",
    ):
        assert needed in endpoints
