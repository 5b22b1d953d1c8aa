"""A small streaming S3 client for the CLI's ``object`` commands: SigV4 header signing with ``UNSIGNED-PAYLOAD``
(the body is streamed, never hashed or held whole), over httpx. The canonicalisation is the server's own
(``auth.service.sigv4``), so client and server cannot disagree on a key's encoding."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit
from xml.etree.ElementTree import ParseError

import click
from defusedxml.ElementTree import fromstring

from auth.service import sigv4

if TYPE_CHECKING:
    import httpx

REGION = "auto"
SIGNED_HEADERS = ("host", "x-amz-content-sha256", "x-amz-date")
_STATUS_CODES = {403: "AccessDenied", 404: "NotFound", 412: "PreconditionFailed"}


class S3Error(click.ClickException):
    """An S3 error response, shown as ``Error: CODE: message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.status = status
        self.code = code


def object_path(bucket: str, key: str) -> str:
    """The path-style request path; every ``.`` is encoded so that no URL library folds ``.``/``..`` segments."""
    return "/" + quote(bucket, safe="") + "/" + quote(key.encode(), safe="/").replace(".", "%2E")


@dataclass(frozen=True)
class S3Client:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    verify: bool | str = True

    @classmethod
    def for_token(cls, endpoint: str, access_key_id: str, token: str) -> S3Client:
        return cls(endpoint.rstrip("/"), access_key_id, hashlib.sha256(token.encode()).hexdigest())

    def _headers(self, method: str, path: str, extra: dict[str, str]) -> dict[str, str]:
        now = datetime.now(UTC)
        amz_date, day = now.strftime(sigv4.AMZ_DATE_FORMAT), now.strftime("%Y%m%d")
        headers = {
            "host": urlsplit(self.endpoint).netloc,
            "x-amz-content-sha256": sigv4.UNSIGNED_PAYLOAD,
            "x-amz-date": amz_date,
        }
        canonical = sigv4.canonical_request(method, path, "", headers, SIGNED_HEADERS, sigv4.UNSIGNED_PAYLOAD)
        scope = f"{day}/{REGION}/{sigv4.SERVICE}/{sigv4.TERMINATOR}"
        key = sigv4.signing_key(self.secret_access_key, day, REGION, sigv4.SERVICE)
        sig = sigv4.signature(key, sigv4.string_to_sign(amz_date, scope, canonical))
        headers["authorization"] = (
            f"{sigv4.ALGORITHM} Credential={self.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(SIGNED_HEADERS)}, Signature={sig}"
        )
        return {**headers, **extra}

    @contextmanager
    def request(
        self,
        method: str,
        bucket: str,
        key: str,
        headers: dict[str, str] | None = None,
        content: Iterable[bytes] | None = None,
    ) -> Iterator[httpx.Response]:
        """Sends a signed request and yields the (unread, streaming) response; an error status raises
        :class:`S3Error` with the S3 error code."""
        import httpx  # here: the CLI starts faster without it

        path = object_path(bucket, key)
        signed = self._headers(method, path, headers or {})
        try:
            with (
                httpx.Client(verify=self.verify, timeout=httpx.Timeout(60, read=300)) as client,
                client.stream(method, self.endpoint + path, headers=signed, content=content) as resp,
            ):
                if resp.status_code >= 300:
                    raise _error(resp.status_code, resp.read())
                yield resp
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the S3 API at {self.endpoint}: {exc}") from None


def _error(status: int, body: bytes) -> S3Error:
    try:
        root = fromstring(body) if body else None
    except ParseError:
        root = None
    if root is None or root.tag != "Error":
        return S3Error(status, _STATUS_CODES.get(status, str(status)), "")
    return S3Error(status, root.findtext("Code") or str(status), root.findtext("Message") or "")
