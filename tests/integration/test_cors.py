"""Bucket CORS rules applied to browser traffic: preflights (OPTIONS, unauthenticated) and the CORS headers of
actual requests, including presigned URLs and public buckets; every refusal with the code a browser's request
gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import LakeboxServer, running

RULES = {
    "CORSRules": [
        {
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag", "x-amz-request-id"],
            "MaxAgeSeconds": 3600,
        },
        {"AllowedOrigins": ["http://*.example.org"], "AllowedMethods": ["GET", "HEAD"]},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
    ]
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    with running(tmp_path_factory.mktemp("lakebox-cors") / "data") as server:
        s3 = server.s3()
        s3.create_bucket(Bucket="web")
        s3.put_object(Bucket="web", Key="app.js", Body=b"console.log(1)")
        s3.put_bucket_cors(Bucket="web", CORSConfiguration=RULES)
        s3.create_bucket(Bucket="closed")
        s3.put_object(Bucket="closed", Key="x", Body=b"x")
        yield server


def error_code(resp: httpx.Response) -> tuple[int, str]:
    code = resp.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in resp.text else ""
    return resp.status_code, code


def preflight(url: str, origin: str | None, method: str | None, headers: str | None = None) -> httpx.Response:
    sent = {}
    if origin is not None:
        sent["Origin"] = origin
    if method is not None:
        sent["Access-Control-Request-Method"] = method
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return httpx.options(url, headers=sent)


def test_preflight_allowed(srv: LakeboxServer) -> None:
    url = f"{srv.s3_endpoint}/web/app.js"
    resp = preflight(url, "https://app.example.com", "PUT", "Content-Type, X-Amz-Meta-Owner")
    assert resp.status_code == 200
    h = resp.headers
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-methods"] == "GET, PUT"
    assert h["access-control-allow-headers"] == "Content-Type, X-Amz-Meta-Owner"
    assert h["access-control-max-age"] == "3600"
    assert h["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert h["access-control-allow-credentials"] == "true"
    assert "Origin" in h["vary"]
    wildcard = preflight(url, "http://shop.example.org", "GET")
    assert (wildcard.status_code, wildcard.headers["access-control-allow-origin"]) == (
        200,
        "http://shop.example.org",
    )
    anyone = preflight(url, "https://elsewhere.test", "HEAD")
    assert (anyone.status_code, anyone.headers["access-control-allow-origin"]) == (200, "*")
    assert "access-control-allow-credentials" not in anyone.headers
    bucket_level = preflight(f"{srv.s3_endpoint}/web", "https://app.example.com", "GET")
    assert bucket_level.status_code == 200


@pytest.mark.parametrize(
    ("origin", "method", "headers", "expected"),
    [
        ("https://evil.test", "GET", None, (403, "AccessForbidden")),
        ("https://app.example.com", "DELETE", None, (403, "AccessForbidden")),
        ("https://app.example.com", "PUT", "x-custom", (403, "AccessForbidden")),
        ("http://example.org", "GET", None, (403, "AccessForbidden")),  # *.example.org needs a subdomain
        ("https://APP.example.com", "GET", None, (403, "AccessForbidden")),  # origins match exactly
        (None, "GET", None, (400, "BadRequest")),
        ("https://app.example.com", None, None, (400, "BadRequest")),
    ],
)
def test_preflight_refused(
    srv: LakeboxServer, origin: str | None, method: str | None, headers: str | None, expected: tuple[int, str]
) -> None:
    resp = preflight(f"{srv.s3_endpoint}/web/app.js", origin, method, headers)
    assert error_code(resp) == expected
    assert "access-control-allow-origin" not in resp.headers


def test_preflight_without_configuration_or_bucket(srv: LakeboxServer) -> None:
    resp = preflight(f"{srv.s3_endpoint}/closed/x", "https://app.example.com", "GET")
    assert error_code(resp) == (403, "AccessForbidden")
    assert "not enabled" in resp.text
    assert error_code(preflight(f"{srv.s3_endpoint}/nope/x", "https://app.example.com", "GET")) == (
        404,
        "NoSuchBucket",
    )


def test_actual_requests_carry_cors_headers(srv: LakeboxServer) -> None:
    s3 = srv.s3()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "web", "Key": "app.js"}, ExpiresIn=60)
    got = httpx.get(url, headers={"Origin": "https://app.example.com"})
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == "https://app.example.com"
    assert got.headers["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert got.headers["vary"] == "Origin"
    plain = httpx.get(url)
    assert "access-control-allow-origin" not in plain.headers
    other = httpx.get(url, headers={"Origin": "https://evil.test"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "web", "Key": "upload.txt"}, ExpiresIn=60
    )
    put = httpx.put(put_url, content=b"from a browser", headers={"Origin": "https://app.example.com"})
    assert put.status_code == 200
    assert put.headers["access-control-allow-origin"] == "https://app.example.com"
    # errors carry them too, so the page can read the S3 error
    missing = s3.generate_presigned_url("get_object", Params={"Bucket": "web", "Key": "nope"}, ExpiresIn=60)
    gone = httpx.get(missing, headers={"Origin": "https://app.example.com"})
    assert error_code(gone) == (404, "NoSuchKey")
    assert gone.headers["access-control-allow-origin"] == "https://app.example.com"


def test_rules_change_takes_effect_at_once(srv: LakeboxServer) -> None:
    s3 = srv.s3()
    s3.create_bucket(Bucket="flip")
    url = f"{srv.s3_endpoint}/flip/k"
    assert error_code(preflight(url, "https://a.test", "GET")) == (403, "AccessForbidden")
    s3.put_bucket_cors(
        Bucket="flip",
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["https://a.test"], "AllowedMethods": ["GET"]}]},
    )
    assert preflight(url, "https://a.test", "GET").status_code == 200
    s3.delete_bucket_cors(Bucket="flip")
    assert error_code(preflight(url, "https://a.test", "GET")) == (403, "AccessForbidden")


def test_public_bucket_cors(srv: LakeboxServer) -> None:
    env = dict(os.environ, LAKEBOX_CONSOLE_URL=srv.console_url, LAKEBOX_TOKEN=srv.token)
    done = subprocess.run(
        [sys.executable, "-m", "lakebox", "bucket", "dev-url", "enable", "web", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    url = json.loads(done.stdout)["url"] + "/app.js"
    assert url.startswith(f"{srv.public_url}/")
    got = httpx.get(url, headers={"Origin": "http://cdn.example.org"})
    assert (got.status_code, got.headers["access-control-allow-origin"]) == (200, "http://cdn.example.org")
    assert preflight(url, "http://cdn.example.org", "GET").status_code == 200
    assert error_code(preflight(url, "https://evil.test", "GET")) == (403, "AccessForbidden")
    assert "web" not in preflight(url, "https://evil.test", "GET").text
