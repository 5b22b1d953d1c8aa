"""What table maintenance reads and writes a warehouse with: pyiceberg's ``FileIO`` over the catalog's in-process
object store port (manifests, manifest lists and data files are read and written without HTTP), and the listing
of a table's files that orphan-file cleanup compares against its metadata."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Protocol

from pyiceberg.io import FileIO, InputFile, InputStream, OutputFile, OutputStream

from objectstore.service.errors import NoSuchKey

SCHEME = "s3://"


class StoredFile(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def last_modified(self) -> float: ...


class WarehouseFiles(Protocol):
    """The catalog's ``MetadataFiles`` port plus a listing (``ObjectStoreFiles`` has both)."""

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...
    def read(self, bucket: str, key: str) -> bytes: ...
    def delete_keys(self, bucket: str, keys: Sequence[str]) -> None: ...
    def list_files(self, bucket: str, prefix: str) -> Iterator[StoredFile]: ...


def split_location(location: str) -> tuple[str, str]:
    """``s3://bucket/key`` (also s3a/s3n, as Java clients write) as (bucket, key)."""
    scheme, sep, rest = location.partition("://")
    if not sep or scheme not in ("s3", "s3a", "s3n"):
        raise ValueError(f"Not an S3 location: {location!r}")
    bucket, _, key = rest.partition("/")
    return bucket, key


class _Input(InputFile):
    def __init__(self, files: WarehouseFiles, location: str) -> None:
        super().__init__(location)
        self._files = files
        self._data: bytes | None = None

    def _bytes(self) -> bytes:
        if self._data is None:
            self._data = self._files.read(*split_location(self.location))
        return self._data

    def __len__(self) -> int:
        return len(self._bytes())

    def exists(self) -> bool:
        try:
            self._bytes()
        except NoSuchKey:
            return False
        return True

    def open(self, seekable: bool = True) -> InputStream:
        try:
            return io.BytesIO(self._bytes())
        except NoSuchKey:
            raise FileNotFoundError(self.location) from None


class _Upload(io.BytesIO):
    """Buffers what pyiceberg writes; stored as one object when closed."""

    def __init__(self, files: WarehouseFiles, location: str) -> None:
        super().__init__()
        self._files = files
        self._location = location
        self._stored = False

    def close(self) -> None:
        if not self._stored and not self.closed:
            self._stored = True
            bucket, key = split_location(self._location)
            self._files.write(bucket, key, self.getvalue(), "application/octet-stream")
        super().close()


class _Output(OutputFile):
    def __init__(self, files: WarehouseFiles, location: str) -> None:
        super().__init__(location)
        self._files = files

    def __len__(self) -> int:
        return len(self.to_input_file())

    def exists(self) -> bool:
        return self.to_input_file().exists()

    def to_input_file(self) -> InputFile:
        return _Input(self._files, self.location)

    def create(self, overwrite: bool = False) -> OutputStream:
        if not overwrite and self.exists():
            raise FileExistsError(self.location)
        return _Upload(self._files, self.location)


class WarehouseIO(FileIO):
    """pyiceberg's FileIO over the object store, in process."""

    def __init__(self, files: WarehouseFiles) -> None:
        super().__init__({})
        self.files = files

    def new_input(self, location: str) -> InputFile:
        return _Input(self.files, location)

    def new_output(self, location: str) -> OutputFile:
        return _Output(self.files, location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        path = location if isinstance(location, str) else location.location
        bucket, key = split_location(path)
        self.files.delete_keys(bucket, [key])
