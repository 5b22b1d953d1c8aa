"""A database made by a lakebox without encryption at rest gains its columns and table on start, and its rows
read as plaintext."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

import objectstore.store.tables
import objectstore.store.uploads  # noqa: F401
from infra.db import Database
from objectstore.store.master_keys import MasterKeyRepository
from tests.support.atrest import fresh_atrest


def test_an_older_database_gains_the_encryption_columns(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    db.create_schema()
    with db.engine.begin() as conn:  # as the previous release left it
        conn.exec_driver_sql("ALTER TABLE s3_object DROP COLUMN blob_key")
        conn.exec_driver_sql("ALTER TABLE s3_object DROP COLUMN sealed_meta")
        conn.exec_driver_sql("ALTER TABLE s3_upload_part DROP COLUMN blob_key")
        conn.exec_driver_sql("DROP TABLE s3_master_key")
    db.create_schema()
    with db.engine.connect() as conn:
        found = inspect(conn)
        assert {"blob_key", "sealed_meta"} <= {c["name"] for c in found.get_columns("s3_object")}
        assert "blob_key" in {c["name"] for c in found.get_columns("s3_upload_part")}
    repo = MasterKeyRepository(db)
    atrest = fresh_atrest()
    key = atrest.keyring.current
    repo.register(key.key_id, key.check_value())
    repo.register(key.key_id, key.check_value())  # idempotent
    assert repo.registered() == {key.key_id: key.check_value()}
    assert repo.references(key.key_id) == 0
    assert atrest.open_text('{"a": "b"}', "anything") == '{"a": "b"}'  # a never-sealed value reads as it is
    db.dispose()
