"""Lifecycle rules in effect, and their enforcement one bounded step at a time (the ``lifecycle`` job's work).

R2's subset: a prefix filter; Expiration by Days or Date; Transition to STANDARD_IA by Days or Date;
AbortIncompleteMultipartUpload by DaysAfterInitiation; Status. A bucket without a configuration (never given one,
or after DeleteBucketLifecycle) has R2's default rule, which aborts uploads seven days after initiation; a stored
configuration replaces it (as on R2, where the default is a rule of the configuration).

As on S3, an object is due for a Days action at midnight UTC after ``last_modified + days``, and for a Date action
from that date on. Expiration beats a transition that falls within 24 hours of it.

The scan plans its walk from the rules (``walk_plan``): Days rules act on objects older than an age, so the
object index is walked by (bucket, last_modified, key) up to the pass's horizon (the latest ``last_modified`` a
Days rule can act on now), which only reaches objects as they come of age. A Date rule that has passed acts on
every object under its prefix whatever its age, so its prefixes are walked as key ranges of the primary key
(bucket, key) instead: a time walk would reach every object of the bucket on every pass, matching or not. Uploads
are walked by (bucket, initiated_at, upload_id). Each batch is one index range read starting just past the
previous batch's last row, which is the checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, or_, select
from sqlalchemy.engine import Connection

from objectstore.service.bucket_config import (
    DEFAULT_LIFECYCLE,
    LIFECYCLE_DELETED,
    Node,
    children,
    rule_prefix,
    text,
)
from objectstore.service.locks import LockRule, compiled, retention
from objectstore.store.repo import ObjectRepository, objects, prefix_end, uploads

DAY = 86400
IA = "STANDARD_IA"

# Runs inside the transaction that deletes or transitions objects, with how many (analytics counts them there).
Counted = Callable[[Connection, int], None]

# A batch's objects as the deleting transaction sees them (one statement, locked on PostgreSQL), and their deletion
# (one executemany): built once, as building a statement costs more than running it.
_BATCH_OBJECTS = select(objects).where(
    objects.c.bucket == bindparam("b_"), objects.c.key.in_(bindparam("keys_", expanding=True))
)
_DELETE_OBJECT = delete(objects).where(objects.c.bucket == bindparam("b_"), objects.c.key == bindparam("k_"))


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    prefix: str
    expire_days: int | None = None
    expire_date: float | None = None
    transition_days: int | None = None
    transition_date: float | None = None
    abort_seconds: float | None = None


def _date(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse_rules(nodes: list[Node], default_abort_seconds: float = 7 * DAY) -> list[Rule]:
    """The enabled rules of a stored (validated) configuration."""
    rules = []
    for node in nodes:
        if text(node, "Status") != "Enabled":
            continue
        values: dict[str, Any] = {"id": text(node, "ID") or "", "prefix": rule_prefix(node)}
        for expiration in children(node, "Expiration"):
            date, days = text(expiration, "Date"), text(expiration, "Days")
            if date is not None:
                values["expire_date"] = _date(date)
            elif days is not None:
                values["expire_days"] = int(days)
        for transition in children(node, "Transition"):
            date, days = text(transition, "Date"), text(transition, "Days")
            if date is not None:
                values["transition_date"] = _date(date)
            elif days is not None:
                values["transition_days"] = int(days)
        for abort in children(node, "AbortIncompleteMultipartUpload"):
            values["abort_seconds"] = float(int(text(abort, "DaysAfterInitiation") or "0") * DAY)
        if node is DEFAULT_LIFECYCLE[0]:
            values["abort_seconds"] = default_abort_seconds
        rules.append(Rule(**values))
    return rules


@lru_cache(maxsize=256)
def _rules_of(stored: str | None, default_abort_seconds: float) -> tuple[Rule, ...]:
    if stored is None or stored == LIFECYCLE_DELETED:
        return tuple(parse_rules(DEFAULT_LIFECYCLE, default_abort_seconds))
    return tuple(parse_rules(json.loads(stored), default_abort_seconds))


def rules_in_effect(stored: str | None, default_abort_seconds: float = 7 * DAY) -> tuple[Rule, ...]:
    """The rules a bucket's stored lifecycle column puts in effect (parsed once per distinct configuration)."""
    return _rules_of(stored, default_abort_seconds)


def _due(last_modified: float, days: int) -> float:
    return math.ceil((last_modified + days * DAY) / DAY) * DAY


def expiration(rules: tuple[Rule, ...], key: str, last_modified: float) -> tuple[float, str] | None:
    """(when, rule id) of the earliest expiration a rule sets for the object (x-amz-expiration)."""
    found: tuple[float, str] | None = None
    for rule in rules:
        if not key.startswith(rule.prefix):
            continue
        at = rule.expire_date if rule.expire_days is None else _due(last_modified, rule.expire_days)
        if at is not None and (found is None or at < found[0]):
            found = (at, rule.id)
    return found


def _transition(rules: tuple[Rule, ...], key: str, last_modified: float) -> float | None:
    found: float | None = None
    for rule in rules:
        if not key.startswith(rule.prefix):
            continue
        at = (
            rule.transition_date
            if rule.transition_days is None
            else _due(last_modified, rule.transition_days)
        )
        if at is not None and (found is None or at < found):
            found = at
    return found


def decide(
    rules: tuple[Rule, ...], key: str, last_modified: float, storage_class: str, now: float
) -> str | None:
    """``expire``, ``transition`` or None for an object at ``now``."""
    expires = expiration(rules, key, last_modified)
    if expires is not None and expires[0] <= now:
        return "expire"
    if storage_class == IA:
        return None  # IA objects never go back by lifecycle; nothing else to do
    moves = _transition(rules, key, last_modified)
    if moves is None or moves > now:
        return None
    if expires is not None and expires[0] - moves <= DAY:
        return None  # the expiration falls within 24 hours of the transition and takes precedence
    return "transition"


def _date_passed(rule: Rule, now: float) -> bool:
    return any(date is not None and date <= now for date in (rule.expire_date, rule.transition_date))


def key_ranges(prefixes: list[str]) -> tuple[tuple[str, str | None], ...]:
    """The disjoint key ranges [low, high) that hold every key starting with one of ``prefixes``, in key order
    (a prefix under another one adds nothing; high None: to the end)."""
    ranges: list[tuple[str, str | None]] = []
    for prefix in sorted(set(prefixes)):
        if ranges and prefix.startswith(ranges[-1][0]):
            continue  # inside the previous range
        ranges.append((prefix, prefix_end(prefix)))
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class WalkPlan:
    """What a pass walks: objects by age up to ``horizon`` (None: no time walk), then the key ``ranges``."""

    horizon: float | None
    ranges: tuple[tuple[str, str | None], ...]


def walk_plan(rules: tuple[Rule, ...], now: float) -> WalkPlan:
    """The walk that reaches every object a rule can act on at ``now``: the prefixes of passed Date rules as key
    ranges, the Days rules by age (unless a range already covers the whole bucket)."""
    ranges = key_ranges([rule.prefix for rule in rules if _date_passed(rule, now)])
    horizon: float | None = None
    if ranges[:1] != (("", None),):
        for rule in rules:
            for days in (rule.expire_days, rule.transition_days):
                if days is not None and (horizon is None or now - days * DAY > horizon):
                    horizon = now - days * DAY
    return WalkPlan(horizon, ranges)


def abort_after(rules: tuple[Rule, ...], key: str) -> float | None:
    """Seconds after initiation when an upload of ``key`` is aborted (None: never)."""
    ages = [r.abort_seconds for r in rules if r.abort_seconds is not None and key.startswith(r.prefix)]
    return min(ages) if ages else None


def _retained(rules: tuple[LockRule, ...], row: Row[Any], now: float) -> bool:
    """Whether a bucket lock keeps the object (locks take precedence over lifecycle). Retention is measured on the
    real clock, never the jobs' test clock, so a difference between them can only keep an object longer."""
    until, rule = retention(rules, row.key, row.last_modified)
    return rule is not None and now < until


class LifecycleEnforcer:
    """The steps of a lifecycle pass over one bucket (blocking; each step is idempotent)."""

    def __init__(self, repo: ObjectRepository, abort_upload: Callable[[str], bool]) -> None:
        self.repo = repo
        self.abort_upload = abort_upload

    def stored_rules(self, bucket: str) -> tuple[bool, str | None]:
        """(whether the bucket exists, its stored lifecycle column)."""
        row = self.repo.get_bucket(bucket)
        return (False, None) if row is None else (True, row.lifecycle)

    def objects_batch(
        self, bucket: str, horizon: float, after: tuple[float, str] | None, limit: int
    ) -> list[Row[Any]]:
        """Objects with ``last_modified <= horizon`` past position ``after``, in (last_modified, key) order."""
        query = select(objects.c.key, objects.c.last_modified, objects.c.etag, objects.c.storage_class).where(
            objects.c.bucket == bucket, objects.c.last_modified <= horizon
        )
        if after is not None:
            at, key = after
            query = query.where(
                or_(objects.c.last_modified > at, and_(objects.c.last_modified == at, objects.c.key > key))
            )
        query = query.order_by(objects.c.last_modified, objects.c.key).limit(limit)
        with self.repo.db.read(snapshot=False) as conn:
            return list(conn.execute(query).all())

    def expire(self, bucket: str, rows: list[Row[Any]], then: Counted | None = None) -> int:
        """Deletes the objects that are still the versions the scan read and that no lock keeps, in one
        transaction (one commit for a batch); ``then`` runs last in it with how many went (the analytics count
        them there, and the job saves its checkpoint there, so the step and its checkpoint commit together)."""
        read = {row.key: row for row in rows}
        with self.repo.db.write() as conn:
            query = _BATCH_OBJECTS if self.repo.db.is_sqlite else _BATCH_OBJECTS.with_for_update()
            current = conn.execute(query, {"b_": bucket, "keys_": list(read)}).all() if read else []
            unchanged = [
                row
                for row in current
                if row.last_modified == read[row.key].last_modified and row.etag == read[row.key].etag
            ]  # the others were replaced since the scan read them (deleted ones are not found)
            lock_rules = self.repo.lock_rules_in(conn, bucket) if unchanged else None
            if lock_rules is not None:
                rules, now = compiled(lock_rules), time.time()
                unchanged = [row for row in unchanged if not _retained(rules, row, now)]
            for row in unchanged:
                self.repo.discard(conn, row)
            if unchanged:
                conn.execute(_DELETE_OBJECT, [{"b_": bucket, "k_": row.key} for row in unchanged])
            if then is not None:
                then(conn, len(unchanged))
        return len(unchanged)

    def ranges_batch(
        self, bucket: str, ranges: tuple[tuple[str, str | None], ...], after: str | None, limit: int
    ) -> list[Row[Any]]:
        """Objects of the key ``ranges`` (disjoint, in key order) past key ``after``, in key order; a batch ends
        at the end of a range."""
        columns = (objects.c.key, objects.c.last_modified, objects.c.etag, objects.c.storage_class)
        for low, high in ranges:
            if after is not None and high is not None and after >= high:
                continue  # walked
            conditions = [objects.c.bucket == bucket]
            conditions.append(
                objects.c.key > after if after is not None and after >= low else objects.c.key >= low
            )
            if high is not None:
                conditions.append(objects.c.key < high)
            query = select(*columns).where(*conditions).order_by(objects.c.key).limit(limit)
            with self.repo.db.read(snapshot=False) as conn:
                rows = list(conn.execute(query).all())
            if rows:
                return rows
        return []

    def uploads_batch(
        self, bucket: str, initiated_before: float, after: tuple[float, str] | None, limit: int
    ) -> list[Row[Any]]:
        """Uploads initiated before ``initiated_before`` past ``after``, in (initiated_at, upload_id) order."""
        query = select(uploads.c.upload_id, uploads.c.key, uploads.c.initiated_at).where(
            uploads.c.bucket == bucket, uploads.c.initiated_at < initiated_before
        )
        if after is not None:
            at, upload_id = after
            query = query.where(
                or_(
                    uploads.c.initiated_at > at,
                    and_(uploads.c.initiated_at == at, uploads.c.upload_id > upload_id),
                )
            )
        query = query.order_by(uploads.c.initiated_at, uploads.c.upload_id).limit(limit)
        with self.repo.db.read(snapshot=False) as conn:
            return list(conn.execute(query).all())
