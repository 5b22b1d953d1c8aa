"""Bucket locks (R2 "Bucket locks"): rules that keep objects from being deleted or overwritten.

A rule has an ``id``, ``enabled``, an optional key ``prefix`` and a condition: ``Age`` (retained for
``maxAgeSeconds`` after the object was written), ``Date`` (retained until that instant) or ``Indefinite``. The
strictest rule that covers a key wins; rules apply to objects written before them too. Enforcement is the object
repository's guard (``enforce``), which every write path calls inside the transaction that replaces or deletes
the row, so no concurrent writer slips between the check and the change.
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from objectstore.service.errors import InvalidRequest, NoSuchBucket, StoreError
from objectstore.store.locks import LockRepository, RetentionRefusal

MAX_RULES = 1000
MAX_ID_LENGTH = 255
_RULE_KEYS = {"id", "enabled", "prefix", "condition"}
_CONDITION_KEYS = {"Age": {"type", "maxAgeSeconds"}, "Date": {"type", "date"}, "Indefinite": {"type"}}


class ObjectLocked(StoreError, RetentionRefusal):
    """A delete or overwrite of an object a bucket lock rule still retains (S3's answer: 403 AccessDenied)."""

    code = "AccessDenied"

    def __init__(self, key: str, rule_id: str, until: float) -> None:
        ends = "indefinitely" if math.isinf(until) else f"until {iso(until)}"
        super().__init__(
            f"Access Denied: the object is locked by bucket lock rule '{rule_id}' {ends} and cannot be "
            "deleted or overwritten before its retention ends",
            Key=key,
        )
        self.rule_id = rule_id
        self.until = until


class InvalidLockRules(InvalidRequest):
    """A lock configuration that is not R2's shape."""


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class LockRule:
    id: str
    enabled: bool
    prefix: str
    kind: str  # Age, Date or Indefinite
    max_age_seconds: float = 0.0
    date: float = 0.0  # epoch seconds, for Date

    def retained_until(self, created: float) -> float:
        """When an object written at ``created`` stops being retained by this rule (inf: never)."""
        if self.kind == "Age":
            return created + self.max_age_seconds
        if self.kind == "Date":
            return self.date
        return math.inf

    def to_json(self) -> dict[str, Any]:
        condition: dict[str, Any] = {"type": self.kind}
        if self.kind == "Age":
            seconds = self.max_age_seconds
            condition["maxAgeSeconds"] = int(seconds) if seconds.is_integer() else seconds
        elif self.kind == "Date":
            condition["date"] = iso(self.date)
        rule: dict[str, Any] = {"id": self.id, "enabled": self.enabled}
        if self.prefix:
            rule["prefix"] = self.prefix
        rule["condition"] = condition
        return rule


def _date(value: Any) -> float:
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    raise InvalidLockRules(
        f"'condition.date' must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z: {value!r}"
    )


def _rule(raw: Any, index: int) -> LockRule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise InvalidLockRules(f"'{where}' must be an object")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise InvalidLockRules(f"Unknown field in '{where}': {unknown[0]!r}")
    rule_id, enabled, prefix = raw.get("id"), raw.get("enabled"), raw.get("prefix", "")
    if not isinstance(rule_id, str) or not rule_id or len(rule_id) > MAX_ID_LENGTH:
        raise InvalidLockRules(
            f"'{where}.id' must be a non-empty string of at most {MAX_ID_LENGTH} characters"
        )
    if not isinstance(enabled, bool):
        raise InvalidLockRules(f"'{where}.enabled' must be true or false")
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str):
        raise InvalidLockRules(f"'{where}.prefix' must be a string")
    condition = raw.get("condition")
    if not isinstance(condition, dict) or condition.get("type") not in _CONDITION_KEYS:
        raise InvalidLockRules(f"'{where}.condition.type' must be Age, Date or Indefinite")
    kind = condition["type"]
    unknown = sorted(set(condition) - _CONDITION_KEYS[kind])
    if unknown:
        raise InvalidLockRules(f"Unknown field in '{where}.condition' of type {kind}: {unknown[0]!r}")
    prefix = prefix if prefix.isascii() else unicodedata.normalize("NFC", prefix)  # as keys are
    if kind == "Age":
        seconds = condition.get("maxAgeSeconds")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise InvalidLockRules(f"'{where}.condition.maxAgeSeconds' must be a positive number of seconds")
        return LockRule(rule_id, enabled, prefix, kind, max_age_seconds=float(seconds))
    if kind == "Date":
        return LockRule(rule_id, enabled, prefix, kind, date=_date(condition.get("date")))
    return LockRule(rule_id, enabled, prefix, kind)


def parse_rules(body: Any) -> list[LockRule]:
    """The rules of a PUT body ``{"rules": [...]}``, validated (the one place that validates them)."""
    if not isinstance(body, dict) or set(body) - {"rules"}:
        raise InvalidLockRules('The body must be an object of the form {"rules": [...]}')
    raw = body.get("rules", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InvalidLockRules("'rules' must be a list")
    if len(raw) > MAX_RULES:
        raise InvalidLockRules(
            f"A bucket lock configuration can hold at most {MAX_RULES:,} rules, not {len(raw):,}"
        )
    rules = [_rule(r, i) for i, r in enumerate(raw)]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise InvalidLockRules(f"Two rules have the id {rule.id!r}: rule ids must be unique")
        seen.add(rule.id)
    return rules


@lru_cache(maxsize=256)
def compiled(rules_json: str) -> tuple[LockRule, ...]:
    """The enabled rules of a stored configuration (keyed by its text, so a change is never served stale)."""
    return tuple(rule for rule in parse_rules({"rules": json.loads(rules_json)}) if rule.enabled)


def retention(rules: tuple[LockRule, ...], key: str, created: float) -> tuple[float, LockRule | None]:
    """(end of the strictest retention of ``key`` written at ``created``, its rule); (-inf, None) if no rule
    covers the key."""
    until, strictest = -math.inf, None
    for rule in rules:
        if key.startswith(rule.prefix):
            ends = rule.retained_until(created)
            if ends > until:
                until, strictest = ends, rule
    return until, strictest


def enforce(rules_json: str, row: Any, now: float | None = None) -> None:
    """The object repository's lock guard: raises ObjectLocked if the object ``row`` is still retained."""
    until, rule = retention(compiled(rules_json), row.key, row.last_modified)
    if rule is not None and (time.time() if now is None else now) < until:
        raise ObjectLocked(row.key_raw, rule.id, until)


class LockService:
    """A bucket's lock rules, in the Cloudflare API's JSON shape; and the question the lifecycle scanner asks."""

    def __init__(self, repo: LockRepository) -> None:
        self.repo = repo

    def get(self, bucket: str) -> dict[str, Any]:
        exists, rules_json = self.repo.rules(bucket)
        if not exists:
            raise NoSuchBucket(BucketName=bucket)
        rules = parse_rules({"rules": json.loads(rules_json)}) if rules_json else []
        return {"rules": [rule.to_json() for rule in rules]}

    def put(self, bucket: str, body: Any) -> None:
        """Replaces the bucket's rules; an empty list removes them."""
        rules = parse_rules(body)
        stored = json.dumps([rule.to_json() for rule in rules], separators=(",", ":")) if rules else None
        if not self.repo.put(bucket, stored):
            raise NoSuchBucket(BucketName=bucket)

    def rules_for(self, bucket: str) -> BucketLocks:
        """The bucket's enabled rules as they are now, to ask about many keys (a scanner's batch) at once."""
        _exists, rules_json = self.repo.rules(bucket)
        return BucketLocks(compiled(rules_json) if rules_json else ())

    def locked_until(self, bucket: str, key: str, created: float, at: float | None = None) -> float | None:
        """When the retention of object ``key`` (written at ``created``, its ``last_modified``) ends, if it is
        still retained at ``at`` (default: now); None if it may be deleted or overwritten at ``at``.
        ``math.inf`` for an indefinite lock."""
        return self.rules_for(bucket).locked_until(key, created, at)

    def is_locked(self, bucket: str, key: str, created: float, at: float | None = None) -> bool:
        """True while a lock rule of ``bucket`` retains object ``key`` written at ``created``, at time ``at``
        (default: now). What the lifecycle scanner asks before expiring an object: locks take precedence. (Its
        deletions through the object repository are refused by the guard as well, inside their transaction.)"""
        return self.locked_until(bucket, key, created, at) is not None


@dataclass(frozen=True, slots=True)
class BucketLocks:
    """One bucket's enabled lock rules at one moment."""

    rules: tuple[LockRule, ...]

    def locked_until(self, key: str, created: float, at: float | None = None) -> float | None:
        """See ``LockService.locked_until``; ``key`` is the key's identity (NFC), as stored."""
        if not self.rules:
            return None
        until, rule = retention(self.rules, key, created)
        return until if rule is not None and (time.time() if at is None else at) < until else None
