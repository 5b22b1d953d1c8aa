"""The object index and bucket registry in the database (SQLAlchemy Core on the SQLModel tables).

Every method is one transaction. Writes that a read decides (conditional puts, bucket deletion) read and write in
the same write transaction, with the row locked on PostgreSQL (``FOR UPDATE``) and the database lock held on
SQLite (``BEGIN IMMEDIATE``), so they are atomic across worker processes and nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    TextualSelect,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from infra.db import Database, Prepared
from objectstore.store.domains import delete_bucket_domains
from objectstore.store.inline import InlineBlobStore
from objectstore.store.locks import BUCKET_AND_RULES, RetentionRefusal, locks
from objectstore.store.tables import (
    BlobGarbageRow,
    BucketRow,
    EarlyDeletionRow,
    MultipartUploadRow,
    ObjectRow,
    UploadPartRow,
)

buckets = BucketRow.__table__  # type: ignore[attr-defined]
objects = ObjectRow.__table__  # type: ignore[attr-defined]
uploads = MultipartUploadRow.__table__  # type: ignore[attr-defined]
parts = UploadPartRow.__table__  # type: ignore[attr-defined]
garbage = BlobGarbageRow.__table__  # type: ignore[attr-defined]
early_deletions = EarlyDeletionRow.__table__  # type: ignore[attr-defined]

INFREQUENT_ACCESS = "STANDARD_IA"
# R2 bills an Infrequent Access object for at least this long (page "Pricing", "Minimum storage duration").
IA_MINIMUM_SECONDS = 30 * 86400

ObjectCheck = Callable[[Row[Any] | None], None]
# Refuses (raises) replacing or deleting an object its bucket's lock rules (JSON) still retain.
LockGuard = Callable[[str, Row[Any]], None]

# Hot-path statements are built once with bind parameters: building a select() of the object table costs more
# than running it (column coercion and cache-key work, ~100-150 us per statement against ~10 us in SQLite).
_BUCKET = select(buckets).where(buckets.c.name == bindparam("b_"))
_OBJECT_WHERE = and_(objects.c.bucket == bindparam("b_"), objects.c.key == bindparam("k_"))
_OBJECT = select(objects).where(_OBJECT_WHERE)
_OBJECT_FOR_UPDATE = _OBJECT.with_for_update()
# The bucket and the object in one statement (one snapshot): no row means no bucket, a NULL key no object.
_BUCKET_AND_OBJECT = (
    select(buckets.c.name, buckets.c.lifecycle.label("bucket_lifecycle"), *objects.c)
    .select_from(
        buckets.outerjoin(objects, and_(objects.c.bucket == buckets.c.name, objects.c.key == bindparam("k_")))
    )
    .where(buckets.c.name == bindparam("b_"))
)
# A new object version replaces every column of the row: a column the writer leaves out takes its default.
_OBJECT_COLUMNS = [c for c in objects.c if c.name not in ("bucket", "key")]
_OBJECT_DEFAULTS = {
    c.name: (c.default.arg if c.default is not None and c.default.is_scalar else None) for c in objects.c
}
_UPDATE_OBJECT = (
    update(objects).where(_OBJECT_WHERE).values({c.name: bindparam(c.name) for c in _OBJECT_COLUMNS})
)
_DELETE_OBJECT = delete(objects).where(_OBJECT_WHERE)
_INSERT_OBJECT = insert(objects).values({c.name: bindparam(c.name) for c in objects.c})
_INSERT_GARBAGE = insert(garbage).values(blob_id=bindparam("blob_id"), created_at=bindparam("created_at"))
_DUE_GARBAGE = (
    select(garbage.c.blob_id)
    .where(
        and_(
            garbage.c.created_at < bindparam("before_"),
            or_(garbage.c.claimed_until.is_(None), garbage.c.claimed_until < bindparam("now_")),
        )
    )
    .limit(1)
)


_LISTED_COLUMNS = ("key", "key_raw", "size", "etag", "last_modified", "storage_class")


def _listing_statement(after: bool, inclusive: bool, prefix: bool, end: bool) -> Select[Any]:
    """The listing select for one shape of bounds (bounds and limit are parameters)."""
    conds = [objects.c.bucket == bindparam("b_")]
    if after:
        conds.append(
            objects.c.key >= bindparam("after_") if inclusive else objects.c.key > bindparam("after_")
        )
    if prefix:
        conds.append(objects.c.key >= bindparam("prefix_"))
    if end:
        conds.append(objects.c.key < bindparam("end_"))
    columns = [objects.c[name] for name in _LISTED_COLUMNS]
    return select(*columns).where(and_(*conds)).order_by(objects.c.key).limit(bindparam("limit_"))


# A delimiter listing in one statement: each step seeks the index once, from just past the previous entry (an
# object) or past every key under it (a common prefix: its text up to the delimiter, last character plus one).
# One statement instead of a round trip per entry (SQLite: ~10 us of Python each; PostgreSQL: a network hop).
_WALK = """
WITH RECURSIVE walk(n, key) AS (
    SELECT 1, (SELECT key FROM s3_object WHERE bucket = :b AND key >= :start{end} ORDER BY key LIMIT 1)
    UNION ALL
    SELECT walk.n + 1, (
        SELECT o.key FROM s3_object AS o
        WHERE o.bucket = :b AND o.key <> walk.key{end_o} AND o.key >= CASE
            WHEN {instr}(substr(walk.key, :lp + 1), :d) > 0
            THEN substr(walk.key, 1, :lp + {instr}(substr(walk.key, :lp + 1), :d) + :ld - 2) || {char}(:d_next)
            ELSE walk.key END
        ORDER BY o.key LIMIT 1)
    FROM walk WHERE walk.key IS NOT NULL AND walk.n < :limit
)
SELECT o.key, o.key_raw, o.size, o.etag, o.last_modified, o.storage_class
FROM walk JOIN s3_object AS o ON o.bucket = :b AND o.key = walk.key ORDER BY walk.n
"""


def _walk_statement(sqlite: bool, end: bool) -> TextualSelect:
    sql = _WALK.format(
        end=" AND key < :end" if end else "",
        end_o=" AND o.key < :end" if end else "",
        instr="instr" if sqlite else "strpos",
        char="char" if sqlite else "chr",
    )
    return text(sql).columns(*(objects.c[name] for name in _LISTED_COLUMNS))


def _next_code(char: str) -> int | None:
    """The code point after ``char`` that UTF-8 can hold (None after the last one)."""
    nxt = ord(char) + 1
    if 0xD800 <= nxt <= 0xDFFF:  # surrogates
        return 0xE000
    return nxt if nxt <= 0x10FFFF else None


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (None: no upper bound)."""
    for i in range(len(prefix) - 1, -1, -1):
        nxt = _next_code(prefix[i])
        if nxt is not None:
            return prefix[:i] + chr(nxt)
    return None


class ObjectRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._bucket = db.prepare(_BUCKET)
        self._bucket_and_object = db.prepare(_BUCKET_AND_OBJECT)
        self._bucket_rules = db.prepare(BUCKET_AND_RULES)
        self._object = db.prepare(_OBJECT if db.is_sqlite else _OBJECT_FOR_UPDATE)
        self._insert_object = db.prepare(_INSERT_OBJECT, _OBJECT_DEFAULTS)
        self._update_object = db.prepare(_UPDATE_OBJECT, _OBJECT_DEFAULTS)
        self._insert_garbage = db.prepare(_INSERT_GARBAGE)
        self._due_garbage = db.prepare(_DUE_GARBAGE)
        self._listings: dict[tuple[bool, bool, bool, bool], Prepared] = {}  # one per shape of bounds
        self._walks: dict[bool, Prepared] = {}
        self.inline = InlineBlobStore(db)
        # Installed by the object service (objectstore.service.locks): every replacement and deletion of a row
        # below passes it, inside the transaction that makes the change.
        self.guard: LockGuard | None = None

    # -- buckets ---------------------------------------------------------------------------------------------

    def get_bucket(self, name: str, conn: Connection | None = None) -> Row[Any] | None:
        row: Row[Any] | None = self._bucket.first({"b_": name}, conn)
        return row

    def create_bucket(
        self,
        name: str,
        location: str,
        storage_class: str,
        *,
        storage_location: str | None = None,
        jurisdiction: str | None = None,
    ) -> bool:
        """Inserts the bucket; False if it already exists."""
        with self.db.write() as conn:
            if conn.execute(select(buckets.c.name).where(buckets.c.name == name)).first() is not None:
                return False
            conn.execute(
                insert(buckets).values(
                    name=name,
                    created_at=time.time(),
                    location=location,
                    storage_class=storage_class,
                    storage_location=storage_location or None,
                    jurisdiction=jurisdiction or None,
                )
            )
            return True

    def delete_bucket(self, name: str) -> str:
        """Deletes an empty bucket: 'deleted', 'missing' or 'not-empty'."""
        with self.db.write() as conn:
            locked = select(buckets.c.name).where(buckets.c.name == name)
            if not self.db.is_sqlite:
                locked = locked.with_for_update()
            if conn.execute(locked).first() is None:
                return "missing"
            if conn.execute(select(objects.c.key).where(objects.c.bucket == name).limit(1)).first():
                return "not-empty"
            if conn.execute(select(uploads.c.upload_id).where(uploads.c.bucket == name).limit(1)).first():
                return "not-empty"
            # An empty bucket's lock rules and custom domains go with it.
            conn.execute(delete(locks).where(locks.c.bucket == name))
            delete_bucket_domains(conn, name)
            conn.execute(delete(buckets).where(buckets.c.name == name))
            return "deleted"

    def list_buckets(
        self,
        prefix: str = "",
        start_after: str = "",
        limit: int = 1000,
        *,
        contains: str = "",
        descending: bool = False,
        jurisdiction: str | None = None,
    ) -> list[Row[Any]]:
        """Buckets of one jurisdiction (None: of none) by name after ``start_after`` (before it when
        ``descending``), whose name starts with ``prefix`` and contains ``contains``."""
        order = buckets.c.name.desc() if descending else buckets.c.name
        query = select(buckets).order_by(order).limit(limit)
        if jurisdiction is None:
            query = query.where(buckets.c.jurisdiction.is_(None))
        else:
            query = query.where(buckets.c.jurisdiction == jurisdiction)
        if contains:
            query = query.where(buckets.c.name.contains(contains, autoescape=True))
        if prefix:
            query = query.where(buckets.c.name >= prefix)
            end = prefix_end(prefix)
            if end is not None:
                query = query.where(buckets.c.name < end)
        if start_after:
            query = query.where(buckets.c.name < start_after if descending else buckets.c.name > start_after)
        with self.db.read() as conn:
            return list(conn.execute(query).all())

    def update_bucket(self, name: str, **values: Any) -> bool:
        with self.db.write() as conn:
            return conn.execute(update(buckets).where(buckets.c.name == name).values(**values)).rowcount > 0

    # -- objects ---------------------------------------------------------------------------------------------

    def get_object(self, bucket: str, key: str) -> tuple[Row[Any] | None, Row[Any] | None]:
        """(bucket row, object row) in one snapshot (one statement)."""
        row = self._bucket_and_object.first({"b_": bucket, "k_": key})
        if row is None:
            return None, None
        return row, (row if row.key is not None else None)

    def object_parts(self, upload_id: str) -> list[Row[Any]]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(parts)
                    .where(and_(parts.c.upload_id == upload_id, parts.c.offset.is_not(None)))
                    .order_by(parts.c.part_number)
                ).all()
            )

    def put_object(
        self,
        values: dict[str, Any],
        check: ObjectCheck | None = None,
        *,
        create_bucket: bool = False,
        also: Callable[[Connection], None] | None = None,
    ) -> bool:
        """Makes ``values`` the object at its (bucket, key), replacing any previous one (last writer wins).

        ``check`` sees the current row inside the transaction and raises to refuse (conditional writes).
        Returns False if the bucket does not exist (and ``create_bucket`` is off). The replaced object's blobs
        become garbage in the same transaction; ``also`` runs last in it (e.g. to insert a copy's part rows).
        """
        with self.db.write() as conn:
            return self.put_object_in(conn, values, check, create_bucket=create_bucket, also=also)

    def put_object_in(
        self,
        conn: Connection,
        values: dict[str, Any],
        check: ObjectCheck | None = None,
        *,
        create_bucket: bool = False,
        also: Callable[[Connection], None] | None = None,
    ) -> bool:
        """``put_object`` inside the caller's write transaction."""
        bucket, key = values["bucket"], values["key"]
        bucket_row = self._bucket_rules.first({"b_": bucket}, conn)
        if bucket_row is None:
            if not create_bucket:
                return False
            conn.execute(insert(buckets).values(name=bucket, created_at=time.time()))
        current = self.locked_object(conn, bucket, key)
        if check is not None:
            check(current)
        if current is not None:
            if bucket_row is not None and bucket_row.rules is not None:
                self.check_retention(bucket_row.rules, current)
            self.discard(conn, current)
            self._update_object.execute(conn, {**values, "b_": bucket, "k_": key})
        else:
            self._insert_object.execute(conn, values)
        if also is not None:
            also(conn)
        return True

    def switch_blobs(
        self,
        seen: Row[Any],
        moved: dict[int, str],
        storage_class: str,
        also: Callable[[Connection], None] | None = None,
    ) -> bool:
        """Points an object at new blobs holding the same stored bytes, with a new storage class, if it is still
        the version ``seen``; the blobs it leaves become garbage. ``moved``: part number (0 for a single-blob
        object) -> new blob id. False if the object was replaced or deleted meanwhile. ``also`` runs in the same
        transaction when the switch happens."""
        with self.db.write() as conn:
            current = self.locked_object(conn, seen.bucket, seen.key)
            version = ("etag", "last_modified", "blob_id", "upload_id")
            if current is None or any(getattr(current, c) != getattr(seen, c) for c in version):
                return False
            where = and_(objects.c.bucket == seen.bucket, objects.c.key == seen.key)
            old: list[str] = []
            now = time.time()
            self._record_early_deletion(conn, current, now)
            switched = {
                "storage_class": storage_class,
                "ia_since": now if storage_class == INFREQUENT_ACCESS else None,
            }
            if current.upload_id:
                for number, blob_id in moved.items():
                    part = and_(parts.c.upload_id == current.upload_id, parts.c.part_number == number)
                    old.append(conn.execute(select(parts.c.blob_id).where(part)).scalar_one())
                    conn.execute(update(parts).where(part).values(blob_id=blob_id))
                conn.execute(update(objects).where(where).values(**switched))
            else:
                old.append(current.blob_id)
                conn.execute(update(objects).where(where).values(**switched, blob_id=moved[0]))
            conn.execute(insert(garbage), [{"blob_id": b, "created_at": now} for b in old])
            if also is not None:
                also(conn)
            return True

    def delete_object(self, bucket: str, key: str, check: ObjectCheck | None = None) -> Row[Any] | None:
        """Deletes one object, returning its row (None if there was none)."""
        with self.db.write() as conn:
            current = self.locked_object(conn, bucket, key)
            if check is not None:
                check(current)
            if current is not None:
                self.guard_in(conn, current)
                self.discard(conn, current)
                conn.execute(_DELETE_OBJECT, {"b_": bucket, "k_": key})
            return current

    def delete_objects(self, bucket: str, keys: Sequence[str]) -> dict[str, RetentionRefusal]:
        """Deletes the objects at ``keys`` in one transaction, but those a lock rule retains: returned with
        the guard's error, by key."""
        refused: dict[str, RetentionRefusal] = {}
        with self.db.write() as conn:
            rules = self.lock_rules_in(conn, bucket)
            for key in keys:
                current = self.locked_object(conn, bucket, key)
                if current is not None:
                    if rules is not None:
                        try:
                            self.check_retention(rules, current)
                        except RetentionRefusal as exc:
                            refused[key] = exc
                            continue
                    self.discard(conn, current)
                    conn.execute(_DELETE_OBJECT, {"b_": bucket, "k_": key})
        return refused

    def lock_rules_in(self, conn: Connection, bucket: str) -> str | None:
        """The bucket's lock rules (JSON) as the caller's transaction sees them; None without any."""
        row = self._bucket_rules.first({"b_": bucket}, conn)
        return None if row is None else row.rules

    def guard_in(self, conn: Connection, current: Row[Any]) -> None:
        """Refuses (raises) replacing or deleting ``current`` while a lock rule of its bucket retains it."""
        rules = self.lock_rules_in(conn, current.bucket)
        if rules is not None:
            self.check_retention(rules, current)

    def check_retention(self, rules: str, current: Row[Any]) -> None:
        if self.guard is None:
            raise RuntimeError("lock rules exist but no lock guard is installed")  # fail closed
        self.guard(rules, current)

    def locked_object(self, conn: Connection, bucket: str, key: str) -> Row[Any] | None:
        """The object's row in a write transaction, locked against concurrent writers on PostgreSQL."""
        row: Row[Any] | None = self._object.first({"b_": bucket, "k_": key}, conn)
        return row

    def discard(self, conn: Connection, row: Row[Any]) -> None:
        """Marks the blobs of a replaced or deleted object as garbage (and forgets a multipart layout), and
        records an Infrequent Access object's early deletion."""
        now = time.time()
        if row.storage_class == INFREQUENT_ACCESS:
            self._record_early_deletion(conn, row, now)
        blob_ids: list[str] = []
        if row.blob_id:
            blob_ids.append(row.blob_id)
        if row.upload_id:
            blob_ids += [
                r.blob_id
                for r in conn.execute(select(parts.c.blob_id).where(parts.c.upload_id == row.upload_id))
            ]
            conn.execute(delete(parts).where(parts.c.upload_id == row.upload_id))
        if len(blob_ids) == 1:  # the common case, on the PUT path
            self._insert_garbage.execute(conn, {"blob_id": blob_ids[0], "created_at": now})
        elif blob_ids:  # a multipart object's parts: one executemany
            conn.execute(insert(garbage), [{"blob_id": b, "created_at": now} for b in blob_ids])

    def _record_early_deletion(self, conn: Connection, row: Row[Any], now: float) -> None:
        """Records ``row`` leaving Infrequent Access at ``now`` if that is before its minimum storage duration
        (nothing for an object of another class)."""
        if row.storage_class != INFREQUENT_ACCESS:
            return
        entered = row.ia_since if row.ia_since is not None else row.last_modified
        short = IA_MINIMUM_SECONDS - max(0.0, now - entered)
        if short <= 0:
            return
        conn.execute(
            insert(early_deletions).values(
                at=now, bucket=row.bucket, key=row.key, size=row.size, entered_at=entered, seconds_short=short
            )
        )

    def early_deletions(
        self, since: float, until: float, buckets_: Sequence[str] | None = None
    ) -> list[Row[Any]]:
        """Early deletions recorded in [since, until), oldest first (the analytics read them)."""
        query = select(early_deletions).where(early_deletions.c.at >= since, early_deletions.c.at < until)
        if buckets_ is not None:
            query = query.where(early_deletions.c.bucket.in_(list(buckets_)))
        with self.db.read() as conn:
            return list(conn.execute(query.order_by(early_deletions.c.at, early_deletions.c.id)).all())

    def list_keys(
        self,
        bucket: str,
        prefix: str,
        after: str,
        limit: int,
        inclusive: bool = False,
        conn: Connection | None = None,
    ) -> list[Row[Any]]:
        """Up to ``limit`` listing rows (key, key_raw, size, etag, last_modified, storage_class) with keys
        starting with ``prefix`` and greater than ``after`` (or equal, ``inclusive``), in key order; in the
        caller's transaction when ``conn`` is given."""
        end = prefix_end(prefix) if prefix else None
        shape = (after != "", inclusive, bool(prefix), end is not None)
        query = self._listings.get(shape)
        if query is None:
            query = self._listings[shape] = self.db.prepare(_listing_statement(*shape))
        params = {"b_": bucket, "after_": after, "prefix_": prefix, "end_": end, "limit_": limit}
        return query.all(params, conn)

    def walk_keys(
        self, bucket: str, prefix: str, delimiter: str, start: str, limit: int, conn: Connection
    ) -> list[Row[Any]] | None:
        """Up to ``limit`` listing rows from ``start`` on (a key under ``prefix``, or the end of one of its common
        prefixes), one per entry of a delimiter listing: an object, or the first key of a common prefix (whose
        other keys are skipped). None for a delimiter that ends in the last code point (the caller seeks entry
        by entry)."""
        d_next = _next_code(delimiter[-1])
        if d_next is None:
            return None
        end = prefix_end(prefix) if prefix else None
        query = self._walks.get(end is not None)
        if query is None:
            query = self._walks[end is not None] = self.db.prepare(
                _walk_statement(self.db.is_sqlite, end is not None)
            )
        params = {
            "b": bucket, "start": start, "end": end, "lp": len(prefix), "d": delimiter, "ld": len(delimiter),
            "d_next": d_next, "limit": limit,
        }  # fmt: skip
        return query.all(params, conn)

    def count_objects(self, bucket: str) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(objects).where(objects.c.bucket == bucket)
                ).scalar_one()
            )

    # -- blobs -----------------------------------------------------------------------------------------------

    def referenced_blobs(self, blob_ids: Iterable[str]) -> set[str]:
        """Those of ``blob_ids`` that a committed row (object or part) references."""
        ids = list(blob_ids)
        found: set[str] = set()
        with self.db.read() as conn:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                found.update(
                    r[0] for r in conn.execute(select(objects.c.blob_id).where(objects.c.blob_id.in_(chunk)))
                )
                found.update(
                    r[0] for r in conn.execute(select(parts.c.blob_id).where(parts.c.blob_id.in_(chunk)))
                )
        return found

    def claim_garbage(self, older_than: float, lease_seconds: float, limit: int = 500) -> list[str]:
        """Claims up to ``limit`` blobs that became garbage before ``older_than`` and that no other reaper holds
        (an unexpired claim), for ``lease_seconds``. Workers and nodes claiming at once get disjoint sets: on
        PostgreSQL claimed rows are locked and skipped by the others, on SQLite the write lock serialises."""
        now = time.time()
        due = and_(
            garbage.c.created_at < older_than,
            or_(garbage.c.claimed_until.is_(None), garbage.c.claimed_until < now),
        )
        if self._due_garbage.first({"before_": older_than, "now_": now}) is None:
            return []  # nothing due: no write transaction (and no commit to wait for)
        query = select(garbage.c.blob_id).where(due).limit(limit)
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        with self.db.write() as conn:
            ids = [r[0] for r in conn.execute(query)]
            if ids:
                conn.execute(
                    update(garbage)
                    .where(garbage.c.blob_id.in_(ids))
                    .values(claimed_until=now + lease_seconds)
                )
        return ids

    def garbage_ids(self) -> set[str]:
        with self.db.read() as conn:
            return {r[0] for r in conn.execute(select(garbage.c.blob_id))}

    def forget_garbage(self, blob_ids: Sequence[str]) -> None:
        """Drops the rows of reaped blobs (their files are gone), and the reaped inline blobs themselves."""
        if blob_ids:
            with self.db.write() as conn:
                conn.execute(delete(garbage).where(garbage.c.blob_id.in_(list(blob_ids))))
                InlineBlobStore.forget_in(conn, blob_ids)
