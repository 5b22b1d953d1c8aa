"""``transition_to_infrequent_access``: the object keeps its bytes, ETag and Last-Modified while its blobs move to
the Infrequent Access root; a stale version, a replaced object or an Infrequent Access one is left alone; a crash
on either side of the commit leaves one consistent state (recovery settles it); across file systems the stored
bytes are copied."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from objectstore.service.conditions import Conditions
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.multipart import MultipartService, RequestedPart
from objectstore.service.objects import ObjectService
from objectstore.service.tiers import transition_to_infrequent_access
from objectstore.store.blobs import root_of
from objectstore.store.uploads import UploadRepository
from tests.support.tiered import tiered_service

PART = 5 * 1024 * 1024


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ObjectService]:
    with tiered_service(tmp_path) as tiered:
        yield tiered


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def put(service: ObjectService, key: str, data: bytes) -> None:
    asyncio.run(
        service.put_object("bkt", key, body(data), WriteOptions(), PutIntegrity(len(data)), Conditions())
    )


def read(service: ObjectService, key: str) -> bytes:
    plan = service.plan_read("bkt", key, Conditions())
    return bytes(plan.body if plan.body is not None else service.read_range(plan, plan.start, plan.length))


def incoming(service: ObjectService) -> list[Path]:
    return [p for root in service.blobs.roots.values() for p in root.incoming.iterdir()]


def test_single_blob_object_moves_with_its_identity(service: ObjectService) -> None:
    put(service, "k", b"cold data")
    before = service.head("bkt", "k")
    assert transition_to_infrequent_access(
        service, "bkt", "k", etag=before.etag, last_modified=before.last_modified
    )
    after = service.head("bkt", "k")
    assert after.storage_class == "STANDARD_IA"
    assert (after.etag, after.last_modified, after.size) == (before.etag, before.last_modified, before.size)
    assert after.blob_id is not None
    assert root_of(after.blob_id) == "ia"
    assert service.blobs.stored_blob_ids("ia") == {after.blob_id}
    assert read(service, "k") == b"cold data"
    assert before.blob_id in service.repo.garbage_ids()
    assert service.reap_garbage(grace=0) == 1
    assert service.blobs.stored_blob_ids("") == set()
    assert not transition_to_infrequent_access(service, "bkt", "k")  # never back, never twice
    assert not transition_to_infrequent_access(service, "bkt", "missing")


def test_multipart_object_moves_every_part(service: ObjectService) -> None:
    uploads = MultipartService(service, UploadRepository(service.repo.db, service.repo))
    upload = uploads.create("bkt", "mpu", WriteOptions(), None)
    data = [os.urandom(PART), b"tail"]
    etags = [
        asyncio.run(
            uploads.upload_part("bkt", "mpu", upload.upload_id, n, body(d), PutIntegrity(len(d)), None)
        ).etag
        for n, d in enumerate(data, 1)
    ]
    uploads.complete(
        "bkt", "mpu", upload.upload_id, [RequestedPart(n, e) for n, e in enumerate(etags, 1)], {}
    )
    assert transition_to_infrequent_access(service, "bkt", "mpu")
    meta = service.head("bkt", "mpu")
    assert meta.upload_id is not None
    moved = {r.blob_id for r in service.repo.object_parts(meta.upload_id)}
    assert {root_of(b) for b in moved} == {"ia"}
    assert service.blobs.stored_blob_ids("ia") == moved
    assert read(service, "mpu") == b"".join(data)


def test_a_changed_object_is_left_alone(service: ObjectService, monkeypatch: pytest.MonkeyPatch) -> None:
    put(service, "k", b"v1")
    stale = service.head("bkt", "k")
    put(service, "k", b"v2")
    assert not transition_to_infrequent_access(
        service, "bkt", "k", etag=stale.etag, last_modified=stale.last_modified
    )
    assert service.head("bkt", "k").storage_class == "STANDARD"
    # Replaced between the lookup and the commit: the switch sees another version and nothing moves.
    switch = service.repo.switch_blobs

    def replaced_first(*args: Any) -> bool:
        put(service, "k", b"v3")
        return switch(*args)

    monkeypatch.setattr(service.repo, "switch_blobs", replaced_first)
    assert not transition_to_infrequent_access(service, "bkt", "k")
    assert (service.head("bkt", "k").storage_class, read(service, "k")) == ("STANDARD", b"v3")
    assert incoming(service) == []
    assert service.blobs.stored_blob_ids("ia") == set()


def test_a_crash_before_the_commit_leaves_the_object_as_it_was(
    service: ObjectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(service, "k", b"data")

    def crash(*_: Any) -> bool:
        raise RuntimeError("killed")

    monkeypatch.setattr(service.repo, "switch_blobs", crash)
    with pytest.raises(RuntimeError):
        transition_to_infrequent_access(service, "bkt", "k")
    assert incoming(service) == []  # the new blob was removed (a real crash: recovery deletes it)
    assert service.head("bkt", "k").storage_class == "STANDARD"
    assert read(service, "k") == b"data"


def test_a_crash_after_the_commit_is_settled_by_recovery(
    service: ObjectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(service, "k", b"data")
    with monkeypatch.context() as patch:
        patch.setattr(service.blobs, "publish", lambda _blob_id: (_ for _ in ()).throw(OSError("killed")))
        assert transition_to_infrequent_access(service, "bkt", "k")
    meta = service.head("bkt", "k")
    assert meta.blob_id is not None
    assert read(service, "k") == b"data"  # found in the tier's incoming/
    assert service.recover() == (1, 0)
    assert service.blobs.stored_blob_ids("ia") == {meta.blob_id}


def test_across_file_systems_the_stored_bytes_are_copied(
    service: ObjectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)
    put(service, "k", data)

    def no_link(*_: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    assert transition_to_infrequent_access(service, "bkt", "k")
    meta = service.head("bkt", "k")
    assert meta.blob_id is not None
    assert os.stat(service.blobs.path(meta.blob_id)).st_nlink == 1
    assert read(service, "k") == data
