"""Catalog fixtures: the service over SQLite (and PostgreSQL when LAKEBOX_TEST_DATABASE_URL is set) with
in-memory doubles, and a Litestar TestClient over the catalog app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

import catalog.store.models  # noqa: F401  (registers the tables)
from catalog.api.app import create_catalog_app
from catalog.service.catalog import CatalogService
from infra.db import Database
from tests.catalog.doubles import TOKENS, MemoryFiles, RecordingVendor, StaticAuthenticator
from tests.catalog.live import LiveLake
from tests.support.server import running

BUCKET = "lake"
S3_ENDPOINT = "http://127.0.0.1:9000"
_PG = os.environ.get("LAKEBOX_TEST_DATABASE_URL")


def _backends() -> list[object]:
    backends: list[object] = ["sqlite"]
    if _PG:
        backends.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    return backends


@pytest.fixture(params=_backends())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'catalog.db'}")
        database.create_schema()
        yield database
        database.dispose()
        return
    assert _PG
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = Database(_PG)
    with admin.write() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in _PG else "?"
    database = Database(f"{_PG}{sep}options=-csearch_path%3D{schema}")
    database.create_schema()
    yield database
    database.dispose()
    with admin.write() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def files() -> MemoryFiles:
    return MemoryFiles(BUCKET, "other")


@pytest.fixture
def vendor() -> RecordingVendor:
    return RecordingVendor()


@pytest.fixture
def service(db: Database, files: MemoryFiles, vendor: RecordingVendor) -> CatalogService:
    svc = CatalogService(db, files, vendor)
    svc.enable_warehouse(BUCKET)
    return svc


@pytest.fixture
def client(service: CatalogService) -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = create_catalog_app(
        service, StaticAuthenticator(dict(TOKENS), {"old-token"}), s3_endpoint=S3_ENDPOINT
    )
    with TestClient(app=app) as tc:
        tc.headers["Authorization"] = "Bearer rw-token"
        yield tc


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLake]:
    """A real ``lakebox serve`` for a test module (SQLite, or PostgreSQL with LAKEBOX_TEST_BACKEND=postgres)."""
    with running(tmp_path_factory.mktemp("lakebox") / "data") as srv:
        yield LiveLake(srv)
