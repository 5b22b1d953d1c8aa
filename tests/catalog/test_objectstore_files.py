"""The MetadataFiles adapter over the real object store service (in process), and the catalog on top of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import catalog.store.models  # noqa: F401
import objectstore.store.tables  # noqa: F401
from catalog.service.catalog import CatalogService
from catalog.service.tables import CreateTable
from catalog.store.objectstore_files import ObjectStoreFiles
from catalog.store.repository import PointerMove
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


def _blob_files(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and "blobs" in p.parts]


def test_write_then_runs_in_the_transaction_that_stores_the_files(store: ObjectStoreFiles) -> None:
    seen: list[object] = []
    files = [
        ("t/metadata/a.json", b'{"a":1}', "application/json"),
        ("t/metadata/b.json", b"{}", "text/plain"),
    ]
    store.write_then("lake", files, seen.append)
    assert len(seen) == 1
    assert seen[0] is not None
    assert store.read("lake", "t/metadata/a.json") == b'{"a":1}'
    assert store.objects.head("lake", "t/metadata/b.json").content_type == "text/plain"


def test_write_then_that_raises_leaves_no_object_and_no_blob(store: ObjectStoreFiles, tmp_path: Path) -> None:
    before = _blob_files(tmp_path)

    def refuse(conn: object) -> None:
        raise RuntimeError("the pointer moved")

    with pytest.raises(RuntimeError, match="the pointer moved"):
        store.write_then("lake", [("t/metadata/a.json", b"{}", "application/json")], refuse)
    with pytest.raises(NoSuchKey):
        store.read("lake", "t/metadata/a.json")
    assert _blob_files(tmp_path) == before


def test_write_then_into_a_missing_bucket_stores_nothing(store: ObjectStoreFiles, tmp_path: Path) -> None:
    from objectstore.service.errors import NoSuchBucket

    before = _blob_files(tmp_path)
    ran: list[object] = []
    with pytest.raises(NoSuchBucket):
        store.write_then("nope", [("k", b"x", "text/plain")], ran.append)
    assert ran == []
    assert _blob_files(tmp_path) == before


def test_lost_race_over_the_object_store_leaves_no_metadata_file(
    store: ObjectStoreFiles, tmp_path: Path
) -> None:
    """A commit whose compare-and-set loses wrote its metadata file in the same transaction: nothing remains."""
    from pyiceberg.schema import Schema
    from pyiceberg.table.update import SetPropertiesUpdate

    from catalog.errors import CommitFailed
    from catalog.service.core import CatalogSettings

    svc = CatalogService(Database(f"sqlite:///{tmp_path / 'lakebox.db'}"), store)
    svc.enable_warehouse("lake")
    svc.namespaces.create(ADMIN_RW, "lake", ("db",), {})
    created = svc.tables.create(ADMIN_RW, "lake", ("db",), CreateTable("t", Schema()))
    svc.ctx.settings = CatalogSettings(commit_retries=0)
    real_write_then = store.write_then
    written: list[str] = []

    def racing_write_then(bucket: str, files: Any, then: Any) -> None:
        written.extend(key for key, _, _ in files)
        with svc.ctx.repo.db.write() as other:  # another writer's commit lands between planning and ours
            other.exec_driver_sql("UPDATE catalog_entity SET metadata_location = metadata_location || '.x'")
        real_write_then(bucket, files, then)

    store.write_then = racing_write_then  # type: ignore[method-assign]
    with pytest.raises(CommitFailed):
        svc.tables.commit(ADMIN_RW, "lake", ("db",), "t", [], [SetPropertiesUpdate(updates={"k": "v"})])
    assert len(written) == 1
    with pytest.raises(NoSuchKey):
        store.read("lake", written[0])
    assert created.metadata_location is not None
    assert store.read("lake", created.metadata_location.removeprefix("s3://lake/"))


def test_parsed_metadata_cache_follows_commits_of_other_workers(
    store: ObjectStoreFiles, tmp_path: Path
) -> None:
    """Two services on one database (two worker processes): each commit builds on the row's current metadata,
    never on what a worker parsed before the other moved the pointer; unknown fields survive both."""
    import json

    from pyiceberg.schema import Schema
    from pyiceberg.table.update import SetPropertiesUpdate

    url = f"sqlite:///{tmp_path / 'lakebox.db'}"
    first, second = CatalogService(Database(url), store), CatalogService(Database(url), store)
    first.enable_warehouse("lake")
    first.namespaces.create(ADMIN_RW, "lake", ("db",), {})
    first.tables.create(ADMIN_RW, "lake", ("db",), CreateTable("t", Schema()))
    entity = first.ctx.repo.get_entity("lake", "db", "t")
    assert entity is not None
    doc = json.loads(entity.metadata_json) | {"x-unknown": {"kept": [1, 2]}}
    first.ctx.repo.commit(
        [
            PointerMove(
                entity.id,
                entity.metadata_location,
                entity.metadata_location + "-2",
                json.dumps(doc),
                entity.location,
            )
        ]
    )
    for i in range(6):
        service = (first, second)[i % 2]
        result = service.tables.commit(
            ADMIN_RW, "lake", ("db",), "t", [], [SetPropertiesUpdate(updates={f"k{i}": str(i)})]
        )
        assert (
            json.loads(result.metadata_json)["properties"].items()
            >= {f"k{j}": str(j) for j in range(i + 1)}.items()
        )
    final = json.loads(first.tables.load(ADMIN_RW, "lake", ("db",), "t").metadata_json)
    assert final["x-unknown"] == {"kept": [1, 2]}
    assert {f"k{j}" for j in range(6)} <= final["properties"].keys()
