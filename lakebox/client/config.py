"""Where the CLI finds its server and token, first found wins:

1. ``--console-url``/``LAKEBOX_CONSOLE_URL`` and ``--token``/``LAKEBOX_TOKEN``;
2. the user config file ``$XDG_CONFIG_HOME/lakebox/config.toml`` (default ``~/.config``), written by
   ``lakebox login``;
3. the root credentials of a local server's data dir (``--data-dir``/``LAKEBOX_DATA_DIR``, default ``./data``).

A token is taken from a source only together with that source's console URL (or for the URL already chosen),
so a token is never sent to a server it was not made for.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakebox.client.errors import CliError

ROOT_CREDENTIALS = (
    "root-credentials.json"  # the server's file name (lakebox.bootstrap), not imported: no server
)
CONFIG_KEYS = ("console_url", "token", "account_id", "s3_endpoint")


@dataclass(frozen=True)
class Target:
    console_url: str
    token: str
    account_id: str | None = None
    s3_endpoint: str | None = None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lakebox" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc} (fix it or run lakebox login again)") from None
    return {k: v for k, v in data.items() if k in CONFIG_KEYS and isinstance(v, str)}


def write_config(path: Path, values: dict[str, str]) -> None:
    """Writes the file with mode 0600 from the start (it holds a token), replacing it atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in values.items() if v
    )  # JSON strings are TOML strings
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body)
    os.replace(tmp, path)


def _root_credentials(data_dir: Path) -> dict[str, str]:
    path = data_dir / ROOT_CREDENTIALS
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    return (
        {k: v for k, v in data.items() if k in CONFIG_KEYS and isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


def resolve(console_url: str | None, token: str | None, data_dir: Path | None) -> Target:
    chosen: dict[str, str] = {}
    if console_url:
        chosen["console_url"] = console_url.rstrip("/")
    if token:
        chosen["token"] = token
    sources: list[Callable[[], dict[str, str]]] = [
        lambda: read_config(config_path()),
        lambda: _root_credentials(data_dir or Path("data")),
    ]
    for source in sources:
        if "console_url" in chosen and "token" in chosen:
            break
        found = source()
        url = found.get("console_url", "").rstrip("/")
        if not url or chosen.setdefault("console_url", url) != url:
            continue
        for key in ("token", "account_id", "s3_endpoint"):
            if key in found:
                chosen.setdefault(key, found[key])
    if "console_url" not in chosen:
        raise CliError(
            "no lakebox server configured — set --console-url or LAKEBOX_CONSOLE_URL, run lakebox login, "
            "or give --data-dir/LAKEBOX_DATA_DIR of a local server"
        )
    if "token" not in chosen:
        raise CliError(
            f"no token for {chosen['console_url']} — set --token or LAKEBOX_TOKEN, or run lakebox login"
        )
    return Target(chosen["console_url"], chosen["token"], chosen.get("account_id"), chosen.get("s3_endpoint"))
