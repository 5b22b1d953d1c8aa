"""Running the ``lakebox`` CLI as a subprocess, isolated from the user's own configuration: no LAKEBOX_*
variables but those given, and an empty XDG config dir unless one is given."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.server import LakeboxServer

_EMPTY_CONFIG = tempfile.mkdtemp(prefix="lakebox-cli-config-")


def run(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEBOX_")}
    clean["XDG_CONFIG_HOME"] = _EMPTY_CONFIG
    return subprocess.run(
        [sys.executable, "-m", "lakebox", *args], env={**clean, **(env or {})}, input=stdin,
        capture_output=True, timeout=timeout, check=False, cwd=cwd,
    )  # fmt: skip


def server_env(server: LakeboxServer, token: str | None = None) -> dict[str, str]:
    return {"LAKEBOX_CONSOLE_URL": server.console_url, "LAKEBOX_TOKEN": token or server.token}


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode().strip()
