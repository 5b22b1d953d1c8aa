"""Background work (DESIGN.md "Background work"): jobs that live in the database and are claimed through leases.

A job is one row: its kind and target name the work (``lifecycle`` of bucket ``logs``), ``next_run_at`` says when
it is due. Any worker of any node claims a due job by a compare-and-set on its lease (the ``UPDATE`` matches only
while nobody holds an unexpired lease), renews the lease each time it saves a checkpoint, and releases it when the
run ends. A holder that dies stops renewing; once its lease lapses another worker claims the job and its handler
resumes from the last checkpoint. Handlers make each step idempotent, so the step a dead holder was in the middle
of can be done again. The composition layer registers one handler per kind; this module knows no domain.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, case, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from infra.db import Database

log = logging.getLogger("lakebox.jobs")

Clock = Callable[[], float]
SCHEDULED, RUNNING, FAILED, DONE = "scheduled", "running", "failed", "done"
MAX_ERROR_CHARS = 2000
MAX_BACKOFF_SECONDS = 600.0


class JobRow(SQLModel, table=True):
    __tablename__ = "infra_job"
    __table_args__ = (
        UniqueConstraint("kind", "target", name="uq_infra_job_kind_target"),
        Index("ix_infra_job_due", "next_run_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    target: str = Field(default="", max_length=1024)  # what the job works on ("" for node-wide work)
    state: str = Field(default=SCHEDULED, max_length=16)
    interval: float | None = None  # seconds between runs; None: run once, then DONE
    next_run_at: float
    lease_owner: str | None = Field(default=None, max_length=256)  # "<node id>:<pid>" of the holder
    lease_expires: float | None = None
    checkpoint: str | None = Field(default=None, sa_type=Text)  # JSON: where an interrupted run resumes
    progress: str | None = Field(default=None, sa_type=Text)  # JSON: counters of the current or last run
    attempts: int = 0  # claims of the current run (1 on a clean run; more after failures or takeovers)
    runs: int = 0  # runs finished successfully
    failures: int = 0  # runs that ended in an error
    takeovers: int = 0  # claims of a job whose holder's lease had lapsed (the holder died or stalled)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_owner: str | None = Field(default=None, max_length=256)  # who finished the last run
    last_started: float | None = None
    last_finished: float | None = None


_jobs = JobRow.__table__  # type: ignore[attr-defined]


class LeaseLost(Exception):
    """The lease passed to another worker (this one stalled past its expiry): the run must stop at once."""


class Stopping(Exception):
    """The worker is shutting down: the run stops at its checkpoint and hands the job over."""


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job's state as the management API, the CLI and ``/metrics`` show it."""

    id: int
    kind: str
    target: str
    state: str
    interval: float | None
    next_run_at: float
    lease_owner: str | None
    lease_expires: float | None
    checkpoint: Any
    progress: Any
    attempts: int
    runs: int
    failures: int
    takeovers: int
    last_error: str | None
    last_owner: str | None
    last_started: float | None
    last_finished: float | None

    @classmethod
    def from_row(cls, row: Any) -> JobInfo:
        values = dict(row._mapping)
        values["checkpoint"] = _decode(values["checkpoint"])
        values["progress"] = _decode(values["progress"])
        return cls(**values)


def _decode(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def _encode(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


class JobStore:
    """The job table: scheduling, the lease compare-and-sets and the listing."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(self, kind: str, target: str = "", *, interval: float | None, first_run_at: float) -> None:
        """Creates the job unless it exists (idempotent across workers and nodes); a changed interval is
        updated, and a schedule that the new interval brings forward moves forward."""
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(_jobs).values(
                        kind=kind,
                        target=target,
                        state=SCHEDULED,
                        interval=interval,
                        next_run_at=first_run_at,
                        attempts=0,
                        runs=0,
                        failures=0,
                        takeovers=0,
                    )
                )
            return
        except IntegrityError:
            pass
        with self.db.write() as conn:
            conn.execute(
                update(_jobs)
                .where(_jobs.c.kind == kind, _jobs.c.target == target, _jobs.c.interval != interval)
                .values(interval=interval)
            )

    def remove(self, kind: str, target: str = "") -> None:
        """Deletes a job (a holder's next save then raises LeaseLost)."""
        with self.db.write() as conn:
            conn.execute(delete(_jobs).where(_jobs.c.kind == kind, _jobs.c.target == target))

    def targets(self, kind: str) -> list[str]:
        with self.db.read(snapshot=False) as conn:
            return [r[0] for r in conn.execute(select(_jobs.c.target).where(_jobs.c.kind == kind))]

    def run_soon(self, kind: str, target: str, at: float) -> None:
        """Brings a scheduled run forward to ``at`` (a configuration change that should act promptly)."""
        with self.db.write() as conn:
            conn.execute(
                update(_jobs)
                .where(_jobs.c.kind == kind, _jobs.c.target == target, _jobs.c.next_run_at > at)
                .values(next_run_at=at)
            )

    def due(self, now: float, kinds: Iterable[str], limit: int = 16) -> list[int]:
        """Ids of jobs of ``kinds`` that are due and held by nobody (or by a lapsed lease), oldest due first."""
        query = (
            select(_jobs.c.id)
            .where(
                _jobs.c.kind.in_(list(kinds)),
                _jobs.c.state != DONE,
                _jobs.c.next_run_at <= now,
                (_jobs.c.lease_owner.is_(None)) | (_jobs.c.lease_expires < now),
            )
            .order_by(_jobs.c.next_run_at, _jobs.c.id)
            .limit(limit)
        )
        with self.db.read(snapshot=False) as conn:
            return [r[0] for r in conn.execute(query)]

    def claim(self, job_id: int, owner: str, now: float, lease: float) -> JobInfo | None:
        """The job, now held by ``owner`` until ``now + lease``; None when another worker holds it or it is not
        due. The compare-and-set is the single place where a holder is decided."""
        with self.db.write() as conn:
            taken_over = case((_jobs.c.lease_owner.is_not(None), 1), else_=0)  # a lapsed lease
            claimed = conn.execute(
                update(_jobs)
                .where(
                    _jobs.c.id == job_id,
                    _jobs.c.state != DONE,
                    _jobs.c.next_run_at <= now,
                    (_jobs.c.lease_owner.is_(None)) | (_jobs.c.lease_expires < now),
                )
                .values(
                    lease_owner=owner,
                    lease_expires=now + lease,
                    state=RUNNING,
                    attempts=_jobs.c.attempts + 1,
                    takeovers=_jobs.c.takeovers + taken_over,
                    last_started=now,
                )
            ).rowcount
            if claimed != 1:
                return None
            row = conn.execute(select(_jobs).where(_jobs.c.id == job_id)).one()
        return JobInfo.from_row(row)

    def save(self, job_id: int, owner: str, now: float, lease: float, checkpoint: Any, progress: Any) -> None:
        """Stores the checkpoint and progress and renews the lease, if ``owner`` still holds it."""
        with self.db.write() as conn:
            self.save_in(conn, job_id, owner, now, lease, checkpoint, progress)

    def save_in(
        self,
        conn: Connection,
        job_id: int,
        owner: str,
        now: float,
        lease: float,
        checkpoint: Any,
        progress: Any,
    ) -> None:
        """``save`` inside the caller's write transaction (on this store's database): the checkpoint commits with
        the step's own writes, or neither does (LeaseLost rolls both back)."""
        kept = conn.execute(
            update(_jobs)
            .where(_jobs.c.id == job_id, _jobs.c.lease_owner == owner)
            .values(lease_expires=now + lease, checkpoint=_encode(checkpoint), progress=_encode(progress))
        ).rowcount
        if kept != 1:
            raise LeaseLost(f"job {job_id}: the lease of {owner} passed to another worker")

    def finish(self, job_id: int, owner: str, now: float, progress: Any) -> bool:
        """Ends a successful run: clears the checkpoint, schedules the next run (or marks a one-off DONE) and
        releases the lease. False if the lease had passed to another worker."""
        with self.db.write() as conn:
            row = conn.execute(
                select(_jobs.c.interval).where(_jobs.c.id == job_id, _jobs.c.lease_owner == owner)
            ).first()
            if row is None:
                return False
            interval = row[0]
            values: dict[str, Any] = {
                "lease_owner": None,
                "lease_expires": None,
                "checkpoint": None,
                "progress": _encode(progress),
                "state": DONE if interval is None else SCHEDULED,
                "attempts": 0,
                "runs": _jobs.c.runs + 1,
                "last_error": None,
                "last_owner": owner,
                "last_finished": now,
            }
            if interval is not None:
                values["next_run_at"] = now + interval
            ended = conn.execute(
                update(_jobs).where(_jobs.c.id == job_id, _jobs.c.lease_owner == owner).values(**values)
            ).rowcount
        return ended == 1

    def fail(self, job_id: int, owner: str, now: float, error: str, retry_in: float) -> None:
        """Ends a failed run: keeps the checkpoint (the retry resumes there), records the error, releases the
        lease and retries after ``retry_in`` seconds."""
        with self.db.write() as conn:
            conn.execute(
                update(_jobs)
                .where(_jobs.c.id == job_id, _jobs.c.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_expires=None,
                    state=FAILED,
                    failures=_jobs.c.failures + 1,
                    last_error=error[-MAX_ERROR_CHARS:],
                    last_owner=owner,
                    last_finished=now,
                    next_run_at=now + retry_in,
                )
            )

    def release(self, job_id: int, owner: str) -> None:
        """Gives a job up at its last checkpoint, due at once for any other worker (a graceful shutdown)."""
        with self.db.write() as conn:
            conn.execute(
                update(_jobs)
                .where(_jobs.c.id == job_id, _jobs.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires=None, state=SCHEDULED)
            )

    def list(self, kind: str | None = None) -> list[JobInfo]:
        query = select(_jobs).order_by(_jobs.c.kind, _jobs.c.target)
        if kind is not None:
            query = query.where(_jobs.c.kind == kind)
        with self.db.read(snapshot=False) as conn:
            return [JobInfo.from_row(r) for r in conn.execute(query)]

    def summary(self, now: float) -> dict[str, dict[str, Any]]:
        """Per kind: jobs by state, runs, failures, takeovers, the last successful finish and how far the most
        overdue unheld job is behind its schedule (for ``/metrics``)."""
        held = (_jobs.c.lease_owner.is_not(None)) & (_jobs.c.lease_expires >= now)
        overdue = case(((_jobs.c.state != DONE) & ~held & (_jobs.c.next_run_at <= now), _jobs.c.next_run_at))
        query = select(
            _jobs.c.kind,
            _jobs.c.state,
            func.count(),
            func.sum(_jobs.c.runs),
            func.sum(_jobs.c.failures),
            func.sum(_jobs.c.takeovers),
            func.max(case((_jobs.c.last_error.is_(None), _jobs.c.last_finished))),
            func.min(overdue),
        ).group_by(_jobs.c.kind, _jobs.c.state)
        out: dict[str, dict[str, Any]] = {}
        with self.db.read(snapshot=False) as conn:
            for kind, state, count, runs, failures, takeovers, finished, due in conn.execute(query):
                entry = out.setdefault(
                    kind,
                    {
                        "states": {},
                        "runs": 0,
                        "failures": 0,
                        "takeovers": 0,
                        "last_success": 0.0,
                        "overdue": 0.0,
                    },
                )
                entry["states"][state] = int(count)
                entry["runs"] += int(runs or 0)
                entry["failures"] += int(failures or 0)
                entry["takeovers"] += int(takeovers or 0)
                entry["last_success"] = max(entry["last_success"], float(finished or 0.0))
                if due is not None:
                    entry["overdue"] = max(entry["overdue"], now - float(due))
        return out

    def get(self, kind: str, target: str = "") -> JobInfo | None:
        with self.db.read(snapshot=False) as conn:
            row = conn.execute(select(_jobs).where(_jobs.c.kind == kind, _jobs.c.target == target)).first()
        return None if row is None else JobInfo.from_row(row)


@dataclass
class JobRun:
    """What a handler sees of the run it does: the target, where to resume, and the way to save progress."""

    job_id: int
    kind: str
    target: str
    checkpoint: Any
    progress: dict[str, Any]
    owner: str
    clock: Clock
    _store: JobStore
    _lease: float
    resumed: bool = field(default=False)
    _stopping: threading.Event | None = None

    def now(self) -> float:
        return self.clock()

    def save(self, checkpoint: Any, progress: Mapping[str, Any] | None = None) -> None:
        """Records a checkpoint (JSON-serialisable; where a successor resumes) and the run's progress, and renews
        the lease. Raises LeaseLost when another worker has taken the job over: the handler must stop."""
        if progress is not None:
            self.progress = dict(progress)
        self.checkpoint = checkpoint
        self._store.save(self.job_id, self.owner, self.clock(), self._lease, checkpoint, self.progress)
        self.stop_point()

    def save_in(self, conn: Connection, checkpoint: Any) -> None:
        """``save`` inside the caller's write transaction, so the checkpoint and the progress counted so far commit
        together with the step's writes: a successor neither redoes nor recounts that step. The caller calls
        ``stop_point`` once the transaction has committed."""
        self.checkpoint = checkpoint
        self._store.save_in(
            conn, self.job_id, self.owner, self.clock(), self._lease, checkpoint, self.progress
        )

    def stop_point(self) -> None:
        """Raises Stopping when the worker is shutting down (the run ends at its last saved checkpoint)."""
        if self._stopping is not None and self._stopping.is_set():
            raise Stopping()

    def count(self, name: str, n: int = 1) -> None:
        """Adds to a progress counter (stored with the next save)."""
        self.progress[name] = int(self.progress.get(name, 0)) + n


Handler = Callable[[JobRun], None]


class JobRunner:
    """Claims due jobs of the registered kinds and runs them, one at a time, in the calling thread.

    Every worker of every node runs one (``run_due`` from a background task); the lease decides which of them
    does each job. Foreground requests never wait on it.
    """

    def __init__(
        self, store: JobStore, owner: str, *, lease_seconds: float = 30.0, clock: Clock = time.time
    ) -> None:
        self.store = store
        self.owner = owner
        self.lease = lease_seconds
        self.clock = clock
        self.handlers: dict[str, Handler] = {}
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    def stop(self, wait: float = 0.0) -> bool:
        """Asks the running handler to stop at its next checkpoint, whose job is then released for another
        worker; waits up to ``wait`` seconds for that. True if no run is left in progress."""
        self._stopping.set()
        return self._idle.wait(wait)

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def run_due(self, limit: int = 16) -> int:
        """Runs the jobs due now that no other worker holds; returns how many runs ended here."""
        if not self.handlers or self._stopping.is_set():
            return 0
        ran = 0
        self._idle.clear()
        try:
            for job_id in self.store.due(self.clock(), self.handlers, limit):
                if self._stopping.is_set():
                    break
                if self.run_one(job_id):
                    ran += 1
        finally:
            self._idle.set()
        return ran

    def run_one(self, job_id: int) -> bool:
        """Claims and runs one job; False when another worker holds it (or it is no longer due)."""
        claimed = self.store.claim(job_id, self.owner, self.clock(), self.lease)
        if claimed is None:
            return False
        run = JobRun(
            job_id=claimed.id,
            kind=claimed.kind,
            target=claimed.target,
            checkpoint=claimed.checkpoint,
            progress=dict(claimed.progress or {}) if claimed.checkpoint is not None else {},
            owner=self.owner,
            clock=self.clock,
            _store=self.store,
            _lease=self.lease,
            resumed=claimed.checkpoint is not None,
            _stopping=self._stopping,
        )
        if run.resumed:
            log.info("job %s %r resumes from its checkpoint", claimed.kind, claimed.target)
        try:
            self.handlers[claimed.kind](run)
        except LeaseLost as exc:
            log.warning("%s", exc)
            return False
        except Stopping:
            self.store.release(claimed.id, self.owner)
            return False
        except Exception as exc:
            retry = min(MAX_BACKOFF_SECONDS, claimed.interval or 60.0, 2.0 ** min(claimed.attempts, 10))
            log.warning("job %s %r failed: %s: %s", claimed.kind, claimed.target, type(exc).__name__, exc)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.store.fail(claimed.id, self.owner, self.clock(), detail, retry)
            return True
        return self.store.finish(claimed.id, self.owner, self.clock(), run.progress)
