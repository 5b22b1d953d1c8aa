"""What every catalog operation shares: the ports, the repository, authorisation and warehouse resolution."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from auth.service.principal import Permission, Principal
from catalog.errors import BadRequest, Forbidden, NoSuchNamespace, NoSuchWarehouse
from catalog.service.credentials import CredentialCache
from catalog.service.locations import key_prefix as table_key_prefix
from catalog.service.naming import namespace_name
from catalog.service.ports import CredentialVendor, MetadataFiles, VendedCredentials
from catalog.store.repository import CatalogRepository, Namespace

log = logging.getLogger("lakebox.catalog")
_BUCKET_NAME = re.compile(r"[A-Za-z0-9._-]{1,63}")  # any name a bucket could have


@dataclass(frozen=True, slots=True)
class CatalogSettings:
    idempotency_lifetime_s: int = 1800  # advertised as idempotency-key-lifetime (PT30M)
    commit_retries: int = 4  # server-side re-validation on a lost compare-and-set race
    credential_cache_size: int = 1024  # vended credentials reused while > half their lifetime remains


@dataclass
class Context:
    repo: CatalogRepository
    files: MetadataFiles
    vendor: CredentialVendor | None = None
    settings: CatalogSettings = field(default_factory=CatalogSettings)
    credentials: CredentialCache = field(init=False)

    def __post_init__(self) -> None:
        self.credentials = CredentialCache(self.settings.credential_cache_size)

    def authorize(self, principal: Principal, bucket: str | None, *, write: bool) -> None:
        """The R2 rule: catalog access needs an Admin token; Admin Read only may only read."""
        if not principal.permission.is_admin:
            raise Forbidden("The catalog requires an Admin Read & Write or Admin Read only token")
        if write and principal.permission is not Permission.ADMIN_RW:
            raise Forbidden("This operation requires an Admin Read & Write token")
        if bucket is not None and not principal.may_access_bucket(bucket):
            raise Forbidden(f"The token may not access the warehouse {bucket!r}")

    def warehouse(self, principal: Principal, prefix: str, *, write: bool) -> str:
        """Authorises the caller, then resolves a route's ``{prefix}`` to an enabled warehouse's bucket."""
        bucket = bucket_of(prefix)
        self.authorize(principal, bucket, write=write)
        wh = self.repo.get_warehouse(bucket)
        if wh is None or not wh.enabled:
            raise NoSuchWarehouse(f"Warehouse {bucket!r} does not exist or its catalog is not enabled")
        return bucket

    def namespace(self, bucket: str, levels: tuple[str, ...]) -> Namespace:
        ns = self.repo.get_namespace(bucket, namespace_name(levels))
        if ns is None:
            raise NoSuchNamespace(f"Namespace does not exist: {'.'.join(levels)}")
        return ns

    def vend(self, principal: Principal, bucket: str, location: str) -> VendedCredentials | None:
        """Credentials for the keys under a table's own location, never wider (the location is re-checked,
        so a location stored before the policy existed cannot widen them)."""
        if self.vendor is None:
            return None
        key_prefix = table_key_prefix(location, bucket)
        read_only = principal.permission is not Permission.ADMIN_RW
        vendor = self.vendor
        key = (id(vendor), principal.token_id, bucket, key_prefix, read_only)
        return self.credentials.get_or_issue(
            key, lambda: vendor.vend(principal, bucket, key_prefix, read_only)
        )

    def discard(self, bucket: str, key: str) -> None:
        """Best-effort removal of a metadata file whose commit lost the race (its name is unique)."""
        try:
            self.files.delete_keys(bucket, [key])
        except Exception:  # never mask the commit's own outcome
            log.warning("could not delete orphaned metadata file %s/%s", bucket, key, exc_info=True)


def bucket_of(prefix_or_warehouse: str) -> str:
    """Accepts a warehouse as the bucket name or ``s3://bucket`` (the prefix override is the bucket name)."""
    value = prefix_or_warehouse.strip()
    if value.startswith("s3://"):
        value = value[5:].rstrip("/")
    if not _BUCKET_NAME.fullmatch(value):
        raise BadRequest(f"Invalid warehouse: {prefix_or_warehouse[:100]!r} (a bucket name)")
    return value
