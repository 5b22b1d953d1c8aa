"""Everything lakebox creates in its data directory is its user's alone: files 0600, directories 0700 (the
database and its WAL/SHM, blobs, incoming and multipart staging, metrics, root credentials, the secret key)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

from tests.catalog.live import LiveLake
from tests.support.server import running


def _shared(data_dir: Path) -> list[str]:
    """Paths under ``data_dir`` that grant anything to group or others."""
    found = []
    for folder, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if mode & 0o077:
                found.append(f"{path.relative_to(data_dir)} {stat.filemode(mode)}")
    return found


def test_everything_in_the_data_dir_is_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # as a typical shell leaves it: lakebox must not depend on the caller's umask
    try:
        data_dir = _write_everything(tmp_path / "data")
    finally:
        os.umask(previous)
    assert _shared(data_dir) == []  # and after a clean stop


def _write_everything(data_dir: Path) -> Path:
    """Objects, a multipart upload (completed and one left open), a catalog table with data; checks the modes
    while the server runs, and returns the data dir."""
    with running(data_dir, workers=2) as server:
        s3 = server.s3()
        s3.create_bucket(Bucket="modes")
        s3.put_object(Bucket="modes", Key="small", Body=b"x" * 1000)
        s3.put_object(Bucket="modes", Key="dir/large", Body=os.urandom(3 * 1024 * 1024))
        upload = s3.create_multipart_upload(Bucket="modes", Key="multi")
        part = s3.upload_part(
            Bucket="modes", Key="multi", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 1024
        )
        s3.complete_multipart_upload(
            Bucket="modes",
            Key="multi",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        pending = s3.create_multipart_upload(Bucket="modes", Key="pending")  # left open: its staging stays
        s3.upload_part(Bucket="modes", Key="pending", UploadId=pending["UploadId"], PartNumber=1, Body=b"q")

        LiveLake(server).warehouse("lake")
        catalog = RestCatalog("lake", uri=server.catalog_uri, warehouse="lake", token=server.token)
        catalog.create_namespace("ns")
        schema = Schema(
            NestedField(1, "id", LongType(), required=False),
            NestedField(2, "name", StringType(), required=False),
        )
        table = catalog.create_table("ns.t", schema=schema)
        table.append(pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["a", "b"])}))
        assert len(table.scan().to_arrow()) == 2

        created = {p.name for p in data_dir.iterdir()}
        expected = {"root-credentials.json", "metrics"} | (
            {"lakebox.db"} if server.database_url is None else set()
        )
        assert expected <= created
        assert _shared(data_dir) == []
    return data_dir
