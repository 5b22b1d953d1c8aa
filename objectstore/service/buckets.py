"""Bucket operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from objectstore.service.errors import BucketAlreadyOwnedByYou, BucketNotEmpty, NoSuchBucket
from objectstore.service.names import check_bucket_name
from objectstore.store.repo import ObjectRepository


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created_at: float
    location: str
    storage_class: str

    @classmethod
    def from_row(cls, row: Any) -> BucketInfo:
        return cls(row.name, row.created_at, row.location, row.storage_class)


class BucketService:
    def __init__(self, repo: ObjectRepository) -> None:
        self.repo = repo

    def create(self, name: str, location: str = "auto", storage_class: str = "Standard") -> None:
        check_bucket_name(name)
        if not self.repo.create_bucket(name, location, storage_class):
            raise BucketAlreadyOwnedByYou(BucketName=name)

    def get(self, name: str) -> BucketInfo:
        row = self.repo.get_bucket(name)
        if row is None:
            raise NoSuchBucket(BucketName=name)
        return BucketInfo.from_row(row)

    def delete(self, name: str) -> None:
        outcome = self.repo.delete_bucket(name)
        if outcome == "missing":
            raise NoSuchBucket(BucketName=name)
        if outcome == "not-empty":
            raise BucketNotEmpty(BucketName=name)

    def set_storage_class(self, name: str, storage_class: str) -> BucketInfo:
        """Changes the bucket's default storage class (what new objects get when they name none)."""
        if not self.repo.update_bucket(name, storage_class=storage_class):
            raise NoSuchBucket(BucketName=name)
        return self.get(name)

    def list(
        self,
        prefix: str = "",
        start_after: str = "",
        max_keys: int = 1000,
        *,
        contains: str = "",
        descending: bool = False,
    ) -> tuple[list[BucketInfo], bool]:
        """Buckets in name order after ``start_after`` (reversed: before it); (page, is_truncated)."""
        rows = self.repo.list_buckets(
            prefix, start_after, max_keys + 1, contains=contains, descending=descending
        )
        return [BucketInfo.from_row(r) for r in rows[:max_keys]], len(rows) > max_keys
