"""aws-chunked decoding: AWS's streaming example, round trips under random framing, every malformed body."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import zlib
from collections.abc import AsyncIterator, Iterable

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from auth.service.errors import SignatureDoesNotMatch
from auth.service.sigv4 import EMPTY_SHA256, ChunkVerifier, signing_key
from objectstore.api.chunked import MalformedTrailerError, check_trailer_checksums, decode_aws_chunked
from objectstore.service import checksums
from objectstore.service.errors import BadDigest, IncompleteBody, InvalidRequest, StoreError

# AWS's example (AmazonS3/latest/API/sigv4-streaming.html): 66560 bytes of 'a' in chunks of 65536 and 1024.
AMZ_DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
KEY = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3")
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
AWS_EXAMPLE_BODY = (
    b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    + b"a" * 65536
    + b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    + b"a" * 1024
    + b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
)


def _hmac_hex(message: str) -> str:
    return hmac.new(KEY, message.encode(), hashlib.sha256).hexdigest()


def encode(
    data: bytes, sizes: Iterable[int], *, signed: bool, trailers: dict[str, str] | None = None
) -> bytes:
    """An aws-chunked body as SDKs write it, signatures computed independently of the code under test."""
    out = bytearray()
    previous = SEED
    pos = 0
    chunks = []
    for size in sizes:
        if pos >= len(data):
            break
        chunks.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        chunks.append(data[pos:])
    for chunk in [*chunks, b""]:
        if signed:
            sts = "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    AMZ_DATE,
                    SCOPE,
                    previous,
                    EMPTY_SHA256,
                    hashlib.sha256(chunk).hexdigest(),
                ]
            )
            previous = _hmac_hex(sts)
            out += b"%x;chunk-signature=%s\r\n" % (len(chunk), previous.encode())
        else:
            out += b"%x\r\n" % len(chunk)
        if chunk:
            out += chunk + b"\r\n"
    if trailers:
        canonical = "".join(f"{name}:{value}\n" for name, value in trailers.items())
        out += canonical.replace("\n", "\r\n").encode()
        if signed:
            sts = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    AMZ_DATE,
                    SCOPE,
                    previous,
                    hashlib.sha256(canonical.encode()).hexdigest(),
                ]
            )
            out += f"x-amz-trailer-signature:{_hmac_hex(sts)}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


async def _pieces(body: bytes, cuts: Iterable[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted(set(cuts)):
        if start < cut < len(body):
            yield body[start:cut]
            start = cut
    yield body[start:]


def decode(
    body: bytes,
    *,
    signed: bool,
    trailer_names: Iterable[str] = (),
    cuts: Iterable[int] = (),
    decoded_length: int | None = None,
    seed: str = SEED,
) -> tuple[bytes, dict[str, str]]:
    trailers: dict[str, str] = {}

    async def run() -> bytes:
        out = bytearray()
        async for piece in decode_aws_chunked(
            _pieces(body, cuts),
            chunk_verifier=ChunkVerifier(KEY, AMZ_DATE, SCOPE, seed) if signed else None,
            trailer_names=frozenset(trailer_names),
            decoded_length=decoded_length,
            trailers=trailers,
        ):
            out += piece
        return bytes(out)

    return asyncio.run(run()), trailers


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_aws_streaming_example() -> None:
    data = b"a" * 66560
    assert encode(data, [65536, 1024], signed=True) == AWS_EXAMPLE_BODY
    assert decode(AWS_EXAMPLE_BODY, signed=True, decoded_length=66560) == (data, {})
    assert decode(AWS_EXAMPLE_BODY, signed=True, cuts=range(0, len(AWS_EXAMPLE_BODY), 7)) == (data, {})
    # Unsigned decoding ignores the signatures.
    assert decode(AWS_EXAMPLE_BODY, signed=False) == (data, {})


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b"a\r\n400;", b"b\r\n400;"),  # data of the first chunk
        lambda b: b.replace(b"ad80c730", b"ad80c731"),  # its signature
        lambda b: b.replace(b"b6c6ea8a", b"b6c6ea8b"),  # the final chunk's signature
    ],
)
def test_tampered_chunk(tamper: object) -> None:
    assert callable(tamper)
    with pytest.raises(SignatureDoesNotMatch):
        decode(tamper(AWS_EXAMPLE_BODY), signed=True)


def test_wrong_seed() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        decode(AWS_EXAMPLE_BODY, signed=True, seed="0" * 64)


def test_signed_chunk_without_signature() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        decode(encode(b"abc", [3], signed=False), signed=True)


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=3000),
    sizes=st.lists(st.integers(min_value=1, max_value=700), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    signed=st.booleans(),
    algorithm=st.sampled_from([None, *checksums.ALGORITHMS]),
)
def test_round_trip(
    data: bytes, sizes: list[int], cuts: list[int], signed: bool, algorithm: str | None
) -> None:
    trailers = {}
    if algorithm is not None:
        hasher = checksums.new_hasher(algorithm)
        hasher.update(data)
        trailers = {checksums.header_name(algorithm): hasher.b64()}
    body = encode(data, sizes, signed=signed, trailers=trailers)
    decoded, received = decode(
        body, signed=signed, trailer_names=trailers, cuts=cuts, decoded_length=len(data)
    )
    assert decoded == data
    assert received == trailers
    if algorithm is not None:
        check_trailer_checksums(received, {algorithm: hasher.digest()})


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=500),
    sizes=st.lists(st.integers(min_value=1, max_value=200), max_size=4),
    signed=st.booleans(),
    with_trailer=st.booleans(),
    cut=st.integers(min_value=0),
)
def test_truncated_body(data: bytes, sizes: list[int], signed: bool, with_trailer: bool, cut: int) -> None:
    trailers = {"x-amz-checksum-crc32": crc32_b64(data)} if with_trailer else {}
    body = encode(data, sizes, signed=signed, trailers=trailers)
    # Without trailers a body may end right after the final chunk header (its closing CRLF is tolerated).
    limit = len(body) - (1 if trailers else 2)
    with pytest.raises(IncompleteBody):
        decode(body[: cut % limit], signed=signed, trailer_names=trailers)


def test_closing_crlf_optional_without_trailers() -> None:
    body = encode(b"abc", [3], signed=True)
    assert decode(body[:-2], signed=True) == (b"abc", {})


def test_decoded_length_mismatch() -> None:
    body = encode(b"abcdef", [4], signed=False)
    with pytest.raises(IncompleteBody) as info:
        decode(body, signed=False, decoded_length=7)
    assert info.value.code == "IncompleteBody"
    with pytest.raises(IncompleteBody, match="longer than x-amz-decoded-content-length"):
        decode(body, signed=False, decoded_length=5)


def _signed_trailer_body(value: str) -> bytes:
    return encode(b"hello", [5], signed=True, trailers={"x-amz-checksum-crc32": value})


def test_signed_trailer() -> None:
    body = _signed_trailer_body(crc32_b64(b"hello"))
    names = ["x-amz-checksum-crc32"]
    assert decode(body, signed=True, trailer_names=names)[1] == {"x-amz-checksum-crc32": crc32_b64(b"hello")}
    with pytest.raises(SignatureDoesNotMatch):  # the trailer value changed after signing
        decode(body.replace(crc32_b64(b"hello").encode(), b"AAAAAA=="), signed=True, trailer_names=names)
    unsigned = encode(b"hello", [5], signed=True) + b""
    unsigned = unsigned[:-2] + f"x-amz-checksum-crc32:{crc32_b64(b'hello')}\r\n\r\n".encode()
    with pytest.raises(SignatureDoesNotMatch):  # trailer signature missing
        decode(unsigned, signed=True, trailer_names=names)


def test_bad_trailer_checksum_is_bad_digest() -> None:
    body = encode(b"hello", [5], signed=False, trailers={"x-amz-checksum-crc32": crc32_b64(b"other")})
    data, trailers = decode(body, signed=False, trailer_names=["x-amz-checksum-crc32"])
    hasher = checksums.new_hasher("CRC32")
    hasher.update(data)
    with pytest.raises(BadDigest, match=r"^The CRC32 you specified did not match the calculated checksum\.$"):
        check_trailer_checksums(trailers, {"CRC32": hasher.digest()})


def test_malformed_trailer_value_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match=r"^Value for x-amz-checksum-crc32 header is invalid\.$"):
        check_trailer_checksums({"x-amz-checksum-crc32": "xyz"}, {"CRC32": bytes(4)})


@pytest.mark.parametrize(
    ("body", "names", "error"),
    [
        (b"0\r\n\r\n", ["x-amz-checksum-crc32"], MalformedTrailerError),  # declared, never sent
        (b"0\r\nx-amz-checksum-sha1:AAAA\r\n\r\n", ["x-amz-checksum-crc32"], MalformedTrailerError),
        (b"0\r\nx-amz-checksum-crc32\r\n\r\n", ["x-amz-checksum-crc32"], MalformedTrailerError),
        (
            b"0\r\nx-amz-checksum-crc32:a\r\nx-amz-checksum-crc32:a\r\n\r\n",
            ["x-amz-checksum-crc32"],
            StoreError,
        ),
        (b"0\r\n:a\r\n\r\n", [], MalformedTrailerError),
        (b"0\r\n\xff:a\r\n\r\n", [], MalformedTrailerError),
        (b"zz\r\nab\r\n0\r\n\r\n", [], InvalidRequest),
        (b"0x2\r\nab\r\n0\r\n\r\n", [], InvalidRequest),
        (b" 2\r\nab\r\n0\r\n\r\n", [], InvalidRequest),
        (b"2;foo=bar\r\nab\r\n0\r\n\r\n", [], InvalidRequest),
        (b"2\r\nabX\r\n0\r\n\r\n", [], InvalidRequest),
        (b"2\nab\r\n0\r\n\r\n", [], InvalidRequest),
        (b"2\r\nab\r\n0\r\n\r\nextra", [], InvalidRequest),
        (b"1" * 5000, [], InvalidRequest),
        (b"2000000\r\n", [], InvalidRequest),  # 32 MiB > the 16 MiB chunk limit
        (b"", [], IncompleteBody),
        (b"2\r\nab", [], IncompleteBody),
        (b"2\r\nab\r", [], IncompleteBody),
    ],
)
def test_malformed_bodies(body: bytes, names: list[str], error: type[StoreError]) -> None:
    with pytest.raises(error):
        decode(body, signed=False, trailer_names=names)


def test_malformed_messages() -> None:
    with pytest.raises(InvalidRequest) as info:
        decode(b"2\r\nabXY", signed=False)
    assert info.value.message == "Invalid aws-chunked encoding: chunk data is not followed by CRLF"
    with pytest.raises(IncompleteBody) as truncated:
        decode(b"2\r\na", signed=False)
    assert truncated.value.message == "The request body terminated unexpectedly"
    with pytest.raises(MalformedTrailerError) as trailer:
        decode(b"0\r\n\r\n", signed=False, trailer_names=["x-amz-checksum-crc32"])
    assert trailer.value.code == "MalformedTrailerError"


def test_trailing_crlf_after_the_end_is_tolerated() -> None:
    assert decode(b"2\r\nab\r\n0\r\n\r\n\r\n", signed=False, cuts=[13]) == (b"ab", {})
    with pytest.raises(InvalidRequest):
        decode(b"2\r\nab\r\n0\r\n\r\nxx", signed=False, cuts=[12])


@pytest.mark.parametrize("size", [0, 1, 5, 64 * 1024 + 3])
def test_botocore_unsigned_trailer_body(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32", chunk_size=4096
    )
    body = wrapper.read()
    names = ["x-amz-checksum-crc32"]
    decoded, trailers = decode(body, signed=False, trailer_names=names, cuts=range(0, len(body), 1000))
    assert decoded == data
    assert trailers == {"x-amz-checksum-crc32": crc32_b64(data)}
    check_trailer_checksums(trailers, {"CRC32": zlib.crc32(data).to_bytes(4, "big")})
