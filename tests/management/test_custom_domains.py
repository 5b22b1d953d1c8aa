"""Custom domains: real wrangler 4.86 ``r2 bucket domain add/list/get/update/remove`` against a live lakebox, the
effect seen by fetching objects over the public port with the domain as Host; bad input, conflicts and the audit."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.management.conftest import Wrangler, make_token
from tests.support.server import LakeboxServer


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _public(server: LakeboxServer, host: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.public_url}{path}", headers={"host": host, **headers}, timeout=30)


def _error(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["success"] is False
    assert body["result"] is None
    return response.status_code, body["errors"][0]["code"], body["errors"][0]["message"]


def _bucket_with_object(server: LakeboxServer, prefix: str) -> str:
    name = _name(prefix)
    s3 = server.s3()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="img/cat.txt", Body=b"0123456789", ContentType="text/plain")
    return name


def test_wrangler_domain_add_list_get_update_remove(wrangler: Wrangler, server: LakeboxServer) -> None:
    bucket = _bucket_with_object(server, "wr-dom")
    domain = f"{bucket}.images.example.com"
    assert _public(server, domain, "/img/cat.txt").status_code == 404  # not connected yet

    wrangler.run(
        "r2", "bucket", "domain", "add", bucket, "--domain", domain, "--zone-id", "zone-1", "--min-tls", "1.2",
        "--force",
    )  # fmt: skip
    served = _public(server, domain, "/img/cat.txt")
    assert (served.status_code, served.content) == (200, b"0123456789")
    assert served.headers["content-type"] == "text/plain"
    ranged = _public(server, domain, "/img/cat.txt", range="bytes=2-4")
    assert (ranged.status_code, ranged.content) == (206, b"234")
    etag = served.headers["etag"]
    assert (
        _public(server, domain.upper() + ":443", "/img/cat.txt", **{"if-none-match": etag}).status_code == 304
    )
    assert (
        httpx.head(f"{server.public_url}/img/cat.txt", headers={"host": domain}, timeout=30).status_code
        == 200
    )
    assert _public(server, domain, "/img/missing.txt").status_code == 404

    listed = wrangler.run("r2", "bucket", "domain", "list", bucket).stdout
    assert domain in listed
    assert "zone-1" in listed
    assert "1.2" in listed
    assert "active" in listed
    got = wrangler.run("r2", "bucket", "domain", "get", bucket, "--domain", domain).stdout
    assert domain in got
    assert "1.2" in got

    wrangler.run("r2", "bucket", "domain", "update", bucket, "--domain", domain, "--min-tls", "1.3")
    assert "1.3" in wrangler.run("r2", "bucket", "domain", "get", bucket, "--domain", domain).stdout

    wrangler.run("r2", "bucket", "domain", "remove", bucket, "--domain", domain, "--force")
    assert _public(server, domain, "/img/cat.txt").status_code == 404
    assert domain not in wrangler.run("r2", "bucket", "domain", "list", bucket).stdout


def test_api_fields_conflicts_and_disabled_domain(
    cf: httpx.Client, account_id: str, server: LakeboxServer
) -> None:
    bucket, other = _bucket_with_object(server, "cd-a"), _bucket_with_object(server, "cd-b")
    base = f"/accounts/{account_id}/r2/buckets"
    domain = f"{bucket}.example.com"
    body = {"domain": domain, "zoneId": "z1", "minTLS": "1.1", "enabled": True}
    added = cf.post(f"{base}/{bucket}/domains/custom", json=body)
    assert added.status_code == 200, added.text
    shape: dict[str, Any] = {
        "domain": domain,
        "enabled": True,
        "status": {"ownership": "active", "ssl": "active"},
        "minTLS": "1.1",
        "zoneId": "z1",
        "zoneName": "example.com",
    }
    assert added.json()["result"] == shape
    assert cf.get(f"{base}/{bucket}/domains/custom").json()["result"] == {"domains": [shape]}
    assert cf.get(f"{base}/{bucket}/domains/custom/{domain}").json()["result"] == shape

    # One bucket per name across the installation; the same bucket twice is a conflict too.
    taken = _error(cf.post(f"{base}/{other}/domains/custom", json=body))
    assert taken == (409, 10062, f"The domain {domain} is already connected to another bucket.")
    assert _error(cf.post(f"{base}/{bucket}/domains/custom", json=body))[:2] == (409, 10062)
    assert cf.get(f"{base}/{other}/domains/custom").json()["result"] == {"domains": []}
    # Another bucket cannot read, change or remove it.
    missing = (404, 10061, "The custom domain does not exist on this bucket.")
    assert _error(cf.get(f"{base}/{other}/domains/custom/{domain}")) == missing
    assert _error(cf.put(f"{base}/{other}/domains/custom/{domain}", json={"minTLS": "1.3"})) == missing
    assert _error(cf.delete(f"{base}/{other}/domains/custom/{domain}")) == missing
    assert _error(cf.get(f"{base}/{bucket}/domains/custom/nope.example.com")) == missing
    assert _error(cf.get(f"{base}/no-such-bucket-x/domains/custom"))[:2] == (404, 10006)
    assert _error(
        cf.post(f"{base}/no-such-bucket-x/domains/custom", json=body | {"domain": "n.example.com"})
    )[:2] == (404, 10006)

    # Disabled: the public port answers as for an unknown bucket; enabled again: served.
    unknown = _public(server, "nobody.example.com", "/img/cat.txt")
    disabled = cf.put(f"{base}/{bucket}/domains/custom/{domain}", json={"domain": domain, "enabled": False})
    assert disabled.json()["result"]["enabled"] is False
    hidden = _public(server, domain, "/img/cat.txt")
    assert (hidden.status_code, hidden.content.replace(hidden.headers["x-amz-request-id"].encode(), b"")) == (
        unknown.status_code,
        unknown.content.replace(unknown.headers["x-amz-request-id"].encode(), b""),
    )
    assert b"NoSuchBucket" in hidden.content
    assert bucket.encode() not in hidden.content
    cf.put(f"{base}/{bucket}/domains/custom/{domain}", json={"domain": domain, "enabled": True})
    assert _public(server, domain, "/img/cat.txt").content == b"0123456789"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"zoneId": "z"}, "The domain is missing."),
        ({"domain": "Images.Example.com"}, "'Images.Example.com' is not a valid domain name (lowercase hostname, no port)."),
        ({"domain": "images.example.com:8080"}, "'images.example.com:8080' is not a valid domain name (lowercase hostname, no port)."),
        ({"domain": "localhost"}, "'localhost' is not a valid domain name (lowercase hostname, no port)."),
        ({"domain": "-a.example.com"}, "'-a.example.com' is not a valid domain name (lowercase hostname, no port)."),
        ({"domain": "*.example.com"}, "'*.example.com' is not a valid domain name (lowercase hostname, no port)."),
        ({"domain": "10.0.0.1"}, "'10.0.0.1' is not a valid domain name (lowercase hostname, no port)."),
        ({"domain": ("a" * 63 + ".") * 4 + "com"}, None),
        ({"domain": "ok.example.com", "minTLS": "1.4"}, "minTLS must be one of 1.0, 1.1, 1.2, 1.3."),
        ({"domain": "ok.example.com", "minTLS": 1.2}, "minTLS must be one of 1.0, 1.1, 1.2, 1.3."),
        ({"domain": "ok.example.com", "enabled": "yes"}, "enabled must be true or false."),
        ({"domain": "ok.example.com", "zoneId": 7}, "zoneId must be a string of at most 64 characters."),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_is_added(
    cf: httpx.Client, account_id: str, server: LakeboxServer, body: dict[str, Any], message: str | None
) -> None:
    bucket = _name("cd-bad")
    server.s3().create_bucket(Bucket=bucket)
    url = f"/accounts/{account_id}/r2/buckets/{bucket}/domains/custom"
    status, code, text = _error(cf.post(url, json=body))
    assert (status, code) == (400, 10040)
    if message is not None:
        assert text == message
    assert cf.get(url).json()["result"] == {"domains": []}


def test_bad_update_and_body_leave_the_domain_unchanged(
    cf: httpx.Client, account_id: str, server: LakeboxServer
) -> None:
    bucket = _name("cd-upd")
    server.s3().create_bucket(Bucket=bucket)
    domain = f"{bucket}.example.com"
    url = f"/accounts/{account_id}/r2/buckets/{bucket}/domains/custom"
    assert cf.post(url, json={"domain": domain, "minTLS": "1.2"}).status_code == 200
    one = f"{url}/{domain}"
    assert _error(cf.put(one, json={"domain": domain, "minTLS": "TLSv1.3"})) == (
        400, 10040, "minTLS must be one of 1.0, 1.1, 1.2, 1.3.",
    )  # fmt: skip
    assert _error(cf.put(one, json={"domain": "other.example.com", "minTLS": "1.3"})) == (
        400, 10040, "The body's domain differs from the domain in the path",
    )  # fmt: skip
    assert _error(cf.put(one, json=["1.3"])) == (400, 10040, "The body must be a JSON object")
    assert _error(cf.post(url, content=b"{not json"))[:2] == (400, 10040)
    assert cf.get(one).json()["result"]["minTLS"] == "1.2"


def test_deleting_the_bucket_removes_its_domains(
    cf: httpx.Client, account_id: str, server: LakeboxServer
) -> None:
    bucket = _name("cd-del")
    server.s3().create_bucket(Bucket=bucket)
    domain = f"{bucket}.example.com"
    base = f"/accounts/{account_id}/r2/buckets"
    assert cf.post(f"{base}/{bucket}/domains/custom", json={"domain": domain}).status_code == 200
    assert cf.delete(f"{base}/{bucket}").status_code == 200
    server.s3().create_bucket(Bucket=bucket)  # the same name again inherits nothing
    assert cf.get(f"{base}/{bucket}/domains/custom").json()["result"] == {"domains": []}
    other = _bucket_with_object(server, "cd-next")
    assert (
        cf.post(f"{base}/{other}/domains/custom", json={"domain": domain}).status_code == 200
    )  # name is free
    assert _public(server, domain, "/img/cat.txt").content == b"0123456789"


def test_admin_read_reads_and_cannot_change(cf: httpx.Client, account_id: str, server: LakeboxServer) -> None:
    bucket = _name("cd-ro")
    server.s3().create_bucket(Bucket=bucket)
    domain = f"{bucket}.example.com"
    url = f"/accounts/{account_id}/r2/buckets/{bucket}/domains/custom"
    assert cf.post(url, json={"domain": domain}).status_code == 200
    reader = {"authorization": f"Bearer {make_token(cf, 'admin-ro')['token']}"}
    assert cf.get(url, headers=reader).json()["result"]["domains"][0]["domain"] == domain
    assert _error(cf.put(f"{url}/{domain}", json={"minTLS": "1.3"}, headers=reader))[:2] == (403, 10000)
    assert _error(cf.delete(f"{url}/{domain}", headers=reader))[:2] == (403, 10000)
    assert _error(cf.post(url, json={"domain": "x." + domain}, headers=reader))[:2] == (403, 10000)
    assert cf.get(f"{url}/{domain}").json()["result"]["minTLS"] == "1.0"


def test_audit_shows_each_change(cf: httpx.Client, account_id: str, server: LakeboxServer) -> None:
    started = time.time() - 1
    bucket = _name("cd-audit")
    server.s3().create_bucket(Bucket=bucket)
    domain = f"{bucket}.example.com"
    url = f"/accounts/{account_id}/r2/buckets/{bucket}/domains/custom"
    cf.post(url, json={"domain": domain, "zoneId": "z"})
    cf.put(f"{url}/{domain}", json={"domain": domain, "minTLS": "1.3"})
    cf.post(url, json={"domain": domain})  # a refused change is recorded as one
    cf.delete(f"{url}/{domain}")
    entries = cf.get(f"/accounts/{account_id}/lakebox/audit", params={"since": started}).json()["result"]
    found = [
        (e["action"], e["actor"], e["target"], e["outcome"], e["error_code"])
        for e in entries
        if e["target"].startswith(bucket) and "domains" in e["action"]
    ]
    path = f"/client/v4{url}"
    root = server.access_key_id
    target = f"{bucket}/{domain}"
    assert found == [
        (f"POST {path}", root, bucket, "success", ""),
        (f"PUT {path}/{domain}", root, target, "success", ""),
        (f"POST {path}", root, bucket, "failure", "10062"),
        (f"DELETE {path}/{domain}", root, target, "success", ""),
    ]


def test_cors_as_on_the_dev_url(cf: httpx.Client, account_id: str, server: LakeboxServer) -> None:
    bucket = _bucket_with_object(server, "cd-cors")
    rules = [{"AllowedOrigins": ["http://app.example.org"], "AllowedMethods": ["GET"]}]
    server.s3().put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    domain = f"{bucket}.example.com"
    url = f"/accounts/{account_id}/r2/buckets/{bucket}/domains/custom"
    assert cf.post(url, json={"domain": domain}).status_code == 200
    origin = "http://app.example.org"
    got = _public(server, domain, "/img/cat.txt", origin=origin)
    assert (got.status_code, got.headers["access-control-allow-origin"]) == (200, origin)

    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            f"{server.public_url}/img/cat.txt",
            headers={"host": domain, "origin": origin, "access-control-request-method": "GET"},
            timeout=30,
        )

    assert preflight(origin).status_code == 200
    refused = preflight("https://evil.test")
    assert refused.status_code == 403
    assert b"AccessForbidden" in refused.content
    assert bucket.encode() not in refused.content


def test_concurrent_adds_of_one_name_connect_it_once(
    cf: httpx.Client, account_id: str, server: LakeboxServer
) -> None:
    buckets = [_name("cd-race") for _ in range(6)]
    for bucket in buckets:
        server.s3().create_bucket(Bucket=bucket)
    domain = f"race-{secrets.token_hex(4)}.example.com"
    base = f"/accounts/{account_id}/r2/buckets"

    def add(bucket: str) -> int:
        return cf.post(f"{base}/{bucket}/domains/custom", json={"domain": domain}).status_code

    with ThreadPoolExecutor(len(buckets)) as pool:
        statuses = list(pool.map(add, buckets))
    assert sorted(statuses) == [200] + [409] * (len(buckets) - 1)
    holders = [b for b in buckets if cf.get(f"{base}/{b}/domains/custom").json()["result"]["domains"]]
    assert holders == [buckets[statuses.index(200)]]
