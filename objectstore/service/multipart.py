"""Multipart uploads with R2's rules.

Parts stream into their own blobs; completion validates the chosen parts (5 MiB..5 GiB, all equal but a smaller
last one, at most 10,000, sorted whatever the request order, ETags quoted or not) and makes the object point at
them without copying a byte. A failed If-Match/If-None-Match on completion aborts the upload, as on R2.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from objectstore.service.atrest import AtRest, upload_context
from objectstore.service.checksums import (
    CRC32,
    CRC32C,
    CRC64NVME,
    composite_checksum,
    full_object_crc,
)
from objectstore.service.conditions import Conditions, check_write
from objectstore.service.errors import (
    BadDigest,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchBucket,
    NoSuchUpload,
)
from objectstore.service.model import PutIntegrity, ReadPlan, WriteOptions
from objectstore.service.names import key_identity
from objectstore.service.objects import ObjectService, check_metadata, object_values, write_check
from objectstore.service.sse import CustomerKey
from objectstore.store.blobs import BlobWriter
from objectstore.store.repo import prefix_end
from objectstore.store.uploads import UploadRepository

MIN_PART_SIZE = 5 * 1024**2
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10_000
_UPLOAD_ID = re.compile(r"^[0-9a-f]{40}$")
FULL_OBJECT_ONLY = {CRC64NVME}
FULL_OBJECT_ALLOWED = {CRC32, CRC32C, CRC64NVME}  # AWS also allows these two full-object; clients send it


def new_upload_id() -> str:
    """Hex, ordered by creation time (so one key's uploads list in initiation order)."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(13)}"


@dataclass(frozen=True, slots=True)
class UploadInfo:
    upload_id: str
    bucket: str
    key: str  # as given at creation
    initiated_at: float
    options: WriteOptions
    checksum_type: str | None

    @classmethod
    def from_row(cls, row: Any, atrest: AtRest) -> UploadInfo:
        saved = json.loads(atrest.open_text(row.headers, upload_context(row.upload_id)))
        checksum_type = saved.pop("checksum_type", None)
        return cls(
            row.upload_id, row.bucket, row.key_raw, row.initiated_at, WriteOptions(**saved), checksum_type
        )


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    etag: str
    size: int
    last_modified: float
    checksum_value: str | None
    checksum_algorithm: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> PartInfo:
        return cls(row.part_number, row.etag, row.size, row.last_modified, row.checksum_value)


@dataclass(frozen=True, slots=True)
class RequestedPart:
    """One ``<Part>`` of a CompleteMultipartUpload body."""

    part_number: int
    etag: str  # as sent (quotes are ignored)
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> base64 value


@dataclass(frozen=True, slots=True)
class CompleteResult:
    bucket: str
    key: str
    etag: str
    checksum_algorithm: str | None
    checksum_value: str | None
    checksum_type: str | None
    sse_key_md5: str | None  # SSE-C: the customer key's MD5
    encrypted_at_rest: bool  # what x-amz-server-side-encryption says (as for a GET of the object)


@dataclass(slots=True)
class UploadListing:
    uploads: list[UploadInfo] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    next_key_marker: str = ""
    next_upload_id_marker: str = ""


def multipart_etag(part_etags: list[str]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags))  # noqa: S324 - S3's ETag is MD5
    return f"{digest.hexdigest()}-{len(part_etags)}"


def _same_checksum(given: str, computed: str) -> bool:
    """A composite value compares with or without its ``-N`` suffix."""
    return given.strip() == computed or given.strip() == computed.rsplit("-", 1)[0]


class MultipartService:
    def __init__(self, objects: ObjectService, uploads: UploadRepository) -> None:
        self.objects = objects
        self.uploads = uploads

    # -- create / parts --------------------------------------------------------------------------------------

    def create(
        self,
        bucket: str,
        raw_key: str,
        options: WriteOptions,
        checksum_type: str | None,
        conditions: Conditions = Conditions(),
        *,
        create_bucket_if_missing: bool = False,
    ) -> UploadInfo:
        """Starts an upload (blocking). Conditions given here are checked now, and again on completion."""
        key = key_identity(raw_key)
        check_metadata(options.user_metadata)
        algorithm = options.checksum_algorithm
        if checksum_type is not None:
            checksum_type = checksum_type.upper()
            if checksum_type not in ("COMPOSITE", "FULL_OBJECT") or algorithm is None:
                raise InvalidRequest(
                    "The x-amz-checksum-type header can only be used with x-amz-checksum-algorithm."
                )
        if algorithm is not None:
            if checksum_type is None:
                checksum_type = "FULL_OBJECT" if algorithm in FULL_OBJECT_ONLY else "COMPOSITE"
            if checksum_type == "FULL_OBJECT" and algorithm not in FULL_OBJECT_ALLOWED:
                raise InvalidRequest(
                    f"The FULL_OBJECT checksum type cannot be used with the {algorithm} algorithm."
                )
            if checksum_type == "COMPOSITE" and algorithm in FULL_OBJECT_ONLY:
                raise InvalidRequest(
                    f"The COMPOSITE checksum type cannot be used with the {algorithm} algorithm."
                )
        if not conditions.empty:
            brow, orow = self.objects.repo.get_object(bucket, key)
            if brow is not None:
                check_write(conditions, orow.etag if orow else None, orow.last_modified if orow else None)
        options, _root = self.objects.placed(options, self.objects.repo.get_bucket(bucket))
        upload_id = new_upload_id()
        saved = dataclasses.asdict(options)
        saved["checksum_type"] = checksum_type
        now = time.time()
        values: dict[str, Any] = {
            "upload_id": upload_id,
            "bucket": bucket,
            "key": key,
            "key_raw": raw_key,
            "initiated_at": now,
            "headers": self.objects.atrest.seal_text(json.dumps(saved), upload_context(upload_id)),
        }
        if not self.uploads.create_upload(values, create_bucket=create_bucket_if_missing):
            raise NoSuchBucket(BucketName=bucket)
        return UploadInfo(upload_id, bucket, raw_key, now, options, checksum_type)

    def get(self, bucket: str, raw_key: str, upload_id: str) -> UploadInfo:
        """The upload, which must belong to this bucket and key (blocking)."""
        row = self.uploads.get_upload(upload_id)
        if row is None or row.bucket != bucket or row.key != key_identity(raw_key):
            if row is None and self.objects.repo.get_bucket(bucket) is None:
                raise NoSuchBucket(BucketName=bucket)
            raise NoSuchUpload(UploadId=upload_id)
        return UploadInfo.from_row(row, self.objects.atrest)

    def _placed(self, bucket: str, raw_key: str, upload_id: str) -> tuple[UploadInfo, str]:
        """The upload (as ``get``) and the storage root its parts go to (blocking)."""
        upload = self.get(bucket, raw_key, upload_id)
        _options, root = self.objects.placed(upload.options, self.objects.repo.get_bucket(bucket))
        return upload, root

    @staticmethod
    def check_part_number(part_number: int) -> None:
        if not 1 <= part_number <= MAX_PARTS:
            raise InvalidArgument(
                "Part number must be an integer between 1 and 10000, inclusive",
                ArgumentName="partNumber",
                ArgumentValue=str(part_number),
            )

    async def upload_part(
        self,
        bucket: str,
        raw_key: str,
        upload_id: str,
        part_number: int,
        body: AsyncIterator[bytes],
        integrity: PutIntegrity,
        checksum_algorithm: str | None,
        trailer_checksum: Callable[[], str | None] | None = None,
        sse: CustomerKey | None = None,
    ) -> PartInfo:
        self.check_part_number(part_number)
        upload, root = await anyio.to_thread.run_sync(self._placed, bucket, raw_key, upload_id)
        self._check_part_key(upload, sse)
        algorithm = self._part_algorithm(upload, checksum_algorithm)
        writer, etag, checksum = await self.objects.receive_blob(
            body,
            integrity,
            algorithm,
            trailer_checksum,
            max_size=MAX_PART_SIZE,
            sse=sse,
            root=root,
            inline=True,
        )
        part = await self._commit_part(upload_id, part_number, writer, etag, checksum if algorithm else None)
        return dataclasses.replace(part, checksum_algorithm=algorithm if checksum else None)

    async def upload_part_copy(
        self,
        bucket: str,
        raw_key: str,
        upload_id: str,
        part_number: int,
        plan: ReadPlan,
        sse: CustomerKey | None = None,
    ) -> PartInfo:
        """A part made of bytes of another object (``plan``: its range, already checked)."""
        self.check_part_number(part_number)
        upload, root = await anyio.to_thread.run_sync(self._placed, bucket, raw_key, upload_id)
        self._check_part_key(upload, sse)
        algorithm = upload.options.checksum_algorithm
        writer, etag, checksum = await self.objects.receive_blob(
            self.objects.stream(plan),
            PutIntegrity(content_length=plan.length),
            algorithm,
            max_size=MAX_PART_SIZE,
            sse=sse,
            root=root,
        )
        part = await self._commit_part(upload_id, part_number, writer, etag, checksum)
        return dataclasses.replace(part, checksum_algorithm=algorithm if checksum else None)

    @staticmethod
    def _check_part_key(upload: UploadInfo, sse: CustomerKey | None) -> None:
        """Every part of an SSE-C upload is encrypted under the key the upload was created with."""
        check = upload.options.sse_key_check
        if check is None and sse is None:
            return
        if check is None or sse is None:
            raise InvalidRequest("The multipart upload's encryption parameters and the part's do not agree.")
        if not sse.matches(check):
            raise InvalidRequest("The provided encryption parameters did not match the ones used originally.")

    @staticmethod
    def _part_algorithm(upload: UploadInfo, requested: str | None) -> str | None:
        expected = upload.options.checksum_algorithm
        if expected is not None and requested is not None and requested != expected:
            raise InvalidRequest(
                f"Checksum Type mismatch occurred, expected checksum Type: {expected.lower()}, "
                f"actual checksum Type: {requested.lower()}"
            )
        return expected or requested

    async def _commit_part(
        self, upload_id: str, part_number: int, writer: BlobWriter, etag: str, checksum: str | None
    ) -> PartInfo:
        now = time.time()
        values = {
            "part_number": part_number,
            "blob_id": writer.blob_id,
            "size": writer.size,
            "etag": etag,
            "checksum_value": checksum,
            "last_modified": now,
            "offset": None,
            "blob_key": writer.blob_key,
        }

        def commit() -> None:
            try:
                stored = self.uploads.put_part(upload_id, values, writer.inline)
            except BaseException:
                writer.abort()
                raise
            if not stored:
                writer.abort()
                raise NoSuchUpload(UploadId=upload_id)
            self.objects.blobs.publish(writer.blob_id)

        await anyio.to_thread.run_sync(commit)
        return PartInfo(part_number, etag, writer.size, now, checksum)

    # -- complete / abort ------------------------------------------------------------------------------------

    def complete(
        self,
        bucket: str,
        raw_key: str,
        upload_id: str,
        requested: list[RequestedPart],
        object_checksums: dict[str, str],
        conditions: Conditions = Conditions(),
        object_size: int | None = None,
        sse: CustomerKey | None = None,
    ) -> CompleteResult:
        """Completes an upload (blocking); completing one that just completed answers as the first time did.
        An SSE-C upload is completed only with its customer key (``sse``), as S3 requires."""
        key = key_identity(raw_key)
        for part in requested:
            self.check_part_number(part.part_number)
        if len(requested) > MAX_PARTS:
            raise InvalidArgument(f"Part count must be at most {MAX_PARTS}", ArgumentName="Part")
        # As R2 ("Parts are now automatically sorted in ascending order regardless of input"): the list is sorted;
        # a part named twice is still refused, as S3 refuses it, since which of its ETags counts is undefined.
        requested = sorted(requested, key=lambda part: part.part_number)
        if any(a.part_number == b.part_number for a, b in itertools.pairwise(requested)):
            raise InvalidPartOrder(UploadId=upload_id)
        chosen = requested
        made_values: list[dict[str, Any]] = []

        def plan(upload_row: Any, by_number: dict[int, Any]) -> tuple[dict[str, Any], list[tuple[int, int]]]:
            upload = UploadInfo.from_row(upload_row, self.objects.atrest)
            if upload_row.bucket != bucket or upload_row.key != key:
                raise NoSuchUpload(UploadId=upload_id)
            if upload.options.sse_key_check is not None and sse is None:
                raise InvalidRequest(
                    "The multipart upload was initiated with a customer-provided encryption key: the same "
                    "SSE-C headers must be sent to complete it."
                )
            self._check_part_key(upload, sse)
            rows = []
            for part in chosen:
                row = by_number.get(part.part_number)
                if row is None or row.etag != part.etag.strip().strip('"'):
                    raise InvalidPart(UploadId=upload_id, PartNumber=str(part.part_number))
                rows.append(row)
            self._check_sizes(rows, upload_id)
            used, offset = [], 0
            for row in rows:
                used.append((row.part_number, offset))
                offset += row.size
            if object_size is not None and object_size != offset:
                raise InvalidRequest(
                    f"The provided 'x-amz-mp-object-size' header value {object_size} does not match what was "
                    f"computed: {offset}"
                )
            algorithm, checksum = self._object_checksum(upload, chosen, rows, object_checksums)
            options = upload.options
            values = object_values(
                self.objects.atrest,
                bucket,
                upload.key,
                key,
                options,
                offset,
                multipart_etag([r.etag for r in rows]),
                upload_id=upload_id,
                parts_count=len(rows),
                checksum_algorithm=algorithm if checksum else None,
                checksum_value=checksum,
                checksum_type=upload.checksum_type if checksum else None,
            )
            made_values[:] = [values]
            return values, used

        upload_row = self.uploads.complete_upload(upload_id, plan, write_check(conditions))
        if upload_row is not None:
            made = made_values[0]
            return CompleteResult(
                bucket,
                made["key_raw"],
                made["etag"],
                made["checksum_algorithm"],
                made["checksum_value"],
                made["checksum_type"],
                made["sse_key_md5"],
                made.get("sealed_meta") is not None,
            )
        # Gone: completed already (answer as then), or never there, or aborted.
        brow, orow = self.objects.repo.get_object(bucket, key)
        if brow is None:
            raise NoSuchBucket(BucketName=bucket)
        if orow is None or orow.upload_id != upload_id:
            raise NoSuchUpload(UploadId=upload_id)
        return CompleteResult(
            bucket,
            orow.key_raw,
            orow.etag,
            orow.checksum_algorithm,
            orow.checksum_value,
            orow.checksum_type,
            orow.sse_key_md5,
            orow.sealed_meta is not None,
        )

    @staticmethod
    def _check_sizes(rows: list[Any], upload_id: str) -> None:
        """R2: every part but the last is 5 MiB..5 GiB and all of them are the same size; the last is no larger."""
        if len(rows) <= 1:
            return
        first = rows[0].size
        for row in rows[:-1]:
            if row.size < MIN_PART_SIZE:
                raise EntityTooSmall(
                    ProposedSize=str(row.size),
                    MinSizeAllowed=str(MIN_PART_SIZE),
                    PartNumber=str(row.part_number),
                )
            if row.size != first:
                raise InvalidPart(
                    "All non-trailing parts must have the same length.",
                    UploadId=upload_id,
                    PartNumber=str(row.part_number),
                )
        if rows[-1].size > first:
            raise InvalidPart(
                "The last part must not be larger than the other parts.",
                UploadId=upload_id,
                PartNumber=str(rows[-1].part_number),
            )

    @staticmethod
    def _object_checksum(
        upload: UploadInfo, chosen: list[RequestedPart], rows: list[Any], given: dict[str, str]
    ) -> tuple[str | None, str | None]:
        """The object's checksum from the parts' (composite or full-object), checked against what was sent."""
        algorithm = upload.options.checksum_algorithm
        if algorithm is None:
            return None, None
        for part, row in zip(chosen, rows, strict=True):
            sent = part.checksums.get(algorithm)
            if sent is not None and (row.checksum_value is None or sent.strip() != row.checksum_value):
                raise BadDigest(f"The {algorithm} you specified for part {part.part_number} did not match.")
        if any(r.checksum_value is None for r in rows):
            return None, None
        digests = [base64.b64decode(r.checksum_value) for r in rows]
        if upload.checksum_type == "FULL_OBJECT":
            checksum = full_object_crc(algorithm, zip(digests, (r.size for r in rows), strict=True))
        else:
            checksum = composite_checksum(algorithm, digests)
        for sent_algorithm, value in given.items():
            if sent_algorithm != algorithm or not _same_checksum(value, checksum):
                raise BadDigest(f"The {sent_algorithm} you specified did not match the calculated checksum.")
        return algorithm, checksum

    def abort(self, bucket: str, raw_key: str, upload_id: str) -> None:
        """Aborts an upload (blocking). Idempotent, as on R2: an upload id we issued that is already gone is
        fine; one we could never have issued is NoSuchUpload."""
        row = self.uploads.get_upload(upload_id)
        if row is None:
            if self.objects.repo.get_bucket(bucket) is None:
                raise NoSuchBucket(BucketName=bucket)
            if _UPLOAD_ID.match(upload_id):
                return
            raise NoSuchUpload(UploadId=upload_id)
        if row.bucket != bucket or row.key != key_identity(raw_key):
            raise NoSuchUpload(UploadId=upload_id)
        self.uploads.abort_upload(upload_id)
        self.objects.reclaim_if_short()

    # -- listings --------------------------------------------------------------------------------------------

    def list_parts(
        self, bucket: str, raw_key: str, upload_id: str, marker: int, max_parts: int
    ) -> tuple[UploadInfo, list[PartInfo], bool]:
        upload = self.get(bucket, raw_key, upload_id)
        rows = self.uploads.list_parts(upload_id, marker, max_parts + 1)
        return upload, [PartInfo.from_row(r) for r in rows[:max_parts]], len(rows) > max_parts

    def list_uploads(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadListing:
        """Uploads in key order, then initiation order; common prefixes count as one entry each (blocking)."""
        if self.objects.repo.get_bucket(bucket) is None:
            raise NoSuchBucket(BucketName=bucket)
        out = UploadListing()
        key_marker = key_identity(key_marker) if key_marker else ""
        inclusive = False
        if key_marker and delimiter and key_marker.startswith(prefix) and key_marker.endswith(delimiter):
            rest = key_marker[len(prefix) :]
            if rest.find(delimiter) + len(delimiter) == len(rest):  # a common prefix: skip all of it
                end = prefix_end(key_marker)
                if end is None:
                    return out
                key_marker, upload_id_marker, inclusive = end, "", True
        if max_uploads == 0:
            return out
        seen_prefix = ""
        while True:
            rows = self.uploads.list_uploads(bucket, prefix, key_marker, upload_id_marker, 1001, inclusive)
            if not rows:
                return out
            jumped = False
            for row in rows:
                if len(out.uploads) + len(out.common_prefixes) == max_uploads:
                    out.is_truncated = True
                    return out
                if delimiter:
                    cut = row.key.find(delimiter, len(prefix))
                    if cut >= 0:
                        common = row.key[: cut + len(delimiter)]
                        if common != seen_prefix:
                            out.common_prefixes.append(common)
                            seen_prefix = common
                        out.next_key_marker, out.next_upload_id_marker = common, ""
                        end = prefix_end(common)
                        if end is None:
                            return out
                        key_marker, upload_id_marker, inclusive, jumped = end, "", True, True
                        break
                out.uploads.append(UploadInfo.from_row(row, self.objects.atrest))
                out.next_key_marker, out.next_upload_id_marker = row.key_raw, row.upload_id
            if not jumped:
                if len(rows) < 1001:
                    return out
                key_marker, upload_id_marker, inclusive = rows[-1].key, rows[-1].upload_id, False
