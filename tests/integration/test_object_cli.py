"""``lakebox object put|get|delete`` (wrangler's ``r2 object``) against a live server, checked with boto3."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support import cli
from tests.support.admin import create_token
from tests.support.cli import err
from tests.support.server import LakeboxServer


def lakebox(
    server: LakeboxServer,
    *args: str,
    token: str | None = None,
    stdin: bytes | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return cli.run(*args, env=cli.server_env(server, token), stdin=stdin or b"", cwd=cwd)


def test_put_get_delete_file(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    source = tmp_path / "src" / "dataset.csv"
    source.write_bytes(b"a,b\n1,2\n")
    put = lakebox(server, "object", "put", f"{bucket}/data/dataset.csv", "--file", str(source))
    assert put.returncode == 0, err(put)
    assert (
        put.stdout.decode() == f'Creating object "data/dataset.csv" in bucket "{bucket}".\nUpload complete.\n'
    )
    assert put.stderr == b""  # no progress bar when standard error is not a terminal
    cold = lakebox(server, "object", "put", f"{bucket}/cold", "--pipe", "-s", "InfrequentAccess", stdin=b"c")
    assert cold.returncode == 0, err(cold)
    assert server.s3().head_object(Bucket=bucket, Key="cold")["StorageClass"] == "STANDARD_IA"
    head = server.s3().head_object(Bucket=bucket, Key="data/dataset.csv")
    assert head["ContentType"] == "text/csv"
    assert head["ContentLength"] == 8

    got = lakebox(server, "object", "get", f"{bucket}/data/dataset.csv", cwd=tmp_path)
    assert got.returncode == 0, err(got)
    assert got.stdout.decode() == f'Downloading "data/dataset.csv" from "{bucket}".\nDownload complete.\n'
    assert (tmp_path / "dataset.csv").read_bytes() == b"a,b\n1,2\n"

    deleted = lakebox(server, "object", "delete", f"{bucket}/data/dataset.csv", "--remote", "-y", "--json")
    assert deleted.returncode == 0, err(deleted)
    assert json.loads(deleted.stdout) == {"bucket": bucket, "key": "data/dataset.csv", "deleted": True}
    with pytest.raises(ClientError) as info:
        server.s3().head_object(Bucket=bucket, Key="data/dataset.csv")
    assert info.value.response["Error"]["Code"] == "404"


def test_pipe_round_trip_with_awkward_keys_and_headers(server: LakeboxServer, bucket: str) -> None:
    body = secrets.token_bytes(3 * 1024 * 1024 + 17)
    for key in ("dir/../x y+z%.bin", "a//b/", "./é/~.bin"):
        put = lakebox(
            server, "object", "put", f"{bucket}/{key}", "--pipe", "--content-type", "application/x-test",
            "--cache-control", "max-age=60", "--content-disposition", 'attachment; filename="x.bin"',
            "--content-encoding", "identity", "--content-language", "fr", "--json", stdin=body,
        )  # fmt: skip
        assert put.returncode == 0, err(put)
        result = json.loads(put.stdout)
        assert result == {
            "bucket": bucket, "key": key, "etag": hashlib.md5(body).hexdigest(), "size": len(body),  # noqa: S324
            "parts": 1,
        }  # fmt: skip
        head = server.s3().head_object(Bucket=bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"], head["ContentLanguage"]) == (
            "application/x-test", "max-age=60", "fr"
        )  # fmt: skip
        assert head["ContentDisposition"] == 'attachment; filename="x.bin"'
        got = lakebox(server, "object", "get", f"{bucket}/{key}", "--pipe")
        assert got.returncode == 0, err(got)
        assert got.stdout == body


def test_get_json_to_named_file(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    server.s3().put_object(Bucket=bucket, Key="k", Body=b"hello", ContentType="text/plain")
    target = tmp_path / "out.txt"
    got = lakebox(server, "object", "get", f"{bucket}/k", "--file", str(target), "--json")
    assert got.returncode == 0, err(got)
    assert json.loads(got.stdout) == {
        "bucket": bucket, "key": "k", "file": str(target), "size": 5,
        "etag": hashlib.md5(b"hello").hexdigest(), "content_type": "text/plain",  # noqa: S324
    }  # fmt: skip
    assert target.read_bytes() == b"hello"


def test_errors_are_the_s3_errors(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    target = tmp_path / "never.bin"
    missing = lakebox(server, "object", "get", f"{bucket}/nope", "--file", str(target))
    assert (missing.returncode, err(missing)) == (1, "lakebox: NoSuchKey: The specified key does not exist.")
    assert list(tmp_path.iterdir()) == []  # no partial file left behind
    no_bucket = lakebox(server, "object", "put", "no-such-bucket-x/k", "--pipe", stdin=b"x")
    assert err(no_bucket) == "lakebox: NoSuchBucket: The specified bucket does not exist."

    other = create_token(server, "object-rw", buckets=["some-other-bucket"])
    denied = lakebox(server, "object", "put", f"{bucket}/k", "--pipe", stdin=b"x", token=other["token"])
    assert (denied.returncode, err(denied)) == (1, "lakebox: AccessDenied: Access Denied")
    # An object token may use the commands on its own bucket (the S3 credentials are the token's own).
    mine = create_token(server, "object-rw", buckets=[bucket])
    ok = lakebox(server, "object", "put", f"{bucket}/k", "--pipe", stdin=b"x", token=mine["token"])
    assert ok.returncode == 0, err(ok)

    bad = lakebox(server, "object", "get", f"{bucket}/nope", "--token", "not-a-token")
    assert err(bad) == (
        "lakebox: AuthenticationError: Authentication error [code 10000] — check --token/LAKEBOX_TOKEN, "
        "or run lakebox login"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["put", "just-a-bucket", "--pipe"], "expected BUCKET/KEY, got 'just-a-bucket'"),
        (["put", "b/k"], "give exactly one of --file and --pipe"),
        (["get", "b/k", "--pipe", "--file", "x"], "give at most one of --file and --pipe"),
        (["get", "b/dir/", "--json"], "the key 'dir/' names no file; give --file"),
    ],
)
def test_usage_errors(server: LakeboxServer, args: list[str], message: str) -> None:
    result = lakebox(server, "object", *args)
    assert result.returncode == 2
    assert err(result).endswith(f"Error: {message}")


def test_local_and_other_jurisdictions_are_refused(server: LakeboxServer, bucket: str) -> None:
    local = lakebox(server, "object", "put", f"{bucket}/k", "--pipe", "--local", stdin=b"x")
    assert (local.returncode, err(local)) == (
        1,
        "lakebox: lakebox has no local mode: its objects are on the server (drop --local)",
    )
    eu = lakebox(server, "object", "get", f"{bucket}/k", "--pipe", "-J", "eu")
    assert (eu.returncode, err(eu)) == (
        1,
        "lakebox: lakebox object commands reach the default jurisdiction only, not 'eu': use an S3 client with the "
        "endpoint URL <S3 endpoint>/_eu (drop -J)",
    )


def test_put_and_get_stream_without_holding_the_file(
    server: LakeboxServer, bucket: str, tmp_path: Path
) -> None:
    """A 64 MiB upload and download keep the CLI's peak memory far below the object's size."""
    big = tmp_path / "big.bin"
    with open(big, "wb") as out:
        for _ in range(64):
            out.write(secrets.token_bytes(1024 * 1024))
    probe = (
        "import re, sys\n"
        "from lakebox.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        # VmHWM (peak RSS of this program image; ru_maxrss would include the forking parent's)
        "hwm = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print('maxrss', hwm, file=sys.stderr)\n"
    )
    env = dict(os.environ, LAKEBOX_CONSOLE_URL=server.console_url, LAKEBOX_TOKEN=server.token)
    peaks = []
    for args in (
        ["put", f"{bucket}/big", "--file", str(big)],
        ["get", f"{bucket}/big", "--file", str(tmp_path / "back")],
    ):
        run = subprocess.run([sys.executable, "-c", probe, "object", *args], env=env, capture_output=True, timeout=300, check=True)  # fmt: skip
        peaks.append(int(run.stderr.decode().rsplit("maxrss", 1)[1]))
    assert (tmp_path / "back").read_bytes() == big.read_bytes()
    assert max(peaks) < 64 * 1024 * 0.75, peaks  # KiB: well under the object's 64 MiB


def _random_file(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(mib):
            chunk = secrets.token_bytes(1024 * 1024)
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _multipart_put(
    server: LakeboxServer, bucket: str, source: Path, part_size: str, total: str
) -> dict[str, object]:
    put = lakebox(
        server, "object", "put", f"{bucket}/big.bin", "--file", str(source), "--part-size", part_size,
        "--progress", "--json",
    )  # fmt: skip
    assert put.returncode == 0, err(put)
    assert "put big.bin" in err(put)  # rich's bar, on stderr, ending at the whole size
    number, unit = total.split()
    assert f"{number}/{number} {unit}" in err(put)
    result: dict[str, object] = json.loads(put.stdout)
    return result


def test_multipart_put_with_progress(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    digest = _random_file(source, 40)
    result = _multipart_put(server, bucket, source, "8MiB", "40.0 MiB")
    assert (result["parts"], result["size"]) == (5, 40 * 1024 * 1024)
    assert str(result["etag"]).endswith("-5")
    head = server.s3().head_object(Bucket=bucket, Key="big.bin")
    assert (head["ContentLength"], head["ETag"].strip('"')) == (40 * 1024 * 1024, result["etag"])
    assert head["ContentType"] == "application/octet-stream"
    body = server.s3().get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == digest
    assert server.s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    back = lakebox(
        server, "object", "get", f"{bucket}/big.bin", "--file", str(tmp_path / "back"), "--progress"
    )
    assert back.returncode == 0, err(back)
    assert "get big.bin" in err(back)
    assert (tmp_path / "back").read_bytes() == source.read_bytes()


def test_failed_multipart_put_leaves_no_upload(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    _random_file(source, 12)
    reader = create_token(server, "object-ro", buckets=[bucket])
    denied = lakebox(server, "object", "put", f"{bucket}/big.bin", "--file", str(source), "--part-size", "5MiB",
                     token=reader["token"])  # fmt: skip
    assert (denied.returncode, err(denied)) == (1, "lakebox: AccessDenied: Access Denied")
    assert server.s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    too_small = lakebox(server, "object", "put", f"{bucket}/x", "--file", str(source), "--part-size", "1MiB")
    assert too_small.returncode == 2
    assert "--part-size" in err(too_small)


@pytest.mark.slow
def test_one_gib_put_uses_multipart_and_shows_progress(
    server: LakeboxServer, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    digest = _random_file(source, 1024)
    result = _multipart_put(server, bucket, source, "64MiB", "1.0 GiB")
    assert (result["parts"], result["size"]) == (16, 1 << 30)
    body = server.s3().get_object(Bucket=bucket, Key="big.bin")["Body"]
    check = hashlib.sha256()
    for chunk in iter(lambda: body.read(1 << 20), b""):
        check.update(chunk)
    assert check.hexdigest() == digest
