"""The dead-letter merge on its own, on a real Delta table through DuckDB: identical rows
of one batch stay as many rows, a record rejected again is the same row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import write_deltalake
from sqlglot import exp

from lakegate.engines.duckdb import DuckDBEngine
from lakegate.sinks.deadletter import (
    COLUMNS,
    needs_upgrade,
    read_select,
    rejects_select,
    rewrite,
    upgrade_select,
    write_rejects,
)
from lakegate.sources.files import resolve_input

TYPES = json.dumps({"id": "INTEGER", "name": "VARCHAR"})


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine()
    yield engine
    engine.close()


def _rejects(engine: DuckDBEngine, run_id: str, records: list[str]) -> None:
    """The runner's ``__rejects``: one row per rejected row of run ``run_id``."""
    values = ", ".join("(?)" for _ in records)
    engine.connection.execute(
        "CREATE OR REPLACE TABLE __rejects AS SELECT 'p' AS pipeline, ?::VARCHAR AS run_id, "
        "now()::TIMESTAMPTZ AS rejected_at, ['id.range'] AS failed_checks, record, "
        f"?::VARCHAR AS record_types FROM (VALUES {values}) AS v(record)",
        [run_id, TYPES, *records],
    )


def _write(engine: DuckDBEngine, uri: str, run_id: str, version: int, records: list[str]):
    _rejects(engine, run_id, records)
    return write_rejects(
        uri, engine.stream(rejects_select("__rejects", batch_version=version)), pipeline="p"
    )


def _stored(engine: DuckDBEngine, uri: str) -> list[tuple]:
    engine.register("stored", resolve_input(uri))
    query = read_select("stored", engine.columns("stored")).subquery("d")
    return engine.query(
        exp.select("record", "times_rejected", "first_run_id", "run_id", "batch_version")
        .from_(query)
        .order_by("record", "times_rejected")
    )


A, B = '{"id":1,"name":"a"}', '{"id":2,"name":"b"}'


def test_identical_rows_stay_as_many_and_a_record_seen_again_is_updated(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "dlq")
    assert _write(engine, uri, "r1", 1, [A, A, B]) == (3, 0)  # two identical rows of A
    assert _write(engine, uri, "r2", 2, [A, A, B]) == (0, 3)
    assert _write(engine, uri, "r3", 2, [A]) == (0, 1)  # r2's batch again, by a re-run
    assert _write(engine, uri, "r3", 2, [A]) == (0, 1)  # the same run twice counts once
    assert _stored(engine, uri) == [
        (A, 2, "r1", "r2", 2),
        (A, 3, "r1", "r3", 2),
        (B, 2, "r1", "r2", 2),
    ]


def test_an_older_table_is_folded_by_record_keeping_copies_within_a_batch(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "dlq")
    # What an older lakegate wrote for two runs of [A, A, B]: every row again, no keys,
    # and (older still) no replayed_in.
    engine.connection.execute(
        "CREATE TABLE old AS SELECT 'p:' || v || ':' || n AS rejection_id, 'p' AS pipeline, "
        "'r' || v AS run_id, v::BIGINT AS batch_version, "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_hours(v) AS rejected_at, "
        "['id.range'] AS failed_checks, record, ? AS record_types "
        "FROM (VALUES (1, ?), (2, ?), (3, ?)) AS r(n, record), (VALUES (1), (2)) AS b(v)",
        [TYPES, A, A, B],
    )
    write_deltalake(uri, engine.connection.sql("SELECT * FROM old").to_arrow_table())
    assert needs_upgrade(uri)
    assert len(_stored(engine, uri)) == 6  # read as it is
    engine.register("legacy", resolve_input(uri))
    engine.connection.execute(
        "CREATE TABLE upgraded AS "
        + upgrade_select("legacy", engine.columns("legacy")).sql(dialect="duckdb")
    )
    rewrite(uri, engine.connection.sql("SELECT * FROM upgraded").to_arrow_reader())
    assert not needs_upgrade(uri)
    engine.register("new", resolve_input(uri))
    assert tuple(engine.columns("new")) == COLUMNS
    assert _stored(engine, uri) == [
        (A, 2, "r1", "r2", 2),
        (A, 2, "r1", "r2", 2),
        (B, 2, "r1", "r2", 2),
    ]
    # A run after the upgrade finds the same records.
    assert _write(engine, uri, "r3", 3, [A, A, B]) == (0, 3)
    assert {row[1] for row in _stored(engine, uri)} == {3}
