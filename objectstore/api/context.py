"""The services an S3 handler may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

import anyio.to_thread

from auth.service.tokens import TokenService
from objectstore.service.buckets import BucketService
from objectstore.service.copy import CopyService
from objectstore.service.multipart import MultipartService
from objectstore.service.objects import ObjectService
from objectstore.store.uploads import UploadRepository

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class S3Context:
    objects: ObjectService
    buckets: BucketService
    tokens: TokenService
    domain: str | None = None
    region: str = "auto"
    multipart: MultipartService = field(init=False)
    copies: CopyService = field(init=False)

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Runs a short blocking read (a lookup, a small body) for the request path.

        On SQLite the read is a few tens of microseconds of in-process work that never waits for a writer (WAL),
        cheaper than the two thread switches a worker thread costs, so it runs inline; on PostgreSQL it is a
        network round trip and goes to a worker thread.
        """
        if self.objects.repo.db.is_sqlite:
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    def __post_init__(self) -> None:
        uploads = UploadRepository(self.objects.repo.db, self.objects.repo)
        object.__setattr__(self, "multipart", MultipartService(self.objects, uploads))
        object.__setattr__(self, "copies", CopyService(self.objects))
