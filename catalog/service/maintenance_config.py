"""Maintenance configuration of a warehouse and of its tables, as R2 Data Catalog takes it.

wrangler spells the bodies differently per route (the warehouse route: ``targetSizeMb``, ``max_snapshot_age`` "7d",
``min_snapshots_to_keep``; the table route: ``target_size_mb``, ``older_than_days``, ``retain_last``); both
spellings are accepted on both routes and stored in one form. A table's sections override the warehouse's."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from catalog.errors import BadRequest, NoSuchTable, NoSuchWarehouse
from catalog.service.naming import namespace_name
from catalog.store.maintenance import MaintenanceRepository
from catalog.store.repository import CatalogRepository

COMPACTION, SNAPSHOT_EXPIRATION = "compaction", "snapshot_expiration"
DEFAULT_TARGET_MB = 128
MAX_TARGET_MB = 512
DEFAULT_OLDER_THAN_DAYS = 30
DEFAULT_RETAIN_LAST = 5
_AGE = re.compile(r"(\d{1,6})([dhms]?)")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 86400}


@dataclass(frozen=True, slots=True)
class Compaction:
    enabled: bool
    target_size_mb: int


@dataclass(frozen=True, slots=True)
class SnapshotExpiration:
    enabled: bool
    max_age_seconds: int
    retain_last: int


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    compaction: Compaction
    snapshot_expiration: SnapshotExpiration


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{field} must be an integer from {low} to {high}")
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{field} must be an integer from {low} to {high}") from None
    if not low <= number <= high:
        raise BadRequest(f"{field} must be an integer from {low} to {high}, not {number}")
    return number


def _state(section: dict[str, Any], field: str) -> bool:
    state = section.get("state")
    if state not in ("enabled", "disabled"):
        raise BadRequest(f"{field}.state must be 'enabled' or 'disabled', not {state!r}")
    return bool(state == "enabled")


def _age_seconds(value: Any) -> int:
    match = _AGE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise BadRequest(
            f"snapshot_expiration.max_snapshot_age must look like '7d', '12h' or '30m', not {value!r}"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 1:
        raise BadRequest("snapshot_expiration.max_snapshot_age must be positive")
    return seconds


def _pick(section: dict[str, Any], *names: str) -> Any:
    return next((section[n] for n in names if n in section), None)


def parse_sections(body: Any) -> dict[str, Any]:
    """The stored form of a request body's sections; a bad field is BadRequest naming it."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("The body must be a JSON object with 'compaction' and/or 'snapshot_expiration'")
    unknown = set(body) - {COMPACTION, SNAPSHOT_EXPIRATION}
    if unknown:
        raise BadRequest(f"Unknown maintenance section(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if COMPACTION in body:
        section = body[COMPACTION]
        if not isinstance(section, dict):
            raise BadRequest("compaction must be an object")
        stored: dict[str, Any] = {"enabled": _state(section, COMPACTION)}
        size = _pick(section, "targetSizeMb", "target_size_mb")
        if size is not None:
            stored["target_size_mb"] = _int(size, "compaction.target_size_mb", 1, MAX_TARGET_MB)
        out[COMPACTION] = stored
    if SNAPSHOT_EXPIRATION in body:
        section = body[SNAPSHOT_EXPIRATION]
        if not isinstance(section, dict):
            raise BadRequest("snapshot_expiration must be an object")
        stored = {"enabled": _state(section, SNAPSHOT_EXPIRATION)}
        if "max_snapshot_age" in section:
            stored["max_age_seconds"] = _age_seconds(section["max_snapshot_age"])
        elif "older_than_days" in section:
            days = _int(section["older_than_days"], "snapshot_expiration.older_than_days", 1, 36500)
            stored["max_age_seconds"] = days * 86400
        keep = _pick(section, "min_snapshots_to_keep", "retain_last")
        if keep is not None:
            stored["retain_last"] = _int(keep, "snapshot_expiration.retain_last", 1, 100000)
        out[SNAPSHOT_EXPIRATION] = stored
    return out


def effective(warehouse: dict[str, Any], table: dict[str, Any]) -> EffectiveConfig:
    """The table's sections over the warehouse's; within a section, set fields over defaults."""
    comp = {**warehouse.get(COMPACTION, {}), **table.get(COMPACTION, {})}
    exp = {**warehouse.get(SNAPSHOT_EXPIRATION, {}), **table.get(SNAPSHOT_EXPIRATION, {})}
    return EffectiveConfig(
        Compaction(bool(comp.get("enabled", False)), int(comp.get("target_size_mb", DEFAULT_TARGET_MB))),
        SnapshotExpiration(
            bool(exp.get("enabled", False)),
            int(exp.get("max_age_seconds", DEFAULT_OLDER_THAN_DAYS * 86400)),
            int(exp.get("retain_last", DEFAULT_RETAIN_LAST)),
        ),
    )


def _age_text(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def config_json(config: EffectiveConfig) -> dict[str, Any]:
    """The API's shape of a configuration (both spellings of each field, as wrangler reads either)."""
    comp, exp = config.compaction, config.snapshot_expiration
    return {
        COMPACTION: {
            "state": "enabled" if comp.enabled else "disabled",
            "target_size_mb": comp.target_size_mb,
            "targetSizeMb": comp.target_size_mb,
        },
        SNAPSHOT_EXPIRATION: {
            "state": "enabled" if exp.enabled else "disabled",
            "max_snapshot_age": _age_text(exp.max_age_seconds),
            "min_snapshots_to_keep": exp.retain_last,
            "older_than_days": exp.max_age_seconds / 86400,
            "retain_last": exp.retain_last,
        },
    }


class MaintenanceConfigService:
    def __init__(self, catalog: CatalogRepository, repo: MaintenanceRepository) -> None:
        self.catalog = catalog
        self.repo = repo

    def _check(self, bucket: str, namespace: tuple[str, ...] | None, name: str | None) -> tuple[str, str]:
        if self.catalog.get_warehouse(bucket) is None:
            raise NoSuchWarehouse(f"The catalog of bucket {bucket!r} was never enabled")
        if namespace is None or name is None:
            return "", ""
        ns = namespace_name(namespace)
        entity = self.catalog.get_entity(bucket, ns, name)
        if entity is None or entity.kind != "table":
            raise NoSuchTable(f"Table does not exist: {'.'.join(namespace)}.{name}")
        return ns, name

    def set(
        self, bucket: str, body: Any, namespace: tuple[str, ...] | None = None, name: str | None = None
    ) -> dict[str, Any]:
        sections = parse_sections(body)
        ns, table = self._check(bucket, namespace, name)
        self.repo.merge_config(bucket, ns, table, sections, time.time())
        return self.get(bucket, namespace, name)

    def get(
        self, bucket: str, namespace: tuple[str, ...] | None = None, name: str | None = None
    ) -> dict[str, Any]:
        ns, table = self._check(bucket, namespace, name)
        return config_json(self.effective(bucket, ns, table))

    def effective(self, bucket: str, namespace: str, name: str) -> EffectiveConfig:
        warehouse = self.repo.get_config(bucket)
        table = self.repo.get_config(bucket, namespace, name) if name else {}
        return effective(warehouse, table)
