"""R2's permission model on every management route: Admin Read & Write, Admin Read only, Object Read & Write and
Object Read only (for every bucket and for some buckets), an unknown token and no token; each with its exact
status and Cloudflare error code. A refused change changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.management.conftest import make_token
from tests.support.admin import create_token
from tests.support.server import LakeboxServer

PRINCIPALS = [
    "admin-rw",
    "admin-ro",
    "object-rw",
    "object-ro",
    "object-rw-scoped",
    "object-ro-scoped",
    "object-rw-elsewhere",
    "unknown-token",
    "anonymous",
]
ADMINS = {"admin-rw", "admin-ro"}
OBJECT_READERS = {"admin-rw", "admin-ro", "object-rw", "object-ro", "object-rw-scoped", "object-ro-scoped"}
OBJECT_WRITERS = {"admin-rw", "object-rw", "object-rw-scoped"}


@dataclass
class World:
    server: LakeboxServer
    account: str
    bucket: str  # has CORS rules, an enabled catalog and the object "obj"
    headers: dict[str, dict[str, str]]

    def fresh_token(self) -> str:
        token_id: str = create_token(self.server, "object-ro")["id"]
        return token_id

    def fresh_bucket(self) -> str:
        name = "perm-" + secrets.token_hex(5)
        self.server.s3().create_bucket(Bucket=name)
        return name

    def fresh_domain(self) -> tuple[str, str]:
        """A new bucket with a new custom domain: (bucket, domain)."""
        bucket, domain = self.fresh_bucket(), f"perm-{secrets.token_hex(5)}.example.com"
        added = httpx.post(
            f"{self.server.console_url}/client/v4{_acct(self)}/r2/buckets/{bucket}/domains/custom",
            json={"domain": domain, "zoneId": "z", "minTLS": "1.2", "enabled": True},
            headers={"authorization": f"Bearer {self.server.token}"},
            timeout=60,
        )
        assert added.status_code == 200, added.text
        return bucket, domain


@pytest.fixture(scope="module")
def world(server: LakeboxServer, cf: httpx.Client, account_id: str) -> World:
    bucket = "perm-main-" + secrets.token_hex(4)
    s3 = server.s3()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="obj", Body=b"content")
    s3.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    )
    assert cf.post(f"/accounts/{account_id}/r2-catalog/{bucket}/enable").status_code == 200
    domain = {"domain": f"{bucket}.example.com", "zoneId": "z", "enabled": True}
    assert (
        cf.post(f"/accounts/{account_id}/r2/buckets/{bucket}/domains/custom", json=domain).status_code == 200
    )

    def bearer(value: str) -> dict[str, str]:
        return {"authorization": f"Bearer {value}"}

    headers = {
        "admin-rw": bearer(server.token),
        "admin-ro": bearer(make_token(cf, "admin-ro")["token"]),
        "object-rw": bearer(make_token(cf, "object-rw")["token"]),
        "object-ro": bearer(make_token(cf, "object-ro")["token"]),
        "object-rw-scoped": bearer(make_token(cf, "object-rw", [bucket])["token"]),
        "object-ro-scoped": bearer(make_token(cf, "object-ro", [bucket])["token"]),
        "object-rw-elsewhere": bearer(make_token(cf, "object-rw", ["some-other-bucket"])["token"]),
        "unknown-token": bearer(secrets.token_urlsafe(30)),
        "anonymous": {},
    }
    return World(server, account_id, bucket, headers)


Request = Callable[[World], tuple[str, str, dict[str, Any]]]


def _acct(w: World) -> str:
    return f"/accounts/{w.account}"


def _b(w: World) -> str:
    return f"{_acct(w)}/r2/buckets/{w.bucket}"


ROUTES: dict[str, tuple[str, Request]] = {
    # name: (who may call it, request)
    "memberships": ("any", lambda w: ("GET", "/memberships", {})),
    "accounts": ("any", lambda w: ("GET", "/accounts", {})),
    "account": ("any", lambda w: ("GET", _acct(w), {})),
    "verify": ("any", lambda w: ("GET", "/user/tokens/verify", {})),
    "list-buckets": ("admin-read", lambda w: ("GET", f"{_acct(w)}/r2/buckets", {})),
    "get-bucket": ("admin-read", lambda w: ("GET", _b(w), {})),
    "get-cors": ("admin-read", lambda w: ("GET", f"{_b(w)}/cors", {})),
    "get-lifecycle": ("admin-read", lambda w: ("GET", f"{_b(w)}/lifecycle", {})),
    "get-lock": ("admin-read", lambda w: ("GET", f"{_b(w)}/lock", {})),
    "get-dev-url": ("admin-read", lambda w: ("GET", f"{_b(w)}/domains/managed", {})),
    "list-custom-domains": ("admin-read", lambda w: ("GET", f"{_b(w)}/domains/custom", {})),
    "get-custom-domain": (
        "admin-read",
        lambda w: ("GET", f"{_b(w)}/domains/custom/{w.bucket}.example.com", {}),
    ),
    "get-catalog": ("admin-read", lambda w: ("GET", f"{_acct(w)}/r2-catalog/{w.bucket}", {})),
    "create-bucket": (
        "admin-write",
        lambda w: ("POST", f"{_acct(w)}/r2/buckets", {"json": {"name": "perm-new-" + secrets.token_hex(5)}}),
    ),
    "update-bucket": (
        "admin-write",
        lambda w: (
            "PATCH",
            f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}",
            {"headers": {"cf-r2-storage-class": "Standard"}},
        ),
    ),
    "delete-bucket": ("admin-write", lambda w: ("DELETE", f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}", {})),
    "put-cors": (
        "admin-write",
        lambda w: (
            "PUT",
            f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}/cors",
            {"json": {"rules": [{"allowed": {"origins": ["*"], "methods": ["GET"]}}]}},
        ),
    ),
    "delete-cors": (
        "admin-write",
        lambda w: ("DELETE", f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}/cors", {}),
    ),
    "put-lifecycle": (
        "admin-write",
        lambda w: ("PUT", f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}/lifecycle", {"json": {"rules": []}}),
    ),
    "put-lock": (
        "admin-write",
        lambda w: (
            "PUT",
            f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}/lock",
            {"json": {"rules": [{"id": "keep", "enabled": True, "condition": {"type": "Indefinite"}}]}},
        ),
    ),
    "put-dev-url": (
        "admin-write",
        lambda w: (
            "PUT",
            f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}/domains/managed",
            {"json": {"enabled": True}},
        ),
    ),
    "add-custom-domain": (
        "admin-write",
        lambda w: (
            "POST",
            f"{_acct(w)}/r2/buckets/{w.fresh_bucket()}/domains/custom",
            {"json": {"domain": f"p-{secrets.token_hex(5)}.example.com", "zoneId": "z", "enabled": True}},
        ),
    ),
    "update-custom-domain": (
        "admin-write",
        lambda w: (
            "PUT",
            f"{_b(w)}/domains/custom/{w.bucket}.example.com",
            {"json": {"domain": f"{w.bucket}.example.com", "minTLS": "1.3"}},
        ),
    ),
    "remove-custom-domain": (
        "admin-write",
        lambda w: (
            "DELETE",
            "{}/r2/buckets/{}/domains/custom/{}".format(_acct(w), *w.fresh_domain()),
            {},
        ),
    ),
    "enable-catalog": (
        "admin-write",
        lambda w: ("POST", f"{_acct(w)}/r2-catalog/{w.fresh_bucket()}/enable", {}),
    ),
    "disable-catalog": ("admin-write", lambda w: ("POST", f"{_acct(w)}/r2-catalog/{w.bucket}/disable", {})),
    "create-token": (
        "admin-write",
        lambda w: (
            "POST",
            "/user/tokens",
            {
                "json": {
                    "name": "p",
                    "policies": [
                        {
                            "effect": "allow",
                            "resources": {f"com.cloudflare.api.account.{w.account}": "*"},
                            "permission_groups": [{"id": "b4992e1108244f5d8bfbd5744320c2e1"}],
                        }
                    ],
                }
            },
        ),
    ),
    "list-tokens": ("admin-write", lambda w: ("GET", "/user/tokens", {})),
    "get-token": ("admin-write", lambda w: ("GET", f"/user/tokens/{w.server.access_key_id}", {})),
    "revoke-token": ("admin-write", lambda w: ("DELETE", f"/user/tokens/{w.fresh_token()}", {})),
    "temp-credentials": (
        "admin-write",
        lambda w: (
            "POST",
            f"{_acct(w)}/r2/temp-access-credentials",
            {"json": {"bucket": w.bucket, "permission": "object-read-only", "ttlSeconds": 60}},
        ),
    ),
    "get-object": ("object-read", lambda w: ("GET", f"{_b(w)}/objects/obj", {})),
    "put-object": (
        "object-write",
        lambda w: ("PUT", f"{_b(w)}/objects/new-{secrets.token_hex(4)}", {"content": b"x"}),
    ),
    "delete-object": (
        "object-write",
        lambda w: ("DELETE", f"{_b(w)}/objects/missing-{secrets.token_hex(4)}", {}),
    ),
    "notifications (not built)": (
        "later",
        lambda w: ("GET", f"{_acct(w)}/event_notifications/r2/{w.bucket}/configuration", {}),
    ),
}


def expected(kind: str, who: str) -> tuple[int, int | None]:
    if who in ("anonymous", "unknown-token"):
        return 401, 10000
    allowed = {
        "any": True,
        "admin-read": who in ADMINS,
        "admin-write": who == "admin-rw",
        "object-read": who in OBJECT_READERS,
        "object-write": who in OBJECT_WRITERS,
        "later": True,
    }[kind]
    if not allowed:
        return 403, 10000
    return (501, 10042) if kind == "later" else (200, None)


@pytest.mark.parametrize("who", PRINCIPALS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_permission(world: World, route: str, who: str) -> None:
    kind, build = ROUTES[route]
    method, path, kwargs = build(world)
    url = f"{world.server.console_url}/client/v4{path}"
    headers = {**kwargs.pop("headers", {}), **world.headers[who]}
    response = httpx.request(method, url, headers=headers, timeout=60, **kwargs)
    status, code = expected(kind, who)
    assert response.status_code == status, (route, who, response.text)
    if route == "get-object" and status == 200:
        assert response.content == b"content"  # object bytes, not an envelope
        return
    body = response.json()
    assert body["success"] is (status == 200)
    if code is not None:
        assert body["errors"][0]["code"] == code
        assert body["result"] is None
    if route == "create-bucket" and status != 200:
        name = kwargs["json"]["name"]
        assert name not in [b["Name"] for b in world.server.s3().list_buckets()["Buckets"]]
    if route == "put-object" and status != 200:
        key = path.rsplit("/", 1)[1]
        assert "Contents" not in world.server.s3().list_objects_v2(Bucket=world.bucket, Prefix=key)
    if route == "disable-catalog" and status == 200:
        assert (
            httpx.post(
                f"{world.server.console_url}/client/v4{_acct(world)}/r2-catalog/{world.bucket}/enable",
                headers=world.headers["admin-rw"],
                timeout=60,
            ).status_code
            == 200
        )


def test_wrong_account_is_not_routed(world: World) -> None:
    url = f"{world.server.console_url}/client/v4/accounts/{'0' * 32}/r2/buckets"
    response = httpx.get(url, headers=world.headers["admin-rw"], timeout=60)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 7003
    anonymous = httpx.get(url, timeout=60)
    assert anonymous.status_code == 401
