"""R2's bucket routes over the object store: list, create, get, change the storage class, delete; the r2.dev
development URL (lakebox's public buckets) and the R2 Data Catalog switch of a bucket.

Results are the JSON shapes of Cloudflare's API (``result`` of the envelope); the API layer wraps them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from management.service.errors import CatalogConflict, InvalidRequest, NoSuchWarehouse, NotImplementedYet
from objectstore.service.buckets import BucketInfo, BucketService
from objectstore.service.placement import bucket_id
from objectstore.service.public import PublicAccessService

if TYPE_CHECKING:
    from catalog.service.catalog import CatalogService

# R2's names (API) and lakebox's stored values for a bucket's default storage class.
STORAGE_CLASSES = {"Standard": "Standard", "InfrequentAccess": "InfrequentAccess"}
LOCATION_HINTS = {"apac", "eeur", "enam", "weur", "wnam", "oc"}
JURISDICTIONS = {"default", "eu", "us", "fedramp", "fedramp-high"}
SUPPORTED_JURISDICTIONS = {"eu", "fedramp"}
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 1000  # wrangler lists one page without per_page: all buckets up to the maximum


def check_jurisdiction(value: str | None) -> str | None:
    """The jurisdiction a request names (``cf-r2-jurisdiction``): None for the default one."""
    if value is None or value.lower() in ("", "default"):
        return None
    if value.lower() not in JURISDICTIONS:
        raise InvalidRequest(
            f"Invalid jurisdiction: {value!r} (expected default, eu, us, fedramp or fedramp-high)"
        )
    if value.lower() not in SUPPORTED_JURISDICTIONS:
        raise NotImplementedYet(f"The {value!r} jurisdiction")
    return value.lower()


def bucket_ref(name: str, jurisdiction: str | None) -> str:
    """The bucket a route names, as lakebox knows it (``objectstore.service.placement.bucket_id``)."""
    if "_" in name:  # in no bucket name: only lakebox's own names of jurisdiction buckets hold one
        raise InvalidRequest(f"Invalid bucket name: {name!r}")
    return bucket_id(name, check_jurisdiction(jurisdiction))


def storage_class(value: Any) -> str:
    if not isinstance(value, str) or value not in STORAGE_CLASSES:
        raise InvalidRequest(f"Invalid storage class: {value!r} (expected Standard or InfrequentAccess)")
    return STORAGE_CLASSES[value]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bucket_json(info: BucketInfo) -> dict[str, Any]:
    location = info.location if info.location not in ("", "auto", "us-east-1") else None
    return {
        "name": info.name,
        "creation_date": iso(info.created_at),
        "location": location.upper() if location else None,
        "storage_class": info.storage_class,
        "jurisdiction": info.jurisdiction or "default",
    }


def _encode_cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("Invalid cursor") from None


@dataclass(frozen=True, slots=True)
class BucketPage:
    buckets: list[dict[str, Any]]
    cursor: str | None  # where the next page starts; None on the last page
    per_page: int


class R2Buckets:
    def __init__(
        self,
        buckets: BucketService,
        public: PublicAccessService,
        catalog: Callable[[], CatalogService],
        public_url: Callable[[str], str],
    ) -> None:
        self.buckets = buckets
        self.public = public
        self._catalog = catalog
        self._public_url = public_url

    # -- buckets ---------------------------------------------------------------------------------------------

    def list(
        self,
        *,
        name_contains: str = "",
        per_page: str | None = None,
        cursor: str | None = None,
        direction: str | None = None,
        order: str | None = None,
        start_after: str | None = None,
        jurisdiction: str | None = None,
    ) -> BucketPage:
        if order not in (None, "", "name"):
            raise InvalidRequest(f"Invalid order: {order!r} (buckets are ordered by name)")
        if direction not in (None, "", "asc", "desc"):
            raise InvalidRequest(f"Invalid direction: {direction!r} (expected asc or desc)")
        try:
            size = int(per_page) if per_page not in (None, "") else DEFAULT_PER_PAGE
        except ValueError:
            raise InvalidRequest(f"Invalid per_page: {per_page!r}") from None
        if not 1 <= size <= MAX_PER_PAGE:
            raise InvalidRequest(f"per_page must be between 1 and {MAX_PER_PAGE}")
        after = _decode_cursor(cursor) if cursor else (start_after or "")
        page, truncated = self.buckets.list(
            start_after=after,
            max_keys=size,
            contains=name_contains,
            descending=direction == "desc",
            jurisdiction=check_jurisdiction(jurisdiction),
        )
        next_cursor = _encode_cursor(page[-1].name) if truncated and page else None
        return BucketPage([bucket_json(b) for b in page], next_cursor, size)

    def create(self, body: dict[str, Any], jurisdiction: str | None) -> dict[str, Any]:
        scope = check_jurisdiction(jurisdiction)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest("The bucket name is required")
        hint = body.get("locationHint")
        if hint is not None and (not isinstance(hint, str) or hint.lower() not in LOCATION_HINTS):
            raise InvalidRequest(
                f"Invalid location hint: {hint!r} (expected one of apac, eeur, enam, oc, weur, wnam)"
            )
        klass = storage_class(body.get("storageClass", "Standard"))
        self.buckets.create(name, hint.lower() if isinstance(hint, str) else "auto", klass, scope)
        return bucket_json(self.buckets.get(bucket_id(name, scope)))

    def get(self, name: str) -> dict[str, Any]:
        return bucket_json(self.buckets.get(name))

    def set_storage_class(self, name: str, value: str | None) -> dict[str, Any]:
        if value is None:
            raise InvalidRequest("The cf-r2-storage-class header is required")
        return bucket_json(self.buckets.set_storage_class(name, storage_class(value)))

    def delete(self, name: str) -> None:
        self.buckets.delete(name)

    # -- r2.dev: the public development URL ------------------------------------------------------------------

    def managed_domain(self, bucket: str) -> dict[str, Any]:
        return self._managed(self.public.get(bucket))

    def set_managed_domain(self, bucket: str, body: dict[str, Any]) -> dict[str, Any]:
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            raise InvalidRequest("'enabled' must be true or false")
        return self._managed(self.public.set(bucket, enabled))

    def _managed(self, state: Any) -> dict[str, Any]:
        domain = ""
        if state.public_id:
            parts = urlsplit(self._public_url(state.public_id))
            domain = parts.netloc + parts.path
        # publicId: lakebox's own field, the address's path segment on the public port (``/<publicId>/<key>``).
        return {
            "bucketId": state.bucket,
            "domain": domain,
            "enabled": state.enabled,
            "publicId": state.public_id,
        }

    # -- R2 Data Catalog -------------------------------------------------------------------------------------

    def catalog(self, bucket: str) -> dict[str, Any]:
        self.buckets.get(bucket)
        info = self._catalog().get_warehouse(bucket)
        if info is None:
            raise NoSuchWarehouse(f"The catalog of bucket {bucket!r} was never enabled")
        return {
            "id": info.warehouse_id,
            "name": info.warehouse,
            "bucket": bucket,
            "status": "active" if info.enabled else "inactive",
        }

    def guard_catalog(self, bucket: str, check: str | None) -> None:
        """With ``cf-r2-data-catalog-check: true`` (wrangler sends it unless ``--force``), a change to the objects or
        lifecycle of a bucket whose catalog is enabled is refused, so that the client can ask its user first."""
        if check is None or check.lower() != "true":
            return
        info = self._catalog().get_warehouse(bucket)
        if info is not None and info.enabled:
            raise CatalogConflict()

    def enable_catalog(self, bucket: str) -> dict[str, Any]:
        self.buckets.get(bucket)
        info = self._catalog().enable_warehouse(bucket)
        return {"id": info.warehouse_id, "name": info.warehouse}

    def disable_catalog(self, bucket: str) -> dict[str, Any]:
        self.buckets.get(bucket)
        info = self._catalog().disable_warehouse(bucket)
        return {"id": info.warehouse_id, "name": info.warehouse}
