"""Other real S3 clients against a live server: boto3 over https with virtual-hosted addressing, the aws CLI,
s3cmd and rclone. Each round trip is byte-exact."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.config import Config

from tests.support.server import LakeboxServer

BIN = Path(sys.executable).parent


def run(cmd: list[str], env: dict[str, str], **kwargs: object) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{cmd[0]} failed:\n{done.stdout}\n{done.stderr}"
    return str(done.stdout)


def aws_env(server: LakeboxServer, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=server.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.secret_access_key,
        AWS_DEFAULT_REGION="auto",
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
    )
    return env


def s3cmd_command(server: LakeboxServer, tmp_path: Path) -> list[str]:
    """s3cmd configured for the server (SigV4, path-style, plain http)."""
    config = tmp_path / "s3cfg"
    host = f"127.0.0.1:{server.s3_port}"
    config.write_text(
        "[default]\n"
        f"access_key = {server.access_key_id}\nsecret_key = {server.secret_access_key}\n"
        f"host_base = {host}\nhost_bucket = {host}\nbucket_location = auto\nuse_https = False\n"
        "signature_v2 = False\n"
    )
    return [str(BIN / "s3cmd"), "-c", str(config)]


def rclone_config(server: LakeboxServer, tmp_path: Path) -> Path:
    """An rclone config with the server as remote ``lb`` (R2's provider settings)."""
    config = tmp_path / "rclone.conf"
    config.write_text(
        "[lb]\ntype = s3\nprovider = Cloudflare\n"
        f"access_key_id = {server.access_key_id}\nsecret_access_key = {server.secret_access_key}\n"
        f"endpoint = {server.s3_endpoint}\nregion = auto\n"
    )
    return config


@pytest.fixture
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolves <bucket>.localhost to 127.0.0.1 in this process (virtual-hosted addressing without DNS)."""
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host.endswith(".localhost") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.mark.usefixtures("localhost_subdomains")
@pytest.mark.parametrize("addressing", ["path", "virtual"])
def test_boto3_over_https(tls_server: LakeboxServer, addressing: str) -> None:
    endpoint = f"https://localhost:{tls_server.s3_port}"
    s3 = tls_server.s3(endpoint_url=endpoint, config=Config(s3={"addressing_style": addressing}))
    bucket = f"tls-{addressing}"
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(3 * 1024 * 1024 + 11)
    # Over TLS boto3 sends aws-chunked bodies with a trailing CRC checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
    put = s3.put_object(Bucket=bucket, Key="dir/obj", Body=body)
    assert "ChecksumCRC32" in put
    assert s3.get_object(Bucket=bucket, Key="dir/obj")["Body"].read() == body
    head = s3.head_object(Bucket=bucket, Key="dir/obj", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == put["ChecksumCRC32"]
    assert "ContentEncoding" not in head
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/obj"]


def test_aws_cli(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    env = aws_env(server, tmp_path)
    aws = [str(BIN / "aws"), "--endpoint-url", server.s3_endpoint]
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    files = {"a.txt": os.urandom(1000), "nested/b.bin": os.urandom(9 * 1024 * 1024), "empty": b""}
    for name, data in files.items():
        (src / name).write_bytes(data)
    run([*aws, "s3", "cp", str(src / "a.txt"), f"s3://{bucket}/cp/a.txt"], env)
    run([*aws, "s3", "sync", str(src), f"s3://{bucket}/sync/"], env)
    listing = run([*aws, "s3", "ls", "--recursive", f"s3://{bucket}/sync/"], env)
    assert all(f"sync/{name}" in listing for name in files)
    dst = tmp_path / "dst"
    run([*aws, "s3", "sync", f"s3://{bucket}/sync/", str(dst)], env)
    for name, data in files.items():
        assert (dst / name).read_bytes() == data
    url = run([*aws, "s3", "presign", f"s3://{bucket}/cp/a.txt", "--expires-in", "60"], env).strip()
    assert httpx.get(url).content == files["a.txt"]
    head = run([*aws, "s3api", "head-object", "--bucket", bucket, "--key", "sync/nested/b.bin"], env)
    assert '"ContentLength": 9437184' in head


def test_s3cmd(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    s3cmd = s3cmd_command(server, tmp_path)
    data = os.urandom(200_000)
    (tmp_path / "f.bin").write_bytes(data)
    run([*s3cmd, "put", str(tmp_path / "f.bin"), f"s3://{bucket}/s3cmd/f.bin"], dict(os.environ))
    assert "s3cmd/f.bin" in run([*s3cmd, "ls", "--recursive", f"s3://{bucket}"], dict(os.environ))
    run([*s3cmd, "get", f"s3://{bucket}/s3cmd/f.bin", str(tmp_path / "back.bin")], dict(os.environ))
    assert (tmp_path / "back.bin").read_bytes() == data
    run([*s3cmd, "del", f"s3://{bucket}/s3cmd/f.bin"], dict(os.environ))


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is installed by scripts/system-deps")
def test_rclone(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    config = rclone_config(server, tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    files = {"one.bin": os.urandom(100_000), "two.txt": b"hello rclone"}
    for name, data in files.items():
        (src / name).write_bytes(data)
    rclone = ["rclone", "--config", str(config)]
    # rclone refuses a custom CA bundle on a plain-http transport: drop one inherited from the environment.
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    run([*rclone, "copy", str(src), f"lb:{bucket}/rc"], env)
    assert sorted(run([*rclone, "lsf", f"lb:{bucket}/rc"], env).split()) == sorted(files)
    run([*rclone, "copy", f"lb:{bucket}/rc", str(tmp_path / "dst")], env)
    for name, data in files.items():
        assert (tmp_path / "dst" / name).read_bytes() == data
    run([*rclone, "check", str(src), f"lb:{bucket}/rc"], env)


def write_random(path: Path, size: int, chunk: int = 8 * 1024 * 1024) -> str:
    """Writes ``size`` random bytes to ``path`` a chunk at a time; their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            data = os.urandom(min(chunk, left))
            digest.update(data)
            f.write(data)
            left -= len(data)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while data := f.read(8 * 1024 * 1024):
            digest.update(data)
    return digest.hexdigest()


def test_aws_cli_cp_200_mib(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    """``aws s3 cp`` of 200 MiB: a multipart upload of the CLI's 8 MiB parts, and ranged parallel GETs back."""
    env = aws_env(server, tmp_path)
    aws = [str(BIN / "aws"), "--endpoint-url", server.s3_endpoint]
    size = 200 * 1024 * 1024
    digest = write_random(tmp_path / "big.bin", size)
    run([*aws, "s3", "cp", str(tmp_path / "big.bin"), f"s3://{bucket}/big.bin"], env)
    head = server.s3().head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == size
    assert head["ETag"].endswith('-25"')  # 200 MiB in the CLI's default 8 MiB parts
    (tmp_path / "big.bin").unlink()
    run([*aws, "s3", "cp", f"s3://{bucket}/big.bin", str(tmp_path / "back.bin")], env)
    assert sha256_of(tmp_path / "back.bin") == digest


@pytest.mark.parametrize("chunk_mib", [5, 16])
def test_rclone_multipart_chunk_size(
    server: LakeboxServer, bucket: str, tmp_path: Path, chunk_mib: int
) -> None:
    """rclone with ``--s3-chunk-size``: files above the upload cutoff go up in parts of that size."""
    config = rclone_config(server, tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    sizes = {"large.bin": 3 * chunk_mib * 1024 * 1024 + 12345, "small.bin": 1024 * 1024}
    digests = {name: write_random(src / name, size) for name, size in sizes.items()}
    rclone = [
        "rclone", "--config", str(config), "--s3-chunk-size", f"{chunk_mib}M", "--s3-upload-cutoff", "4M",
        "--s3-upload-concurrency", "4",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    run([*rclone, "copy", str(src), f"lb:{bucket}/chunked"], env)
    s3 = server.s3()
    large = s3.head_object(Bucket=bucket, Key="chunked/large.bin")
    assert large["ContentLength"] == sizes["large.bin"]
    assert large["ETag"].endswith('-4"')  # three full parts and the rest
    assert s3.get_object(Bucket=bucket, Key="chunked/large.bin", PartNumber=1)["ContentLength"] == (
        chunk_mib * 1024 * 1024
    )
    assert "-" not in s3.head_object(Bucket=bucket, Key="chunked/small.bin")["ETag"]
    run([*rclone, "check", str(src), f"lb:{bucket}/chunked"], env)
    run([*rclone, "copy", f"lb:{bucket}/chunked", str(tmp_path / "dst")], env)
    assert {name: sha256_of(tmp_path / "dst" / name) for name in sizes} == digests


def test_s3cmd_multipart(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    s3cmd = [*s3cmd_command(server, tmp_path), "--multipart-chunk-size-mb=5"]
    digest = write_random(tmp_path / "f.bin", 12 * 1024 * 1024 + 7)
    run([*s3cmd, "put", str(tmp_path / "f.bin"), f"s3://{bucket}/s3cmd/mp.bin"], dict(os.environ))
    assert server.s3().head_object(Bucket=bucket, Key="s3cmd/mp.bin")["ETag"].endswith('-3"')
    run([*s3cmd, "get", f"s3://{bucket}/s3cmd/mp.bin", str(tmp_path / "back.bin")], dict(os.environ))
    assert sha256_of(tmp_path / "back.bin") == digest
