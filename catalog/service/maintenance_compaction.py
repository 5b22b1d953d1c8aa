"""Compaction: small data files of a partition bin-packed into target-size Parquet files, committed as a
``replace`` snapshot through the catalog's own commit path.

Files that delete files apply to are left alone, as are files of an older partition spec and files already at
the target size. A bin is filled with a partition's small files (in path order) until it holds the target size;
each bin becomes one file, sorted by the table's sort order when it has one. The commit asserts the branch head
it was planned on; after a conflicting commit pyiceberg reloads the table, checks that every replaced file is
still live with no new delete file applying to it (a concurrent delete or overwrite makes the run give up, a
concurrent append does not), and commits again on the new head, so no concurrent change is lost."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import (
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
    schema_to_pyarrow,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.sorting import NullOrder, SortDirection
from pyiceberg.table.update.snapshot import _OverwriteFiles
from pyiceberg.typedef import EMPTY_DICT

from catalog.service.maintenance_io import split_location

RUN_PROPERTY = "lakebox.maintenance-run"
_FIELD_ID = b"PARQUET:field_id"
_CODECS = {
    "uncompressed": "none",
    "zstd": "zstd",
    "snappy": "snappy",
    "gzip": "gzip",
    "lz4": "lz4",
    "brotli": "brotli",
}


class _ReplaceFiles(_OverwriteFiles):
    """A ``replace`` snapshot. On a retry it validates what a rewrite needs (the replaced files are still live
    and no new delete applies to them) but not the appends of concurrent writers, which a rewrite keeps."""

    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        """pyiceberg totals summaries for appends, overwrites and deletes only; a replace counts as an overwrite."""
        self._operation = Operation.OVERWRITE
        try:
            counted = super()._summary(snapshot_properties)
        finally:
            self._operation = Operation.REPLACE
        return Summary(Operation.REPLACE, **counted.additional_properties)

    def _validate_concurrency(self) -> None:
        from pyiceberg.table.update.validate import (
            _validate_data_files_exist,
            _validate_no_new_deletes_for_data_files,
        )

        window = self._commit_window
        if window is None or window.is_empty() or window.head is None:
            return
        table = self._transaction._table
        _validate_data_files_exist(table, window.head, self._deleted_data_files, window.base)
        _validate_no_new_deletes_for_data_files(
            table, window.head, None, self._deleted_data_files, window.base
        )


@dataclass
class Bin:
    spec_id: int
    partition: Any
    files: list[DataFile] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.file_size_in_bytes for f in self.files)


def plan_bins(table: Table, target_bytes: int) -> list[Bin]:
    """Bins of two or more small files, per partition of the default spec, none with delete files."""
    spec_id = table.metadata.default_spec_id
    groups: dict[str, Bin] = {}
    for task in table.scan().plan_files():
        data = task.file
        if task.delete_files or data.spec_id != spec_id or data.file_size_in_bytes >= target_bytes:
            continue
        if data.file_format != FileFormat.PARQUET:
            continue
        groups.setdefault(repr(data.partition), Bin(spec_id, data.partition)).files.append(data)
    bins: list[Bin] = []
    for group in groups.values():
        current: Bin | None = None
        for data in sorted(group.files, key=lambda f: f.file_path):
            if current is None:
                current = Bin(group.spec_id, group.partition)
            current.files.append(data)
            if current.size >= target_bytes:
                bins.append(current)
                current = None
        if current is not None:
            bins.append(current)
    return [b for b in bins if len(b.files) >= 2]


def _project(data: pa.Table, target: pa.Schema, field_ids: Sequence[int]) -> pa.Table:
    """The file's columns by field id as the current schema's (columns the file lacks are null)."""
    by_id: dict[int, int] = {}
    for i, column in enumerate(data.schema):
        if column.metadata and _FIELD_ID in column.metadata:
            by_id[int(column.metadata[_FIELD_ID])] = i
    if not by_id:
        raise ValueError("a data file without Parquet field ids (written through a name mapping)")
    arrays = []
    for column, field_id in zip(target, field_ids, strict=True):
        at = by_id.get(field_id)
        arrays.append(pa.nulls(len(data), column.type) if at is None else data.column(at).cast(column.type))
    return pa.Table.from_arrays(arrays, schema=target)


def _sorted(table: Table, data: pa.Table) -> pa.Table:
    order = table.sort_order()
    if not order.fields:
        return data
    schema = table.schema()
    keys = [
        (
            schema.find_column_name(f.source_id) or "",
            "descending" if f.direction == SortDirection.DESC else "ascending",
        )
        for f in order.fields
    ]
    keys = [(name, direction) for name, direction in keys if name in data.column_names]
    if not keys:
        return data
    nulls = "at_start" if order.fields[0].null_order == NullOrder.NULLS_FIRST else "at_end"
    return data.take(pc.sort_indices(data, sort_keys=keys, null_placement=nulls))


@dataclass(frozen=True, slots=True)
class Written:
    data_file: DataFile
    key: str


def write_bin(
    table: Table, work: Bin, read: Callable[[str], bytes], write: Callable[[str, bytes], None]
) -> Written:
    """Reads the bin's files, writes them as one Parquet file under the table's data folder."""
    schema = table.schema()
    target = schema_to_pyarrow(schema, include_field_ids=True)
    field_ids = [f.field_id for f in schema.fields]
    parts = [_project(pq.read_table(io.BytesIO(read(f.file_path))), target, field_ids) for f in work.files]
    merged = _sorted(table, pa.concat_tables(parts))
    properties = table.metadata.properties
    codec = _CODECS.get(properties.get("write.parquet.compression-codec", "zstd").lower(), "zstd")
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, target, compression=codec) as writer:
        writer.write_table(merged, row_group_size=max(1, min(len(merged), 1 << 20)))
    body = sink.getvalue()
    spec = table.metadata.specs()[work.spec_id]
    folder = f"{table.location().rstrip('/')}/data"
    if spec.fields:
        folder += "/" + spec.partition_to_path(work.partition, schema)
    path = f"{folder}/compacted-{uuid.uuid4().hex}.parquet"
    write(path, body)
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=pq.read_metadata(io.BytesIO(body)),
        stats_columns=compute_statistics_plan(schema, properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    order = table.sort_order()
    data_file = DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=work.partition,
        file_size_in_bytes=len(body),
        sort_order_id=order.order_id if order.fields else None,
        spec_id=work.spec_id,
        equality_ids=None,
        key_metadata=None,
        **statistics.to_serialized_dict(),
    )
    return Written(data_file, split_location(path)[1])


def commit_replace(table: Table, removed: Sequence[DataFile], added: Sequence[DataFile], run_id: str) -> int:
    """Commits the rewrite (retried by pyiceberg after conflicts, validated as above); its snapshot id."""
    transaction = table.transaction()
    producer = _ReplaceFiles(
        operation=Operation.REPLACE,
        transaction=transaction,
        io=table.io,
        snapshot_properties={RUN_PROPERTY: run_id},
    )
    for data in removed:
        producer.delete_data_file(data)
    for data in added:
        producer.append_data_file(data)
    producer.commit()
    transaction.commit_transaction()
    return producer.snapshot_id
