"""The services an S3 handler may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from auth.service.tokens import TokenService
from objectstore.service.buckets import BucketService
from objectstore.service.copy import CopyService
from objectstore.service.multipart import MultipartService
from objectstore.service.objects import ObjectService
from objectstore.store.uploads import UploadRepository


@dataclass(frozen=True, slots=True)
class S3Context:
    objects: ObjectService
    buckets: BucketService
    tokens: TokenService
    domain: str | None = None
    region: str = "auto"
    multipart: MultipartService = field(init=False)
    copies: CopyService = field(init=False)

    def __post_init__(self) -> None:
        uploads = UploadRepository(self.objects.repo.db, self.objects.repo)
        object.__setattr__(self, "multipart", MultipartService(self.objects, uploads))
        object.__setattr__(self, "copies", CopyService(self.objects))
