"""``lakegate table``: history, show, optimize, vacuum and restore on real Delta tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from tests.conftest import lakegate

RUN_ID = "run-7f3a"


def _batch(start: int, n: int = 5) -> pa.Table:
    return pa.table({"id": list(range(start, start + n)), "name": [f"n{i}" for i in range(n)]})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose lake holds ``events``: three appends of 5 rows (version 1 by a run)."""
    (tmp_path / "lakegate.yaml").write_text("name: t\n")
    uri = tmp_path / "lake" / "events"
    for version in range(3):
        metadata = {"lakegate.run": json.dumps({"version": 1, "record": {"run_id": RUN_ID}})}
        write_deltalake(
            uri,
            _batch(version * 10),
            mode="append",
            commit_properties=CommitProperties(custom_metadata=metadata) if version == 1 else None,
        )
    return tmp_path


def table(*args: str, project: Path) -> tuple[int, str, str]:
    result = lakegate("table", *args, "--project", str(project))
    return result.returncode, result.stdout, result.stderr


def ids(uri: Path) -> list[int]:
    """The ``id`` values of the latest snapshot, read by DuckDB over its file URIs."""
    files = DeltaTable(str(uri)).file_uris()
    if not files:
        return []
    rows = duckdb.connect().execute("SELECT id FROM read_parquet(?) ORDER BY id", [files])
    return [r[0] for r in rows.fetchall()]


def test_history_lists_versions_newest_first_with_the_run_id(project: Path) -> None:
    code, out, err = table("history", "events", "--format", "json", project=project)
    assert code == 0, err
    commits = json.loads(out)
    assert [c["version"] for c in commits] == [2, 1, 0]
    assert [c["operation"] for c in commits] == ["WRITE"] * 3
    assert [c["run_id"] for c in commits] == [None, RUN_ID, None]
    assert commits[0]["parameters"] == {"mode": "Append"}
    assert commits[0]["metrics"]["num_added_rows"] == 5
    assert commits[0]["timestamp"].endswith("+00:00")

    code, out, err = table("history", "events", "--limit", "2", project=project)
    assert code == 0, err
    assert out.count("WRITE") == 2 and "mode=Append" in out and RUN_ID in out


def test_show_counts_files_rows_and_small_files(project: Path) -> None:
    code, out, err = table("show", "events", "--format", "json", project=project)
    assert code == 0, err
    info = json.loads(out)
    assert info["version"] == 2
    assert (info["files"], info["rows"], info["small_files"]) == (3, 15, 3)
    assert info["total_bytes"] > 0
    assert info["partition_columns"] == []
    assert info["columns"] == [
        {"name": "id", "type": "long", "nullable": True},
        {"name": "name", "type": "string", "nullable": True},
    ]
    assert info["last_commit"].endswith("+00:00")

    # A past version, the table named by its directory, and no file below 1 byte.
    uri = project / "lake" / "events"
    result = lakegate(
        "table",
        "show",
        "--path",
        str(uri),
        "--version",
        "0",
        "--small-file-bytes",
        "1",
        "-f",
        "json",
    )
    assert result.returncode == 0, result.stderr
    old = json.loads(result.stdout)
    assert (old["version"], old["files"], old["rows"], old["small_files"]) == (0, 1, 5, 0)
    assert dt.datetime.fromisoformat(old["last_commit"]) <= dt.datetime.fromisoformat(
        info["last_commit"]
    )

    code, out, err = table("show", "events", project=project)
    assert code == 0, err
    assert "3 below 32.0 MB" in out and "long" in out and "string" in out


def test_optimize_compacts_to_one_file_keeping_the_rows(project: Path) -> None:
    uri = project / "lake" / "events"
    before = ids(uri)
    code, out, err = table("optimize", "events", project=project)
    assert code == 0, err
    assert "3 files removed, 1 file added" in out
    snapshot = DeltaTable(str(uri))
    assert len(snapshot.file_uris()) == 1
    assert ids(uri) == before and len(before) == 15

    code, out, err = table(
        "optimize", "events", "--z-order", "id", "--format", "json", project=project
    )
    assert code == 0, err
    assert json.loads(out)["z_order"] == ["id"]
    assert ids(uri) == before


def test_vacuum_lists_then_deletes_files_an_overwrite_removed(project: Path) -> None:
    uri = project / "lake" / "events"
    old_files = {Path(f).name for f in DeltaTable(str(uri)).file_uris()}
    write_deltalake(uri, _batch(100), mode="overwrite")

    # The default retention (7 days) keeps files removed a moment ago.
    code, out, err = table("vacuum", "events", "--format", "json", project=project)
    assert code == 0, err
    assert json.loads(out) == {"files": [], "dry_run": True, "retention_hours": 168}

    code, out, err = table(
        "vacuum", "events", "--retention-hours", "0", "--force", "--format", "json", project=project
    )
    assert code == 0, err
    listed = json.loads(out)
    assert listed["dry_run"] is True
    assert {Path(f).name for f in listed["files"]} == old_files
    assert all((uri / f).exists() for f in listed["files"])

    code, out, err = table(
        "vacuum", "events", "--retention-hours", "0", "--force", "--no-dry-run", project=project
    )
    assert code == 0, err
    assert "deleted 3 files" in out
    assert not any((uri / f).exists() for f in listed["files"])
    assert ids(uri) == list(range(100, 105))

    # Their versions cannot come back any more: a clear refusal, not a broken table.
    code, _, err = table("restore", "events", "--version", "0", project=project)
    assert code == 2, err
    assert "cannot restore to version 0" in err and "Traceback" not in err


def test_vacuum_refuses_a_short_retention_without_force(project: Path) -> None:
    code, _, err = table(
        "vacuum", "events", "--retention-hours", "24", "--no-dry-run", project=project
    )
    assert code == 2
    assert "168" in err and "time travel" in err and "--force" in err
    assert "Traceback" not in err


def test_restore_brings_back_the_original_rows(project: Path) -> None:
    uri = project / "lake" / "events"
    write_deltalake(uri, _batch(100, 2), mode="overwrite")
    assert ids(uri) == [100, 101]

    code, out, err = table(
        "restore", "events", "--version", "0", "--format", "json", project=project
    )
    assert code == 0, err
    result = json.loads(out)
    assert (result["restored_to"], result["version"]) == (0, 4)
    assert ids(uri) == list(range(5))
    assert DeltaTable(str(uri)).history(1)[0]["operation"] == "RESTORE"
