"""Bucket lock rules below HTTP: retention arithmetic (strictest rule, prefixes, disabled rules, all three
conditions), the question the lifecycle scanner asks at a time ``t``, and the guard inside the object
repository's transactions (the bucket's next incarnation starts unlocked)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.db import Database
from objectstore.service.locks import LockService, ObjectLocked, compiled, enforce, parse_rules, retention
from objectstore.service.objects import ObjectService
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.locks import LockRepository
from objectstore.store.repo import ObjectRepository
from tests.support.atrest import fresh_atrest
from tests.support.server import postgres_database

T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
DATE = "2030-01-02T00:00:00Z"  # one day after T0


def _rules(*rules: dict[str, object]) -> str:
    return json.dumps(list(rules))


AGE_HOUR = {
    "id": "hour",
    "enabled": True,
    "prefix": "logs/",
    "condition": {"type": "Age", "maxAgeSeconds": 3600},
}
UNTIL_DATE = {"id": "date", "enabled": True, "condition": {"type": "Date", "date": DATE}}
FOREVER_OFF = {"id": "off", "enabled": False, "condition": {"type": "Indefinite"}}
FOREVER_IMG = {"id": "img", "enabled": True, "prefix": "img/", "condition": {"type": "Indefinite"}}


def test_strictest_rule_wins() -> None:
    rules = compiled(_rules(AGE_HOUR, UNTIL_DATE, FOREVER_OFF, FOREVER_IMG))
    assert [r.id for r in rules] == ["hour", "date", "img"]  # disabled rules never lock
    # Written at T0: the date (T0 + 1 day) outlasts the hour.
    assert retention(rules, "logs/a", T0)[0] == T0 + 86400
    assert retention(rules, "logs/a", T0)[1].id == "date"  # type: ignore[union-attr]
    # Written just before the date: the hour after upload is the later end.
    late = T0 + 86400 - 60
    assert retention(rules, "logs/a", late) == (late + 3600, rules[0])
    assert retention(rules, "img/x", T0) == (math.inf, rules[2])
    assert retention(compiled(_rules(AGE_HOUR)), "other", T0) == (-math.inf, None)


def test_enforce_raises_until_the_retention_ends() -> None:
    row = SimpleNamespace(key="logs/a", key_raw="logs/a", last_modified=T0)
    rules = _rules(AGE_HOUR)
    with pytest.raises(ObjectLocked) as caught:
        enforce(rules, row, now=T0 + 3599)
    assert caught.value.code == "AccessDenied"
    assert caught.value.until == T0 + 3600
    assert caught.value.fields == {"Key": "logs/a"}
    enforce(rules, row, now=T0 + 3600)  # over: nothing raised


def _ages(ages: list[int]) -> str:
    return _rules(
        *(
            {"id": f"r{i}", "enabled": True, "condition": {"type": "Age", "maxAgeSeconds": a}}
            for i, a in enumerate(ages)
        )
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ages=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=5),
    created=st.floats(min_value=0, max_value=2e9),
    offset=st.floats(min_value=0, max_value=2e6),
)
def test_the_longest_age_decides(ages: list[int], created: float, offset: float) -> None:
    assert retention(compiled(_ages(ages)), "k", created)[0] == created + max(ages)
    row = SimpleNamespace(key="k", key_raw="k", last_modified=created)
    if created + offset < created + max(ages):
        with pytest.raises(ObjectLocked):
            enforce(_ages(ages), row, now=created + offset)
    else:
        enforce(_ages(ages), row, now=created + offset)


def test_prefixes_are_normalised_like_keys() -> None:
    (rule,) = parse_rules(
        {
            "rules": [
                {"id": "x", "enabled": True, "prefix": "cafe\u0301/", "condition": {"type": "Indefinite"}}
            ]
        }
    )
    assert rule.prefix == "caf\u00e9/"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[ObjectService, LockService]]:
    db = Database(postgres_database() or f"sqlite:///{tmp_path / 'meta.db'}")
    db.create_schema()
    repo = ObjectRepository(db)
    repo.create_bucket("bkt", "auto", "Standard")
    yield (
        ObjectService(repo, LocalBlobStore(tmp_path, "node-a"), fresh_atrest()),
        LockService(LockRepository(db)),
    )
    db.dispose()


def test_the_scanner_question_at_time_t(stack: tuple[ObjectService, LockService]) -> None:
    _objects, locks = stack
    assert not locks.is_locked("bkt", "logs/a", T0, at=T0)  # no rules
    locks.put("bkt", {"rules": [AGE_HOUR, UNTIL_DATE, FOREVER_IMG]})
    assert locks.locked_until("bkt", "logs/a", T0, at=T0) == T0 + 86400
    assert locks.is_locked("bkt", "logs/a", T0, at=T0 + 86399)
    assert not locks.is_locked("bkt", "logs/a", T0, at=T0 + 86400)
    assert locks.locked_until("bkt", "img/a", T0, at=T0 + 10**9) == math.inf
    batch = locks.rules_for("bkt")
    assert [batch.locked_until(k, T0, at=T0 + 90000) for k in ("logs/a", "img/b")] == [None, math.inf]
    assert locks.get("bkt")["rules"][1] == {
        "id": "date",
        "enabled": True,
        "condition": {"type": "Date", "date": "2030-01-02T00:00:00.000Z"},
    }


def test_guard_runs_in_the_repository_and_a_new_bucket_starts_unlocked(
    stack: tuple[ObjectService, LockService],
) -> None:
    objects, locks = stack
    repo = objects.repo
    values = {
        "bucket": "bkt",
        "key": "img/a",
        "key_raw": "img/a",
        "size": 0,
        "etag": "e",
        "last_modified": 1.0,
    }
    assert repo.put_object(values)
    locks.put("bkt", {"rules": [FOREVER_IMG]})
    with pytest.raises(ObjectLocked):
        repo.put_object(values)
    with pytest.raises(ObjectLocked):
        repo.delete_object("bkt", "img/a")
    refused = repo.delete_objects("bkt", ["img/a", "img/missing"])
    assert list(refused) == ["img/a"]
    assert repo.get_object("bkt", "img/a")[1] is not None
    locks.put("bkt", {"rules": []})
    assert repo.delete_object("bkt", "img/a") is not None
    locks.put("bkt", {"rules": [FOREVER_IMG]})
    assert repo.delete_bucket("bkt") == "deleted"
    repo.create_bucket("bkt", "auto", "Standard")
    assert locks.get("bkt") == {"rules": []}
