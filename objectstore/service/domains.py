"""Custom domains of buckets (R2's ``domains/custom``), served by the public-bucket port by Host header.

On a self-hosted server there is no DNS zone to verify nor certificate to issue: a domain is the installation
operator's to point at the public port, so its ownership and SSL status are "active" as soon as it is added."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from objectstore.service.errors import NoSuchBucket, StoreError
from objectstore.store.domains import CustomDomainRepository

MIN_TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DEFAULT_MIN_TLS = "1.0"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class InvalidCustomDomain(StoreError):
    code = "InvalidCustomDomain"
    default_message = "The custom domain configuration is not valid."


class NoSuchCustomDomain(StoreError):
    code = "NoSuchCustomDomain"
    default_message = "The custom domain does not exist on this bucket."


class CustomDomainInUse(StoreError):
    code = "CustomDomainInUse"
    default_message = "The domain is already connected to another bucket."


@dataclass(frozen=True, slots=True)
class CustomDomain:
    domain: str
    bucket: str
    enabled: bool
    min_tls: str
    zone_id: str
    zone_name: str


def check_domain(domain: Any) -> str:
    """A hostname as R2 takes it: lowercase labels of letters, digits and inner hyphens, at least two labels,
    at most 253 characters; no port, no trailing dot, no wildcard."""
    if not isinstance(domain, str) or not domain:
        raise InvalidCustomDomain("The domain is missing.")
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidCustomDomain(f"{domain!r} is not a valid domain name (lowercase hostname, no port).")
    return domain


def check_min_tls(value: Any) -> str:
    if value not in MIN_TLS_VERSIONS:
        raise InvalidCustomDomain(f"minTLS must be one of {', '.join(MIN_TLS_VERSIONS)}.")
    return str(value)


def _text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidCustomDomain(f"{name} must be a string of at most {limit} characters.")
    return value


class CustomDomainService:
    def __init__(self, repo: CustomDomainRepository) -> None:
        self.repo = repo

    def list(self, bucket: str) -> list[CustomDomain]:
        rows = self.repo.list(bucket)
        if rows is None:
            raise NoSuchBucket(BucketName=bucket)
        return [_domain(row) for row in rows]

    def get(self, bucket: str, domain: str) -> CustomDomain:
        row = self.repo.get(domain)
        if row is None or row.bucket != bucket:
            if self.repo.list(bucket) is None:
                raise NoSuchBucket(BucketName=bucket)
            raise NoSuchCustomDomain()
        return _domain(row)

    def add(
        self,
        bucket: str,
        domain: Any,
        *,
        zone_id: Any = None,
        zone_name: Any = None,
        min_tls: Any = None,
        enabled: Any = True,
    ) -> CustomDomain:
        name = check_domain(domain)
        tls = DEFAULT_MIN_TLS if min_tls is None else check_min_tls(min_tls)
        if not isinstance(enabled, bool):
            raise InvalidCustomDomain("enabled must be true or false.")
        zone = _text(zone_id, "zoneId", 64)
        # Without a DNS zone of its own, the zone's name is the one given, else the domain's parent.
        zone_label = _text(zone_name, "zoneName", 253) or name.partition(".")[2]
        row = {
            "domain": name,
            "bucket": bucket,
            "enabled": enabled,
            "min_tls": tls,
            "zone_id": zone,
            "zone_name": zone_label,
            "created_at": time.time(),
        }
        outcome = self.repo.add(row)
        if outcome == "no-bucket":
            raise NoSuchBucket(BucketName=bucket)
        if outcome == "taken":
            raise CustomDomainInUse(f"The domain {name} is already connected to another bucket.")
        if outcome == "exists":
            raise CustomDomainInUse(f"The domain {name} is already connected to this bucket.")
        return _domain(row)

    def update(self, bucket: str, domain: str, *, min_tls: Any = None, enabled: Any = None) -> CustomDomain:
        values: dict[str, Any] = {}
        if min_tls is not None:
            values["min_tls"] = check_min_tls(min_tls)
        if enabled is not None:
            if not isinstance(enabled, bool):
                raise InvalidCustomDomain("enabled must be true or false.")
            values["enabled"] = enabled
        current = self.get(bucket, domain)
        if values and not self.repo.update(bucket, domain, values):
            raise NoSuchCustomDomain()
        return self.get(bucket, current.domain)

    def remove(self, bucket: str, domain: str) -> None:
        if not self.repo.remove(bucket, domain):
            self.get(bucket, domain)  # NoSuchBucket or NoSuchCustomDomain
            raise NoSuchCustomDomain()

    def bucket_for(self, host: str) -> str | None:
        """The bucket an enabled domain serves for a request's Host (port and case ignored)."""
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
        name = name.lower().rstrip(".")
        if not name or len(name) > 253:
            return None
        return self.repo.bucket_for(name)


def _domain(row: Any) -> CustomDomain:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return CustomDomain(
        str(get("domain")),
        str(get("bucket")),
        bool(get("enabled")),
        str(get("min_tls")),
        str(get("zone_id")),
        str(get("zone_name")),
    )
