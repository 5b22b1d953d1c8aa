"""SigV4: AWS's published S3 examples, the S3 error for each malformed input, and botocore as an oracle."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.service import sigv4
from auth.service.errors import (
    AccessDenied,
    AuthError,
    AuthInvalidArgument,
    AuthInvalidRequest,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from auth.service.sigv4 import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    UNSIGNED_PAYLOAD,
    ChunkVerifier,
    SigV4Credential,
    canonical_query,
    canonical_request,
    canonical_uri,
    check_presign_time,
    check_request_time,
    chunk_string_to_sign,
    parse_authorization_header,
    parse_presigned_query,
    parse_signed_request,
    signature,
    signing_key,
    string_to_sign,
    verify_signed_request,
)

# --- AWS's published examples (AmazonS3/latest/API/sig-v4-header-based-auth.html and friends) -----

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
EXAMPLE_NOW = datetime(2013, 5, 24, 0, 5, tzinfo=UTC)
KEY = signing_key(SECRET, "20130524", "us-east-1", "s3")
HOST = "examplebucket.s3.amazonaws.com"


def _sign(method: str, path: str, query: str, headers: dict[str, str], payload: str) -> str:
    creq = canonical_request(method, path, query, headers, sorted(headers), payload)
    return signature(KEY, string_to_sign(AMZ_DATE, SCOPE, creq))


def test_get_object_with_range() -> None:
    headers = {
        "host": HOST,
        "range": "bytes=0-9",
        "x-amz-content-sha256": EMPTY_SHA256,
        "x-amz-date": AMZ_DATE,
    }
    creq = canonical_request("GET", "/test.txt", "", headers, sorted(headers), EMPTY_SHA256)
    assert creq == (
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        f"x-amz-content-sha256:{EMPTY_SHA256}\nx-amz-date:20130524T000000Z\n\n"
        f"host;range;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}"
    )
    assert string_to_sign(AMZ_DATE, SCOPE, creq).endswith(
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    )
    assert _sign("GET", "/test.txt", "", headers, EMPTY_SHA256) == (
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_put_object() -> None:
    payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    assert payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    headers = {
        "date": "Fri, 24 May 2013 00:00:00 GMT",
        "host": HOST,
        "x-amz-content-sha256": payload,
        "x-amz-date": AMZ_DATE,
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
    }
    assert _sign("PUT", "/test%24file.text", "", headers, payload) == (
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )
    # '$' sent unencoded canonicalises the same way.
    assert _sign("PUT", "/test$file.text", "", headers, payload) == _sign(
        "PUT", "/test%24file.text", "", headers, payload
    )


def test_get_bucket_lifecycle() -> None:
    headers = {"host": HOST, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": AMZ_DATE}
    assert _sign("GET", "/", "lifecycle", headers, EMPTY_SHA256) == (
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    )


def test_list_objects() -> None:
    headers = {"host": HOST, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": AMZ_DATE}
    expected = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    assert _sign("GET", "/", "max-keys=2&prefix=J", headers, EMPTY_SHA256) == expected
    assert _sign("GET", "/", "prefix=J&max-keys=2", headers, EMPTY_SHA256) == expected


PRESIGNED_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3"
    "%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)


def test_presigned_url() -> None:
    request = parse_signed_request(dict(parse_qsl(PRESIGNED_QUERY)), {"host": HOST})
    assert request is not None
    assert request.presigned
    assert request.expires == 86400
    assert request.payload_hash == UNSIGNED_PAYLOAD
    assert request.credential == SigV4Credential(AKID, "20130524", "us-east-1", "s3")
    key = verify_signed_request(
        request,
        SECRET,
        method="GET",
        raw_path="/test.txt",
        raw_query=PRESIGNED_QUERY,
        headers={"host": HOST},
        now=EXAMPLE_NOW + timedelta(hours=23),
    )
    assert key == KEY
    with pytest.raises(AccessDenied, match="Request has expired"):
        verify_signed_request(
            request,
            SECRET,
            method="GET",
            raw_path="/test.txt",
            raw_query=PRESIGNED_QUERY,
            headers={"host": HOST},
            now=EXAMPLE_NOW + timedelta(hours=25),
        )


STREAMING_HEADERS = {
    "content-encoding": "aws-chunked",
    "content-length": "66824",
    "host": "s3.amazonaws.com",
    "x-amz-content-sha256": STREAMING_PAYLOAD,
    "x-amz-date": AMZ_DATE,
    "x-amz-decoded-content-length": "66560",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
}
SEED_SIGNATURE = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)


def test_streaming_seed_and_chunk_signatures() -> None:
    path = "/examplebucket/chunkObject.txt"
    assert _sign("PUT", path, "", STREAMING_HEADERS, STREAMING_PAYLOAD) == SEED_SIGNATURE
    sts = chunk_string_to_sign(AMZ_DATE, SCOPE, SEED_SIGNATURE, hashlib.sha256(b"a" * 65536).hexdigest())
    assert sts.startswith(
        f"AWS4-HMAC-SHA256-PAYLOAD\n{AMZ_DATE}\n{SCOPE}\n{SEED_SIGNATURE}\n{EMPTY_SHA256}\n"
    )
    verifier = ChunkVerifier(KEY, AMZ_DATE, SCOPE, SEED_SIGNATURE)
    for data, sig in zip((b"a" * 65536, b"a" * 1024, b""), CHUNK_SIGNATURES, strict=True):
        verifier.verify_chunk(hashlib.sha256(data).hexdigest(), sig)


def test_chunk_chain_rejects_reordering() -> None:
    verifier = ChunkVerifier(KEY, AMZ_DATE, SCOPE, SEED_SIGNATURE)
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify_chunk(hashlib.sha256(b"a" * 1024).hexdigest(), CHUNK_SIGNATURES[1])


# --- parsing and the exact S3 errors --------------------------------------------------------------

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
    "SignedHeaders=host;range;x-amz-date,Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
)


@pytest.mark.parametrize(
    "value",
    [
        AUTH,
        AUTH.replace(",", ", "),
        AUTH.replace(",", " "),
        AUTH.replace(",", " ,  "),
        "  " + AUTH.replace(",SignedHeaders", ",  SignedHeaders") + " ",
        # any order
        "AWS4-HMAC-SHA256 Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024, "
        "SignedHeaders=range;host;x-amz-date, "
        "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
    ],
)
def test_parse_authorization_header(value: str) -> None:
    parsed = parse_authorization_header(value)
    assert parsed.credential == SigV4Credential(AKID, "20130524", "us-east-1", "s3")
    assert parsed.credential.scope == SCOPE
    assert parsed.signed_headers == ("host", "range", "x-amz-date")
    assert parsed.signature == "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
            AuthInvalidArgument,
            "Unsupported Authorization",
        ),
        ("Bearer abc", AuthInvalidArgument, "Unsupported Authorization Type"),
        (
            AUTH.replace(",Signature=", ",Sig="),
            AuthorizationHeaderMalformed,
            "The authorization header is malformed; the authorization header requires three components: "
            "Credential, SignedHeaders, and Signature.",
        ),
        (
            AUTH.replace("SignedHeaders=host;range;x-amz-date", "SignedHeaders="),
            AuthorizationHeaderMalformed,
            "requires three components",
        ),
        (
            AUTH.replace(",Signature", " garbage,Signature"),
            AuthorizationHeaderMalformed,
            'component "garbage"',
        ),
        (
            AUTH.replace("/20130524/us-east-1", "/us-east-1"),
            AuthorizationHeaderMalformed,
            "The authorization header is malformed; the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
        (
            AUTH.replace("/20130524/", "/2013-05-24/"),
            AuthorizationHeaderMalformed,
            "the Credential is mal-formed",
        ),
        (
            AUTH.replace("=AKIAIOSFODNN7EXAMPLE/", "=/"),
            AuthorizationHeaderMalformed,
            "the Credential is mal-formed",
        ),
        (
            AUTH.replace("/s3/", "/ec2/"),
            AuthorizationHeaderMalformed,
            'The authorization header is malformed; incorrect service "ec2". This endpoint belongs to "s3".',
        ),
        (
            AUTH.replace("aws4_request", "aws5_request"),
            AuthorizationHeaderMalformed,
            'The authorization header is malformed; incorrect terminal "aws5_request". '
            'This endpoint uses "aws4_request".',
        ),
    ],
)
def test_parse_authorization_header_errors(value: str, error: type[AuthError], message: str) -> None:
    with pytest.raises(error) as info:
        parse_authorization_header(value)
    assert message in info.value.message


def test_region_aliases_and_others_verify_with_the_scope_region() -> None:
    for region in ("auto", "us-east-1", "", "eu-central-1"):
        parsed = parse_authorization_header(AUTH.replace("us-east-1", region))
        assert parsed.credential.region == region
        assert parsed.credential.scope == f"20130524/{region}/s3/aws4_request"


PRESIGN = dict(parse_qsl(PRESIGNED_QUERY))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X-Amz-Expires": "604801"}, "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ({"X-Amz-Expires": "0"}, "X-Amz-Expires must be at least 1 second"),
        ({"X-Amz-Expires": "ten"}, "X-Amz-Expires should be a number"),
        ({"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
        ({"X-Amz-Date": "2013-05-24T00:00:00Z"}, "X-Amz-Date must be in the ISO8601 Long Format"),
        ({"X-Amz-Date": "20131324T000000Z"}, "X-Amz-Date must be in the ISO8601 Long Format"),
        ({"X-Amz-Signature": ""}, "Query-string authentication version 4 requires the X-Amz-Algorithm"),
        ({"X-Amz-Expires": None}, "requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature"),
        ({"X-Amz-SignedHeaders": None}, "and X-Amz-Expires parameters."),
        (
            {"X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3"},
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
        (
            {"X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/sqs/aws4_request"},
            'Error parsing the X-Amz-Credential parameter; incorrect service "sqs". '
            'This endpoint belongs to "s3".',
        ),
        (
            {"X-Amz-Date": "20130525T000000Z"},
            'Invalid credential date "20130524". This date is not the same as X-Amz-Date: "20130525".',
        ),
    ],
)
def test_parse_presigned_query_errors(change: dict[str, str | None], message: str) -> None:
    params = {k: v for k, v in ({**PRESIGN, **change}).items() if v is not None}
    with pytest.raises(AuthorizationQueryParametersError) as info:
        parse_presigned_query(params)
    assert message in info.value.message


def test_negative_expiry_is_an_expired_url() -> None:
    with pytest.raises(AccessDenied) as info:
        parse_presigned_query({**PRESIGN, "X-Amz-Expires": "-1000"})
    assert info.value.message == "Request has expired"


def test_parse_presigned_query_limits_and_token() -> None:
    for expires in ("1", "604800"):
        assert parse_presigned_query({**PRESIGN, "X-Amz-Expires": expires}).expires == int(expires)
    parsed = parse_presigned_query({**PRESIGN, "X-Amz-Security-Token": "tok"})
    assert parsed.security_token == "tok"
    assert parsed.amz_date == AMZ_DATE
    assert parse_presigned_query(PRESIGN).security_token is None


def _header_request(**headers: str) -> dict[str, str]:
    return {"authorization": AUTH, "x-amz-date": AMZ_DATE, "x-amz-content-sha256": EMPTY_SHA256, **headers}


def test_parse_signed_request_header_mode() -> None:
    assert parse_signed_request({}, {"host": HOST}) is None
    request = parse_signed_request({"prefix": "a"}, _header_request(**{"x-amz-security-token": "tok"}))
    assert request is not None
    assert not request.presigned
    assert request.amz_date == AMZ_DATE
    assert request.security_token == "tok"
    # A Date header stands in for x-amz-date.
    headers = _header_request(date="Fri, 24 May 2013 00:00:00 GMT")
    del headers["x-amz-date"]
    parsed = parse_signed_request({}, headers)
    assert parsed is not None
    assert parsed.amz_date == AMZ_DATE


@pytest.mark.parametrize(
    ("query", "headers", "error", "message"),
    [
        (PRESIGN, _header_request(), AuthInvalidArgument, "Only one auth mechanism allowed"),
        (
            {},
            _header_request(**{"x-amz-date": "yesterday"}),
            AccessDenied,
            "requires a valid Date or x-amz-date",
        ),
        (
            {},
            _header_request(**{"x-amz-date": "20130525T000000Z"}),
            AuthorizationHeaderMalformed,
            'Invalid credential date "20130524". This date is not the same as X-Amz-Date: "20130525".',
        ),
        (
            {},
            {"authorization": AUTH, "x-amz-date": AMZ_DATE},
            AuthInvalidRequest,
            "Missing required header for this request: x-amz-content-sha256",
        ),
        (
            {},
            _header_request(**{"x-amz-content-sha256": "abc"}),
            AuthInvalidArgument,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        ),
    ],
)
def test_parse_signed_request_errors(
    query: dict[str, str], headers: dict[str, str], error: type[AuthError], message: str
) -> None:
    with pytest.raises(error) as info:
        parse_signed_request(query, headers)
    assert message in info.value.message


def test_missing_date_headers() -> None:
    headers = _header_request()
    del headers["x-amz-date"]
    with pytest.raises(AccessDenied, match="AWS authentication requires a valid Date or x-amz-date header"):
        parse_signed_request({}, headers)


# --- time -----------------------------------------------------------------------------------------


def test_request_time_skew() -> None:
    check_request_time(AMZ_DATE, EXAMPLE_NOW + timedelta(minutes=10))
    check_request_time(AMZ_DATE, EXAMPLE_NOW - timedelta(minutes=19))
    with pytest.raises(RequestTimeTooSkewed):
        check_request_time(AMZ_DATE, EXAMPLE_NOW + timedelta(minutes=11))
    with pytest.raises(RequestTimeTooSkewed):
        check_request_time(AMZ_DATE, datetime(2013, 5, 23, 23, 44, 59, tzinfo=UTC))


def test_presign_time() -> None:
    start = datetime(2013, 5, 24, tzinfo=UTC)
    check_presign_time(AMZ_DATE, 1, start + timedelta(seconds=1))
    with pytest.raises(AccessDenied, match=r"^Request has expired$"):
        check_presign_time(AMZ_DATE, 1, start + timedelta(seconds=2))
    check_presign_time(AMZ_DATE, 60, start - timedelta(minutes=15))
    with pytest.raises(AccessDenied, match=r"^Request is not valid yet$"):
        check_presign_time(AMZ_DATE, 60, start - timedelta(minutes=16))


# --- canonicalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/", "/"),
        ("", "/"),
        ("/bucket//a/./b/../c/", "/bucket//a/./b/../c/"),
        ("/b/%7e%7E~", "/b/~~~"),
        ("/b/a%2fb", "/b/a/b"),
        ("/b/a+b %20", "/b/a%2Bb%20%20"),
        ("/b/%c3%a4", "/b/%C3%A4"),
        ("/b/ä", "/b/%C3%A4"),
        (b"/b/\xc3\xa4", "/b/%C3%A4"),
        ("/b/100%", "/b/100%25"),
        ("/b/!*'();:@&=$,?#[]", "/b/%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D"),
    ],
)
def test_canonical_uri(raw: str | bytes, canonical: str) -> None:
    assert canonical_uri(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("", ""),
        ("uploads", "uploads="),
        ("uploads=", "uploads="),
        ("b=2&a=1&a=0", "a=0&a=1&b=2"),
        ("prefix=a/b&delimiter=%2F", "delimiter=%2F&prefix=a%2Fb"),
        ("prefix=a+b%2Bc%20d", "prefix=a%20b%2Bc%20d"),
        ("prefix=%e2%82%ac~", "prefix=%E2%82%AC~"),
        ("&&x-id=GetObject&", "x-id=GetObject"),
        ("a=b=c", "a=b%3Dc"),
    ],
)
def test_canonical_query(raw: str, canonical: str) -> None:
    assert canonical_query(raw) == canonical


def test_canonical_query_excludes_presign_signature() -> None:
    assert canonical_query("X-Amz-Signature=abc&a=1", exclude="X-Amz-Signature") == "a=1"


def test_canonical_headers() -> None:
    headers = {"host": "h", "x-amz-meta-a": ["  one   two ", "three"], "x-amz-meta-b": "\tx  y\t"}
    creq = canonical_request(
        "GET", "/", "", headers, ["host", "x-amz-meta-a", "x-amz-meta-b"], UNSIGNED_PAYLOAD
    )
    assert "x-amz-meta-a:one two,three\nx-amz-meta-b:x y\n" in creq


def test_signed_header_absent_or_host_unsigned() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        canonical_request("GET", "/", "", {"host": "h"}, ["host", "x-amz-date"], UNSIGNED_PAYLOAD)
    with pytest.raises(SignatureDoesNotMatch):
        canonical_request("GET", "/", "", {"host": "h", "x-amz-date": "d"}, ["x-amz-date"], UNSIGNED_PAYLOAD)


def test_verify_signature_non_ascii_given() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify_signature("ab" * 32, "é" * 64)


# --- botocore as the oracle -----------------------------------------------------------------------

ENDPOINT = "http://localhost:9000"
_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")  # any character but surrogates
_key_text = st.text(_CHARS, max_size=12)
keys = (
    st.lists(
        st.one_of(
            _key_text, st.sampled_from(["/", "//", " ", "+", "%", "%2F", ".", "..", "~", "é", "😀", "?#&="])
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(bool)
)
query_params = st.dictionaries(
    st.sampled_from(
        ["prefix", "delimiter", "marker", "uploadId", "x-id", "partNumber", "list-type", "a b", "ü"]
    ),
    st.text(_CHARS, max_size=10),
    max_size=4,
)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).filter(
    lambda v: v.strip() != ""
)
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
regions = st.sampled_from(["auto", "us-east-1", "", "eu-west-3"])
methods = st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST"])


def _url(key: str, params: dict[str, str]) -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
    return f"{ENDPOINT}/bucket/{quote(key, safe='/~')}" + (f"?{query}" if query else "")


def _wire(request: AWSRequest) -> tuple[str, str, dict[str, str]]:
    parts = urlsplit(str(request.url))
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = parts.netloc
    return parts.path, parts.query, headers


def _verify(method: str, path: str, query: str, headers: dict[str, str], secret: str) -> None:
    params = dict(parse_qsl(query, keep_blank_values=True))
    request = parse_signed_request(params, headers)
    assert request is not None
    verify_signed_request(
        request,
        secret,
        method=method,
        raw_path=path,
        raw_query=query,
        headers=headers,
        now=datetime.now(UTC),
    )


def _tampered(text: str, index: int) -> str:
    i = index % len(text)
    return text[:i] + ("b" if text[i] == "a" else "a") + text[i + 1 :]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    key=keys,
    params=query_params,
    meta=header_values,
    secret=secrets,
    region=regions,
    body=st.binary(max_size=64),
    index=st.integers(min_value=0),
)
def test_botocore_header_signatures_verify(
    method: str,
    key: str,
    params: dict[str, str],
    meta: str,
    secret: str,
    region: str,
    body: bytes,
    index: int,
) -> None:
    request = AWSRequest(method=method, url=_url(key, params), headers={"x-amz-meta-m": meta}, data=body)
    S3SigV4Auth(Credentials("AKID", secret), "s3", region).add_auth(request)
    path, query, headers = _wire(request)
    _verify(method, path, query, headers, secret)

    tampers = [
        (
            method,
            path,
            query,
            {**headers, "authorization": _tampered(headers["authorization"], -1 - index % 64)},
        ),
        (method, f"/bucket/{quote(_tampered(key, index), safe='/~')}", query, headers),
        (method, path, query, {**headers, "x-amz-meta-m": _tampered(meta.strip(), index)}),
        ("PATCH", path, query, headers),
        (method, path, f"{query}&extra=1" if query else "extra", headers),
    ]
    if params:
        name = sorted(params)[index % len(params)]
        changed = {**params, name: params[name] + "x"}
        tampers.append((method, path, urlsplit(_url(key, changed)).query, headers))
    for t_method, t_path, t_query, t_headers in tampers:
        with pytest.raises(SignatureDoesNotMatch):
            _verify(t_method, t_path, t_query, t_headers, secret)
    with pytest.raises(SignatureDoesNotMatch):
        _verify(method, path, query, headers, secret + "x")


@settings(max_examples=100, deadline=None)
@given(
    key=keys,
    params=query_params,
    secret=secrets,
    region=regions,
    expires=st.integers(min_value=60, max_value=604800),
    index=st.integers(min_value=0),
)
def test_botocore_presigned_urls_verify(
    key: str, params: dict[str, str], secret: str, region: str, expires: int, index: int
) -> None:
    request = AWSRequest(method="GET", url=_url(key, params))
    S3SigV4QueryAuth(Credentials("AKID", secret, "session"), "s3", region, expires=expires).add_auth(request)
    path, query, headers = _wire(request)
    assert parse_presigned_query(dict(parse_qsl(query))).security_token == "session"
    _verify("GET", path, query, headers, secret)

    signature_at = query.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    tampered_sig = query[:signature_at] + _tampered(query[signature_at:], index % 64)
    for t_path, t_query in [
        (path, tampered_sig),
        (f"/bucket/{quote(_tampered(key, index), safe='/~')}", query),
        (path, query.replace(f"X-Amz-Expires={expires}", f"X-Amz-Expires={expires - 1}")),
    ]:
        with pytest.raises(SignatureDoesNotMatch):
            _verify("GET", t_path, t_query, headers, secret)
