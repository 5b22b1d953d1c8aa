"""Bucket operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from objectstore.service.errors import BucketAlreadyOwnedByYou, BucketNotEmpty, NoSuchBucket
from objectstore.service.names import check_bucket_name
from objectstore.service.placement import LocationMap, bucket_id, bucket_name, check_bucket_default
from objectstore.store.repo import ObjectRepository


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str  # as clients know it (without its jurisdiction)
    created_at: float
    location: str
    storage_class: str
    storage_location: str = ""  # the named storage location its data lives in ("" for the default one)
    jurisdiction: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> BucketInfo:
        return cls(
            bucket_name(row.name),
            row.created_at,
            row.location,
            row.storage_class,
            row.storage_location or "",
            row.jurisdiction,
        )


class BucketService:
    def __init__(self, repo: ObjectRepository, locations: LocationMap | None = None) -> None:
        self.repo = repo
        self.locations = locations or LocationMap()

    def create(
        self,
        name: str,
        location: str = "auto",
        storage_class: str = "Standard",
        jurisdiction: str | None = None,
    ) -> None:
        """Creates a bucket in the storage location its jurisdiction or location hint maps to; ``name`` is the
        client's (``bucket_id`` adds the jurisdiction), and neither location nor jurisdiction changes later."""
        check_bucket_name(name)
        storage_location = self.locations.resolve(location, jurisdiction)
        created = self.repo.create_bucket(
            bucket_id(name, jurisdiction),
            location,
            check_bucket_default(storage_class),
            storage_location=storage_location,
            jurisdiction=jurisdiction,
        )
        if not created:
            raise BucketAlreadyOwnedByYou(BucketName=name)

    # ``get``, ``delete`` and ``set_storage_class`` take the bucket as lakebox knows it (``bucket_id``).

    def get(self, name: str) -> BucketInfo:
        row = self.repo.get_bucket(name)
        if row is None:
            raise NoSuchBucket(BucketName=bucket_name(name))
        return BucketInfo.from_row(row)

    def delete(self, name: str) -> None:
        outcome = self.repo.delete_bucket(name)
        if outcome == "missing":
            raise NoSuchBucket(BucketName=bucket_name(name))
        if outcome == "not-empty":
            raise BucketNotEmpty(BucketName=bucket_name(name))

    def set_storage_class(self, name: str, storage_class: str) -> BucketInfo:
        """Changes the bucket's default storage class (what new objects get when they name none)."""
        if not self.repo.update_bucket(name, storage_class=check_bucket_default(storage_class)):
            raise NoSuchBucket(BucketName=bucket_name(name))
        return self.get(name)

    def list(
        self,
        prefix: str = "",
        start_after: str = "",
        max_keys: int = 1000,
        *,
        contains: str = "",
        descending: bool = False,
        jurisdiction: str | None = None,
    ) -> tuple[list[BucketInfo], bool]:
        """The buckets of one jurisdiction (None: those in none) in name order after ``start_after`` (reversed:
        before it); (page, is_truncated)."""
        scope = bucket_id("", jurisdiction)
        rows = self.repo.list_buckets(
            scope + prefix,
            scope + start_after if start_after else "",
            max_keys + 1,
            contains=contains,
            descending=descending,
            jurisdiction=jurisdiction,
        )
        return [BucketInfo.from_row(r) for r in rows[:max_keys]], len(rows) > max_keys
