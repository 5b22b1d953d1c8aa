"""A client of the server's Cloudflare v4 API (``/client/v4`` on the console port): the envelope unwrapped, its
errors turned into one line that says what to do next."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lakebox.client.config import Target
from lakebox.client.errors import ApiError, CliError

if TYPE_CHECKING:
    import httpx

MOUNT = "/client/v4"
TIMEOUT = 60.0

# Cloudflare's error codes as names a user can search for, and the next step for the common ones.
CODE_NAMES = {
    10000: "AuthenticationError",
    10003: "AccessDenied",
    10004: "BucketAlreadyOwnedByYou",
    10005: "InvalidBucketName",
    10006: "NoSuchBucket",
    10007: "NoSuchKey",
    10008: "BucketNotEmpty",
    10073: "BucketAlreadyExists",
    10061: "NoSuchCustomDomain",
    10062: "CustomDomainInUse",
    1003: "NoSuchToken",
    10090: "NoSuchMigration",
    10091: "MigrationEnded",
}
NEXT_STEP = {
    10000: "check --token/LAKEBOX_TOKEN, or run lakebox login",
    10003: "the token lacks this permission; use an Admin Read & Write token",
    10006: "lakebox bucket list shows the buckets",
    10008: "delete its objects first",
    1003: "lakebox token list shows the tokens",
    10090: "lakebox migrate list shows the migrations",
    10061: "lakebox bucket domain list <bucket> shows the bucket's domains",
    10062: "remove it from the bucket that has it first",
}


def unreachable(url: str, exc: Exception) -> CliError:
    return CliError(
        f'cannot reach {url} ({type(exc).__name__}) — is "lakebox serve" running? '
        "(set --console-url or LAKEBOX_CONSOLE_URL)"
    )


class Api:
    def __init__(self, target: Target, jurisdiction: str | None = None) -> None:
        """``jurisdiction`` goes to every call as ``cf-r2-jurisdiction`` (wrangler's ``-J``)."""
        import httpx  # here, not at module level: ``lakebox --version`` starts without it

        self.target = target
        headers = {"authorization": f"Bearer {target.token}"}
        if jurisdiction:
            headers["cf-r2-jurisdiction"] = jurisdiction
        self._http = httpx.Client(base_url=target.console_url + MOUNT, headers=headers, timeout=TIMEOUT)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **params: Any
    ) -> Any:
        """The ``result`` of a v4 call; an error envelope raises :class:`ApiError`."""
        return self.call_full(method, path, body, headers, **params)[0]

    def call_full(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **params: Any
    ) -> tuple[Any, Any]:
        """The ``result`` and ``result_info`` of a v4 call."""
        import httpx

        try:
            resp = self._http.request(
                method,
                path,
                json=body,
                headers=headers,
                params={k: v for k, v in params.items() if v is not None},
            )
        except httpx.HTTPError as exc:
            raise unreachable(self.target.console_url, exc) from None
        return _unwrap(resp)

    @functools.cached_property
    def account_id(self) -> str:
        if self.target.account_id:
            return self.target.account_id
        accounts = self.call("GET", "/accounts")
        if not accounts:
            raise CliError(f"{self.target.console_url} lists no account — is it a lakebox server?")
        return str(accounts[0]["id"])

    def account(self, path: str) -> str:
        return f"/accounts/{self.account_id}{path}"

    def bucket(self, name: str, path: str = "") -> str:
        return self.account(f"/r2/buckets/{quote(name, safe='')}{path}")

    @functools.cached_property
    def s3_endpoint(self) -> str:
        """The S3 API's URL: ``--s3-endpoint``/``LAKEBOX_S3_ENDPOINT``, the config, or the server's ``/health``."""
        if self.target.s3_endpoint:
            return self.target.s3_endpoint.rstrip("/")
        found = self.server_info.get("s3_endpoint")
        if not isinstance(found, str) or not found:
            raise CliError(
                "the server does not name its S3 endpoint — set --s3-endpoint or LAKEBOX_S3_ENDPOINT"
            )
        return found.rstrip("/")

    @functools.cached_property
    def server_info(self) -> dict[str, Any]:
        """The console's ``/health``: its S3 endpoint and catalog URI (public facts, no token needed)."""
        import httpx

        try:
            found = httpx.get(self.target.console_url + "/health", timeout=TIMEOUT).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise unreachable(self.target.console_url, exc) from None
        return found if isinstance(found, dict) else {}


def _unwrap(resp: httpx.Response) -> tuple[Any, Any]:
    try:
        payload = resp.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "success" not in payload:
        raise ApiError(
            f"{resp.request.url} answered HTTP {resp.status_code} without a Cloudflare API envelope "
            "— is the console URL a lakebox server's?",
            resp.status_code,
            resp.status_code,
        )
    if not payload["success"] or resp.status_code >= 400:
        errors = payload.get("errors") or [{"code": resp.status_code, "message": resp.reason_phrase}]
        first = errors[0]
        code = first.get("code", resp.status_code)
        name = CODE_NAMES.get(code)
        message = f"{name}: {first.get('message')}" if name else str(first.get("message"))
        message += f" [code {code}]"
        if code in NEXT_STEP:
            message += f" — {NEXT_STEP[code]}"
        raise ApiError(message, resp.status_code, code)
    return payload.get("result"), payload.get("result_info")
