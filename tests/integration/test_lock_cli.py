"""``lakebox bucket lock list|add|remove|set`` (wrangler's ``r2 bucket lock`` commands and option names) against a
live server, with ``--json`` and the human output; the effect is checked through the API and boto3."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import cli
from tests.support.cli import err
from tests.support.server import LakeboxServer


def lakebox(server: LakeboxServer, *args: str) -> subprocess.CompletedProcess[bytes]:
    return cli.run(*args, env=cli.server_env(server))


def as_json(server: LakeboxServer, *args: str) -> Any:
    result = lakebox(server, *args, "--json")
    assert result.returncode == 0, err(result)
    return json.loads(result.stdout)


def test_lock_commands(server: LakeboxServer, bucket: str, tmp_path: Path) -> None:
    assert as_json(server, "bucket", "lock", "list", bucket) == {"bucket": bucket, "rules": []}
    assert lakebox(server, "bucket", "lock", "list", bucket).stdout.decode().strip() == (
        f"There are no lock rules for bucket '{bucket}'."
    )
    added = as_json(server, "bucket", "lock", "add", bucket, "keep-logs", "logs/", "--retention-days", "7")
    assert added == {
        "bucket": bucket,
        "rule": {"id": "keep-logs", "enabled": True, "prefix": "logs/", "condition": {"type": "Age", "maxAgeSeconds": 604800}},
    }  # fmt: skip
    as_json(
        server,
        "bucket",
        "lock",
        "add",
        bucket,
        "--name",
        "dated",
        "--prefix",
        "d/",
        "--retention-date",
        "2099-12-31",
    )
    as_json(server, "bucket", "lock", "add", bucket, "--id", "forever", "--retention-indefinite", "--force")
    listed = as_json(server, "bucket", "lock", "list", bucket)["rules"]
    assert listed == [
        added["rule"],
        {"id": "dated", "enabled": True, "prefix": "d/", "condition": {"type": "Date", "date": "2099-12-31T00:00:00.000Z"}},
        {"id": "forever", "enabled": True, "condition": {"type": "Indefinite"}},
    ]  # fmt: skip
    human = lakebox(server, "bucket", "lock", "list", bucket).stdout.decode()
    assert (
        "name:       keep-logs\nenabled:    Yes\nprefix:     logs/\ncondition:  7 day(s) after upload"
        in human
    )
    assert "prefix:     (all prefixes)\ncondition:  indefinitely" in human
    assert "condition:  until 2099-12-31T00:00:00.000Z" in human

    s3 = server.s3()
    s3.put_object(Bucket=bucket, Key="logs/a", Body=b"1")
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key="logs/a")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    duplicate = lakebox(server, "bucket", "lock", "add", bucket, "forever", "--retention-days", "1")
    assert (duplicate.returncode, err(duplicate)) == (
        1,
        f"lakebox: bucket '{bucket}' already has a lock rule 'forever' — remove it first or pick another name",
    )
    no_retention = lakebox(server, "bucket", "lock", "add", bucket, "x")
    assert no_retention.returncode == 2
    assert "give a retention: --retention-days, --retention-date or --retention-indefinite" in err(
        no_retention
    )
    two = lakebox(
        server, "bucket", "lock", "add", bucket, "x", "--retention-days", "1", "--retention-indefinite"
    )
    assert two.returncode == 2
    assert "give only one of --retention-days, --retention-date and --retention-indefinite" in err(two)
    bad_date = lakebox(server, "bucket", "lock", "add", bucket, "x", "--retention-date", "31/12/2099")
    assert bad_date.returncode == 2
    assert "'31/12/2099' is not a date like 2030-01-31" in err(bad_date)
    negative = lakebox(server, "bucket", "lock", "add", bucket, "x", "--retention-days", "-1")
    assert negative.returncode == 2
    assert "-1.0 is not a positive number of days" in err(negative)

    assert as_json(server, "bucket", "lock", "remove", bucket, "--name", "forever") == {
        "bucket": bucket,
        "removed": "forever",
    }
    assert [r["id"] for r in as_json(server, "bucket", "lock", "list", bucket)["rules"]] == [
        "keep-logs",
        "dated",
    ]
    unknown = lakebox(server, "bucket", "lock", "remove", bucket, "--id", "forever")
    assert (unknown.returncode, err(unknown)) == (
        1,
        f"lakebox: bucket '{bucket}' has no lock rule 'forever' — lakebox bucket lock list {bucket}",
    )

    rules_file = tmp_path / "lock.json"
    rules = [{"id": "off", "enabled": False, "condition": {"type": "Indefinite"}}]
    rules_file.write_text(json.dumps({"rules": rules}))
    assert as_json(server, "bucket", "lock", "set", bucket, "--file", str(rules_file), "--force") == {
        "bucket": bucket,
        "rules": rules,
    }
    assert as_json(server, "bucket", "lock", "list", bucket)["rules"] == rules
    s3.delete_object(Bucket=bucket, Key="logs/a")  # the only rule left is disabled

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"rules": [{"id": "a", "enabled": True, "condition": {"type": "Age", "maxAgeSeconds": -5}}]}
        )
    )
    refused_set = lakebox(server, "bucket", "lock", "set", bucket, "--file", str(bad))
    assert (refused_set.returncode, err(refused_set)) == (
        1,
        "lakebox: 'rules[0].condition.maxAgeSeconds' must be a positive number of seconds [code 10040]",
    )
    not_rules = tmp_path / "not-rules.json"
    not_rules.write_text("[1, 2]")
    wrong_shape = lakebox(server, "bucket", "lock", "set", bucket, "--file", str(not_rules))
    assert (wrong_shape.returncode, err(wrong_shape)) == (
        1,
        f'lakebox: {not_rules} must hold {{"rules": [...]}}',
    )
    assert as_json(server, "bucket", "lock", "list", bucket)["rules"] == rules

    missing = lakebox(server, "bucket", "lock", "list", "no-such-bucket")
    assert missing.returncode == 1
    assert err(missing).startswith("lakebox: NoSuchBucket: ")
