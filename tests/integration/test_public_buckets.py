"""Public buckets (R2's r2.dev development URL): ``lakebox bucket dev-url`` and anonymous GET/HEAD on the public
port, addressed by an opaque id (by path prefix, or by Host with a public domain)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.admin import cf
from tests.support.server import LakeboxServer, running


@pytest.fixture(scope="module")
def pub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    data_dir = tmp_path_factory.mktemp("lakebox-public") / "data"
    with running(data_dir, extra_env={"LAKEBOX_PUBLIC_DOMAIN": "pub.test"}) as srv:
        srv.s3().create_bucket(Bucket="site")
        srv.s3().put_object(
            Bucket="site", Key="index.html", Body=b"<h1>hello</h1>", ContentType="text/html",
            CacheControl="max-age=60", Metadata={"owner": "me"},
        )  # fmt: skip
        srv.s3().put_object(Bucket="site", Key="dir/a b+c.txt", Body=b"0123456789")
        yield srv


def lakebox(server: LakeboxServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LAKEBOX_CONSOLE_URL=server.console_url, LAKEBOX_TOKEN=server.token)
    return subprocess.run([sys.executable, "-m", "lakebox", *args], env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def error_code(resp: httpx.Response) -> tuple[int, str]:
    code = resp.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in resp.text else ""
    return resp.status_code, code


def enable(server: LakeboxServer, bucket: str) -> dict[str, str]:
    result = lakebox(server, "bucket", "dev-url", "enable", bucket, "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_disabled_by_default_and_cli_lifecycle(pub: LakeboxServer) -> None:
    got = lakebox(pub, "bucket", "dev-url", "get", "site")
    assert got.stdout == "Public access via the r2.dev URL is disabled for bucket 'site'.\n"
    state = enable(pub, "site")
    public_id = state["public_id"]
    assert public_id.startswith("pub-")
    assert len(public_id) == 36
    assert state == {
        "bucket": "site", "enabled": True, "public_id": public_id,
        "url": f"http://{public_id}.pub.test:{pub.public_port}",
    }  # fmt: skip
    assert "site" not in state["url"]
    shown = lakebox(pub, "bucket", "dev-url", "get", "site")
    assert shown.stdout == f"Public access is enabled at 'http://{public_id}.pub.test:{pub.public_port}'.\n"
    assert httpx.get(f"{pub.public_url}/{public_id}/index.html").status_code == 200

    disabled = lakebox(pub, "bucket", "dev-url", "disable", "site", "--json")
    assert json.loads(disabled.stdout)["enabled"] is False
    assert error_code(httpx.get(f"{pub.public_url}/{public_id}/index.html")) == (404, "NoSuchBucket")
    assert enable(pub, "site")["public_id"] == public_id  # the address is kept

    missing = lakebox(pub, "bucket", "dev-url", "enable", "no-such-bucket")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        "lakebox: NoSuchBucket: The specified bucket does not exist. [code 10006]"
        " — lakebox bucket list shows the buckets",
    )  # fmt: skip


def test_get_head_range_and_conditionals(pub: LakeboxServer) -> None:
    base = f"{pub.public_url}/{enable(pub, 'site')['public_id']}"
    page = httpx.get(f"{base}/index.html")
    assert (page.status_code, page.content) == (200, b"<h1>hello</h1>")
    assert page.headers["content-type"] == "text/html"
    assert page.headers["cache-control"] == "max-age=60"
    assert page.headers["x-amz-meta-owner"] == "me"
    assert "content-range" not in page.headers  # only on partial responses (R2's changelog)
    etag = page.headers["etag"]

    head = httpx.head(f"{base}/index.html")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "14", b"")
    part = httpx.get(f"{base}/dir/a%20b%2Bc.txt", headers={"range": "bytes=2-4"})
    assert (part.status_code, part.content, part.headers["content-range"]) == (206, b"234", "bytes 2-4/10")
    assert httpx.get(f"{base}/index.html", headers={"if-none-match": etag}).status_code == 304
    assert httpx.get(f"{base}/index.html", headers={"if-match": '"nope"'}).status_code == 412
    bad_range = httpx.get(f"{base}/index.html", headers={"range": "bytes=100-200"})
    assert error_code(bad_range) == (416, "InvalidRange")


def test_by_host_with_the_public_domain(pub: LakeboxServer) -> None:
    public_id = enable(pub, "site")["public_id"]
    page = httpx.get(f"{pub.public_url}/index.html", headers={"host": f"{public_id}.pub.test"})
    assert (page.status_code, page.content) == (200, b"<h1>hello</h1>")
    listing = httpx.get(f"{pub.public_url}/", headers={"host": f"{public_id}.pub.test"})
    assert error_code(listing) == (404, "NoSuchKey")


def test_what_is_refused(pub: LakeboxServer) -> None:
    public_id = enable(pub, "site")["public_id"]
    base = f"{pub.public_url}/{public_id}"
    assert error_code(httpx.get(f"{base}/")) == (404, "NoSuchKey")  # no listing
    assert error_code(httpx.get(f"{base}")) == (404, "NoSuchKey")
    assert error_code(httpx.get(f"{base}/missing")) == (404, "NoSuchKey")
    assert "site" not in httpx.get(f"{base}/missing").text
    assert error_code(httpx.get(f"{pub.public_url}/site/index.html")) == (
        404,
        "NoSuchBucket",
    )  # names don't work
    assert error_code(httpx.get(f"{pub.public_url}/pub-{'0' * 32}/index.html")) == (404, "NoSuchBucket")
    assert error_code(httpx.get(f"{pub.public_url}/")) == (404, "NoSuchBucket")
    put = httpx.put(f"{base}/index.html", content=b"defaced")
    assert error_code(put) == (405, "MethodNotAllowed")
    assert error_code(httpx.delete(f"{base}/index.html")) == (405, "MethodNotAllowed")
    assert pub.s3().get_object(Bucket="site", Key="index.html")["Body"].read() == b"<h1>hello</h1>"


def test_recreated_bucket_gets_a_new_address(pub: LakeboxServer) -> None:
    s3 = pub.s3()
    s3.create_bucket(Bucket="again")
    s3.put_object(Bucket="again", Key="k", Body=b"first")
    first = enable(pub, "again")["public_id"]
    s3.delete_object(Bucket="again", Key="k")
    s3.delete_bucket(Bucket="again")
    s3.create_bucket(Bucket="again")
    s3.put_object(Bucket="again", Key="k", Body=b"second")
    got = json.loads(lakebox(pub, "bucket", "dev-url", "get", "again", "--json").stdout)
    assert got == {"bucket": "again", "enabled": False, "public_id": None, "url": None}
    assert error_code(httpx.get(f"{pub.public_url}/{first}/k")) == (404, "NoSuchBucket")
    second = enable(pub, "again")["public_id"]
    assert second != first
    assert httpx.get(f"{pub.public_url}/{second}/k").content == b"second"
    assert error_code(httpx.get(f"{pub.public_url}/{first}/k")) == (404, "NoSuchBucket")


def test_management_api_needs_a_valid_token(pub: LakeboxServer) -> None:
    path = "{account}/r2/buckets/site/domains/managed"
    assert cf(pub, "GET", path, token="nope").status_code == 401
    assert cf(pub, "GET", path).json()["result"]["bucketId"] == "site"


def test_public_port_in_settings(tmp_path: Path) -> None:
    from lakebox.settings import load_settings

    assert load_settings({}, {}).public_port == 9002
    assert load_settings({}, {"LAKEBOX_PUBLIC_PORT": "9102"}).public_port == 9102
    assert load_settings({"public_port": 9202}, {"LAKEBOX_PUBLIC_PORT": "9102"}).public_port == 9202
