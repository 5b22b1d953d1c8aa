"""Drop with purge: deletes exactly the files the dropped table's own metadata references, never a prefix.

The files are those Iceberg's own ``dropTableData`` deletes: the current metadata file and those of its
metadata log, every snapshot's manifest list, the manifests those lists name, the data and delete files those
manifests name, and the statistics files. Of these, only keys inside the table's own location are deleted, and
never a key inside another live table's or view's location (a table may reference files it does not own).
Best effort, like Iceberg's: an unreadable manifest is logged and skipped, the drop itself already happened."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pyiceberg.io import FileIO, InputFile, InputStream, OutputFile
from pyiceberg.manifest import ManifestFile, read_manifest_list

from catalog.errors import BadRequest
from catalog.service.locations import check_inside, file_paths, key_prefix
from catalog.service.ports import MetadataFiles

log = logging.getLogger("lakebox.catalog")
DELETE_BATCH = 1000
T = TypeVar("T")
R = TypeVar("R")


def purge_table(
    files: MetadataFiles,
    bucket: str,
    location: str,
    metadata_location: str,
    metadata_json: str,
    other_locations: Iterable[str],
) -> int:
    """Deletes the table's referenced files (see the module doc); returns how many keys were deleted."""
    try:
        own = key_prefix(location, bucket)
    except BadRequest:
        log.warning("not purging table files: its stored location %r is not a valid table location", location)
        return 0
    others = [p for p in (_prefix_or_none(loc, bucket) for loc in other_locations) if p is not None]
    keys = {
        key
        for key in (
            _own_key(path, location, bucket)
            for path in referenced_paths(files, bucket, metadata_location, metadata_json)
        )
        if key is not None and key.startswith(own) and not any(key.startswith(o) for o in others)
    }
    ordered = sorted(keys)
    for i in range(0, len(ordered), DELETE_BATCH):
        files.delete_keys(bucket, ordered[i : i + DELETE_BATCH])
    return len(ordered)


def referenced_paths(
    files: MetadataFiles, bucket: str, metadata_location: str, metadata_json: str
) -> set[str]:
    doc: dict[str, Any] = json.loads(metadata_json)
    paths = {metadata_location}
    paths |= {p for _, p in file_paths(doc) if isinstance(p, str)}
    reader = _ReadOnlyIO(lambda path: files.read(bucket, _plain_key(path, bucket)))
    manifests: dict[str, ManifestFile] = {}
    for snapshot in doc.get("snapshots") or []:
        listed = snapshot.get("manifest-list") if isinstance(snapshot, dict) else None
        if isinstance(listed, str):
            for manifest in _read(_list_manifests, reader, listed):
                manifests.setdefault(manifest.manifest_path, manifest)
    paths |= set(manifests)
    for manifest in manifests.values():
        paths |= set(_read(_list_files, reader, manifest))
    return paths


def _list_manifests(reader: FileIO, manifest_list: str) -> list[ManifestFile]:
    return list(read_manifest_list(reader.new_input(manifest_list)))


def _list_files(reader: FileIO, manifest: ManifestFile) -> list[str]:
    return [e.data_file.file_path for e in manifest.fetch_manifest_entry(reader, discard_deleted=False)]


def _read(load: Callable[[FileIO, T], list[R]], reader: FileIO, source: T) -> list[R]:
    try:
        return load(reader, source)
    except Exception:  # a missing or corrupt file: purge what can be found, as Iceberg does
        log.warning("purge: could not read %s; the files it names are left in place", source, exc_info=True)
        return []


def _own_key(path: str, location: str, bucket: str) -> str | None:
    try:
        return check_inside(path, location, bucket, "File")
    except BadRequest:
        return None


def _prefix_or_none(location: str, bucket: str) -> str | None:
    try:
        return key_prefix(location, bucket)
    except BadRequest:
        root = f"s3://{bucket}/"
        return location[len(root) :].rstrip("/") + "/" if location.startswith(root) else None


def _plain_key(path: str, bucket: str) -> str:
    root = f"s3://{bucket}/"
    if not path.startswith(root):
        raise FileNotFoundError(path)
    return path[len(root) :]


class _BytesInput(InputFile):
    def __init__(self, location: str, load: Callable[[str], bytes]) -> None:
        super().__init__(location)
        self._load = load
        self._data: bytes | None = None

    def _bytes(self) -> bytes:
        if self._data is None:
            self._data = self._load(self.location)
        return self._data

    def __len__(self) -> int:
        return len(self._bytes())

    def exists(self) -> bool:
        return True

    def open(self, seekable: bool = True) -> InputStream:
        return io.BytesIO(self._bytes())


class _ReadOnlyIO(FileIO):
    """Reads Avro manifests through the catalog's in-process object store port."""

    def __init__(self, load: Callable[[str], bytes]) -> None:
        super().__init__({})
        self._load = load

    def new_input(self, location: str) -> InputFile:
        return _BytesInput(location, self._load)

    def new_output(self, location: str) -> OutputFile:
        raise PermissionError("purge reads only")

    def delete(self, location: str | InputFile | OutputFile) -> None:
        raise PermissionError("purge reads only")
