"""lakebox's former admin API ``/api/v1`` is retired: every route and method answers 410 with a JSON body that
points to the Cloudflare API at ``/client/v4``, and changes nothing (no token, no bucket, no audit entry). What it
did is done through ``/client/v4`` (tests/management) and the CLI."""

from __future__ import annotations

import httpx
import pytest

from lakebox.console import RETIRED_MESSAGE
from tests.support.admin import cf, client, create_token
from tests.support.server import LakeboxServer

FORMER_ROUTES = [
    ("GET", "/api/v1/whoami", None),
    ("GET", "/api/v1/tokens", None),
    ("POST", "/api/v1/tokens", {"permission": "admin-rw"}),
    ("GET", "/api/v1/tokens/some-id", None),
    ("DELETE", "/api/v1/tokens/some-id", None),
    ("POST", "/api/v1/temp-credentials", {"bucket": "gone-bucket", "permission": "object-read-only"}),
    ("GET", "/api/v1/buckets", None),
    ("POST", "/api/v1/buckets", {"name": "gone-bucket"}),
    ("DELETE", "/api/v1/buckets/gone-bucket", None),
    ("POST", "/api/v1/buckets/gone-bucket/catalog/enable", None),
    ("POST", "/api/v1/buckets/gone-bucket/public/enable", None),
    ("PUT", "/api/v1", b"x"),
]


@pytest.mark.parametrize(("method", "path", "body"), FORMER_ROUTES)
@pytest.mark.parametrize("authorized", [True, False])
def test_every_former_route_answers_410_pointing_to_client_v4(
    server: LakeboxServer, method: str, path: str, body: object, authorized: bool
) -> None:
    headers = {"authorization": f"Bearer {server.token}"} if authorized else {}
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = httpx.request(method, f"{server.console_url}{path}", headers=headers, timeout=30, **kwargs)
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "success": False,
        "errors": [{"code": 410, "message": RETIRED_MESSAGE}],
        "messages": [],
        "result": None,
        "error": {"code": "Gone", "message": RETIRED_MESSAGE},
    }
    assert "/client/v4" in RETIRED_MESSAGE


def test_head_has_no_body_and_nothing_changed(server: LakeboxServer, account_id: str) -> None:
    head = httpx.head(f"{server.console_url}/api/v1/tokens", timeout=30)
    assert (head.status_code, head.content) == (410, b"")
    before = cf(server, "GET", "/user/tokens").json()["result"]
    auth = {"authorization": f"Bearer {server.token}"}
    posted = httpx.post(f"{server.console_url}/api/v1/tokens", json={"permission": "admin-rw"}, headers=auth)
    assert posted.status_code == 410
    assert cf(server, "GET", "/user/tokens").json()["result"] == before
    buckets = cf(server, "GET", "{account}/r2/buckets").json()["result"]["buckets"]
    assert "gone-bucket" not in [b["name"] for b in buckets]
    audit = cf(server, "GET", "{account}/lakebox/audit").json()["result"]
    assert [e for e in audit if "/api/v1" in e["action"]] == []


def test_a_client_v4_token_works_for_s3(server: LakeboxServer, bucket: str) -> None:
    token = create_token(server, "object-rw", buckets=[bucket])
    c = client(server, token)
    c.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


@pytest.fixture(scope="module")
def account_id(server: LakeboxServer) -> str:
    return str(server.root_credentials()["account_id"])
