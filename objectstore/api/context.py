"""The services an S3 handler may use."""

from __future__ import annotations

from dataclasses import dataclass

from auth.service.tokens import TokenService
from objectstore.service.buckets import BucketService
from objectstore.service.objects import ObjectService


@dataclass(frozen=True, slots=True)
class S3Context:
    objects: ObjectService
    buckets: BucketService
    tokens: TokenService
    domain: str | None = None
    region: str = "auto"
