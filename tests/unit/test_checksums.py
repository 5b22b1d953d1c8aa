"""Checksums: known digests, S3's errors for bad client values, and the multipart combinations."""

from __future__ import annotations

import base64
import hashlib
import itertools
import zlib

import pytest
from awscrt import checksums as crt
from hypothesis import given
from hypothesis import strategies as st

from objectstore.service import checksums
from objectstore.service.checksums import (
    ALGORITHMS,
    algorithm_of_header,
    check_checksum,
    check_content_md5,
    composite_checksum,
    crc_combine,
    decode_checksum,
    full_object_crc,
    header_name,
    new_hasher,
    parse_algorithm,
    parse_content_md5,
    requested_checksums,
)
from objectstore.service.errors import BadDigest, InvalidDigest, InvalidRequest

# "123456789" is the standard CRC check input; the values are the published check values of each CRC.
CHECK = b"123456789"
CHECK_VALUES = {
    "CRC32": 0xCBF43926,
    "CRC32C": 0xE3069283,
    "CRC64NVME": 0xAE8B14860A799888,
    "SHA1": int(hashlib.sha1(CHECK, usedforsecurity=False).hexdigest(), 16),
    "SHA256": int(hashlib.sha256(CHECK).hexdigest(), 16),
    "MD5": int(hashlib.md5(CHECK, usedforsecurity=False).hexdigest(), 16),
}
SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32, "MD5": 16}


@pytest.mark.parametrize("algorithm", [*ALGORITHMS, "MD5"])
def test_check_values_in_pieces(algorithm: str) -> None:
    hasher = new_hasher(algorithm)
    for piece in (CHECK[:2], b"", CHECK[2:7], CHECK[7:]):
        hasher.update(piece)
    expected = CHECK_VALUES[algorithm].to_bytes(SIZES[algorithm], "big")
    assert hasher.digest() == expected
    assert hasher.b64() == base64.b64encode(expected).decode()


def test_empty_crc32_is_aws_default() -> None:
    # What S3 reports for an empty object with CRC32.
    assert new_hasher("CRC32").b64() == "AAAAAA=="


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        new_hasher("CRC16")


def test_header_names() -> None:
    assert header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
    assert [algorithm_of_header(header_name(a)) for a in ALGORITHMS] == list(ALGORITHMS)
    assert algorithm_of_header("X-Amz-Checksum-CRC32C") == "CRC32C"
    assert algorithm_of_header("x-amz-checksum-algorithm") is None
    assert algorithm_of_header("x-amz-checksum-type") is None
    assert algorithm_of_header("content-md5") is None


def test_parse_algorithm() -> None:
    assert parse_algorithm("crc32c") == "CRC32C"
    assert parse_algorithm("SHA256") == "SHA256"
    with pytest.raises(InvalidRequest, match=r"^Value for x-amz-checksum-algorithm header is invalid\.$"):
        parse_algorithm("MD5", "x-amz-checksum-algorithm")
    with pytest.raises(InvalidRequest, match="x-amz-sdk-checksum-algorithm"):
        parse_algorithm("crc16")


def test_requested_checksums() -> None:
    assert requested_checksums({"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-algorithm": "CRC32"}) == {
        "CRC32": "AAAAAA=="
    }
    with pytest.raises(InvalidRequest, match="Expecting a single x-amz-checksum- header"):
        requested_checksums({"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": "x"})


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [
        ("CRC32", "AAAA"),  # 3 bytes
        ("CRC32", "AAAAAAA="),  # 5 bytes
        ("CRC32", "not base64!"),
        ("CRC32", "AAAAAA="),  # bad padding
        ("CRC64NVME", "AAAAAA=="),  # a CRC32-sized value
        ("SHA256", base64.b64encode(bytes(20)).decode()),
        ("SHA1", ""),
    ],
)
def test_malformed_checksum_value(algorithm: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_checksum(algorithm, value)
    assert info.value.message == f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."


def test_check_checksum() -> None:
    digest = CHECK_VALUES["CRC32C"].to_bytes(4, "big")
    check_checksum("CRC32C", base64.b64encode(digest).decode(), digest)
    with pytest.raises(BadDigest) as info:
        check_checksum("CRC32C", "AAAAAA==", digest)
    assert info.value.message == "The CRC32C you specified did not match the calculated checksum."


def test_content_md5() -> None:
    md5 = hashlib.md5(b"data", usedforsecurity=False).digest()
    value = base64.b64encode(md5).decode()
    assert parse_content_md5(value) == md5
    check_content_md5(value, md5)
    with pytest.raises(BadDigest, match=r"^The Content-MD5 you specified did not match what we received\.$"):
        check_content_md5(value, hashlib.md5(b"other", usedforsecurity=False).digest())
    for bad in ("", "abc", md5.hex(), base64.b64encode(md5[:15]).decode(), "!!!!"):
        with pytest.raises(InvalidDigest, match=r"^The Content-MD5 you specified is not valid\.$"):
            parse_content_md5(bad)


def test_composite_checksum() -> None:
    parts = [b"a" * 10, b"b" * 7]
    digests = [zlib.crc32(p).to_bytes(4, "big") for p in parts]
    expected = base64.b64encode(zlib.crc32(b"".join(digests)).to_bytes(4, "big")).decode()
    assert composite_checksum("CRC32", digests) == f"{expected}-2"
    sha = [hashlib.sha256(p).digest() for p in parts]
    assert composite_checksum("SHA256", sha) == (
        base64.b64encode(hashlib.sha256(b"".join(sha)).digest()).decode() + "-2"
    )


CRCS = {"CRC32": crt.crc32, "CRC32C": crt.crc32c, "CRC64NVME": crt.crc64nvme}


@given(
    algorithm=st.sampled_from(sorted(CRCS)),
    data=st.binary(max_size=2048),
    cuts=st.lists(st.integers(min_value=0, max_value=2048), max_size=6),
)
def test_crc_combine_matches_whole_object(algorithm: str, data: bytes, cuts: list[int]) -> None:
    crc = CRCS[algorithm]
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    parts = [data[a:b] for a, b in itertools.pairwise(bounds)]
    combined = crc(parts[0])
    for part in parts[1:]:
        combined = crc_combine(algorithm, combined, crc(part), len(part))
    assert combined == crc(data)
    size = 8 if algorithm == "CRC64NVME" else 4
    assert full_object_crc(algorithm, [(crc(p).to_bytes(size, "big"), len(p)) for p in parts]) == (
        base64.b64encode(crc(data).to_bytes(size, "big")).decode()
    )


def test_crc_combine_large_lengths() -> None:
    # Part lengths of multipart uploads reach GiBs: combining must not depend on having the data.
    zeros = bytes(1 << 20)
    whole = crt.crc64nvme(zeros * 3)
    part = crt.crc64nvme(zeros)
    assert crc_combine("CRC64NVME", crc_combine("CRC64NVME", part, part, 1 << 20), part, 1 << 20) == whole


def test_hasher_protocol_is_satisfied() -> None:
    hasher: checksums.Hasher = new_hasher("SHA1")
    hasher.update(b"x")
    assert hasher.digest() == hashlib.sha1(b"x", usedforsecurity=False).digest()
