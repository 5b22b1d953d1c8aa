"""Analytics persistence: additive upserts of operation counts, storage samples taken from the object index,
the job slot's compare-and-set, retention, and the grouped reads the GraphQL datasets need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, case, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from analytics.store.tables import JobSlotRow, OperationCountRow, RetrievalRow, StorageSampleRow
from infra.db import Database
from objectstore.store.tables import BucketRow, EarlyDeletionRow, MultipartUploadRow, ObjectRow

_ops = OperationCountRow.__table__  # type: ignore[attr-defined]
_retrievals = RetrievalRow.__table__  # type: ignore[attr-defined]
_early = EarlyDeletionRow.__table__  # type: ignore[attr-defined]
_storage = StorageSampleRow.__table__  # type: ignore[attr-defined]
_slots = JobSlotRow.__table__  # type: ignore[attr-defined]
_objects = ObjectRow.__table__  # type: ignore[attr-defined]
_uploads = MultipartUploadRow.__table__  # type: ignore[attr-defined]
_buckets = BucketRow.__table__  # type: ignore[attr-defined]

OperationKey = tuple[int, str, str, str, int]  # minute, bucket, action, status, code
RetrievalKey = tuple[int, str, str, str, int, str]  # an OperationKey and the storage class read
INFREQUENT_ACCESS = "STANDARD_IA"


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Inclusive/exclusive bounds in epoch seconds (None: unbounded)."""

    geq: float | None = None
    gt: float | None = None
    leq: float | None = None
    lt: float | None = None


class AnalyticsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = postgresql if not db.is_sqlite else sqlite
        stmt = dialect.insert(_ops)
        # Several workers and nodes add to the same row: the database sums, never a read-modify-write.
        self._add_counts: Insert = stmt.on_conflict_do_update(
            index_elements=["minute", "bucket", "action", "status", "code"],
            set_={"requests": _ops.c.requests + stmt.excluded.requests},
        )
        stmt = dialect.insert(_retrievals)
        self._add_retrievals: Insert = stmt.on_conflict_do_update(
            index_elements=["minute", "bucket", "action", "status", "code", "storage_class"],
            set_={
                "requests": _retrievals.c.requests + stmt.excluded.requests,
                "bytes": _retrievals.c.bytes + stmt.excluded.bytes,
            },
        )

    def add_batch(
        self, counts: dict[OperationKey, int], retrievals: dict[RetrievalKey, tuple[int, int]]
    ) -> None:
        """A worker's counts and retrievals, in one transaction."""
        if not counts and not retrievals:
            return
        with self.db.write() as conn:
            if counts:
                self.add_counts_in(conn, counts)
            if retrievals:
                rows = [
                    {"minute": m, "bucket": b, "action": a, "status": s, "code": c, "storage_class": k}
                    | {"requests": n, "bytes": size}
                    for (m, b, a, s, c, k), (n, size) in sorted(retrievals.items())
                ]
                conn.execute(self._add_retrievals, rows)

    def add_counts(self, counts: dict[OperationKey, int]) -> None:
        """One upsert per group, all in one transaction."""
        if not counts:
            return
        with self.db.write() as conn:
            self.add_counts_in(conn, counts)

    def add_counts_in(self, conn: Connection, counts: dict[OperationKey, int]) -> None:
        """``add_counts`` inside the caller's write transaction (a count that exists exactly when the change
        it counts does, such as a lifecycle deletion)."""
        rows = [
            {"minute": m, "bucket": b, "action": a, "status": s, "code": c, "requests": n}
            for (m, b, a, s, c), n in sorted(counts.items())  # a fixed order: no deadlock between nodes
        ]
        conn.execute(self._add_counts, rows)

    def claim(self, job: str, now: float, interval: float) -> bool:
        """True for exactly one caller per interval across every worker and node (a compare-and-set)."""
        with self.db.write() as conn:
            moved = conn.execute(
                update(_slots)
                .where(_slots.c.name == job, _slots.c.due_at <= now)
                .values(due_at=now + interval)
            ).rowcount
        if moved == 1:
            return True
        try:
            with self.db.write() as conn:
                conn.execute(insert(_slots).values(name=job, due_at=now + interval))
        except IntegrityError:
            return False  # the slot exists and is not due
        return True

    def sample_storage(self, at: float) -> int:
        """Writes one sample row per bucket (objects, sizes, pending uploads) and returns how many."""
        objects = select(
            _objects.c.bucket,
            func.count().label("n"),
            func.coalesce(func.sum(_objects.c.size), 0).label("payload"),
            func.coalesce(
                func.sum(func.length(_objects.c.key_raw) + func.length(_objects.c.user_metadata)), 0
            ).label("meta"),
            func.coalesce(
                func.sum(case((_objects.c.storage_class == INFREQUENT_ACCESS, 1), else_=0)), 0
            ).label("ia_n"),
            func.coalesce(
                func.sum(case((_objects.c.storage_class == INFREQUENT_ACCESS, _objects.c.size), else_=0)), 0
            ).label("ia_payload"),
            func.coalesce(
                func.sum(
                    case(
                        (
                            _objects.c.storage_class == INFREQUENT_ACCESS,
                            func.length(_objects.c.key_raw) + func.length(_objects.c.user_metadata),
                        ),
                        else_=0,
                    )
                ),
                0,
            ).label("ia_meta"),
        ).group_by(_objects.c.bucket)
        uploads = select(_uploads.c.bucket, func.count().label("n")).group_by(_uploads.c.bucket)
        with self.db.write() as conn:
            names = [row[0] for row in conn.execute(select(_buckets.c.name))]
            per_bucket = {row.bucket: row for row in conn.execute(objects)}
            pending = {row.bucket: int(row.n) for row in conn.execute(uploads)}
            rows = []
            for name in names:
                found = per_bucket.get(name)
                rows.append(
                    {
                        "at": at,
                        "bucket": name,
                        "object_count": int(found.n) if found else 0,
                        "upload_count": pending.get(name, 0),
                        "payload_size": int(found.payload) if found else 0,
                        "metadata_size": int(found.meta) if found else 0,
                        "ia_object_count": int(found.ia_n) if found else 0,
                        "ia_payload_size": int(found.ia_payload) if found else 0,
                        "ia_metadata_size": int(found.ia_meta) if found else 0,
                    }
                )
            if rows:
                conn.execute(insert(_storage), rows)
        return len(rows)

    def prune(self, before: float) -> None:
        """Deletes operation counts and storage samples older than ``before``."""
        with self.db.write() as conn:
            conn.execute(delete(_ops).where(_ops.c.minute < before))
            conn.execute(delete(_storage).where(_storage.c.at < before))
            conn.execute(delete(_retrievals).where(_retrievals.c.minute < before))
            conn.execute(delete(_early).where(_early.c.at < before))

    def retrievals(
        self, dimensions: Sequence[str], when: TimeRange, buckets: Iterable[str] | None
    ) -> list[dict[str, Any]]:
        """Summed retrieval requests and bytes grouped by ``dimensions`` (columns of ``r2_retrieval``)."""
        columns = [_retrievals.c[name].label(name) for name in dimensions]
        stmt = select(
            *columns,
            func.sum(_retrievals.c.requests).label("requests"),
            func.sum(_retrievals.c.bytes).label("bytes"),
        ).where(*_time_filter(_retrievals.c.minute, when, minute_rows=True))
        if buckets is not None:
            stmt = stmt.where(_retrievals.c.bucket.in_(list(buckets)))
        if columns:
            stmt = stmt.group_by(*columns)
        with self.db.read(snapshot=False) as conn:
            rows = [dict(row._mapping) for row in conn.execute(stmt)]
        return [row for row in rows if row["requests"] is not None]

    def early_deletions(
        self, dimensions: Sequence[str], when: TimeRange, buckets: Iterable[str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Early deletions of Infrequent Access objects grouped by ``dimensions`` (``bucket``, ``minute``):
        how many, their bytes, and the byte-seconds short of the minimum storage duration."""
        # ``minute`` groups by the exact time: the caller folds it into minutes (portable: no floor() in SQLite).
        chosen = {"bucket": _early.c.bucket.label("bucket"), "minute": _early.c.at.label("minute")}
        columns = [chosen[name] for name in dimensions]
        stmt = select(
            *columns,
            func.count().label("deletions"),
            func.sum(_early.c.size).label("size"),
            func.sum(_early.c.size * _early.c.seconds_short).label("byte_seconds"),
        ).where(*_time_filter(_early.c.at, when))
        if buckets is not None:
            stmt = stmt.where(_early.c.bucket.in_(list(buckets)))
        if columns:
            stmt = stmt.group_by(*columns).order_by(*columns)
        with self.db.read(snapshot=False) as conn:
            rows = [dict(row._mapping) for row in conn.execute(stmt.limit(limit))]
        return [row for row in rows if row["size"] is not None]

    def operations(
        self, dimensions: Sequence[str], when: TimeRange, buckets: Iterable[str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Summed requests grouped by ``dimensions`` (column names of the counts table, or ``minute``)."""
        columns = [_ops.c[name].label(name) for name in dimensions]
        stmt = select(*columns, func.sum(_ops.c.requests).label("requests"))
        stmt = stmt.where(*_time_filter(_ops.c.minute, when, minute_rows=True))
        if buckets is not None:
            stmt = stmt.where(_ops.c.bucket.in_(list(buckets)))
        if columns:
            stmt = stmt.group_by(*columns).order_by(*columns)
        with self.db.read(snapshot=False) as conn:
            rows = [dict(row._mapping) for row in conn.execute(stmt.limit(limit))]
        return [row for row in rows if row["requests"] is not None]

    def storage(
        self,
        dimensions: Sequence[str],
        when: TimeRange,
        buckets: Iterable[str] | None,
        limit: int,
        descending: bool,
    ) -> list[dict[str, Any]]:
        """The largest sampled values grouped by ``dimensions`` (``at`` and/or ``bucket``)."""
        columns = [_storage.c[name].label(name) for name in dimensions]
        values = [
            func.max(_storage.c[name]).label(name)
            for name in (
                "object_count",
                "upload_count",
                "payload_size",
                "metadata_size",
                "ia_object_count",
                "ia_payload_size",
                "ia_metadata_size",
            )
        ]
        for name in ("object_count", "payload_size", "metadata_size"):  # the Standard part of a sample
            standard = _storage.c[name] - func.coalesce(_storage.c[f"ia_{name}"], 0)
            values.append(func.max(standard).label(f"standard_{name}"))
        stmt = select(*columns, *values).where(*_time_filter(_storage.c.at, when))
        if buckets is not None:
            stmt = stmt.where(_storage.c.bucket.in_(list(buckets)))
        if columns:
            order = [c.desc() if descending else c.asc() for c in columns]
            stmt = stmt.group_by(*columns).order_by(*order)
        with self.db.read(snapshot=False) as conn:
            rows = [dict(row._mapping) for row in conn.execute(stmt.limit(limit))]
        return [row for row in rows if row["object_count"] is not None]


def _time_filter(column: Any, when: TimeRange, *, minute_rows: bool = False) -> list[Any]:
    # A minute row counts requests anywhere inside its minute: a lower bound keeps the minute it falls in.
    lower_shift = 60 if minute_rows else 0
    clauses: list[Any] = []
    if when.geq is not None:
        clauses.append(column > when.geq - lower_shift if minute_rows else column >= when.geq)
    if when.gt is not None:
        clauses.append(column > when.gt - lower_shift if minute_rows else column > when.gt)
    if when.leq is not None:
        clauses.append(column <= when.leq)
    if when.lt is not None:
        clauses.append(column < when.lt)
    return clauses or [literal(True)]
