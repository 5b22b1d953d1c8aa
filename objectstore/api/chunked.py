"""Streaming decoder for ``Content-Encoding: aws-chunked`` request bodies.

Signed chunks: ``<hex-size>;chunk-signature=<sig>CRLF<data>CRLF`` ... ``0;chunk-signature=<sig>CRLF``;
unsigned: ``<hex-size>CRLF<data>CRLF`` ... ``0CRLF``. Then trailer lines ``name:valueCRLF`` (signed:
followed by ``x-amz-trailer-signature:<sig>CRLF``) and a final empty line.

Data is passed through as it arrives (a chunk is never held whole). A chunk's signature can only be checked at
its end, so bytes of a bad chunk may already have been yielded: the caller must discard everything when the
generator raises, which it must do anyway for a truncated body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Mapping

from auth.service.errors import SignatureDoesNotMatch
from auth.service.sigv4 import EMPTY_SHA256, ChunkVerifier
from objectstore.service import checksums
from objectstore.service.errors import IncompleteBody, InvalidRequest, StoreError


class MalformedTrailerError(StoreError):
    code = "MalformedTrailerError"
    default_message = (
        "The request contained trailing data that was not well-formed or did not conform to our published "
        "schema."
    )


TRAILER_SIGNATURE = "x-amz-trailer-signature"
_MAX_LINE = 4096  # a chunk header is ~90 bytes and a trailer line ~100: anything this long is garbage
_CHUNK_HEADER = re.compile(rb"([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?")
_TRUNCATED = "The request body terminated unexpectedly"


def _malformed(what: str) -> StoreError:
    return InvalidRequest(f"Invalid aws-chunked encoding: {what}")


async def decode_aws_chunked(
    source: AsyncIterator[bytes],
    *,
    chunk_verifier: ChunkVerifier | None,
    trailer_names: frozenset[str],
    decoded_length: int | None = None,
    trailers: dict[str, str] | None = None,
    max_chunk_size: int = 16 * 1024 * 1024,
) -> AsyncIterator[bytes]:
    """Yield the decoded payload of an aws-chunked body.

    ``chunk_verifier`` checks chunk signatures (``None`` for ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``);
    ``trailer_names`` are the lower-case names declared in ``x-amz-trailer``, each of which must arrive;
    ``decoded_length`` is ``x-amz-decoded-content-length``. The trailers received are stored into ``trailers``
    once the body has been read to its end.
    """
    buf = bytearray()
    pos = 0  # parse position in buf; consumed bytes are dropped once per network read
    remaining = -1  # data bytes left in the current chunk; -1 while expecting a chunk header
    signature = ""
    sha = hashlib.sha256()
    total = 0
    signed_trailer = chunk_verifier is not None and bool(trailer_names)
    received: dict[str, str] = {}
    trailer_block = bytearray()  # canonical form for the trailer signature: "name:value\n" per trailer
    trailer_sig: str | None = None
    in_trailer = False
    done = False

    async for piece in source:
        if done:
            if piece.strip(b"\r\n"):
                raise _malformed("data after the final chunk")
            continue
        if 0 < len(piece) <= remaining:
            # Fast path: the whole read is chunk data (buf is empty mid-chunk), pass it on without copying.
            remaining -= len(piece)
            if chunk_verifier is not None:
                sha.update(piece)
            yield piece
            continue
        buf += piece
        while True:
            if remaining > 0:
                n = min(remaining, len(buf) - pos)
                if n == 0:
                    break
                data = bytes(buf[pos : pos + n])
                pos += n
                remaining -= n
                if chunk_verifier is not None:
                    sha.update(data)
                yield data
                continue
            if remaining == 0:  # the CRLF after a chunk's data, then its signature
                if len(buf) - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise _malformed("chunk data is not followed by CRLF")
                pos += 2
                remaining = -1
                if chunk_verifier is not None:
                    chunk_verifier.verify_chunk(sha.hexdigest(), signature)
                    sha = hashlib.sha256()
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if len(buf) - pos > _MAX_LINE:
                    raise _malformed("line too long")
                break
            line = bytes(buf[pos:end])
            pos = end + 2
            if in_trailer:
                if line:
                    trailer_sig = _trailer_line(line, trailer_names, received, trailer_block, trailer_sig)
                    continue
                if buf[pos:].strip(b"\r\n"):
                    raise _malformed("data after the final chunk")
                done = True
                break
            size, signature = _chunk_header(line, signed=chunk_verifier is not None)
            if size > max_chunk_size:
                raise _malformed(f"chunk of {size} bytes exceeds the limit of {max_chunk_size}")
            total += size
            if decoded_length is not None and total > decoded_length:
                raise IncompleteBody("The decoded body is longer than x-amz-decoded-content-length.")
            if size:
                remaining = size
                continue
            if chunk_verifier is not None:
                chunk_verifier.verify_chunk(EMPTY_SHA256, signature)
            in_trailer = True
        del buf[:pos]
        pos = 0

    # Tolerated: a body that ends right after the final chunk header, with no trailers due (some SDKs omit the
    # closing empty line when there is nothing to trail).
    if not done and not (in_trailer and not received and not trailer_names and not buf):
        raise IncompleteBody(_TRUNCATED)
    if decoded_length is not None and total != decoded_length:
        raise IncompleteBody()
    missing = trailer_names - received.keys()
    if missing:
        raise MalformedTrailerError(f"The trailer {min(missing)} was declared in x-amz-trailer but not sent.")
    if chunk_verifier is not None and (signed_trailer or trailer_sig is not None):
        if trailer_sig is None:
            raise SignatureDoesNotMatch()
        chunk_verifier.verify_trailer(hashlib.sha256(trailer_block).hexdigest(), trailer_sig)
    if trailers is not None:
        trailers.update(received)


def _chunk_header(line: bytes, *, signed: bool) -> tuple[int, str]:
    match = _CHUNK_HEADER.fullmatch(line)
    if match is None:
        raise _malformed("bad chunk header")
    sig = match.group(2)
    if signed and sig is None:
        raise SignatureDoesNotMatch()
    return int(match.group(1), 16), sig.decode() if sig else ""


def _trailer_line(
    line: bytes,
    names: frozenset[str],
    received: dict[str, str],
    block: bytearray,
    trailer_sig: str | None,
) -> str | None:
    """Record one trailer line; return the trailer signature seen so far."""
    raw_name, sep, raw_value = line.partition(b":")
    try:
        name = raw_name.decode("ascii").strip().lower()
        value = raw_value.decode("ascii").strip()
    except UnicodeDecodeError:
        name = value = ""
    if not sep or not name:
        raise MalformedTrailerError()
    if name == TRAILER_SIGNATURE:
        return value
    if name not in names or name in received:
        raise MalformedTrailerError()
    received[name] = value
    block += f"{name}:{value}\n".encode()
    return trailer_sig


def check_trailer_checksums(trailers: Mapping[str, str], digests: Mapping[str, bytes]) -> None:
    """Check each ``x-amz-checksum-*`` trailer against the digest computed over the decoded data.

    ``digests`` maps an algorithm (``CRC32``...) to its digest; a malformed value -> InvalidRequest, a
    mismatch -> BadDigest.
    """
    for name, value in trailers.items():
        algorithm = checksums.algorithm_of_header(name)
        if algorithm is not None:
            checksums.check_checksum(algorithm, value, digests[algorithm])
