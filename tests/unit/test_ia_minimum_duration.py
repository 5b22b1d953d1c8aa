"""R2's 30-day minimum storage duration of Infrequent Access: an IA object leaving the tier early (deleted,
replaced, moved) is recorded with the change, counted from its upload or, for a lifecycle transition, from the
transition; one that stayed 30 days is not recorded, nor is any STANDARD object."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from objectstore.service.conditions import Conditions
from objectstore.service.model import PutIntegrity, WriteOptions
from objectstore.service.objects import ObjectService
from objectstore.service.tiers import transition_to_infrequent_access
from objectstore.store.repo import IA_MINIMUM_SECONDS, objects
from tests.support.tiered import tiered_service

DAY = 86400.0


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ObjectService]:
    with tiered_service(tmp_path) as tiered:
        yield tiered


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def put(service: ObjectService, key: str, data: bytes, storage_class: str = "STANDARD") -> None:
    options = WriteOptions(storage_class=storage_class)
    asyncio.run(service.put_object("bkt", key, _body(data), options, PutIntegrity(len(data)), Conditions()))


def age(service: ObjectService, key: str, days: float) -> None:
    """Moves the object's upload time ``days`` into the past."""
    with service.repo.db.write() as conn:
        conn.execute(
            update(objects)
            .where(objects.c.bucket == "bkt", objects.c.key == key)
            .values(last_modified=time.time() - days * DAY)
        )


def recorded(service: ObjectService) -> list[Any]:
    return service.repo.early_deletions(0, time.time() + 1)


def test_counted_from_the_upload_for_objects_written_as_ia(service: ObjectService) -> None:
    put(service, "young", b"y" * 100, "STANDARD_IA")
    age(service, "young", 10)
    put(service, "old", b"o" * 100, "STANDARD_IA")
    age(service, "old", 31)
    put(service, "warm", b"w" * 100)
    for key in ("young", "old", "warm"):
        service.repo.delete_object("bkt", key)
    [row] = recorded(service)
    assert (row.bucket, row.key, row.size) == ("bkt", "young", 100)
    assert 20 * DAY - 60 <= row.seconds_short <= 20 * DAY + 1


def test_counted_from_the_transition_for_moved_objects(service: ObjectService) -> None:
    put(service, "k", b"k" * 64)
    age(service, "k", 20)  # 20 days in STANDARD count for nothing
    before = time.time()
    assert transition_to_infrequent_access(service, "bkt", "k")
    put(service, "k", b"replacement")  # replaced right after the transition
    [row] = recorded(service)
    assert row.size == 64
    assert before <= row.entered_at <= time.time()
    assert IA_MINIMUM_SECONDS - 60 <= row.seconds_short <= IA_MINIMUM_SECONDS
    service.repo.delete_object("bkt", "k")  # the replacement is STANDARD: nothing more
    assert len(recorded(service)) == 1


def test_a_transitioned_object_kept_30_days_is_not_recorded(service: ObjectService) -> None:
    put(service, "k", b"k" * 64)
    assert transition_to_infrequent_access(service, "bkt", "k")
    with service.repo.db.write() as conn:
        conn.execute(update(objects).values(ia_since=time.time() - 30 * DAY - 1))
    service.repo.delete_object("bkt", "k")
    assert recorded(service) == []
