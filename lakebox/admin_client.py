"""What the CLI's admin commands share: finding the admin API (URL and token) and calling it.

The console URL and the token come from ``--console-url``/``LAKEBOX_CONSOLE_URL`` and ``--token``/
``LAKEBOX_TOKEN``, each falling back to the root credentials file in ``--data-dir``/``LAKEBOX_DATA_DIR``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

API_PATH = "/api/v1"
_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    """Seconds from ``900``, ``90s``, ``15m``, ``12h``, ``30d`` or ``2w``."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration like 900, 15m, 12h, 30d or 2w")
    return int(match.group(1)) * _UNITS[match.group(2)]


class AdminError(click.ClickException):
    """An error answered by the admin API (or no answer), shown as ``Error: CODE: message``."""


@dataclass(frozen=True)
class AdminClient:
    console_url: str
    token: str
    verify: bool | str = True

    @classmethod
    def resolve(cls, console_url: str | None, token: str | None, data_dir: Path | None) -> AdminClient:
        if console_url is None or token is None:
            from lakebox.bootstrap import ROOT_CREDENTIALS

            path = (data_dir or Path("data")) / ROOT_CREDENTIALS
            try:
                creds = json.loads(path.read_text())
            except (OSError, ValueError):
                missing = (
                    "--console-url/LAKEBOX_CONSOLE_URL" if console_url is None else "--token/LAKEBOX_TOKEN"
                )
                raise click.UsageError(
                    f"give {missing}, or --data-dir/LAKEBOX_DATA_DIR of the server"
                ) from None
            console_url = console_url or creds.get("console_url")
            token = token or creds.get("token")
            if not console_url or not token:
                raise click.UsageError(f"{path} lacks console_url or token")
        return cls(console_url.rstrip("/"), token)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        import httpx  # here: the CLI starts faster without it

        try:
            resp = httpx.request(
                method,
                f"{self.console_url}{API_PATH}{path}",
                json=body,
                params={k: v for k, v in params.items() if v is not None},
                headers={"authorization": f"Bearer {self.token}"},
                timeout=30,
                verify=self.verify,
            )
        except httpx.HTTPError as exc:
            raise AdminError(f"cannot reach the admin API at {self.console_url}: {exc}") from None
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        if resp.status_code >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            code = error.get("code", str(resp.status_code))
            raise AdminError(f"{code}: {error.get('message', resp.text[:200])}")
        return payload
