"""Encryption at rest through a live server: the data directory (blobs, the SQLite database and its WAL) never
holds a body or a user-metadata value in the clear; objects read back whole, by range across segments, by part
and as copies; x-amz-server-side-encryption round trips and aws:kms is refused; SSE-C still layers on top; objects
written before a key rotation read after it; a wrong or missing master key stops the start with one clear line;
objects written without encryption (as an older lakebox wrote them) still read."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import LAKEBOX, LakeboxServer, postgres_database

MiB = 1024 * 1024
SEGMENT = 64 * 1024


def marked_body(marker: bytes, size: int) -> bytes:
    """Random bytes with the marker every 4 KiB, so any plaintext piece of the body holds it."""
    body = bytearray(os.urandom(size))
    for at in range(0, size - len(marker), 4096):
        body[at : at + len(marker)] = marker
    return bytes(body)


def files_holding(data_dir: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in data_dir.rglob("*"):
        if path.is_file() and not path.name.endswith("-server.log"):
            data = path.read_bytes()
            found += [f"{path.relative_to(data_dir)}: {n!r}" for n in needles if n in data]
    return found


_CREDENTIALS = {"token": secrets.token_urlsafe(30), "access_key_id": secrets.token_hex(16)}


def server_for(data_dir: Path, database_url: str | None, **kwargs: Any) -> LakeboxServer:
    """A server on ``data_dir`` with the same root credentials at every restart."""
    return LakeboxServer(data_dir, database_url=database_url, **_CREDENTIALS, **kwargs)


def refused_start(server: LakeboxServer) -> str:
    """Starts ``serve`` expecting it to refuse; returns its stderr."""
    done = subprocess.run(server.command(), env=server.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    return done.stderr


def multipart(s3: Any, bucket: str, key: str, body: bytes, part: int, **extra: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    parts = []
    for number, at in enumerate(range(0, len(body), part), start=1):
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=body[at : at + part]
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )


@pytest.mark.parametrize("inline_kib", [0, 16], ids=["blob-files", "small-bodies-inline"])
def test_the_data_dir_holds_no_plaintext_body_or_metadata(tmp_path: Path, inline_kib: int) -> None:
    """Also with small bodies kept in the database (``inline_object_kib``): sealed there as in blob files."""
    data_dir = tmp_path / "data"
    marker = secrets.token_hex(12).encode()
    meta_value = "meta-" + secrets.token_hex(10)
    disposition = "attachment; filename=" + secrets.token_hex(10) + ".txt"
    bodies = {
        f"obj-{size}": marked_body(marker, size) for size in (100, 5000, SEGMENT + 1, MiB + 3, 3 * MiB + 11)
    }
    big = marked_body(marker, 11 * MiB + 5)
    env = {"LAKEBOX_INLINE_OBJECT_KIB": str(inline_kib)}
    database = postgres_database()
    server = server_for(data_dir, database, extra_env=env).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="sealed")
        for key, body in bodies.items():
            put = s3.put_object(
                Bucket="sealed",
                Key=key,
                Body=body,
                Metadata={"secret": meta_value},
                ContentDisposition=disposition,
            )
            assert put["ServerSideEncryption"] == "AES256"
        multipart(s3, "sealed", "multi", big, 5 * MiB, Metadata={"secret": meta_value})
        s3.copy_object(
            Bucket="sealed", Key="copied", CopySource={"Bucket": "sealed", "Key": f"obj-{MiB + 3}"}
        )
        s3.copy_object(Bucket="sealed", Key="multi-copy", CopySource={"Bucket": "sealed", "Key": "multi"})
        # While running, the WAL holds the latest rows: nothing readable there either.
        assert files_holding(data_dir, [marker, meta_value.encode(), disposition.encode()]) == []
        for key, body in bodies.items():
            got = s3.get_object(Bucket="sealed", Key=key)
            assert got["Body"].read() == body
            assert got["Metadata"] == {"secret": meta_value}
            assert got["ContentDisposition"] == disposition
            assert got["ServerSideEncryption"] == "AES256"
        for key in ("multi", "multi-copy"):
            got = s3.get_object(Bucket="sealed", Key=key)
            assert got["Body"].read() == big
            assert got["Metadata"] == {"secret": meta_value}
        assert s3.get_object(Bucket="sealed", Key="copied")["Body"].read() == bodies[f"obj-{MiB + 3}"]
        # Ranges across segment and part boundaries decrypt only what they touch, and agree with the bytes.
        for key, body in [(f"obj-{3 * MiB + 11}", bodies[f"obj-{3 * MiB + 11}"]), ("multi", big)]:
            for first, last in [
                (0, 0),
                (SEGMENT - 3, SEGMENT + 2),
                (MiB - 7, 2 * MiB + 9),
                (len(body) - 5, len(body) - 1),
            ]:
                got = s3.get_object(Bucket="sealed", Key=key, Range=f"bytes={first}-{last}")["Body"].read()
                assert got == body[first : last + 1]
        part2 = s3.get_object(Bucket="sealed", Key="multi", PartNumber=2)
        assert part2["Body"].read() == big[5 * MiB : 10 * MiB]
        listed = s3.list_multipart_uploads(Bucket="sealed")
        assert listed.get("Uploads", []) == []
        small_files = [p for p in (data_dir / "blobs").rglob("*") if p.is_file() and p.stat().st_size < 6000]
        assert len(small_files) == (2 if inline_kib == 0 else 0)  # the 100 and 5,000 byte bodies
    finally:
        server.stop()
    assert files_holding(data_dir, [marker, meta_value.encode(), disposition.encode()]) == []
    server = server_for(data_dir, database, extra_env=env).start()
    try:  # durable across a restart, whichever way they are kept
        for key, body in bodies.items():
            assert server.s3().get_object(Bucket="sealed", Key=key)["Body"].read() == body
    finally:
        server.stop()
    assert (data_dir / "master.key").stat().st_mode & 0o777 == 0o600


def test_sse_headers_round_trip_and_kms_is_refused(tmp_path: Path) -> None:
    server = server_for(tmp_path / "data", postgres_database()).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="hdr")
        assert (
            s3.put_object(Bucket="hdr", Key="a", Body=b"x", ServerSideEncryption="AES256")[
                "ServerSideEncryption"
            ]
            == "AES256"
        )
        assert s3.head_object(Bucket="hdr", Key="a")["ServerSideEncryption"] == "AES256"
        copied = s3.copy_object(
            Bucket="hdr", Key="b", CopySource={"Bucket": "hdr", "Key": "a"}, ServerSideEncryption="AES256"
        )
        assert copied["ServerSideEncryption"] == "AES256"
        created = s3.create_multipart_upload(Bucket="hdr", Key="m", ServerSideEncryption="AES256")
        assert created["ServerSideEncryption"] == "AES256"
        part = s3.upload_part(Bucket="hdr", Key="m", UploadId=created["UploadId"], PartNumber=1, Body=b"part")
        assert part["ServerSideEncryption"] == "AES256"
        completed = s3.complete_multipart_upload(
            Bucket="hdr",
            Key="m",
            UploadId=created["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert completed["ServerSideEncryption"] == "AES256"
        again = s3.complete_multipart_upload(  # completed already: answered from the object, the same way
            Bucket="hdr",
            Key="m",
            UploadId=created["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert (again["ETag"], again["ServerSideEncryption"]) == (completed["ETag"], "AES256")
        rule = s3.get_bucket_encryption(Bucket="hdr")["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert rule["BucketKeyEnabled"] is False
        customer = secrets.token_bytes(32)
        for call, extra in [
            (lambda **kw: s3.put_object(Bucket="hdr", Key="k", Body=b"x", **kw), {"ServerSideEncryption": "aws:kms"}),
            (lambda **kw: s3.put_object(Bucket="hdr", Key="k", Body=b"x", **kw), {"ServerSideEncryption": "aws:kms:dsse"}),
            (lambda **kw: s3.create_multipart_upload(Bucket="hdr", Key="k", **kw), {"ServerSideEncryption": "aws:kms"}),
            (lambda **kw: s3.copy_object(Bucket="hdr", Key="k", CopySource={"Bucket": "hdr", "Key": "a"}, **kw), {"ServerSideEncryption": "aws:kms"}),
            (lambda **kw: s3.put_object(Bucket="hdr", Key="k", Body=b"x", **kw), {"ServerSideEncryption": "AES256", "SSECustomerAlgorithm": "AES256", "SSECustomerKey": customer}),
        ]:  # fmt: skip
            with pytest.raises(ClientError) as caught:
                call(**extra)
            error = caught.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert error["Error"]["Code"] == "InvalidArgument"
            assert error["Error"].get("ArgumentName") in (None, "x-amz-server-side-encryption")
        with pytest.raises(ClientError) as caught:
            s3.head_object(Bucket="hdr", Key="k")
        assert caught.value.response["Error"]["Code"] == "404"  # nothing was written by the refused requests
        # SSE-C on top: the customer's key is needed, and the data dir holds neither body nor key.
        marker = secrets.token_hex(12).encode()
        body = marked_body(marker, 2 * MiB + 9)
        put = s3.put_object(
            Bucket="hdr", Key="ssec", Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=customer
        )
        assert "ServerSideEncryption" not in put
        with pytest.raises(ClientError):
            s3.get_object(Bucket="hdr", Key="ssec")
        got = s3.get_object(
            Bucket="hdr",
            Key="ssec",
            Range="bytes=65530-65545",
            SSECustomerAlgorithm="AES256",
            SSECustomerKey=customer,
        )
        assert got["Body"].read() == body[65530:65546]
        assert files_holding(tmp_path / "data", [marker, base64.b64encode(customer)]) == []
    finally:
        server.stop()


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAKEBOX, "key", *args], env=env, capture_output=True, text=True, timeout=120)


def test_objects_written_before_a_rotation_read_after_it(tmp_path: Path) -> None:
    data_dir, database = tmp_path / "data", postgres_database()
    old_body, new_body, big = os.urandom(3 * MiB + 1), os.urandom(1000), os.urandom(6 * MiB)
    server = server_for(data_dir, database).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="rot")
        s3.put_object(Bucket="rot", Key="old", Body=old_body, Metadata={"m": "before"})
        multipart(s3, "rot", "old-multi", big, 5 * MiB)
    finally:
        server.stop()
    env = {**server.env(), "LAKEBOX_DATA_DIR": str(data_dir)}
    if database:
        env["LAKEBOX_DATABASE_URL"] = database
    old_id = (data_dir / "master.key").read_text().split("# ")[-1].strip()
    rotated = _run_cli("rotate", env=env)
    assert rotated.returncode == 0, rotated.stderr
    server = server_for(data_dir, database).start()
    try:
        s3 = server.s3()
        got = s3.get_object(Bucket="rot", Key="old")
        assert (got["Body"].read(), got["Metadata"]) == (old_body, {"m": "before"})
        assert s3.get_object(Bucket="rot", Key="old-multi")["Body"].read() == big
        s3.put_object(Bucket="rot", Key="new", Body=new_body)
    finally:
        server.stop()
    listed = _run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(old_id)
    assert "old" in lines[0]
    assert "current" in lines[1]
    refused = _run_cli("retire", old_id, env=env)  # still seals the old objects
    assert refused.returncode == 1
    assert "still seals" in refused.stderr
    server = server_for(data_dir, database).start()
    try:
        s3 = server.s3()
        assert s3.get_object(Bucket="rot", Key="old")["Body"].read() == old_body
        assert s3.get_object(Bucket="rot", Key="new")["Body"].read() == new_body
        s3.delete_object(Bucket="rot", Key="old")
        s3.delete_object(Bucket="rot", Key="old-multi")
    finally:
        server.stop()
    retired = _run_cli("retire", old_id, env=env)
    assert retired.returncode == 0, retired.stderr
    assert old_id not in (data_dir / "master.key").read_text()
    server = server_for(data_dir, database).start()
    try:
        assert server.s3().get_object(Bucket="rot", Key="new")["Body"].read() == new_body
    finally:
        server.stop()


def test_a_wrong_or_missing_master_key_refuses_to_start(tmp_path: Path) -> None:
    data_dir, database = tmp_path / "data", postgres_database()
    body = os.urandom(70_000)
    server = server_for(data_dir, database).start()
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="keys")
        s3.put_object(Bucket="keys", Key="k", Body=body)
    finally:
        server.stop()
    key_file = data_dir / "master.key"
    saved = key_file.read_bytes()
    key_file.unlink()
    message = refused_start(server_for(data_dir, database))
    assert f"Error: cannot start: master key file {key_file} is missing" in message
    assert "Traceback" not in message
    assert not key_file.exists()  # no new key is made up while stored data needs the old one
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    message = refused_start(server_for(data_dir, database, extra_env={"LAKEBOX_MASTER_KEY": other}))
    assert "lacks master key" in message
    assert "Traceback" not in message
    key_file.write_bytes(b"# replaced\n" + base64.b64encode(secrets.token_bytes(32)) + b"\n")
    assert "lacks master key" in refused_start(server_for(data_dir, database))
    elsewhere = tmp_path / "keys" / "lakebox.keys"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(saved)
    key_file.unlink()
    # The right keys from a file kept apart from the data, then from the environment: it serves again.
    server = server_for(data_dir, database, extra_env={"LAKEBOX_MASTER_KEY_FILE": str(elsewhere)}).start()
    try:
        assert server.s3().get_object(Bucket="keys", Key="k")["Body"].read() == body
    finally:
        server.stop()
    assert not key_file.exists()
    from_env = saved.decode().splitlines()[-1].split()[0]
    server = server_for(data_dir, database, extra_env={"LAKEBOX_MASTER_KEY": from_env}).start()
    try:
        assert server.s3().get_object(Bucket="keys", Key="k")["Body"].read() == body
    finally:
        server.stop()


def test_objects_written_without_encryption_still_read_and_copies_are_sealed(tmp_path: Path) -> None:
    data_dir, database = tmp_path / "data", postgres_database()
    marker = secrets.token_hex(12).encode()
    body, big = marked_body(marker, 2 * MiB + 1), marked_body(marker, 6 * MiB)
    plain = server_for(data_dir, database, extra_env={"LAKEBOX_ENCRYPTION": "false"}).start()
    try:  # as an older lakebox wrote them: plaintext blobs and columns
        s3 = plain.s3()
        s3.create_bucket(Bucket="legacy")
        put = s3.put_object(Bucket="legacy", Key="plain", Body=body, Metadata={"m": "v"})
        assert "ServerSideEncryption" not in put
        multipart(s3, "legacy", "plain-multi", big, 5 * MiB)
    finally:
        plain.stop()
    assert files_holding(data_dir, [marker]) != []
    server = server_for(data_dir, database).start()
    try:
        s3 = server.s3()
        got = s3.get_object(Bucket="legacy", Key="plain")
        assert (got["Body"].read(), got["Metadata"]) == (body, {"m": "v"})
        assert "ServerSideEncryption" not in got  # it is not encrypted, and lakebox does not say it is
        assert (
            s3.get_object(Bucket="legacy", Key="plain-multi", Range="bytes=5-5242890")["Body"].read()
            == big[5:5242891]
        )
        for source, copy in [("plain", "sealed"), ("plain-multi", "sealed-multi")]:
            s3.copy_object(Bucket="legacy", Key=copy, CopySource={"Bucket": "legacy", "Key": source})
            assert s3.head_object(Bucket="legacy", Key=copy)["ServerSideEncryption"] == "AES256"
        s3.delete_object(Bucket="legacy", Key="plain")
        s3.delete_object(Bucket="legacy", Key="plain-multi")
        assert s3.get_object(Bucket="legacy", Key="sealed")["Body"].read() == body
        assert s3.get_object(Bucket="legacy", Key="sealed-multi")["Body"].read() == big
    finally:
        server.stop()
