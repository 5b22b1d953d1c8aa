"""Data location: location hints and jurisdictions put a bucket in a named storage location of the configuration,
where every byte of it stays (blobs, parts, its Infrequent Access tier, garbage reaped in place); a jurisdiction's
buckets answer only on that jurisdiction's endpoint (``<jurisdiction>.<domain>``, ``<bucket>.<jurisdiction>.<domain>``
or path-style ``/_<jurisdiction>/...``), and a name exists once per jurisdiction."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.test_bucket_cli import as_json, lakebox
from tests.support.cli import err
from tests.support.server import LakeboxServer, running

PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: tmp_path_factory.mktemp(name) for name in ("west", "eu-disk")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, disks: dict[str, Path]) -> Iterator[LakeboxServer]:
    env = {
        "LAKEBOX_STORAGE_LOCATIONS": ",".join(f"{name}={path}" for name, path in disks.items()),
        "LAKEBOX_LOCATION_HINTS": "wnam=west,enam=west",
        "LAKEBOX_JURISDICTIONS": "eu=eu-disk",  # fedramp has no location here
        "LAKEBOX_GARBAGE_GRACE_SECONDS": "1",
    }
    with running(tmp_path_factory.mktemp("lakebox") / "data", domain="localhost", extra_env=env) as srv:
        yield srv


@pytest.fixture(autouse=True)
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolves *.localhost to 127.0.0.1 in this process (virtual-hosted addressing without DNS)."""
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host.endswith(".localhost") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def files(directory: Path) -> set[str]:
    return {p.name for p in (directory / "blobs").glob("*/*/*")}


def everywhere(server: LakeboxServer, disks: dict[str, Path]) -> dict[str, set[str]]:
    roots = {"data": server.data_dir, "data-ia": server.data_dir / "ia"}
    for name, path in disks.items():
        roots[name], roots[f"{name}-ia"] = path, path / "ia"
    return {name: files(path) for name, path in roots.items()}


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def names(s3: Any) -> list[str]:
    return [b["Name"] for b in s3.list_buckets()["Buckets"]]


def eu_path_style(server: LakeboxServer) -> Any:
    return server.s3(endpoint_url=f"{server.s3_endpoint}/_eu", config=Config(s3={"addressing_style": "path"}))


def eu_virtual(server: LakeboxServer) -> Any:
    endpoint = f"http://eu.localhost:{server.s3_port}"
    return server.s3(endpoint_url=endpoint, config=Config(s3={"addressing_style": "virtual"}))


def test_a_pinned_bucket_keeps_every_byte_in_its_location(
    server: LakeboxServer, disks: dict[str, Path]
) -> None:
    s3 = server.s3()
    created = as_json(server, "bucket", "create", "pinned", "--location", "wnam")
    assert created["location"] == "WNAM"
    s3.create_bucket(Bucket="elsewhere")
    s3.put_object(Bucket="elsewhere", Key="src", Body=b"from the default location")
    before = everywhere(server, disks)

    s3.put_object(Bucket="pinned", Key="one", Body=b"1")
    s3.put_object(Bucket="pinned", Key="cold", Body=b"c", StorageClass="STANDARD_IA")
    upload = s3.create_multipart_upload(Bucket="pinned", Key="mpu")["UploadId"]
    etags = [
        s3.upload_part(Bucket="pinned", Key="mpu", UploadId=upload, PartNumber=n, Body=b)["ETag"]
        for n, b in ((1, os.urandom(PART)), (2, b"end"))
    ]
    s3.complete_multipart_upload(
        Bucket="pinned", Key="mpu", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]},
    )  # fmt: skip
    s3.copy_object(Bucket="pinned", Key="copy", CopySource="elsewhere/src")
    s3.copy_object(Bucket="pinned", Key="one", CopySource="pinned/one", StorageClass="STANDARD_IA")

    after = everywhere(server, disks)
    grown = {name: after[name] - before[name] for name in after if after[name] - before[name]}
    assert set(grown) == {"west", "west-ia"}
    assert len(grown["west"]) == 4  # one (before its move), two parts, copy
    assert len(grown["west-ia"]) == 2  # cold, one
    assert s3.get_object(Bucket="pinned", Key="copy")["Body"].read() == b"from the default location"
    assert list((disks["west"] / "incoming").glob("*/*")) == []

    for key in ("one", "cold", "mpu", "copy"):
        s3.delete_object(Bucket="pinned", Key=key)
    deadline = time.monotonic() + 120  # the reaper runs every few seconds; generous on a loaded machine
    while files(disks["west"]) | files(disks["west"] / "ia"):
        assert time.monotonic() < deadline, "the pinned bucket's garbage is reaped where it lies"
        time.sleep(0.5)
    assert everywhere(server, disks)["data"] == before["data"]


def test_location_constraint_and_unmapped_hints(server: LakeboxServer, disks: dict[str, Path]) -> None:
    s3 = server.s3()
    s3.create_bucket(Bucket="s3-pinned", CreateBucketConfiguration={"LocationConstraint": "ENAM"})
    s3.create_bucket(Bucket="apac-hint", CreateBucketConfiguration={"LocationConstraint": "apac"})
    west, data = files(disks["west"]), files(server.data_dir)
    s3.put_object(Bucket="s3-pinned", Key="k", Body=b"v")
    s3.put_object(Bucket="apac-hint", Key="k", Body=b"v")  # a hint is best effort: no apac location here
    assert len(files(disks["west"]) - west) == 1
    assert len(files(server.data_dir) - data) == 1
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="nowhere", CreateBucketConfiguration={"LocationConstraint": "mars"})
    assert code(exc) == (400, "InvalidArgument")


@pytest.mark.parametrize("client", [eu_path_style, eu_virtual], ids=["path-style", "virtual-host"])
def test_jurisdiction_endpoints(server: LakeboxServer, disks: dict[str, Path], client: Any) -> None:
    default, eu = server.s3(), client(server)
    name = f"shared-{client.__name__.replace('_', '-')}"
    eu.create_bucket(Bucket=name)
    assert name not in names(default)  # the default endpoint sees none of the eu buckets
    default.create_bucket(Bucket=name)  # the same name, once per jurisdiction
    eu_before, data_before = files(disks["eu-disk"]), files(server.data_dir)
    eu.put_object(Bucket=name, Key="k", Body=b"in the eu")
    default.put_object(Bucket=name, Key="k", Body=b"at home")
    eu.copy_object(Bucket=name, Key="copied", CopySource=f"{name}/k")  # the source is in the eu too
    assert eu.get_object(Bucket=name, Key="k")["Body"].read() == b"in the eu"
    assert eu.get_object(Bucket=name, Key="copied")["Body"].read() == b"in the eu"
    assert default.get_object(Bucket=name, Key="k")["Body"].read() == b"at home"
    assert [o["Key"] for o in default.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
    listing = eu.list_objects_v2(Bucket=name)
    assert (listing["Name"], [o["Key"] for o in listing["Contents"]]) == (name, ["copied", "k"])
    assert len(files(disks["eu-disk"]) - eu_before) == 2
    assert len(files(server.data_dir) - data_before) == 1
    eu_names = names(eu)
    assert name in eu_names
    assert all(not n.startswith("elsewhere") and "_" not in n for n in eu_names)
    assert "elsewhere" not in eu_names
    with pytest.raises(ClientError) as exc:
        eu.head_object(Bucket="elsewhere", Key="src")  # a default bucket is not on the eu endpoint
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_jurisdiction_refusals(server: LakeboxServer) -> None:
    fedramp = server.s3(endpoint_url=f"{server.s3_endpoint}/_fedramp")
    with pytest.raises(ClientError) as exc:
        fedramp.create_bucket(Bucket="gov")
    assert code(exc) == (400, "InvalidLocationConstraint")
    assert names(fedramp) == []
    eu_path_style(server).create_bucket(Bucket="only-eu")
    raw = httpx.get(f"{server.s3_endpoint}/eu_only-eu/k")  # lakebox's own name is no way in
    assert raw.status_code == 400
    assert b"<Code>InvalidBucketName</Code>" in raw.content
    with pytest.raises(ClientError) as exc:
        server.s3().put_object(Bucket="eu_only-eu", Key="k", Body=b"x")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_jurisdiction_through_the_cli(server: LakeboxServer, disks: dict[str, Path]) -> None:
    created = as_json(server, "bucket", "create", "cli-eu", "-J", "eu")
    assert (created["name"], created["jurisdiction"]) == ("cli-eu", "eu")
    assert [b["name"] for b in as_json(server, "bucket", "list", "-J", "eu")["buckets"]] == sorted(
        names(eu_path_style(server))
    )
    assert "cli-eu" not in [b["name"] for b in as_json(server, "bucket", "list")["buckets"]]
    assert as_json(server, "bucket", "info", "cli-eu", "--jurisdiction", "eu")["jurisdiction"] == "eu"
    missing = lakebox(server, "bucket", "info", "cli-eu")
    assert missing.returncode == 1, err(missing)
    refused = lakebox(server, "bucket", "create", "cli-gov", "-J", "fedramp")
    assert refused.returncode == 1
    eu_path_style(server).put_object(Bucket="cli-eu", Key="k", Body=b"v")
    assert list((disks["eu-disk"] / "blobs").glob("*/*/*"))
    busy = lakebox(server, "bucket", "delete", "cli-eu", "-J", "eu")
    assert busy.returncode == 1
    eu_path_style(server).delete_object(Bucket="cli-eu", Key="k")
    done = lakebox(server, "bucket", "delete", "cli-eu", "-J", "eu")
    assert done.returncode == 0, err(done)
    assert "cli-eu" not in names(eu_path_style(server))
