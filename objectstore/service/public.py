"""Public bucket access (R2's ``r2.dev`` development URL): per-bucket switch and opaque address."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from objectstore.service.errors import NoSuchBucket
from objectstore.store.public import PublicBucketRepository


@dataclass(frozen=True, slots=True)
class PublicAccess:
    bucket: str
    enabled: bool
    public_id: str | None  # set once the bucket was first made public; kept while disabled


def new_public_id() -> str:
    return "pub-" + secrets.token_hex(16)


class PublicAccessService:
    def __init__(self, repo: PublicBucketRepository) -> None:
        self.repo = repo

    def get(self, bucket: str) -> PublicAccess:
        state = self.repo.state(bucket)
        if state is None:
            raise NoSuchBucket(BucketName=bucket)
        return PublicAccess(bucket, *state)

    def set(self, bucket: str, enabled: bool) -> PublicAccess:
        state = self.repo.set(bucket, enabled, new_public_id())
        if state is None:
            raise NoSuchBucket(BucketName=bucket)
        return PublicAccess(bucket, *state)

    def bucket_for(self, public_id: str) -> str | None:
        """The bucket served at ``public_id``, if any is (public ids are never a bucket's name)."""
        if not public_id.startswith("pub-") or len(public_id) > 64:
            return None
        return self.repo.bucket_for(public_id)
