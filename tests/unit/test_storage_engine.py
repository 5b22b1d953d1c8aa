"""The storage engine below HTTP: crash recovery of in-flight blobs, garbage with a grace period, listing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from infra.db import Database
from objectstore.service.conditions import Conditions
from objectstore.service.errors import PreconditionFailed
from objectstore.service.listing import list_objects
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.objects import ObjectService
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.repo import ObjectRepository, prefix_end
from tests.support.atrest import fresh_atrest
from tests.support.server import postgres_database


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ObjectService]:
    db = Database(postgres_database() or f"sqlite:///{tmp_path / 'meta.db'}")
    db.create_schema()
    repo = ObjectRepository(db)
    repo.create_bucket("bkt", "auto", "Standard")
    yield ObjectService(repo, LocalBlobStore(tmp_path, "node-a"), fresh_atrest())
    db.dispose()


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def put(service: ObjectService, key: str, data: bytes, cond: Conditions = Conditions()) -> None:
    asyncio.run(service.put_object("bkt", key, body(data), WriteOptions(), PutIntegrity(len(data)), cond))


def test_recovery_publishes_committed_and_deletes_uncommitted(service: ObjectService) -> None:
    put(service, "kept", b"committed")
    orphan = service.blobs.create()
    orphan.write(b"never committed")
    orphan.finish()
    # A committed blob whose rename did not happen before the crash:
    meta = service.head("bkt", "kept")
    assert meta.blob_id is not None
    service.blobs.path(meta.blob_id).rename(service.blobs.incoming / meta.blob_id)
    assert service.recover() == (1, 1)
    assert list(service.blobs.incoming.iterdir()) == []
    assert service.blobs.path(meta.blob_id).is_file()
    assert service.plan_read("bkt", "kept", Conditions()).body == b"committed"


def test_replaced_blobs_are_reaped_after_the_grace_period(service: ObjectService) -> None:
    put(service, "k", b"one")
    first = service.head("bkt", "k").blob_id
    put(service, "k", b"two")
    assert first in service.repo.garbage_ids()
    assert service.reap_garbage() == 0  # still within the grace period: a reader may be streaming it
    assert service.reap_garbage(grace=0) == 1
    assert first is not None
    assert not service.blobs.path(first).exists()
    assert service.repo.garbage_ids() == set()


def test_conditional_create_refuses_an_existing_key(service: ObjectService) -> None:
    put(service, "c", b"1", Conditions(if_none_match="*"))
    with pytest.raises(PreconditionFailed):
        put(service, "c", b"2", Conditions(if_none_match="*"))
    assert list(service.blobs.incoming.iterdir()) == []


def test_listing_with_delimiter_skips_whole_prefixes(service: ObjectService) -> None:
    for key in ["a/1", "a/2", "b", "c/x/y", "c/z", "d"]:
        put(service, key, b"")
    page = list_objects(service.repo, "bkt", "", "/", "", 2)
    assert (page.common_prefixes, [o.key for o in page.objects], page.is_truncated) == (["a/"], ["b"], True)
    rest = list_objects(service.repo, "bkt", "", "/", page.last, 10)
    assert (rest.common_prefixes, [o.key for o in rest.objects], rest.is_truncated) == (["c/"], ["d"], False)


def test_prefix_end() -> None:
    assert prefix_end("abc") == "abd"
    assert prefix_end("a/") == "a0"
    assert prefix_end("") is None


KEY_ALPHABET = ["a", "b", "/", "é", "\uffff", "\U0010ffff"]
DELIMITERS = ["/", "//", "a/", "é", "\U0010ffff", "/\U0010ffff"]
SEGMENT = st.text(["a", "b", "é", "\uffff", "\U0010ffff"], min_size=1, max_size=2)


@st.composite
def keys_and_delimiter(draw: st.DrawFn) -> tuple[list[str], str]:
    """Keys made mostly of segments joined by the delimiter, so that common prefixes hold several keys."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    joiner = st.sampled_from([delimiter, delimiter, delimiter, "/", "a/"])
    key = st.builds(str.join, joiner, st.lists(SEGMENT, min_size=1, max_size=3))
    return draw(st.lists(key, max_size=40, unique=True)), delimiter


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys_delimiter=keys_and_delimiter(),
    prefix=st.just("") | st.text(KEY_ALPHABET, max_size=2),
    after=st.just("") | st.text(KEY_ALPHABET, max_size=4),
    max_keys=st.integers(0, 12),
)
def test_a_delimiter_listing_in_one_statement_matches_seeking_entry_by_entry(
    service: ObjectService, keys_delimiter: tuple[list[str], str], prefix: str, after: str, max_keys: int
) -> None:
    keys, delimiter = keys_delimiter
    with service.repo.db.write() as conn:
        conn.execute(text("DELETE FROM s3_object"))
        for key in keys:
            conn.execute(
                text(
                    "INSERT INTO s3_object (bucket, key, key_raw, size, etag, last_modified, user_metadata, "
                    "storage_class) VALUES ('bkt', :k, :k, 1, 'e', 0, '{}', 'STANDARD')"
                ),
                {"k": key},
            )

    def page(repo: ObjectRepository) -> tuple[list[str], list[str], bool, str]:
        got = list_objects(repo, "bkt", prefix, delimiter, after, max_keys)
        return [o.key for o in got.objects], got.common_prefixes, got.is_truncated, got.last

    walked = page(service.repo)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.repo, "walk_keys", lambda *args: None)
        assert page(service.repo) == walked


def test_a_multipart_object_replaced_while_its_read_is_planned_is_looked_up_again(
    service: ObjectService,
) -> None:
    """The object's row and its parts are read one after the other: a replacement in between (which drops the old
    version's parts) must not plan a read of no parts under the old version's length."""
    from objectstore.service.multipart import MultipartService, RequestedPart
    from objectstore.store.uploads import UploadRepository

    multipart = MultipartService(service, UploadRepository(service.repo.db, service.repo))
    upload = multipart.create("bkt", "mp", WriteOptions(), None)
    data = b"part one"
    part = asyncio.run(
        multipart.upload_part("bkt", "mp", upload.upload_id, 1, body(data), PutIntegrity(len(data)), None)
    )
    multipart.complete("bkt", "mp", upload.upload_id, [RequestedPart(1, part.etag)], {})
    parts_of = service.repo.object_parts

    def replaced_first(upload_id: str) -> list[object]:
        service.repo.object_parts = parts_of  # type: ignore[method-assign]
        put(service, "mp", b"replacement")  # between the lookup and reading the parts
        return list(parts_of(upload_id))

    service.repo.object_parts = replaced_first  # type: ignore[method-assign]
    plan = service.plan_read("bkt", "mp", Conditions())
    assert plan.body == b"replacement"
