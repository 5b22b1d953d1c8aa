"""An in-process lakebox for the catalog's end-to-end tests: the real S3 app and the real catalog app on two free
ports (uvicorn, one worker thread each) over one data directory, wired exactly as the composition package must
wire them (see ``build``). Used until ``lakebox serve`` mounts the catalog on its own port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

import objectstore.store.tables
import objectstore.store.uploads  # noqa: F401  (registers every table)
from auth.service.principal import Permission
from auth.service.secretbox import SecretBox
from auth.service.tokens import IssuedToken, TokenService
from catalog.api.app import create_catalog_app
from catalog.service.catalog import CatalogService
from catalog.store.objectstore_files import ObjectStoreFiles
from infra.db import Database
from objectstore.api.app import S3App
from objectstore.api.context import S3Context
from objectstore.service.buckets import BucketService
from objectstore.service.objects import ObjectService
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.repo import ObjectRepository
from tests.support.atrest import fresh_atrest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    s3_endpoint: str
    catalog_uri: str
    tokens: TokenService
    catalog: CatalogService
    root: IssuedToken

    def s3(self, token: IssuedToken | None = None, **creds: str) -> Any:
        token = token or self.root
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="auto",
            aws_access_key_id=creds.get("key", token.access_key_id),
            aws_secret_access_key=creds.get("secret", token.secret_access_key),
            aws_session_token=creds.get("session"),
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def token(self, permission: Permission) -> IssuedToken:
        return self.tokens.create(permission, name=f"test-{permission.value}")

    def supports_multipart(self, bucket: str) -> bool:
        """pyarrow's S3 writer (PyIceberg's data path) needs multipart uploads; probe for them."""
        from botocore.exceptions import ClientError

        try:
            upload = self.s3().create_multipart_upload(Bucket=bucket, Key="__probe")
        except ClientError:
            return False
        self.s3().abort_multipart_upload(Bucket=bucket, Key="__probe", UploadId=upload["UploadId"])
        return True

    def warehouse(self, bucket: str) -> str:
        self.s3().create_bucket(Bucket=bucket)
        self.catalog.enable_warehouse(bucket)
        return bucket


def build(data_dir: Path, s3_endpoint: str) -> tuple[Any, Any, TokenService, CatalogService]:
    """The wiring: the catalog gets the object store (in process), the token service and temporary credentials."""
    db = Database(f"sqlite:///{data_dir / 'lakebox.db'}")
    db.create_schema()
    tokens = TokenService(db, SecretBox.from_data_dir(data_dir))
    repo = ObjectRepository(db)
    objects = ObjectService(repo, LocalBlobStore(data_dir, "node-test"), fresh_atrest())
    buckets = BucketService(repo)
    s3_app = S3App(S3Context(objects, buckets, tokens))
    service = CatalogService(db, ObjectStoreFiles(objects, buckets), tokens.temporary)
    catalog_app = create_catalog_app(service, tokens, s3_endpoint=s3_endpoint)
    return s3_app, catalog_app, tokens, service


@contextmanager
def _serve(app: Any, port: int) -> Iterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def running_stack(data_dir: Path) -> Iterator[Stack]:
    data_dir.mkdir(parents=True, exist_ok=True)
    s3_port, catalog_port = free_port(), free_port()
    s3_endpoint = f"http://127.0.0.1:{s3_port}"
    s3_app, catalog_app, tokens, service = build(data_dir, s3_endpoint)
    root = tokens.create(Permission.ADMIN_RW, name="root")
    with _serve(s3_app, s3_port), _serve(catalog_app, catalog_port):
        yield Stack(s3_endpoint, f"http://127.0.0.1:{catalog_port}", tokens, service, root)
