"""The job table's leases on a real database (SQLite file; the PostgreSQL pass uses its server): one holder at a
time, renewal, expiry and takeover, checkpoints a successor resumes from, failures with retry, one-off jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from infra.db import Database
from infra.jobs import DONE, FAILED, RUNNING, SCHEDULED, JobRun, JobRunner, JobStore, LeaseLost
from tests.support.server import postgres_database


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    db = Database(postgres_database() or f"sqlite:///{tmp_path / 'jobs.db'}")
    db.create_schema()
    try:
        yield JobStore(db)
    finally:
        db.dispose()


def test_a_due_job_has_exactly_one_holder(store: JobStore) -> None:
    store.ensure("k", "t", interval=10, first_run_at=100)
    (job_id,) = store.due(100, ["k"])
    first = store.claim(job_id, "a:1", 100, 30)
    assert first is not None
    assert first.state == RUNNING
    assert first.lease_owner == "a:1"
    assert store.claim(job_id, "b:1", 101, 30) is None  # held
    assert store.due(101, ["k"]) == []
    assert (
        store.claim(job_id, "b:1", 130, 30) is None
    )  # not yet past the expiry (130 is the last held second)


def test_not_due_jobs_are_not_claimed_and_ensure_is_idempotent(store: JobStore) -> None:
    store.ensure("k", interval=10, first_run_at=200)
    store.ensure("k", interval=10, first_run_at=50)  # exists: the schedule stays
    assert store.due(100, ["k"]) == []
    job = store.get("k")
    assert job is not None
    assert job.next_run_at == 200
    assert store.claim(job.id, "a:1", 100, 30) is None
    store.ensure("k", interval=5, first_run_at=0)
    assert store.get("k").interval == 5  # type: ignore[union-attr]
    assert len(store.list()) == 1


def test_saving_renews_the_lease_and_a_lapsed_lease_is_taken_over(store: JobStore) -> None:
    store.ensure("k", interval=10, first_run_at=0)
    job = store.claim(store.due(0, ["k"])[0], "a:1", 0, 30)
    assert job is not None
    store.save(job.id, "a:1", 25, 30, {"after": 5}, {"done": 5})  # renewed to 55
    assert store.claim(job.id, "b:1", 40, 30) is None
    taken = store.claim(job.id, "b:1", 56, 30)  # a's lease lapsed at 55
    assert taken is not None
    assert taken.lease_owner == "b:1"
    assert taken.checkpoint == {"after": 5}
    assert taken.progress == {"done": 5}
    assert taken.takeovers == 1
    assert taken.attempts == 2
    with pytest.raises(LeaseLost):
        store.save(job.id, "a:1", 57, 30, {"after": 9}, {"done": 9})  # the old holder wakes up: refused
    assert store.get("k").checkpoint == {"after": 5}  # type: ignore[union-attr]
    assert not store.finish(job.id, "a:1", 58, {})


def test_a_successor_resumes_from_the_checkpoint_and_the_run_finishes_once(store: JobStore) -> None:
    clock = Clock(0)
    store.ensure("walk", "bucket-1", interval=60, first_run_at=0)
    items = list(range(10))
    done: list[tuple[str, int]] = []

    def walker(name: str, stop_after: int | None) -> Any:
        def handler(run: JobRun) -> None:
            position = run.checkpoint["next"] if run.checkpoint else 0
            steps = 0
            while position < len(items):
                done.append((name, items[position]))
                position += 1
                run.count("visited")
                run.save({"next": position})
                steps += 1
                if stop_after is not None and steps == stop_after:
                    raise SystemExit  # the process dies: no finish, no release

        return handler

    a = JobRunner(store, "a:1", lease_seconds=30, clock=clock)
    a.register("walk", walker("a", 4))
    with pytest.raises(SystemExit):
        a.run_due()
    b = JobRunner(store, "b:1", lease_seconds=30, clock=clock)
    b.register("walk", walker("b", None))
    assert b.run_due() == 0  # a's lease still holds
    clock.now = 31
    assert b.run_due() == 1
    assert [i for _, i in done] == items  # nothing twice, nothing skipped
    assert {n for n, i in done if i < 4} == {"a"}
    assert {n for n, i in done if i >= 4} == {"b"}
    job = store.get("walk", "bucket-1")
    assert job is not None
    assert job.state == SCHEDULED
    assert job.checkpoint is None
    assert job.lease_owner is None
    assert job.progress == {"visited": 10}
    assert job.runs == 1
    assert job.takeovers == 1
    assert job.attempts == 0
    assert job.last_owner == "b:1"
    assert job.next_run_at == 91
    assert b.run_due() == 0  # not due again before its interval


def test_a_failed_run_keeps_its_checkpoint_records_the_error_and_retries(store: JobStore) -> None:
    clock = Clock(0)
    store.ensure("flaky", interval=300, first_run_at=0)
    calls: list[Any] = []

    def handler(run: JobRun) -> None:
        calls.append(run.checkpoint)
        if len(calls) == 1:
            run.save({"next": 3}, {"visited": 3})
            raise OSError("disk on fire")

    runner = JobRunner(store, "a:1", lease_seconds=30, clock=clock)
    runner.register("flaky", handler)
    assert runner.run_due() == 1
    job = store.get("flaky")
    assert job is not None
    assert job.state == FAILED
    assert job.failures == 1
    assert job.last_error is not None
    assert "OSError: disk on fire" in job.last_error
    assert job.lease_owner is None
    assert job.checkpoint == {"next": 3}
    assert job.next_run_at > 0
    assert runner.run_due() == 0  # backing off
    clock.now = job.next_run_at
    assert runner.run_due() == 1
    assert calls == [None, {"next": 3}]
    job = store.get("flaky")
    assert job is not None
    assert job.state == SCHEDULED
    assert job.last_error is None
    assert job.runs == 1
    assert job.progress == {"visited": 3}  # the resumed run kept the counters of the checkpoint


def test_one_off_jobs_end_done_and_removed_jobs_stop_their_holder(store: JobStore) -> None:
    clock = Clock(0)
    store.ensure("once", "x", interval=None, first_run_at=0)
    store.ensure("gone", "y", interval=10, first_run_at=0)
    seen: list[str] = []

    def once(run: JobRun) -> None:
        seen.append(run.target)

    def gone(run: JobRun) -> None:
        store.remove("gone", "y")
        run.save({"next": 1})  # the job was deleted under the holder

    runner = JobRunner(store, "a:1", lease_seconds=30, clock=clock)
    runner.register("once", once)
    runner.register("gone", gone)
    assert runner.run_due() == 1
    assert seen == ["x"]
    assert store.get("once", "x").state == DONE  # type: ignore[union-attr]
    assert store.get("gone", "y") is None
    clock.now = 1000
    assert runner.run_due() == 0


def test_summary_counts_per_kind(store: JobStore) -> None:
    store.ensure("a", "1", interval=10, first_run_at=0)
    store.ensure("a", "2", interval=10, first_run_at=0)
    store.ensure("b", interval=10, first_run_at=500)
    runner = JobRunner(store, "n:1", lease_seconds=30, clock=Clock(100))
    runner.register("a", lambda run: None)
    assert runner.run_one(store.get("a", "1").id)  # type: ignore[union-attr]
    summary = store.summary(100)
    assert summary["a"]["states"] == {SCHEDULED: 2}
    assert summary["a"]["runs"] == 1
    assert summary["a"]["last_success"] == 100
    assert summary["a"]["overdue"] == 100  # job "2" has been due since 0
    assert summary["b"]["overdue"] == 0
    assert summary["b"]["runs"] == 0


def test_a_stopping_worker_hands_its_job_over_at_the_next_checkpoint(store: JobStore) -> None:
    clock = Clock(0)
    store.ensure("walk", interval=60, first_run_at=0)
    first = JobRunner(store, "a:1", lease_seconds=30, clock=clock)
    second = JobRunner(store, "b:1", lease_seconds=30, clock=clock)
    done: list[tuple[str, int]] = []

    def walker(name: str, runner: JobRunner) -> Any:
        def handler(run: JobRun) -> None:
            position = run.checkpoint["next"] if run.checkpoint else 0
            while position < 6:
                done.append((name, position))
                position += 1
                if name == "a" and position == 2:
                    runner.stop()  # the worker is told to shut down while the step runs
                run.save({"next": position})

        return handler

    first.register("walk", walker("a", first))
    second.register("walk", walker("b", second))
    assert first.run_due() == 0  # handed over, not finished
    assert first.stop(wait=1)
    job = store.get("walk")
    assert job is not None
    assert job.lease_owner is None
    assert job.checkpoint == {"next": 2}
    assert first.run_due() == 0  # a stopped runner claims nothing more
    assert second.run_due() == 1  # at once: no lease to wait out, no takeover
    assert done == [("a", 0), ("a", 1), ("b", 2), ("b", 3), ("b", 4), ("b", 5)]
    job = store.get("walk")
    assert job is not None
    assert job.takeovers == 0
    assert job.runs == 1


def test_a_checkpoint_saved_inside_a_step_commits_with_the_step_or_not_at_all(store: JobStore) -> None:
    with store.db.write() as conn:
        conn.execute(text("CREATE TABLE step_marker (n INTEGER)"))
    store.ensure("k", "t", interval=10, first_run_at=0)
    job = store.claim(store.due(0, ["k"])[0], "a:1", 0, 30)
    assert job is not None
    with store.db.write() as conn:
        conn.execute(text("INSERT INTO step_marker VALUES (1)"))
        store.save_in(conn, job.id, "a:1", 1, 30, {"after": 1}, {"done": 1})
    assert store.get("k", "t").checkpoint == {"after": 1}  # type: ignore[union-attr]
    assert store.claim(job.id, "b:1", 100, 30) is not None  # a's lease lapsed: b holds the job

    def late_step() -> None:
        with store.db.write() as conn:
            conn.execute(text("INSERT INTO step_marker VALUES (2)"))
            store.save_in(conn, job.id, "a:1", 101, 30, {"after": 2}, {"done": 2})

    with pytest.raises(LeaseLost):
        late_step()
    with store.db.read() as conn:
        assert [r[0] for r in conn.execute(text("SELECT n FROM step_marker"))] == [1]  # a's step rolled back
    taken = store.get("k", "t")
    assert taken is not None
    assert taken.checkpoint == {"after": 1}
    assert taken.progress == {"done": 1}
