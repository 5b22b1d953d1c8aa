"""Settings: CLI flags > LAKEBOX_* environment > config file (lakebox.toml in the data dir) > defaults."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "LAKEBOX_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    s3_port: int = 9000
    catalog_port: int = 8181
    console_port: int = 9001
    public_port: int = 9002
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    domain: str | None = None
    # Public buckets answer on public_port at <public id>.<public_domain>, or at /<public id>/ on any host.
    public_domain: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto lakebox believes (comma-separated, or "*"); unset,
    # those headers are ignored. A proxy that terminates TLS must be listed for SSE-C keys to be accepted.
    forwarded_allow_ips: str | None = None
    database_url: str | None = None
    node_id: str = field(default_factory=lambda: os.uname().nodename)
    log_level: str = "info"
    # Age at which R2's default lifecycle rule aborts incomplete multipart uploads (R2: 7 days), in buckets
    # whose lifecycle configuration has not replaced that rule.
    multipart_expiry_seconds: int = 7 * 24 * 3600
    # Seconds between two storage samples of the analytics (one worker of one node takes each).
    analytics_sample_seconds: int = 60
    # Days the audit log keeps its entries.
    audit_retention_days: int = 90
    # Blobs larger than 1 MiB are written around the page cache (O_DIRECT) where the file system allows it; off,
    # every write goes through the cache (for file systems that take O_DIRECT but serve it slowly).
    direct_io: bool = True
    # What a client may hold before it is served (per connection; README "Limits"). R2 accepts 8,192 bytes of
    # user metadata, which with the rest of a request's headers fits well within the header cap.
    max_request_line_bytes: int = 16 * 1024
    max_header_bytes: int = 32 * 1024
    header_timeout: int = (
        20  # seconds for a whole request head, from the connection or the request's first byte
    )
    body_timeout: int = 60  # seconds a request body or a response may make no progress while lakebox waits
    keep_alive_timeout: int = 30  # seconds an idle connection stays open between requests
    max_connections: int = 1000  # per worker; beyond it requests are answered 503 SlowDown
    backlog: int = 2048  # connections the kernel queues before a worker accepts them
    # Encryption at rest (objectstore.service.keyring): master keys from LAKEBOX_MASTER_KEY, else this file, else
    # <data-dir>/master.key (created on first start). ``encryption`` off writes new objects in plaintext: it exists
    # only to measure what encryption costs (what was written encrypted still reads).
    master_key_file: Path | None = None
    encryption: bool = True
    # Blobs of replaced and deleted objects are deleted this many seconds after the fact (readers that looked the
    # object up just before may still be opening its files); at once when the disk is short of space.
    garbage_grace_seconds: int = 300
    # Background jobs (infra.jobs, README "Background jobs"): how often each worker looks for due work, how long a
    # claim holds without renewal, rows per job step and the pause between steps (spares foreground requests).
    jobs_poll_ms: int = 1000
    jobs_lease_seconds: int = 30
    jobs_batch_size: int = 500
    jobs_batch_pause_ms: int = 25
    # Shifts the clock background jobs judge ages by (tests age objects and uploads without waiting); keep 0.
    jobs_clock_offset_seconds: int = 0
    reap_interval_seconds: int = 5  # garbage blobs
    # Seconds between two lifecycle passes over each bucket (R2 acts within 24 hours; lakebox within this).
    lifecycle_interval_seconds: int = 300
    # Migrations (R2's Super Slurper): objects of at least this size are copied in parts of the second size.
    migration_multipart_mib: int = 100
    migration_part_mib: int = 16
    # Catalog table maintenance (compaction, snapshot expiration, orphan-file cleanup): seconds between two runs of
    # each kind on a table, and how old an unreferenced file under a table's location must be before it is deleted
    # (files a writer has uploaded but not yet committed must survive).
    maintenance_interval_seconds: int = 3600
    maintenance_orphan_grace_seconds: int = 3 * 86400
    # Writes are refused (507 InsufficientStorage) when they would leave less than this free on the data dir's
    # file system, so that deletes always have room to commit and free space.
    disk_reserve_mib: int = 128
    # S3 bodies (PutObject, UploadPart) up to this many KiB (at most 255) are kept in the database instead of a
    # blob file: such a write then costs one fsync, the database's, instead of three, and the database grows by
    # the bodies. 0 (the default) keeps every body in blob files.
    inline_object_kib: int = 0
    # Where Infrequent Access objects live (blobs/ and incoming/ under it): a directory or volume of its own, e.g.
    # on cheaper disks; by default <data-dir>/ia. Every node sharing a data directory must see the same one.
    ia_dir: Path | None = None
    # Data location (README "Data location"): named storage locations, each a directory or volume
    # ("name=/dir,name=/dir", or a table in lakebox.toml), and which of them R2's location hints (wnam, enam, weur,
    # eeur, apac, oc) and jurisdictions (eu, fedramp) put a new bucket in ("weur=eu-disk,..."). A bucket's
    # location is fixed at creation; an unmapped hint means the default location (hints are best effort), an
    # unmapped jurisdiction is refused (its data would have nowhere to stay).
    storage_locations: str | None = None
    location_hints: str | None = None
    jurisdictions: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def public_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    @property
    def s3_endpoint(self) -> str:
        return f"{self.scheme}://{self.public_host()}:{self.s3_port}"

    @property
    def catalog_uri(self) -> str:
        return f"{self.scheme}://{self.public_host()}:{self.catalog_port}"

    @property
    def console_url(self) -> str:
        return f"{self.scheme}://{self.public_host()}:{self.console_port}"

    @property
    def public_url(self) -> str:
        return f"{self.scheme}://{self.public_host()}:{self.public_port}"

    def public_bucket_url(self, public_id: str) -> str:
        """Where a public bucket is served: by Host with a public domain, else by path prefix."""
        if self.public_domain:
            return f"{self.scheme}://{public_id}.{self.public_domain}:{self.public_port}"
        return f"{self.public_url}/{public_id}"

    def storage_roots(self) -> dict[str, Path]:
        """Blob storage roots beyond the data directory's own, by root name (``objectstore.service.placement``):
        the Infrequent Access tier, and each storage location with its own tier in ``<dir>/ia``."""
        roots = {"ia": self.ia_dir or self.data_dir / "ia"}
        for name, directory in self.locations().items():
            roots[name] = directory
            roots[f"{name}.ia"] = directory / "ia"
        return roots

    def check_locations(self) -> None:
        """ValueError (one line saying what is wrong) for data-location settings that do not hold together."""
        self.storage_roots()
        self.hint_locations()
        self.jurisdiction_locations()

    def locations(self) -> dict[str, Path]:
        return {name: Path(d) for name, d in _pairs("storage_locations", self.storage_locations).items()}

    def hint_locations(self) -> dict[str, str]:
        return self._mapped("location_hints", _HINTS)

    def jurisdiction_locations(self) -> dict[str, str]:
        return self._mapped("jurisdictions", _JURISDICTIONS)

    def _mapped(self, setting: str, allowed: frozenset[str]) -> dict[str, str]:
        mapping = _pairs(setting, getattr(self, setting))
        known = self.locations()
        for key, location in mapping.items():
            if key not in allowed:
                raise ValueError(
                    f"{ENV_PREFIX}{setting.upper()}: unknown {key!r} (one of {', '.join(sorted(allowed))})"
                )
            if location not in known:
                raise ValueError(
                    f"{ENV_PREFIX}{setting.upper()}: {key} names {location!r}, not a storage location"
                )
        return mapping

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'lakebox.db'}"


_HINTS = frozenset({"wnam", "enam", "weur", "eeur", "apac", "oc"})
_JURISDICTIONS = frozenset({"eu", "fedramp"})
_LOCATION_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,15}")


def _pairs(setting: str, raw: str | None) -> dict[str, str]:
    """``"a=x,b=y"`` as {a: x, b: y}; names of storage locations checked."""
    pairs: dict[str, str] = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or not key or not value:
            raise ValueError(f"{ENV_PREFIX}{setting.upper()}: expected name=value pairs, got {item!r}")
        pairs[key.lower()] = value if setting == "storage_locations" else value.lower()
    if setting == "storage_locations":
        for key in pairs:
            if not _LOCATION_NAME.fullmatch(key) or key == "ia":
                raise ValueError(
                    f"{ENV_PREFIX}{setting.upper()}: {key!r} is not a location name "
                    "(lower-case letters, digits and hyphens, at most 16, not 'ia')"
                )
    return pairs


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if raw is None:
        return None
    if isinstance(raw, dict):  # a table in lakebox.toml
        return ",".join(f"{k}={v}" for k, v in raw.items())
    if str(kind) == "bool":
        return _boolean(name, raw)
    if "int" in str(kind):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()}: expected a whole number, got {raw!r}") from None
    if "Path" in str(kind):
        return Path(raw)
    return str(raw)


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_PREFIX}{name.upper()}: expected true or false, got {raw!r}")


def load_settings(cli: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Merges the four sources in precedence order; ``cli`` holds only the flags actually given."""
    env = dict(os.environ) if env is None else env
    names = [f.name for f in fields(Settings)]
    values: dict[str, Any] = {}
    from_env = {n: env[ENV_PREFIX + n.upper()] for n in names if ENV_PREFIX + n.upper() in env}
    given = {k: v for k, v in (cli or {}).items() if v is not None and k in names}
    data_dir = Path(given.get("data_dir") or from_env.get("data_dir") or Settings.data_dir)
    config_file = data_dir / "lakebox.toml"
    if config_file.is_file():
        values.update({k: v for k, v in tomllib.loads(config_file.read_text()).items() if k in names})
    values.update(from_env)
    values.update(given)
    return replace(Settings(), **{k: _coerce(k, v) for k, v in values.items()})
