"""AWS Signature Version 4 for S3: parsing, canonicalisation, signing and the checks S3 makes.

Pure functions over strings and bytes, no HTTP framework. The S3 edge calls :func:`parse_signed_request`,
looks the access key up, then :func:`verify_signed_request`, which returns the signing key for chunk
signatures.

The region is never a reason to reject: lakebox's region is ``auto`` (``us-east-1`` and ``""`` are what
clients commonly send instead), and like R2 any region verifies, using the region in the client's scope.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

from auth.service.errors import (
    AccessDenied,
    AuthInvalidArgument,
    AuthInvalidRequest,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
TERMINATOR = "aws4_request"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# ECDSA (SigV4a) values are recognised so that they fail as unsupported rather than as malformed.
STREAMING_ECDSA = (
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
)
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 604800
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

HeaderValues = str | Sequence[str]
Headers = Mapping[str, HeaderValues]
"""Lower-case header name -> its value, or every value it was sent with, in order."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_CREDENTIAL_SHAPE = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
)
_PRESIGN_MISSING = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
    "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
_HEADER_PREFIX = "The authorization header is malformed; "
_QUERY_PREFIX = "Error parsing the X-Amz-Credential parameter; "


@dataclass(frozen=True, slots=True)
class SigV4Credential:
    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True, slots=True)
class ParsedAuth:
    credential: SigV4Credential
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True, slots=True)
class ParsedPresign:
    credential: SigV4Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    expires: int
    security_token: str | None


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a request claims: header auth (``expires is None``) or a presigned URL."""

    credential: SigV4Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    payload_hash: str
    expires: int | None
    security_token: str | None

    @property
    def presigned(self) -> bool:
        return self.expires is not None


# --- parsing --------------------------------------------------------------------------------------


def _parse_credential(value: str, *, malformed: type[Exception], prefix: str) -> SigV4Credential:
    parts = value.split("/")
    # The access key id itself never contains '/', so exactly five parts.
    if len(parts) != 5 or not all(parts[:2]) or not re.fullmatch(r"\d{8}", parts[1]):
        raise malformed(f"{prefix}the Credential is mal-formed; expecting {_CREDENTIAL_SHAPE}.")
    key, date, region, service, terminator = parts
    if service != SERVICE:
        raise malformed(f'{prefix}incorrect service "{service}". This endpoint belongs to "{SERVICE}".')
    if terminator != TERMINATOR:
        raise malformed(f'{prefix}incorrect terminal "{terminator}". This endpoint uses "{TERMINATOR}".')
    return SigV4Credential(key, date, region, service)


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    return tuple(sorted({name.strip().lower() for name in value.split(";") if name.strip()}))


def parse_authorization_header(value: str) -> ParsedAuth:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``.

    Like S3, components may be separated by commas and/or spaces and may come in any order.
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthInvalidArgument("Unsupported Authorization Type")
    fields: dict[str, str] = {}
    for component in re.split(r"[,\s]+", rest.strip()):
        name, sep, field = component.partition("=")
        if sep:
            fields[name] = field
        elif component:
            raise AuthorizationHeaderMalformed(
                f'{_HEADER_PREFIX}the authorization component "{component}" is malformed.'
            )
    if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise AuthorizationHeaderMalformed(
            f"{_HEADER_PREFIX}the authorization header requires three components: "
            "Credential, SignedHeaders, and Signature."
        )
    credential = _parse_credential(
        fields["Credential"], malformed=AuthorizationHeaderMalformed, prefix=_HEADER_PREFIX
    )
    return ParsedAuth(credential, _parse_signed_headers(fields["SignedHeaders"]), fields["Signature"])


def parse_presigned_query(params: Mapping[str, str]) -> ParsedPresign:
    if any(not params.get(name) for name in _PRESIGN_PARAMS) or "X-Amz-Expires" not in params:
        raise AuthorizationQueryParametersError(_PRESIGN_MISSING)
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthorizationQueryParametersError(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    amz_date = params["X-Amz-Date"]
    if not _AMZ_DATE.fullmatch(amz_date) or _parse_amz_date(amz_date) is None:
        raise AuthorizationQueryParametersError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    raw_expires = params["X-Amz-Expires"]
    if not re.fullmatch(r"-?\d{1,12}", raw_expires):
        raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    expires = int(raw_expires)
    if expires < 0:
        # A URL presigned to expire before it was made (e.g. botocore's ExpiresIn=-1000) is simply expired.
        raise AccessDenied("Request has expired")
    if expires == 0:
        raise AuthorizationQueryParametersError("X-Amz-Expires must be at least 1 second")
    if expires > MAX_PRESIGN_EXPIRES:
        raise AuthorizationQueryParametersError(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}"
        )
    credential = _parse_credential(
        params["X-Amz-Credential"], malformed=AuthorizationQueryParametersError, prefix=_QUERY_PREFIX
    )
    if credential.date != amz_date[:8]:
        raise AuthorizationQueryParametersError(
            f'Invalid credential date "{credential.date}". This date is not the same as X-Amz-Date: '
            f'"{amz_date[:8]}".'
        )
    return ParsedPresign(
        credential,
        _parse_signed_headers(params["X-Amz-SignedHeaders"]),
        params["X-Amz-Signature"],
        amz_date,
        expires,
        params.get("X-Amz-Security-Token") or None,
    )


def _header(headers: Headers, name: str) -> str | None:
    value = headers.get(name)
    if value is None or isinstance(value, str):
        return value
    return ",".join(value) if value else None


@functools.lru_cache(maxsize=64)
def _parse_amz_date(value: str) -> datetime | None:
    """``YYYYMMDDTHHMMSSZ`` as an aware datetime (None if not a valid time). Sliced, not strptime'd (5x
    faster), and cached: every request of the same second carries the same stamp."""
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


def request_timestamp(headers: Headers) -> str:
    """The request time as ``YYYYMMDDTHHMMSSZ``: ``x-amz-date``, else an RFC 1123 ``Date`` header."""
    amz_date = _header(headers, "x-amz-date")
    if amz_date is not None:
        if _AMZ_DATE.fullmatch(amz_date) and _parse_amz_date(amz_date) is not None:
            return amz_date
    elif (date := _header(headers, "date")) is not None:
        try:
            return parsedate_to_datetime(date).astimezone(UTC).strftime(AMZ_DATE_FORMAT)
        except (TypeError, ValueError):
            pass
    raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")


def _check_payload_hash(value: str | None) -> str:
    if value is None:
        raise AuthInvalidRequest("Missing required header for this request: x-amz-content-sha256")
    known = (UNSIGNED_PAYLOAD, STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_TRAILER)
    if value in known or value in STREAMING_ECDSA or _HEX64.fullmatch(value):
        return value
    raise AuthInvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
        "or a valid sha256 value."
    )


def parse_signed_request(query: Mapping[str, str], headers: Headers) -> SignedRequest | None:
    """The SigV4 claims of a request, or ``None`` when it carries none (anonymous)."""
    authorization = _header(headers, "authorization")
    presigned = "X-Amz-Algorithm" in query or "X-Amz-Credential" in query
    if authorization is not None and presigned:
        raise AuthInvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified"
        )
    if presigned:
        p = parse_presigned_query(query)
        payload = query.get("X-Amz-Content-Sha256") or UNSIGNED_PAYLOAD
        return SignedRequest(
            p.credential, p.signed_headers, p.signature, p.amz_date, payload, p.expires, p.security_token
        )
    if authorization is None:
        return None
    parsed = parse_authorization_header(authorization)
    amz_date = request_timestamp(headers)
    if parsed.credential.date != amz_date[:8]:
        raise AuthorizationHeaderMalformed(
            f'{_HEADER_PREFIX}Invalid credential date "{parsed.credential.date}". '
            f'This date is not the same as X-Amz-Date: "{amz_date[:8]}".'
        )
    payload = _check_payload_hash(_header(headers, "x-amz-content-sha256"))
    token = _header(headers, "x-amz-security-token")
    return SignedRequest(
        parsed.credential, parsed.signed_headers, parsed.signature, amz_date, payload, None, token
    )


# --- time -----------------------------------------------------------------------------------------


def check_request_time(amz_date: str, now: datetime) -> None:
    when = _parse_amz_date(amz_date)
    if when is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - when) > MAX_SKEW:
        raise RequestTimeTooSkewed()


def check_presign_time(amz_date: str, expires: int, now: datetime) -> None:
    when = _parse_amz_date(amz_date)
    if when is None:
        raise AuthorizationQueryParametersError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    if when - now > MAX_SKEW:
        raise AccessDenied("Request is not valid yet")
    if now > when + timedelta(seconds=expires):
        raise AccessDenied("Request has expired")


# --- canonicalisation -----------------------------------------------------------------------------


def _aws_encode(raw: bytes, safe: str) -> str:
    # quote() keeps A-Za-z0-9-._~ plus `safe` and writes upper-case %XX: exactly AWS's URI-encode.
    return quote(raw, safe=safe)


def canonical_uri(raw_path: str | bytes) -> str:
    """S3's canonical URI: the path as sent, each byte re-encoded the AWS way; no `//` or `.` folding.

    Pass the wire bytes (ASGI ``raw_path``) when there are any; a ``str`` is taken as their UTF-8 decoding.
    """
    return _aws_encode(unquote_to_bytes(raw_path or b"/"), "/")


def canonical_query(raw_query: str | bytes, *, exclude: str | None = None) -> str:
    """Each name and value decoded, AWS-encoded (``/`` too), sorted; ``exclude`` drops a parameter by name."""
    raw = raw_query.encode() if isinstance(raw_query, str) else raw_query
    pairs = []
    for item in raw.split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        # '+' in a query string is a space (form encoding); signers send %20 for a space and %2B for a plus.
        name_enc = _aws_encode(unquote_to_bytes(name.replace(b"+", b" ")), "")
        if name_enc == exclude:
            continue
        pairs.append((name_enc, _aws_encode(unquote_to_bytes(value.replace(b"+", b" ")), "")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_request(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Headers,
    signed_headers: Sequence[str],
    payload_hash: str,
    *,
    presigned: bool = False,
) -> str:
    if "host" not in signed_headers:
        raise SignatureDoesNotMatch()
    lines = []
    for name in signed_headers:
        value = headers.get(name)
        if value is None:
            raise SignatureDoesNotMatch()
        values = [value] if isinstance(value, str) else value
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query, exclude="X-Amz-Signature" if presigned else None),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        )
    )


# --- signing --------------------------------------------------------------------------------------


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{_sha256_hex(canonical_request)}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, TERMINATOR)


def signature(signing_key: bytes, string_to_sign: str) -> str:
    return _hmac(signing_key, string_to_sign).hex()


def verify_signature(expected: str, given: str) -> None:
    # compare_digest on str only accepts ASCII; a client's garbage must fail as a mismatch, not a TypeError.
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise SignatureDoesNotMatch()


def verify_signed_request(
    request: SignedRequest,
    secret: str,
    *,
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Headers,
    now: datetime,
) -> bytes:
    """Check the time and the signature; return the signing key (chunk signatures chain from it)."""
    if request.expires is None:
        check_request_time(request.amz_date, now)
    else:
        check_presign_time(request.amz_date, request.expires, now)
    cred = request.credential
    creq = canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        request.signed_headers,
        request.payload_hash,
        presigned=request.presigned,
    )
    key = signing_key(secret, cred.date, cred.region, cred.service)
    verify_signature(signature(key, string_to_sign(request.amz_date, cred.scope, creq)), request.signature)
    return key


# --- streaming (aws-chunked) signatures -----------------------------------------------------------


def chunk_string_to_sign(
    amz_date: str, scope: str, previous_signature: str, chunk_data_sha256_hex: str
) -> str:
    head = f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous_signature}"
    return f"{head}\n{EMPTY_SHA256}\n{chunk_data_sha256_hex}"


def trailer_string_to_sign(
    amz_date: str, scope: str, previous_signature: str, trailer_bytes_sha256_hex: str
) -> str:
    return f"{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous_signature}\n{trailer_bytes_sha256_hex}"


class ChunkVerifier:
    """The chain of chunk signatures of one aws-chunked body, seeded by the request's own signature."""

    __slots__ = ("_amz_date", "_key", "_previous", "_scope")

    def __init__(self, signing_key: bytes, amz_date: str, scope: str, seed_signature: str) -> None:
        self._key = signing_key
        self._amz_date = amz_date
        self._scope = scope
        self._previous = seed_signature

    def verify_chunk(self, chunk_data_sha256_hex: str, given: str) -> None:
        sts = chunk_string_to_sign(self._amz_date, self._scope, self._previous, chunk_data_sha256_hex)
        expected = signature(self._key, sts)
        verify_signature(expected, given)
        self._previous = expected

    def verify_trailer(self, trailer_bytes_sha256_hex: str, given: str) -> None:
        sts = trailer_string_to_sign(self._amz_date, self._scope, self._previous, trailer_bytes_sha256_hex)
        verify_signature(signature(self._key, sts), given)
