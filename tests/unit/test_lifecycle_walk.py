"""The lifecycle pass's walk: which index ranges a pass reads for the rules in effect (Days rules by age, passed
Date rules by key ranges of their prefixes), and that the key-range walk visits every key of its ranges exactly
once, in key order, nothing outside them, resuming exactly from any checkpoint; then a whole job pass on a Date
rule with a prefix, interrupted and resumed, that reads only the keys under the prefix."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update

from infra.db import Database
from infra.jobs import JobRun, JobRunner
from lakebox.background import LIFECYCLE, build_runner
from lakebox.bootstrap import prepare
from lakebox.services import Services
from lakebox.settings import Settings
from objectstore.api.context import S3Context
from objectstore.service.lifecycle import DAY, LifecycleEnforcer, Rule, WalkPlan, key_ranges, walk_plan
from objectstore.store.repo import ObjectRepository, buckets, garbage, objects
from tests.support.server import postgres_database

NOW = 1_700_000_000.0
PASSED, COMING = NOW - DAY, NOW + DAY


def test_key_ranges_merge_nested_prefixes_and_bound_each_range() -> None:
    assert key_ranges(["logs/", "logs/2024/", "a", "ab", "tmp/"]) == (
        ("a", "b"),
        ("logs/", "logs0"),
        ("tmp/", "tmp0"),
    )
    assert key_ranges(["", "logs/"]) == (("", None),)
    assert key_ranges([]) == ()
    assert key_ranges(["z\U0010ffff"]) == (("z\U0010ffff", "{"),)


def test_days_rules_walk_by_age_and_passed_date_rules_by_their_prefixes() -> None:
    days = Rule("d", "old/", expire_days=30)
    assert walk_plan((days,), NOW) == WalkPlan(NOW - 30 * DAY, ())
    transition = Rule("t", "", transition_days=5)
    assert walk_plan((days, transition), NOW) == WalkPlan(NOW - 5 * DAY, ())
    dated = Rule("x", "logs/", expire_date=PASSED)
    assert walk_plan((days, dated), NOW) == WalkPlan(NOW - 30 * DAY, (("logs/", "logs0"),))
    # A date still to come acts on nothing yet; a transition date that passed walks its prefix.
    assert walk_plan((Rule("y", "logs/", expire_date=COMING),), NOW) == WalkPlan(None, ())
    moved = Rule("m", "cold/", transition_date=PASSED)
    assert walk_plan((moved,), NOW) == WalkPlan(None, (("cold/", "cold0"),))
    # A passed Date rule for the whole bucket reaches every object: no time walk on top.
    everything = Rule("e", "", expire_date=PASSED)
    assert walk_plan((days, everything), NOW) == WalkPlan(None, (("", None),))
    # Rules without object actions (uploads only) walk nothing.
    assert walk_plan((Rule("u", "", abort_seconds=7 * DAY),), NOW) == WalkPlan(None, ())


@pytest.fixture(scope="module")
def enforcer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LifecycleEnforcer]:
    url = postgres_database() or f"sqlite:///{tmp_path_factory.mktemp('walk') / 'meta.db'}"
    db = Database(url)
    db.create_schema()
    try:
        yield LifecycleEnforcer(ObjectRepository(db), lambda _: False)
    finally:
        db.dispose()


_buckets = count()
KEYS = st.text(alphabet=st.sampled_from(["a", "b", "/", "é", "\U0001f600", "\U0010ffff"]), max_size=5)


def _bucket_with(enforcer: LifecycleEnforcer, keys: set[str]) -> str:
    name = f"walk-{next(_buckets)}"
    repo = enforcer.repo
    assert repo.create_bucket(name, "auto", "Standard")
    if keys:
        with repo.db.write() as conn:
            conn.execute(
                insert(objects),
                [
                    {"bucket": name, "key": k, "key_raw": k, "size": 0, "etag": "e", "last_modified": 1.0}
                    for k in keys
                ],
            )
    return name


def _walk(
    enforcer: LifecycleEnforcer, bucket: str, ranges: Any, after: str | None, limit: int
) -> Iterator[tuple[list[str], str | None]]:
    """(the keys of each batch, the checkpoint after it) to the end of the walk."""
    while rows := enforcer.ranges_batch(bucket, ranges, after, limit):
        after = rows[-1].key
        yield [r.key for r in rows], after


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    keys=st.sets(KEYS, max_size=30),
    prefixes=st.lists(KEYS, min_size=1, max_size=4),
    limit=st.integers(1, 7),
)
def test_the_key_range_walk_visits_each_covered_key_once_in_order_and_resumes_exactly(
    enforcer: LifecycleEnforcer, keys: set[str], prefixes: list[str], limit: int
) -> None:
    bucket = _bucket_with(enforcer, keys)
    ranges = key_ranges(prefixes)
    covered = sorted(k for k in keys if any(k.startswith(p) for p in prefixes))
    batches = list(_walk(enforcer, bucket, ranges, None, limit))
    visited = [k for batch, _ in batches for k in batch]
    assert visited == covered  # every covered key, once, in key order, nothing else
    assert all(0 < len(batch) <= limit for batch, _ in batches)
    for i, (_, checkpoint) in enumerate(batches):  # resumed from any checkpoint: exactly the rest
        rest = [k for batch, _ in _walk(enforcer, bucket, ranges, checkpoint, limit) for k in batch]
        assert rest == [k for batch, _ in batches[i + 1 :] for k in batch]


def _stopping_after(
    saves: int, runner: JobRunner, handler: Callable[[JobRun], None]
) -> Callable[[JobRun], None]:
    """``handler``, whose worker starts shutting down at its ``saves``-th checkpoint (the run stops there)."""

    def stopped(run: JobRun) -> None:
        save, save_in, done = run.save, run.save_in, count(1)

        def counted_save(checkpoint: Any, progress: Any = None) -> None:
            if next(done) == saves:
                runner.stop()
            save(checkpoint, progress)

        def counted_save_in(conn: Any, checkpoint: Any) -> None:
            if next(done) == saves:
                runner.stop()
            save_in(conn, checkpoint)

        run.save = counted_save  # type: ignore[method-assign]
        run.save_in = counted_save_in  # type: ignore[method-assign]
        handler(run)

    return stopped


DATE_RULE = [
    [
        "Rule",
        [
            ["ID", "old-logs"],
            ["Filter", [["Prefix", "logs/"]]],
            ["Status", "Enabled"],
            ["Expiration", [["Date", "2020-01-01T00:00:00Z"]]],
        ],
    ]
]


def test_a_passed_date_rule_reads_only_its_prefix_and_an_interrupted_pass_resumes_exactly(
    tmp_path: Path,
) -> None:
    config = Settings(
        data_dir=tmp_path / "data", workers=1, jobs_batch_size=4, database_url=postgres_database()
    )
    prepare(config)
    services = Services(config)
    try:
        assert services.buckets.repo.create_bucket("b", "auto", "Standard")
        now = time.time()
        logs = [f"logs/{i:03d}" for i in range(23)]
        others = [f"{p}{i:03d}" for p in ("a/", "logs", "logs0/", "m/", "z/") for i in range(40)]
        with services.db.write() as conn:
            conn.execute(update(buckets).where(buckets.c.name == "b").values(lifecycle=json.dumps(DATE_RULE)))
            rows = [
                {"bucket": "b", "key": k, "key_raw": k, "size": 1, "etag": "e", "last_modified": now - i,
                 "blob_id": f"blob-{k}"}
                for i, k in enumerate(logs + others)
            ]  # fmt: skip
            conn.execute(insert(objects), rows)
        context = S3Context(services.objects, services.buckets, services.tokens, None)
        runner = build_runner(services, context.multipart)
        runner.register(LIFECYCLE, _stopping_after(3, runner, runner.handlers[LIFECYCLE]))
        services.jobs.ensure(LIFECYCLE, "b", interval=3600, first_run_at=0)
        assert runner.run_due() == 0  # stopped at its third checkpoint (phase change, 2 batches), handed over
        job = services.jobs.get(LIFECYCLE, "b")
        assert job is not None
        assert job.checkpoint["phase"] == "ranges"
        assert job.progress == {"expired": 8, "objects_visited": 8}

        runner = build_runner(services, context.multipart)
        assert runner.run_due() == 1  # resumes from that checkpoint and finishes the pass
        job = services.jobs.get(LIFECYCLE, "b")
        assert job is not None
        assert job.checkpoint is None
        assert job.last_error is None
        # Only the keys under the prefix were read, each once, across the two runs.
        assert job.progress["objects_visited"] == len(logs)
        assert job.progress["expired"] == len(logs)
        with services.db.read() as conn:
            left = {r.key for r in conn.execute(select(objects.c.key).where(objects.c.bucket == "b"))}
            discarded = conn.execute(select(func.count()).select_from(garbage)).scalar_one()
        assert left == set(others)
        assert discarded == len(logs)  # each expired object's blob awaits the reaper
    finally:
        services.db.dispose()
