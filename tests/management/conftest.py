"""Fixtures for the Cloudflare API tests: a live lakebox, its account id, API tokens of each R2 permission, an
httpx client for ``/client/v4`` and the real wrangler (installed once into a cache dir by
``scripts/install-wrangler``)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.admin import token_policy
from tests.support.server import ROOT, LakeboxServer


@pytest.fixture(scope="module")
def account_id(server: LakeboxServer) -> str:
    value = server.root_credentials()["account_id"]
    assert isinstance(value, str)
    assert len(value) == 32
    return value


@pytest.fixture(scope="module")
def cf(server: LakeboxServer) -> Iterator[httpx.Client]:
    """The Cloudflare API of the server, as the root (Admin Read & Write) token."""
    with httpx.Client(
        base_url=f"{server.console_url}/client/v4",
        headers={"authorization": f"Bearer {server.token}"},
        timeout=60,
    ) as client:
        yield client


def make_token(cf: httpx.Client, permission: str, buckets: list[str] | None = None) -> dict[str, Any]:
    """An API token (id, ``token``) of one of R2's permissions, optionally limited to buckets."""
    account_id = cf.get("/accounts").json()["result"][0]["id"]
    response = cf.post("/user/tokens", json=token_policy(account_id, permission, buckets))
    assert response.status_code == 200, response.text
    created = response.json()["result"]
    return {"id": created["id"], "token": created["value"]}


@pytest.fixture(scope="session")
def wrangler_bin() -> str:
    out = subprocess.run(
        [str(ROOT / "scripts" / "install-wrangler")], capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, f"scripts/install-wrangler failed:\n{out.stderr}"
    return out.stdout.strip().splitlines()[-1]


@dataclass
class Wrangler:
    bin: str
    server: LakeboxServer
    account_id: str
    home: Path

    def run(
        self, *args: str, token: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "CLOUDFLARE_API_BASE_URL": f"{self.server.console_url}/client/v4",
            "CLOUDFLARE_API_TOKEN": token or self.server.token,
            "CLOUDFLARE_ACCOUNT_ID": self.account_id,
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_HIDE_BANNER": "true",
            "CI": "true",
            "NO_COLOR": "1",
            "WRANGLER_LOG_PATH": str(self.home / "logs"),
        }
        out = subprocess.run(
            [self.bin, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.home,
            timeout=180,
            check=False,
        )
        if check:
            assert out.returncode == 0, f"wrangler {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
        return out


@pytest.fixture(scope="module")
def wrangler(
    wrangler_bin: str, server: LakeboxServer, account_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Wrangler:
    return Wrangler(wrangler_bin, server, account_id, tmp_path_factory.mktemp("wrangler-home"))
