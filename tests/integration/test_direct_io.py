"""Through a live server: objects over 1 MiB are written (and read) around the page cache unless --no-direct-io,
objects that fit in the staging buffer through it, and every one reads back byte-exact."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from objectstore.service.segments import stored_size
from tests.support.server import running

MiB = 1024 * 1024
LARGE = os.urandom(2 * MiB + 5)
SMALL = os.urandom(MiB)


def cached_bytes(path: Path) -> int:
    """How much of the file is in the page cache (util-linux's fincore)."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "-o", "RES", str(path)], capture_output=True)
    return int(out.stdout)


def blob_of_size(data_dir: Path, size: int) -> Path:
    """The blob file of the object of ``size`` bytes (encrypted at rest: its sealed size)."""
    (path,) = [p for p in (data_dir / "blobs").glob("*/*/*") if p.stat().st_size == stored_size(size)]
    return path


@pytest.mark.parametrize("direct", [True, False], ids=["default", "no-direct-io"])
def test_large_objects_bypass_the_page_cache_unless_turned_off(tmp_path: Path, direct: bool) -> None:
    extra_env = {} if direct else {"LAKEBOX_DIRECT_IO": "false"}
    with running(tmp_path, extra_env=extra_env) as server:
        s3 = server.s3()
        s3.create_bucket(Bucket="cache")
        s3.put_object(Bucket="cache", Key="large", Body=LARGE)
        s3.put_object(Bucket="cache", Key="small", Body=SMALL)
        large, small = blob_of_size(tmp_path, len(LARGE)), blob_of_size(tmp_path, len(SMALL))
        if direct:
            assert cached_bytes(large) <= 4096  # only the unaligned tail went through the cache
        else:
            assert cached_bytes(large) >= len(LARGE)
        assert cached_bytes(small) >= len(SMALL)  # all of it (sealed, it ends in one more page)
        assert s3.get_object(Bucket="cache", Key="large")["Body"].read() == LARGE
        assert s3.get_object(Bucket="cache", Key="small")["Body"].read() == SMALL
        assert (
            s3.get_object(Bucket="cache", Key="large", Range="bytes=1048570-1048590")["Body"].read()
            == (LARGE[1048570:1048591])
        )


def test_a_bad_direct_io_value_stops_serve_with_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "LAKEBOX_DIRECT_IO": "maybe", "LAKEBOX_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "lakebox", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "LAKEBOX_DIRECT_IO: expected true or false, got 'maybe'" in done.stderr
    assert not (tmp_path / "lakebox.db").exists()


def test_large_reads_ahead_and_a_download_given_up_midway_costs_nothing(tmp_path: Path) -> None:
    body = os.urandom(6 * MiB + 7)
    with running(tmp_path) as server:
        s3 = server.s3()
        s3.create_bucket(Bucket="ahead")
        s3.put_object(Bucket="ahead", Key="big", Body=body)
        url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "ahead", "Key": "big"}))
        for _ in range(5):  # read a little of each download, then hang up while the next chunk is being read
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            conn.request("GET", f"{url.path}?{url.query}")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read(65536) == body[:65536]
            conn.close()
        ranged = s3.get_object(Bucket="ahead", Key="big", Range="bytes=1048570-4194400")["Body"].read()
        assert ranged == body[1048570:4194401]
        assert s3.get_object(Bucket="ahead", Key="big")["Body"].read() == body
        log = server.log()
    assert "Traceback" not in log, log
    assert "never retrieved" not in log, log
