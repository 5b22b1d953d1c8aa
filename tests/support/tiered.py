"""An object service over a fresh database with one bucket ``bkt`` and an Infrequent Access root of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.db import Database
from objectstore.service.objects import ObjectService
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.repo import ObjectRepository
from tests.support.atrest import fresh_atrest
from tests.support.server import postgres_database


@contextmanager
def tiered_service(tmp_path: Path) -> Iterator[ObjectService]:
    db = Database(postgres_database() or f"sqlite:///{tmp_path / 'meta.db'}")
    db.create_schema()
    repo = ObjectRepository(db)
    repo.create_bucket("bkt", "auto", "Standard")
    blobs = LocalBlobStore(tmp_path / "data", "node-a", roots={"ia": tmp_path / "cold"})
    try:
        yield ObjectService(repo, blobs, fresh_atrest())
    finally:
        db.dispose()
