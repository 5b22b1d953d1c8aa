"""Authentication of an S3 request: SigV4 (header or presigned) verified against the caller's secret, and the
payload wrapped so that what the handler reads is exactly what was signed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from auth.service import sigv4
from auth.service.errors import AccessDenied, AuthError
from auth.service.principal import Principal
from objectstore.api import chunked
from objectstore.api.context import S3Context
from objectstore.api.request import S3Request, raw_body, sha256_checked
from objectstore.service.errors import InvalidArgument, InvalidRegionName, NotImplementedOp

log = logging.getLogger("lakebox.auth")
SECURITY_TOKEN_HEADER = "x-amz-security-token"  # noqa: S105 - a header name


async def authenticate(req: S3Request, ctx: S3Context) -> Principal | None:
    """The caller (None: anonymous); also sets ``req.payload`` to the verified, decoded body stream.

    A temporary credential's session token comes as ``x-amz-security-token`` (header, signed) or
    ``X-Amz-Security-Token`` (presigned query); it must match the one issued with the access key id.
    """
    signed = sigv4.parse_signed_request(req.query, req.headers)
    if signed is None:
        return None
    check_region(signed.credential.region)
    if (
        signed.security_token is not None
        and not signed.presigned
        and SECURITY_TOKEN_HEADER not in signed.signed_headers
    ):
        # Query parameters are always signed; a header must be named in SignedHeaders to be.
        raise AccessDenied("There were headers present in the request which were not signed")
    key_id = signed.credential.access_key_id
    try:
        identity = await ctx.read(ctx.tokens.s3_identity, key_id, signed.security_token)
        key = sigv4.verify_signed_request(
            signed,
            identity.secret_access_key,
            method=req.method,
            raw_path=req.raw_path,
            raw_query=req.raw_query,
            headers=req.headers,
            now=datetime.now(UTC),
        )
    except AuthError as exc:
        log.debug("request %s: access key %s refused: %s", req.request_id, key_id, exc.code)
        raise
    principal = identity.principal
    log.debug(
        "request %s: access key %s (%s%s)",
        req.request_id,
        key_id,
        principal.permission.value,
        f", temporary under {principal.parent_token_id}" if principal.is_temporary else "",
    )
    _set_payload(req, signed, key)
    return principal


# The regions R2 takes in a credential scope: ``auto``, its aliases (empty, ``us-east-1``) and its location hints.
SIGNING_REGIONS = ("wnam", "enam", "weur", "eeur", "apac", "oc", "auto")
_ALIASES = frozenset({"", "us-east-1"})


def check_region(region: str) -> None:
    """Any other region is refused before the signature is checked, with R2's error (a client set up for
    another S3 learns at once what to configure)."""
    if region.lower() not in SIGNING_REGIONS and region not in _ALIASES:
        raise InvalidRegionName(
            f"The region name '{region}' is not valid. Must be one of: {', '.join(SIGNING_REGIONS)}"
        )


def _set_payload(req: S3Request, signed: sigv4.SignedRequest, key: bytes) -> None:
    mode = signed.payload_hash
    receive = req.receive
    if mode == sigv4.UNSIGNED_PAYLOAD:
        return
    if mode in sigv4.STREAMING_ECDSA:
        raise NotImplementedOp("SigV4a (ECDSA) streaming signatures are not supported")
    if mode in (sigv4.STREAMING_PAYLOAD, sigv4.STREAMING_PAYLOAD_TRAILER, sigv4.STREAMING_UNSIGNED_TRAILER):
        verifier = None
        if mode != sigv4.STREAMING_UNSIGNED_TRAILER:
            verifier = sigv4.ChunkVerifier(key, signed.amz_date, signed.credential.scope, signed.signature)
        trailer_names = frozenset(
            n.strip().lower() for n in req.headers.get("x-amz-trailer", "").split(",") if n.strip()
        )
        decoded_length = req.headers.get("x-amz-decoded-content-length")
        try:
            expected = int(decoded_length) if decoded_length is not None else None
        except ValueError:
            raise InvalidArgument("Invalid x-amz-decoded-content-length") from None

        def decoded() -> AsyncIterator[bytes]:
            return chunked.decode_aws_chunked(
                raw_body(receive),
                chunk_verifier=verifier,
                trailer_names=trailer_names,
                decoded_length=expected,
                trailers=req.trailers,
            )

        req.payload = decoded
        return

    def checked() -> AsyncIterator[bytes]:
        return sha256_checked(raw_body(receive), mode)

    req.payload = checked
