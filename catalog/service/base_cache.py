"""A table's current metadata, parsed once per metadata file, for the commits that build on it.

A commit needs the stored document three ways: pyiceberg's model of it (to check requirements and apply
updates), its JSON tree (to keep what the model drops) and pyiceberg's dump of the model (the merge's base).
Parsing them costs from ~1 ms for a new table to hundreds of ms for metadata with thousands of snapshots; each
commit hands the text it wrote to a background parse, so that the table's next commit finds it parsed.

Correct across processes and nodes: the key is the entity's id and its metadata location as just read from
the database row. Every commit writes a new metadata file under a new unique name, and a table replaced by
register gets a new id, so one key always names the same document; a stale entry is never found because no row
names it any more. Entries are immutable (never mutate what ``get`` returns)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyiceberg.table.metadata import TableMetadata

from catalog.service.exact import model_json
from catalog.service.locations import known_paths
from catalog.service.metadata import parse_table_metadata

CACHED_TABLES = 64
"""Entries kept per process: the tables most recently committed to."""


@dataclass(frozen=True, slots=True)
class ParsedBase:
    metadata: TableMetadata
    doc: dict[str, Any]  # the stored document
    model_doc: dict[str, Any]  # pyiceberg's dump of ``metadata``
    known: frozenset[str]  # every file path the document names
    exact: bool  # pyiceberg models every field of ``doc``: nothing to merge back


class BaseCache:
    def __init__(self, size: int = CACHED_TABLES) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], ParsedBase] = OrderedDict()
        self._pending: dict[tuple[str, str], Future[ParsedBase]] = {}
        self._lock = threading.Lock()
        self._parser: ThreadPoolExecutor | None = None

    def get(self, entity_id: str, metadata_location: str, metadata_json: str) -> ParsedBase:
        key = (entity_id, metadata_location)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
            pending = self._pending.get(key)
        if pending is not None:  # being parsed after the commit that wrote it: the same text
            return pending.result()
        parsed = parse_base(metadata_json)
        self.put(entity_id, metadata_location, parsed)
        return parsed

    def warm(self, entity_id: str, metadata_location: str, metadata_json: str) -> None:
        """Parses the metadata a commit just made current, in the background (off the commit's response), so
        that the table's next commit finds it parsed. Exactly the text the row holds, parsed as ``get`` would."""
        key = (entity_id, metadata_location)
        with self._lock:
            if key in self._entries or key in self._pending:
                return
            if self._parser is None:
                self._parser = ThreadPoolExecutor(1, thread_name_prefix="catalog-metadata-parse")
            future = self._parser.submit(parse_base, metadata_json)
            self._pending[key] = future

        def done(f: Future[ParsedBase]) -> None:
            with self._lock:
                self._pending.pop(key, None)
            if f.exception() is None:
                self.put(*key, f.result())

        future.add_done_callback(done)

    def put(self, entity_id: str, metadata_location: str, parsed: ParsedBase) -> None:
        """Caches what the metadata at ``metadata_location`` parses to (a commit that built it hands it over)."""
        key = (entity_id, metadata_location)
        with self._lock:
            self._entries[key] = parsed
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def built_base(metadata: TableMetadata, doc: dict[str, Any]) -> ParsedBase:
    """What ``parse_base`` would make of ``doc``, the dump of ``metadata`` (pyiceberg models every field of it),
    without parsing it: ``metadata`` itself, less the attributes pyiceberg's update handlers leave on a model
    that has no such field (``next_row_id`` on a v1 or v2 table after add-snapshot), which a parse never has."""
    fields = type(metadata).model_fields
    values = metadata.__dict__
    if values.keys() - fields.keys():
        metadata = type(metadata).model_construct(
            _fields_set=metadata.model_fields_set & fields.keys(),
            **{k: v for k, v in values.items() if k in fields},
        )
    return ParsedBase(metadata, doc, doc, known_paths(doc), True)


def parse_base(metadata_json: str) -> ParsedBase:
    metadata = parse_table_metadata(metadata_json)
    doc = json.loads(metadata_json)
    model_doc = json.loads(model_json(metadata))
    return ParsedBase(metadata, doc, model_doc, known_paths(doc), doc == model_doc)
