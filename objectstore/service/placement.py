"""Storage classes, and where a bucket's blobs live.

An object's storage class is the one its upload names, else its bucket's default (R2). Each class has a storage
root of its own: Standard objects live in the bucket's storage location, Infrequent Access objects in that
location's Infrequent Access tier (a root an operator can put on cheaper disks). Blob ids name their root
(``objectstore.store.blobs``), so a blob is read, reaped and recovered where it was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from objectstore.service.errors import InvalidArgument, InvalidLocationConstraint, InvalidStorageClass

STANDARD = "STANDARD"
INFREQUENT_ACCESS = "STANDARD_IA"
STORAGE_CLASSES = frozenset({STANDARD, INFREQUENT_ACCESS})
# A bucket's default class as R2 names it (and stores it) -> the S3 name objects carry.
BUCKET_DEFAULTS = {"Standard": STANDARD, "InfrequentAccess": INFREQUENT_ACCESS}
# R2's pricing: an Infrequent Access object is charged for at least this long, and its reads by the byte.
IA_MINIMUM_SECONDS = 30 * 24 * 3600
IA_ROOT = "ia"  # the Infrequent Access tier's root name (for another location: "<location>.ia")


def check_storage_class(value: str) -> str:
    """An S3 storage class (``x-amz-storage-class``); InvalidStorageClass for any other."""
    if value not in STORAGE_CLASSES:
        raise InvalidStorageClass(StorageClassRequested=value)
    return value


def check_bucket_default(value: str) -> str:
    """A bucket's default class, as R2 names it (``Standard``, ``InfrequentAccess``) or as S3 does."""
    if value in BUCKET_DEFAULTS:
        return value
    for name, s3_name in BUCKET_DEFAULTS.items():
        if value == s3_name:
            return name
    raise InvalidStorageClass(StorageClassRequested=value)


def bucket_default(bucket_row: Any | None) -> str:
    """The S3 class of objects uploaded to the bucket without one (STANDARD where there is no bucket yet)."""
    if bucket_row is None:
        return STANDARD
    return BUCKET_DEFAULTS.get(bucket_row.storage_class, STANDARD)


def object_class(requested: str | None, bucket_row: Any | None) -> str:
    return requested if requested is not None else bucket_default(bucket_row)


def bucket_location(bucket_row: Any | None) -> str:
    """The named storage location a bucket's data lives in ("" for the default one)."""
    if bucket_row is None:
        return ""
    return getattr(bucket_row, "storage_location", None) or ""


def blob_root(location: str, storage_class: str) -> str:
    """The storage root of a blob of ``storage_class`` in ``location``."""
    if storage_class == INFREQUENT_ACCESS:
        return f"{location}.{IA_ROOT}" if location else IA_ROOT
    return location


JURISDICTIONS = frozenset({"eu", "fedramp"})


def bucket_id(name: str, jurisdiction: str | None) -> str:
    """How a bucket is known inside lakebox: its name, or for a bucket in a jurisdiction ``<jurisdiction>_<name>``
    (R2's own spelling, in analytics and token resources). Bucket names hold no ``_``, so the two never meet, and
    every table that names buckets works unchanged."""
    return f"{jurisdiction}_{name}" if jurisdiction else name


def bucket_name(bucket: str) -> str:
    """A bucket's name as clients know it (``bucket_id`` reversed)."""
    return bucket.partition("_")[2] or bucket


@dataclass(frozen=True, slots=True)
class LocationMap:
    """Which named storage location a new bucket's location hint or jurisdiction puts it in (the configuration's
    ``location_hints`` and ``jurisdictions``)."""

    hints: Mapping[str, str] = field(default_factory=dict)
    jurisdictions: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, hint: str, jurisdiction: str | None) -> str:
        """The storage location ("" for the default one). A hint is best effort (R2): unmapped, the default. A
        jurisdiction is a guarantee: unmapped, the bucket is refused."""
        if jurisdiction:
            if jurisdiction not in JURISDICTIONS:
                raise InvalidArgument(
                    "Invalid jurisdiction", ArgumentName="jurisdiction", ArgumentValue=jurisdiction
                )
            location = self.jurisdictions.get(jurisdiction)
            if location is None:
                raise InvalidLocationConstraint(
                    f"The {jurisdiction} jurisdiction has no storage location on this server",
                    LocationConstraint=jurisdiction,
                )
            return location
        return self.hints.get(hint.lower(), "")
