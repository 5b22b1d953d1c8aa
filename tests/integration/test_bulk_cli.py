"""``lakebox bulk put`` / ``lakebox object bulk put`` (wrangler's ``r2 bulk put``) against a live server, checked
with boto3: wrangler's input file and flags, progress, ``--json``, multipart for large files, and every bad input
refused with wrangler's message before anything is uploaded."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli
from tests.support.admin import create_token
from tests.support.cli import err
from tests.support.server import LakeboxServer

MIB = 1 << 20


def lakebox(
    server: LakeboxServer, *args: str, cwd: Path, token: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    return cli.run(*args, env=cli.server_env(server, token), cwd=cwd)


def _files(folder: Path, count: int) -> list[dict[str, str]]:
    (folder / "in" / "sub").mkdir(parents=True)
    entries = []
    for i in range(count):
        name = f"in/sub/file-{i}.csv" if i % 2 else f"in/file-{i}.json"
        (folder / name).write_bytes(f"row {i}\n".encode() * (i + 1))
        entries.append({"key": f"bulk/ü {i}+?#", "file": name})
    return entries


def _keys(server: LakeboxServer, bucket: str) -> list[str]:
    listed = server.s3().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_bulk_put_text_progress_and_objects(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    entries = _files(tmp_path, 25)
    (tmp_path / "list.json").write_text(json.dumps(entries))
    result = lakebox(
        server, "bulk", "put", bucket, "--filename", "list.json", "--concurrency", "3", cwd=tmp_path
    )
    assert result.returncode == 0, err(result)
    assert result.stdout.decode().splitlines() == [
        f"Starting bulk upload of 25 objects to bucket {bucket} using a concurrency of 3",
        "Uploaded 40% (10 out of 25)",
        "Uploaded 80% (20 out of 25)",
        "Uploaded 100% (25 out of 25)",
        "Bulk upload complete.",
    ]
    assert result.stderr == b""  # no progress bar when standard error is not a terminal
    s3 = server.s3()
    for entry in entries:
        got = s3.get_object(Bucket=bucket, Key=entry["key"])
        assert got["Body"].read() == (tmp_path / entry["file"]).read_bytes()
        assert got["ContentType"] == ("text/csv" if entry["file"].endswith(".csv") else "application/json")
    assert len(_keys(server, bucket)) == 25


def test_object_bulk_put_json_multipart_headers_and_progress_bar(
    server: LakeboxServer, bucket: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01" * (11 * MIB))
    (tmp_path / "small.txt").write_bytes(b"small")
    entries = [{"key": "big", "file": str(big)}, {"key": "dir/small", "file": "small.txt"}]
    (tmp_path / "list.json").write_text(json.dumps(entries))
    result = lakebox(
        server, "object", "bulk", "put", bucket, "-f", "list.json", "--part-size", "5MiB",
        "--content-type", "application/x-test", "--cache-control", "no-store", "-s", "InfrequentAccess",
        "--progress", "--json", "-y", "--remote", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, err(result)
    summary: dict[str, Any] = json.loads(result.stdout)
    s3 = server.s3()
    heads = [s3.head_object(Bucket=bucket, Key=key) for key in ("big", "dir/small")]
    assert summary == {
        "bucket": bucket,
        "count": 2,
        "size": 11 * MIB + 5,
        "objects": [
            {"bucket": bucket, "key": "big", "etag": heads[0]["ETag"].strip('"'), "size": 11 * MIB,
             "parts": 3, "file": str(big)},
            {"bucket": bucket, "key": "dir/small", "etag": heads[1]["ETag"].strip('"'), "size": 5, "parts": 1,
             "file": "small.txt"},
        ],
    }  # fmt: skip
    assert heads[0]["ETag"].endswith('-3"')  # a multipart upload of three parts
    assert heads[1]["ETag"].strip('"') == hashlib.md5(b"small").hexdigest()  # noqa: S324
    for head in heads:
        assert (head["ContentType"], head["CacheControl"], head["StorageClass"]) == (
            "application/x-test", "no-store", "STANDARD_IA",
        )  # fmt: skip
    assert "bulk put 2 objects" in result.stderr.decode()  # the progress bar (forced on)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == big.read_bytes()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "The --filename argument is required for bulk put operations."),
        (None, ["-f", "absent.json"], 'The file "absent.json" does not exist.'),
        ("[{", ["-f", "list.json"], 'The file "list.json" is not a valid JSON.'),
        ('{"key": "k", "file": "a.txt"}', ["-f", "list.json"], 'The file "list.json" must contain an array of entries.'),
        (
            '[{"key": "k", "file": "a.txt"}, {"key": 1, "file": "a.txt"}]', ["-f", "list.json"],
            'Each entry in the file "list.json" must be an object with "key" and "file" string properties.',
        ),
        ('[{"key": "k", "file": "a.txt"}, null]', ["-f", "list.json"],
         'Each entry in the file "list.json" must be an object with "key" and "file" string properties.'),
        ('[{"key": "k", "file": "a.txt"}, {"key": "m", "file": "b.txt"}]', ["-f", "list.json"],
         'The file "b.txt" does not exist.'),
        ('[{"key": "k", "file": "a.txt"}, {"key": "m", "file": "in"}]', ["-f", "list.json"],
         'The path "in" is not a file.'),
        ('[{"key": "k", "file": "a.txt"}]', ["-f", "list.json", "--part-size", "1MiB"],
         "Error: Invalid value for --part-size: must be at least 5MiB"),
    ],
)  # fmt: skip
def test_bad_inputs_upload_nothing(
    server: LakeboxServer, bucket: str, tmp_path: Path, content: str | None, args: list[str], message: str
) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / "in").mkdir()
    if content is not None:
        (tmp_path / "list.json").write_text(content)
    result = lakebox(server, "bulk", "put", bucket, *args, cwd=tmp_path)
    if message.startswith("Error:"):
        assert (result.returncode, err(result).splitlines()[-1]) == (2, message)
    else:
        assert (result.returncode, err(result)) == (1, f"lakebox: {message}")
    assert result.stdout == b""
    assert _keys(server, bucket) == []


def test_failed_uploads_stop_with_the_s3_error(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    entries = _files(tmp_path, 3)
    (tmp_path / "list.json").write_text(json.dumps(entries))
    missing = lakebox(server, "bulk", "put", "no-such-bucket-bulk", "-f", "list.json", cwd=tmp_path)
    assert missing.returncode == 1
    assert err(missing).startswith('lakebox: Error uploading "in/')
    assert err(missing).endswith('": NoSuchBucket: The specified bucket does not exist.')

    other = create_token(server, "object-rw", buckets=["some-other-bucket"])
    denied = lakebox(
        server, "bulk", "put", bucket, "-f", "list.json", "--json", cwd=tmp_path, token=other["token"]
    )
    assert denied.returncode == 1
    assert err(denied).endswith('": AccessDenied: Access Denied')
    assert denied.stdout == b""
    assert _keys(server, bucket) == []

    local = lakebox(server, "bulk", "put", bucket, "-f", "list.json", "--local", cwd=tmp_path)
    assert err(local) == "lakebox: lakebox has no local mode: its objects are on the server (drop --local)"
