"""Limits enforced before a request reaches the app (so before authentication): the header section and URL
caps with their exact errors on each port, the whole-head deadline that cuts off a slowloris client, silent and
stalled connections, the per-worker connection cap, and a normal client served afterwards."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from botocore.exceptions import ClientError

from tests.support.server import LakeboxServer, running

TIMEOUT = 3  # seconds: the server's header, body and keep-alive timeouts in this module
GENEROUS = 60.0  # what a test waits at most for the server to act on one of them


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeboxServer]:
    env = {
        "LAKEBOX_HEADER_TIMEOUT": str(TIMEOUT),
        "LAKEBOX_BODY_TIMEOUT": str(TIMEOUT),
        "LAKEBOX_KEEP_ALIVE_TIMEOUT": str(TIMEOUT),
    }
    with running(tmp_path_factory.mktemp("limits") / "data", extra_env=env) as srv:
        srv.s3().create_bucket(Bucket="limits")
        yield srv


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GENEROUS)
    sock.settimeout(GENEROUS)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def _response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _s3_code(body: bytes) -> str:
    match = re.search(rb"<Code>([^<]*)</Code>", body)
    assert match, body
    return match.group(1).decode()


def _assert_healthy(server: LakeboxServer) -> None:
    s3 = server.s3()
    s3.put_object(Bucket="limits", Key="after", Body=b"still served")
    assert s3.get_object(Bucket="limits", Key="after")["Body"].read() == b"still served"


def _request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_header_section_over_the_cap_on_each_port(limited: LakeboxServer) -> None:
    big = {f"x-amz-meta-h{i}": "v" * 1000 for i in range(40)}  # ~40 KiB, over the 32 KiB default
    with _connect(limited.s3_port) as sock:
        sock.sendall(_request("/limits/key", big))
        status, headers, body = _response(_read_all(sock))
    assert status == 400
    assert _s3_code(body) == "RequestHeaderSectionTooLarge"
    assert headers["content-type"] == "application/xml"
    assert headers["connection"] == "close"
    assert "x-amz-request-id" in headers

    with _connect(limited.public_port) as sock:
        sock.sendall(_request("/some-id/key", big))
        status, _, body = _response(_read_all(sock))
    assert (status, _s3_code(body)) == (400, "RequestHeaderSectionTooLarge")

    with _connect(limited.catalog_port) as sock:
        sock.sendall(_request("/v1/config", big))
        status, _, body = _response(_read_all(sock))
    assert status == 431
    assert json.loads(body)["error"] == {
        "message": "Your request header section exceeds the maximum allowed size.",
        "type": "RequestHeaderSectionTooLarge",
        "code": 431,
    }

    with _connect(limited.console_port) as sock:
        sock.sendall(_request("/health", big))
        status, _, body = _response(_read_all(sock))
    assert status == 431
    document = json.loads(body)
    assert document["success"] is False
    assert document["errors"][0]["code"] == 431
    _assert_healthy(limited)


def test_bytes_that_are_not_http_get_a_400_in_each_ports_style(limited: LakeboxServer) -> None:
    garbage = b"GET /a b c d\r\n\x00\x01 nonsense\r\n\r\n"
    answers = {}
    for name in ("s3", "public", "catalog", "console"):
        with _connect(getattr(limited, f"{name}_port")) as sock:
            sock.sendall(garbage)
            answers[name] = _response(_read_all(sock))
    for name in ("s3", "public"):
        status, headers, body = answers[name]
        assert (status, _s3_code(body), headers["connection"]) == (400, "BadRequest", "close")
    status, _, body = answers["catalog"]
    assert status == 400
    assert json.loads(body)["error"]["type"] == "BadRequestException"
    status, _, body = answers["console"]
    assert status == 400
    assert json.loads(body)["errors"][0]["code"] == 400
    _assert_healthy(limited)


def test_r2_sized_metadata_fits_under_the_cap(limited: LakeboxServer) -> None:
    s3 = limited.s3()
    metadata = {f"k{i:02d}": "v" * 201 for i in range(40)}  # 8,160 bytes: within R2's 8,192
    s3.put_object(Bucket="limits", Key="meta", Body=b"", Metadata=metadata)
    assert s3.head_object(Bucket="limits", Key="meta")["Metadata"] == metadata


def test_an_endless_header_line_is_cut_off_before_it_ends(limited: LakeboxServer) -> None:
    with _connect(limited.s3_port) as sock:
        sock.sendall(b"GET /limits/key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
        sent = 0
        try:
            while sent < 16 << 20:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed long before 16 MiB had gone
        assert sent < 16 << 20
    _assert_healthy(limited)


def test_url_over_the_cap_is_414(limited: LakeboxServer) -> None:
    with _connect(limited.s3_port) as sock:
        sock.sendall(_request("/limits/" + "k" * 20_000, {}))
        status, headers, body = _response(_read_all(sock))
    assert (status, _s3_code(body)) == (414, "RequestURITooLong")
    assert headers["connection"] == "close"
    # A key at R2's 1,024-byte limit, percent-encoded to three times that, is well within the cap.
    key = "é" * 512
    limited.s3().put_object(Bucket="limits", Key=key, Body=b"long key")
    assert limited.s3().get_object(Bucket="limits", Key=key)["Body"].read() == b"long key"


def test_slowloris_head_is_cut_off_after_a_bounded_total(limited: LakeboxServer) -> None:
    """One header byte a second never trips a per-read timeout; the whole-head deadline ends it."""
    with _connect(limited.s3_port) as sock:
        sock.sendall(b"GET /limits/key HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(1.0)
        started, received = time.monotonic(), b""
        while time.monotonic() - started < GENEROUS:
            try:
                sock.sendall(b"x")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset: the server closed while we were still sending
                break
            if not chunk:
                break
            received += chunk
        else:
            pytest.fail(f"a slowloris client still connected after {GENEROUS}s")
    if received:  # the answer, when it arrived before the reset
        status, _, body = _response(received)
        assert (status, _s3_code(body)) == (400, "RequestTimeout")
    _assert_healthy(limited)


def test_a_silent_connection_is_closed_without_an_answer(limited: LakeboxServer) -> None:
    with _connect(limited.s3_port) as sock:
        assert _read_all(sock) == b""


def test_an_idle_keep_alive_connection_is_closed(limited: LakeboxServer) -> None:
    with _connect(limited.console_port) as sock:
        sock.sendall(_request("/health", {}))
        sock.settimeout(GENEROUS)
        status, headers, _ = _response(_read_all(sock))
    assert status == 200
    assert headers.get("connection") != "close"  # it was kept alive, then closed once idle


def test_a_stalled_body_is_abandoned_and_nothing_is_stored(limited: LakeboxServer) -> None:
    url = urlsplit(
        limited.s3().generate_presigned_url("put_object", Params={"Bucket": "limits", "Key": "stalled"})
    )
    with _connect(limited.s3_port) as sock:
        head = f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: 1000\r\n\r\n"
        sock.sendall(head.encode() + b"only ten b")
        assert _read_all(sock) == b""  # closed by the server, with no answer to a request it never got
    with pytest.raises(ClientError) as exc:
        limited.s3().head_object(Bucket="limits", Key="stalled")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    _assert_healthy(limited)


def _server_has_peer(server: LakeboxServer, peer_port: int) -> bool:
    assert server.process is not None
    processes = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children()]
    return any(
        c.raddr and c.raddr.port == peer_port and c.status == psutil.CONN_ESTABLISHED
        for p in processes
        for c in p.net_connections(kind="tcp")
    )


def test_a_client_that_stops_reading_is_dropped(limited: LakeboxServer) -> None:
    body = bytes(24 << 20)
    limited.s3().put_object(Bucket="limits", Key="big", Body=body)
    url = urlsplit(
        limited.s3().generate_presigned_url("get_object", Params={"Bucket": "limits", "Key": "big"})
    )
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", limited.s3_port))
    try:
        sock.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        peer = sock.getsockname()[1]
        deadline = time.monotonic() + GENEROUS
        while _server_has_peer(limited, peer):  # never read: the server must give up on us
            assert time.monotonic() < deadline, (
                "the server still holds a connection whose client reads nothing"
            )
            time.sleep(0.5)
        sock.settimeout(GENEROUS)
        assert len(_read_all(sock)) < len(body)
    finally:
        sock.close()
    _assert_healthy(limited)


def test_connections_over_the_cap_get_503_slowdown(tmp_path: Path) -> None:
    env = {"LAKEBOX_MAX_CONNECTIONS": "3", "LAKEBOX_HEADER_TIMEOUT": "600"}
    with running(tmp_path / "data", extra_env=env) as server:
        s3 = server.s3()
        s3.create_bucket(Bucket="limits")
        idle = [_connect(server.s3_port) for _ in range(3)]
        try:
            time.sleep(0.5)  # let the worker accept them
            with pytest.raises(ClientError) as exc:
                s3.list_objects_v2(Bucket="limits")
            response = exc.value.response
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert response["Error"]["Code"] == "SlowDown"
            assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + GENEROUS
        while True:  # served again once the worker has seen them go
            try:
                assert s3.list_objects_v2(Bucket="limits")["KeyCount"] == 0
                break
            except ClientError:
                assert time.monotonic() < deadline
                time.sleep(0.2)


def test_the_header_cap_is_exact(limited: LakeboxServer) -> None:
    """Each header counts as ``name: value`` CRLF; a section of exactly 32,768 bytes passes, one more does not."""
    host = len("Host: 127.0.0.1\r\n")
    for size, refused in ((32768, False), (32769, True)):
        pad = "a" * (size - host - len("X-Pad: \r\n"))
        with _connect(limited.s3_port) as sock:
            sock.sendall(f"GET /limits/key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: {pad}\r\n\r\n".encode())
            status, _, body = _response(_read_all(sock))
        assert (_s3_code(body) == "RequestHeaderSectionTooLarge") is refused, (size, status, body)


def test_a_large_read_with_a_small_head_is_not_refused(limited: LakeboxServer) -> None:
    """Head and a 256 KiB body in one send: the read is larger than both caps, the head is not."""
    body = bytes(range(256)) * 1024
    url = urlsplit(
        limited.s3().generate_presigned_url("put_object", Params={"Bucket": "limits", "Key": "one-go"})
    )
    head = f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(body)}\r\n"
    with _connect(limited.s3_port) as sock:
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
        status, _, answer = _response(_read_all(sock))
    assert status == 200, answer
    assert limited.s3().get_object(Bucket="limits", Key="one-go")["Body"].read() == body


def test_boto3_sees_the_s3_error_and_nothing_is_stored(limited: LakeboxServer) -> None:
    s3 = limited.s3()
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket="limits", Key="huge-head", Body=b"x", Metadata={f"m{i}": "v" * 1000 for i in range(40)}
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["Error"]["Code"] == "RequestHeaderSectionTooLarge"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="limits", Key="huge-head")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_pipelined_requests_are_all_answered(limited: LakeboxServer) -> None:
    with _connect(limited.console_port) as sock:
        sock.sendall(_request("/health", {}) * 2 + _request("/health", {"Connection": "close"}))
        answers = _read_all(sock)
    assert answers.count(b"HTTP/1.1 200 OK") == 3


@pytest.mark.parametrize("port", ["s3", "catalog", "console"])
def test_a_trickled_body_cannot_hold_a_connection(limited: LakeboxServer, port: str) -> None:
    """A request without credentials whose client sends its body a byte at a time: the S3 API refuses it from
    the head and closes without reading the body; the catalog and console, which read the body first, close once
    the whole body is overdue. Either way the connection ends, and the server still serves."""
    number, method, path, kind = {
        "s3": (limited.s3_port, "PUT", "/limits/trickled", "application/octet-stream"),
        # OAuth's token endpoint: its body is the credentials, read by design before anyone is known
        "catalog": (limited.catalog_port, "POST", "/v1/oauth/tokens", "application/x-www-form-urlencoded"),
        "console": (limited.console_port, "POST", "/client/v4/user/tokens", "application/json"),
    }[port]
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
        "Content-Length: 1000000\r\n\r\n"
    )
    with _connect(number) as sock:
        sock.sendall(head.encode() + b"g")
        sock.settimeout(0.5)
        received, started, closed = b"", time.monotonic(), False
        while not closed and time.monotonic() - started < GENEROUS:
            try:
                sock.sendall(b" ")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
            closed = not chunk
            received += chunk
    assert closed, "a client trickling a body still held its connection"
    if port == "s3":
        status, _, body = _response(received)
        assert (status, _s3_code(body)) == (403, "AccessDenied")
    _assert_healthy(limited)


def test_a_keep_alive_answer_sent_before_its_body_keeps_the_connection(limited: LakeboxServer) -> None:
    """The catalog answers a route it does not have before reading the body (a client sends the head and the body
    in separate writes). The answer keeps the connection alive, so the server must not close it on the unread
    body: a client reusing it would meet a reset (the catalog fuzz did). The rest is read and dropped."""
    with _connect(limited.catalog_port) as sock:
        head = "POST /v1/no/such/route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"
        sock.sendall(head.encode())
        first = b""
        while b"\r\n\r\n" not in first:
            chunk = sock.recv(65536)
            assert chunk, "closed before the answer"
            first += chunk
        status, headers, _ = _response(first)
        assert status == 404
        assert headers.get("connection") != "close"
        sock.sendall(b"0123456789" + _request("/v1/config", {}))  # the body's rest, then the next request
        second = b""
        while b"HTTP/1.1 401" not in second:
            chunk = sock.recv(65536)
            assert chunk, "the kept connection was closed under the next request"
            second += chunk
    _assert_healthy(limited)
