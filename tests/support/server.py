"""Starts a real ``lakebox serve`` on free ports for a test, on SQLite or on PostgreSQL (a fresh database each)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
LAKEBOX = [sys.executable, "-m", "lakebox"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_database() -> str | None:
    """A new empty database on the test PostgreSQL server (None when the suite runs on SQLite)."""
    if os.environ.get("LAKEBOX_TEST_BACKEND") != "postgres":
        return None
    import psycopg

    base = os.environ["LAKEBOX_TEST_DATABASE_URL"]
    name = "lb_" + secrets.token_hex(6)
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


@dataclass
class LakeboxServer:
    data_dir: Path
    workers: int = 1
    tls: tuple[Path, Path] | None = None
    domain: str | None = None
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    s3_port: int = field(default_factory=free_port)
    catalog_port: int = field(default_factory=free_port)
    console_port: int = field(default_factory=free_port)
    public_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    access_key_id: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def s3_endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.s3_port}"

    @property
    def catalog_uri(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.catalog_port}"

    @property
    def console_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.console_port}"

    @property
    def public_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.public_port}"

    @property
    def secret_access_key(self) -> str:
        import hashlib

        return hashlib.sha256(self.token.encode()).hexdigest()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            LAKEBOX_ROOT_TOKEN=self.token,
            LAKEBOX_ROOT_ACCESS_KEY_ID=self.access_key_id,
            LAKEBOX_LOG_LEVEL=os.environ.get("LAKEBOX_TEST_LOG_LEVEL", "warning"),
        )
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        cmd = [
            *LAKEBOX, "serve", "--data-dir", str(self.data_dir), "--workers", str(self.workers),
            "--s3-port", str(self.s3_port), "--catalog-port", str(self.catalog_port),
            "--console-port", str(self.console_port), "--public-port", str(self.public_port),
        ]  # fmt: skip
        if self.tls:
            cmd += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        if self.domain:
            cmd += ["--domain", self.domain]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return cmd

    def start(self, timeout: float = 30.0) -> LakeboxServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"lakebox exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.console_url}/health", verify=False, timeout=1).status_code == 200:  # noqa: S501
                    return
            time.sleep(0.05)
        raise TimeoutError(f"lakebox not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL the server and every worker it started."""
        assert self.process is not None
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(self.process.pid)
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            parent.kill()
        self.process.wait()

    def s3(self, **kwargs: Any) -> Any:
        """A boto3 S3 client with default settings (checksums included) for the root token."""
        config = kwargs.pop("config", None) or Config(retries={"max_attempts": 1, "mode": "standard"})
        return boto3.client(
            "s3",
            endpoint_url=kwargs.pop("endpoint_url", self.s3_endpoint),
            aws_access_key_id=kwargs.pop("aws_access_key_id", self.access_key_id),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", self.secret_access_key),
            region_name="auto",
            config=config,
            verify=kwargs.pop("verify", str(self.tls[0]) if self.tls else None),
            **kwargs,
        )

    def root_credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "root-credentials.json").read_text()))


@contextlib.contextmanager
def running(data_dir: Path, **kwargs: Any) -> Iterator[LakeboxServer]:
    kwargs.setdefault("database_url", postgres_database())
    server = LakeboxServer(data_dir, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
