"""A small streaming S3 client for the CLI's ``object`` commands: SigV4 header signing with ``UNSIGNED-PAYLOAD``
(bodies are streamed, never hashed or held whole) over httpx, single requests and multipart uploads."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit
from xml.etree.ElementTree import Element, ParseError

from lakebox.client.errors import ApiError, CliError

if TYPE_CHECKING:
    import httpx

REGION = "auto"
UNSIGNED = "UNSIGNED-PAYLOAD"
SIGNED_HEADERS = ("host", "x-amz-content-sha256", "x-amz-date")
_STATUS_CODES = {403: "AccessDenied", 404: "NotFound", 412: "PreconditionFailed"}
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def canonical_path(bucket: str, key: str) -> str:
    """The path-style path as SigV4 signs it: each byte but unreserved ones and ``/`` percent-encoded."""
    return "/" + quote(bucket, safe="") + "/" + quote(key.encode(), safe="/")


def object_path(bucket: str, key: str) -> str:
    """The path as sent; every ``.`` is encoded too so that no URL library folds ``.``/``..`` segments."""
    return canonical_path(bucket, key).replace(".", "%2E")


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class S3Client:
    def __init__(self, endpoint: str, access_key_id: str, secret_access_key: str) -> None:
        import httpx  # here: ``lakebox --version`` starts without it

        self.endpoint = endpoint.rstrip("/")
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self._http = httpx.Client(
            timeout=httpx.Timeout(60, read=300), limits=httpx.Limits(max_connections=32)
        )

    @classmethod
    def for_token(cls, endpoint: str, token_id: str, token: str) -> S3Client:
        """An API token's own S3 credentials: its id, and the SHA-256 of its value (as on R2)."""
        return cls(endpoint, token_id, hashlib.sha256(token.encode()).hexdigest())

    def _signed(self, method: str, path: str, query: str, extra: dict[str, str]) -> dict[str, str]:
        now = datetime.now(UTC)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = {
            "host": urlsplit(self.endpoint).netloc,
            "x-amz-content-sha256": UNSIGNED,
            "x-amz-date": amz_date,
        }
        canonical = "\n".join(
            [
                method,
                path,
                query,
                "".join(f"{name}:{headers[name]}\n" for name in SIGNED_HEADERS),
                ";".join(SIGNED_HEADERS),
                UNSIGNED,
            ]
        )
        scope = f"{day}/{REGION}/s3/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = _hmac(
            _hmac(_hmac(_hmac(f"AWS4{self.secret_access_key}".encode(), day), REGION), "s3"), "aws4_request"
        )
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(SIGNED_HEADERS)}, Signature={signature}"
        )
        return {**headers, **extra}

    @contextmanager
    def request(
        self,
        method: str,
        bucket: str,
        key: str,
        headers: dict[str, str] | None = None,
        content: Iterable[bytes] | bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> Iterator[httpx.Response]:
        """Sends a signed request and yields the (unread, streaming) response; an error status raises
        :class:`ApiError` with the S3 error code."""
        import httpx

        path = object_path(bucket, key)
        query = _query(params or {})
        url = self.endpoint + path + (f"?{query}" if query else "")
        signed = self._signed(method, canonical_path(bucket, key), query, headers or {})
        try:
            with self._http.stream(method, url, headers=signed, content=content) as resp:
                if resp.status_code >= 300:
                    raise s3_error(resp.status_code, resp.read())
                yield resp
        except httpx.HTTPError as exc:
            raise CliError(
                f'cannot reach the S3 API at {self.endpoint} ({type(exc).__name__}) — is "lakebox serve" running? '
                "(set --s3-endpoint or LAKEBOX_S3_ENDPOINT)"
            ) from None

    def xml(self, method: str, bucket: str, key: str, params: dict[str, str], body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Element:  # fmt: skip
        """A request answered by an XML document; an ``<Error>`` document raises even with status 200 (as a
        CompleteMultipartUpload may answer)."""
        with self.request(method, bucket, key, headers, body, params) as resp:
            raw = resp.read()
        root = _parse(raw)
        if root is None or root.tag == "Error":
            raise s3_error(500, raw)
        return root


def _parse(raw: bytes) -> Element | None:
    from defusedxml.ElementTree import fromstring

    try:
        root: Element = fromstring(raw)
    except ParseError:
        return None
    for node in root.iter():
        node.tag = node.tag.removeprefix(_NS)
    return root


def s3_error(status: int, body: bytes) -> ApiError:
    root = _parse(body) if body else None
    if root is None or root.tag != "Error":
        code = _STATUS_CODES.get(status, str(status))
        return ApiError(code, status, code)
    code = root.findtext("Code") or str(status)
    message = root.findtext("Message") or ""
    return ApiError(f"{code}: {message}" if message else code, status, code)
