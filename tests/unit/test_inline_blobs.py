"""Inline blobs (objectstore.store.inline): the catalog's small metadata files live in the database, written in
the transaction of their rows (no blob file, no fsync of their own), sealed like blob files; they read back
through every read path, move to another storage root as files, and are deleted with the garbage after the
readers' grace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from catalog.store.objectstore_files import ObjectStoreFiles
from objectstore.service.buckets import BucketService
from objectstore.service.conditions import Conditions
from objectstore.service.errors import PreconditionFailed
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.multipart import MultipartService, RequestedPart
from objectstore.service.objects import ObjectService
from objectstore.service.placement import LocationMap
from objectstore.service.tiers import transition_to_infrequent_access
from objectstore.store.blobs import root_of
from objectstore.store.inline import INLINE_MAX, inline_blobs, is_inline
from objectstore.store.uploads import UploadRepository
from tests.support.tiered import tiered_service

DOC = b'{"format-version":2,"table-uuid":"secret-marker-4711","location":"s3://bkt/t"}'


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ObjectService]:
    with tiered_service(tmp_path) as tiered:
        yield tiered


def files_of(service: ObjectService) -> ObjectStoreFiles:
    return ObjectStoreFiles(service, BucketService(service.repo, LocationMap({}, {})))


def stored_inline(service: ObjectService) -> dict[str, bytes]:
    with service.repo.db.read() as conn:
        return {r.blob_id: bytes(r.data) for r in conn.execute(select(inline_blobs))}


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_small_file_is_stored_inline_sealed_and_reads_back(service: ObjectService, tmp_path: Path) -> None:
    files = files_of(service)
    files.write("bkt", "t/metadata/00001.metadata.json", DOC, "application/json")
    meta = service.head("bkt", "t/metadata/00001.metadata.json")
    assert meta.blob_id is not None
    assert is_inline(meta.blob_id)
    assert all_files(tmp_path / "data" / "blobs") == []  # no blob file
    stored = stored_inline(service)
    assert list(stored) == [meta.blob_id]
    assert b"secret-marker-4711" not in stored[meta.blob_id]  # sealed at rest, as a blob file would be
    assert files.read("bkt", "t/metadata/00001.metadata.json") == DOC
    plan = service.plan_read("bkt", "t/metadata/00001.metadata.json", Conditions(), "bytes=2-15")
    assert plan.body == DOC[2:16]  # ranges open only the segments they touch, as for files


def test_a_large_file_still_becomes_a_blob_file(service: ObjectService, tmp_path: Path) -> None:
    big = b"x" * (INLINE_MAX + 1)
    files_of(service).write("bkt", "big.json", big, "application/json")
    meta = service.head("bkt", "big.json")
    assert meta.blob_id is not None
    assert not is_inline(meta.blob_id)
    assert stored_inline(service) == {}
    assert files_of(service).read("bkt", "big.json") == big


def test_a_failing_transaction_leaves_no_inline_blob(service: ObjectService) -> None:
    def refuse(conn: Connection) -> None:
        raise RuntimeError("the catalog's compare-and-set lost")

    with pytest.raises(RuntimeError):
        files_of(service).write_then("bkt", [("lost.json", DOC, "application/json")], refuse)
    assert stored_inline(service) == {}
    assert service.repo.list_keys("bkt", "", "", 10) == []


def test_a_deleted_inline_blob_is_reaped_after_the_grace(service: ObjectService) -> None:
    files = files_of(service)
    files.write("bkt", "gone.json", DOC, "application/json")
    blob_id = service.head("bkt", "gone.json").blob_id
    files.delete_keys("bkt", ["gone.json"])
    assert blob_id in service.repo.garbage_ids()
    assert service.reap_garbage() == 0  # readers that looked it up may still open it
    assert blob_id in stored_inline(service)
    assert service.reap_garbage(grace=0) == 1
    assert stored_inline(service) == {}
    assert service.repo.garbage_ids() == set()
    with pytest.raises(FileNotFoundError):
        service.blobs.open(blob_id or "")


def test_an_inline_blob_moves_to_another_root_as_a_file(service: ObjectService) -> None:
    files_of(service).write("bkt", "cold.json", DOC, "application/json")
    before = service.head("bkt", "cold.json")
    assert transition_to_infrequent_access(
        service, "bkt", "cold.json", etag=before.etag, last_modified=before.last_modified
    )
    after = service.head("bkt", "cold.json")
    assert after.blob_id is not None
    assert root_of(after.blob_id) == "ia"
    assert service.blobs.stored_blob_ids("ia") == {after.blob_id}
    assert files_of(service).read("bkt", "cold.json") == DOC
    assert service.reap_garbage(grace=0) == 1
    assert stored_inline(service) == {}


# -- S3 bodies: PutObject and UploadPart keep small bodies inline (``inline_object_kib``) --------------------


async def _body(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 1000):  # in pieces, as a client sends it
        yield data[i : i + 1000]


def put(service: ObjectService, key: str, data: bytes, conditions: Conditions = Conditions()) -> None:
    asyncio.run(
        service.put_object("bkt", key, _body(data), WriteOptions(), PutIntegrity(len(data)), conditions)
    )


def read(service: ObjectService, key: str, byte_range: str | None = None) -> bytes:
    plan = service.plan_read("bkt", key, Conditions(), byte_range)
    return bytes(plan.body if plan.body is not None else service.read_range(plan, plan.start, plan.length))


@pytest.fixture
def s3(service: ObjectService) -> ObjectService:
    service.inline_max = 16 << 10
    return service


def test_a_small_put_is_inline_and_a_larger_one_a_file(s3: ObjectService, tmp_path: Path) -> None:
    small, large = b"secret-marker-4711 " * 800, b"y" * ((16 << 10) + 1)  # 15,200 and 16,385 bytes
    put(s3, "small", small)
    put(s3, "large", large)
    small_id, large_id = s3.head("bkt", "small").blob_id, s3.head("bkt", "large").blob_id
    assert small_id is not None
    assert large_id is not None
    assert is_inline(small_id)
    assert not is_inline(large_id)
    assert [p.name for p in all_files(tmp_path / "data" / "blobs")] == [large_id]
    assert b"secret-marker-4711" not in stored_inline(s3)[small_id]
    assert read(s3, "small") == small
    assert read(s3, "small", "bytes=10-9000") == small[10:9001]
    assert read(s3, "large") == large


def test_a_refused_conditional_put_leaves_no_inline_blob(s3: ObjectService) -> None:
    put(s3, "k", b"first")
    before = stored_inline(s3)
    with pytest.raises(PreconditionFailed):
        put(s3, "k", b"second", Conditions(if_none_match="*"))
    assert stored_inline(s3) == before
    assert read(s3, "k") == b"first"


def test_an_overwritten_inline_object_is_reaped(s3: ObjectService) -> None:
    put(s3, "k", b"first")
    put(s3, "k", b"second")
    assert len(stored_inline(s3)) == 2
    assert s3.reap_garbage(grace=0) == 1
    assert list(stored_inline(s3)) == [s3.head("bkt", "k").blob_id]
    assert read(s3, "k") == b"second"


def test_small_multipart_parts_are_inline_complete_and_abort(s3: ObjectService) -> None:
    uploads = MultipartService(s3, UploadRepository(s3.repo.db, s3.repo))

    async def upload(key: str, parts: list[bytes]) -> str:
        info = uploads.create("bkt", key, WriteOptions(), None)
        for number, data in enumerate(parts, 1):
            await uploads.upload_part(
                "bkt", key, info.upload_id, number, _body(data), PutIntegrity(len(data)), None
            )
        return info.upload_id

    upload_id = asyncio.run(upload("mpu", [b"only part"]))
    assert len(stored_inline(s3)) == 1
    _info, listed, _more = uploads.list_parts("bkt", "mpu", upload_id, 0, 10)
    uploads.complete("bkt", "mpu", upload_id, [RequestedPart(p.part_number, p.etag) for p in listed], {})
    assert read(s3, "mpu") == b"only part"

    aborted = asyncio.run(upload("gone", [b"part one", b"part two"]))
    assert len(stored_inline(s3)) == 3
    uploads.abort("bkt", "gone", aborted)
    assert s3.reap_garbage(grace=0) == 2
    assert len(stored_inline(s3)) == 1
    assert read(s3, "mpu") == b"only part"
