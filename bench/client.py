"""A small, fast S3 client for the benchmark: aiohttp with keep-alive plus a minimal SigV4 signer.

boto3 spends around a millisecond of client CPU per request, which on a small machine caps the measured rate far
below what a fast server can do. This client signs with a signing key computed once per day and a canonical
request assembled from known pieces (``host;x-amz-content-sha256;x-amz-date`` signed, ``UNSIGNED-PAYLOAD`` for
every body), so a request costs tens of microseconds of signing. Keys used by the benchmark are plain ASCII
(letters, digits, ``/``, ``-``, ``_``, ``.``), which need no percent-encoding in the path.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from yarl import URL

UNSIGNED = "UNSIGNED-PAYLOAD"
SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"
_SAFE_KEY = re.compile(r"[A-Za-z0-9/._-]*")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode(), "sha256")


class Signer:
    """SigV4 (header form) for one access key, region and host."""

    def __init__(self, access_key_id: str, secret_access_key: str, region: str, host: str) -> None:
        self.access_key_id = access_key_id
        self.secret = secret_access_key
        self.region = region
        self.host = host
        self._day = ""
        self._key = b""
        self._scope = ""
        self._stamp_second = -1
        self._stamp = ""

    def _amz_date(self) -> str:
        now = int(time.time())
        if now != self._stamp_second:
            self._stamp_second = now
            self._stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        return self._stamp

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            key = _hmac(("AWS4" + self.secret).encode(), day)
            for part in (self.region, "s3", "aws4_request"):
                key = _hmac(key, part)
            self._day, self._key = day, key
            self._scope = f"{day}/{self.region}/s3/aws4_request"
        return self._key

    def headers(self, method: str, path: str, canonical_query: str) -> dict[str, str]:
        """The auth headers for a request; ``path`` is already URI-encoded, ``canonical_query`` sorted."""
        amz_date = self._amz_date()
        key = self._signing_key(amz_date[:8])
        creq = (
            f"{method}\n{path}\n{canonical_query}\nhost:{self.host}\nx-amz-content-sha256:{UNSIGNED}\n"
            f"x-amz-date:{amz_date}\n\n{SIGNED_HEADERS}\n{UNSIGNED}"
        )
        sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{self._scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
        sig = hmac.digest(key, sts.encode(), "sha256").hex()
        return {
            "x-amz-date": amz_date,
            "x-amz-content-sha256": UNSIGNED,
            "authorization": (
                f"AWS4-HMAC-SHA256 Credential={self.access_key_id}/{self._scope}, "
                f"SignedHeaders={SIGNED_HEADERS}, Signature={sig}"
            ),
        }


def canonical_query(params: dict[str, str] | None) -> str:
    if not params:
        return ""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(params.items()))


@dataclass(slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes
    length: int  # bytes received (equals len(body) unless the body was drained without keeping it)


class S3Client:
    """One aiohttp session (keep-alive, a connection per concurrent request) signing every request."""

    def __init__(self, endpoint: str, access_key_id: str, secret_access_key: str, region: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        url = URL(self.endpoint)
        host = f"{url.host}:{url.port}" if url.port and not url.is_default_port() else str(url.host)
        self.signer = Signer(access_key_id, secret_access_key, region, host)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> S3Client:
        connector = aiohttp.TCPConnector(limit=0, force_close=False, keepalive_timeout=60, ttl_dns_cache=None)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=600),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def request(
        self,
        method: str,
        bucket: str,
        key: str = "",
        params: dict[str, str] | None = None,
        body: bytes | memoryview | None = None,
        *,
        sink: Callable[[int, bytes], None] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Reply:
        """One signed request. With ``sink`` the body is streamed to ``sink(offset, chunk)``, not kept."""
        assert self.session is not None
        if not _SAFE_KEY.fullmatch(key):
            raise ValueError(f"benchmark keys must not need percent-encoding: {key!r}")
        path = f"/{bucket}/{key}" if key else f"/{bucket}"
        cq = canonical_query(params)
        headers = self.signer.headers(method, path, cq)
        if extra_headers:
            headers.update(extra_headers)
        if body is not None:
            headers["content-length"] = str(len(body))
        elif method in ("PUT", "POST"):
            headers["content-length"] = "0"
        url = URL(f"{self.endpoint}{path}?{cq}" if cq else f"{self.endpoint}{path}", encoded=True)
        async with self.session.request(method, url, headers=headers, data=body) as resp:
            if sink is None:
                data = await resp.read()
                length = len(data)
            else:
                data = b""
                length = 0
                async for chunk in resp.content.iter_any():
                    sink(length, chunk)
                    length += len(chunk)
            return Reply(resp.status, resp.headers, data, length)
