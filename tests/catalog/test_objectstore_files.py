"""The MetadataFiles adapter over the real object store service (in process), and the catalog on top of it."""

from __future__ import annotations

from pathlib import Path

import pytest

import catalog.store.models  # noqa: F401
import objectstore.store.tables  # noqa: F401
from catalog.service.catalog import CatalogService
from catalog.service.tables import CreateTable
from catalog.store.objectstore_files import ObjectStoreFiles
from infra.db import Database
from objectstore.service.buckets import BucketService
from objectstore.service.errors import NoSuchKey
from objectstore.service.objects import ObjectService
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.repo import ObjectRepository
from tests.catalog.doubles import ADMIN_RW
from tests.support.atrest import fresh_atrest


@pytest.fixture
def store(tmp_path: Path) -> ObjectStoreFiles:
    db = Database(f"sqlite:///{tmp_path / 'lakebox.db'}")
    db.create_schema()
    repo = ObjectRepository(db)
    buckets = BucketService(repo)
    buckets.create("lake")
    return ObjectStoreFiles(ObjectService(repo, LocalBlobStore(tmp_path, "node1"), fresh_atrest()), buckets)


def test_write_read_delete_keys(store: ObjectStoreFiles) -> None:
    store.write("lake", "t/metadata/00000-a.metadata.json", b'{"a":1}', "application/json")
    store.write("lake", "t/data/x.parquet", b"x" * 300_000, "application/octet-stream")
    store.write("lake", "t2/other", b"o", "application/octet-stream")
    assert store.read("lake", "t/metadata/00000-a.metadata.json") == b'{"a":1}'
    assert store.read("lake", "t/data/x.parquet") == b"x" * 300_000
    assert store.objects.head("lake", "t/metadata/00000-a.metadata.json").content_type == "application/json"
    store.delete_keys("lake", ["t/data/x.parquet", "t/never-written"])  # exactly these keys
    with pytest.raises(NoSuchKey):
        store.read("lake", "t/data/x.parquet")
    assert store.read("lake", "t/metadata/00000-a.metadata.json") == b'{"a":1}'
    assert store.read("lake", "t2/other") == b"o"
    assert store.bucket_exists("lake")
    assert not store.bucket_exists("nope")


def test_catalog_over_the_object_store(store: ObjectStoreFiles, tmp_path: Path) -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    svc = CatalogService(Database(f"sqlite:///{tmp_path / 'lakebox.db'}"), store)
    svc.enable_warehouse("lake")
    svc.namespaces.create(ADMIN_RW, "lake", ("db",), {})
    schema = Schema(NestedField(1, "id", LongType(), required=False))
    result = svc.tables.create(ADMIN_RW, "lake", ("db",), CreateTable("t", schema))
    assert result.metadata_location is not None
    key = result.metadata_location.removeprefix("s3://lake/")
    assert store.read("lake", key).decode() == result.metadata_json
    svc.tables.drop(ADMIN_RW, "lake", ("db",), "t", purge=True)
    with pytest.raises(NoSuchKey):
        store.read("lake", key)
