"""`lakegate validate --engine spark` and `lakegate profile --engine spark` report what the
DuckDB engine reports, on the SparkSession the nearest lakegate.yaml's spark: block names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lakegate.cli import app

MASTER = "local[2]"


@pytest.fixture(scope="module")
def session(spark: Any) -> Any:
    """The Spark tests' one session (tests/spark/conftest.py): the engine reuses it, as it
    reuses any session active in the process on the same master, and never stops it."""
    return spark


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: Any) -> Path:
    (tmp_path / "lakegate.yaml").write_text(
        f"name: cli\nspark: {{master: '{MASTER}', conf: {{spark.sql.shuffle.partitions: '3'}}}}\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def _checks(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each check's verdict, counts and samples (not its engine's note on types)."""
    return sorted(
        (c["id"], c["passed"], c["observed"], c["failing_rows"], c["evaluated_rows"], c["samples"])
        for c in report["checks"]
    )


PLANES_CONTRACT = """\
contract: {name: planes, version: 1.0.0}
schema:
  required: [tailnum, year]
  properties:
    tailnum: {type: string, unique: true, pattern: "^N[0-9A-Z]+$"}
    year: {type: integer, minimum: 1960, maximum: 2013}
    type: {type: string, enum: [Fixed wing multi engine, Fixed wing single engine]}
    engines: {type: integer, minimum: 1, maximum: 3}
    seats: {type: integer}
    speed: {type: integer}
quality:
  completeness: {optional_fields_null_rate: 0.5}
"""


def test_validate_on_spark_reports_what_duckdb_reports(
    folder: Path, flights_dir: Path, session: Any
) -> None:
    (folder / "planes.yaml").write_text(PLANES_CONTRACT)
    args = ["validate", "-i", str(flights_dir / "planes.parquet"), "-c", "planes.yaml"]
    duck_code, duck = _invoke(*args, "--format", "json")
    spark_code, spark = _invoke(*args, "--format", "json", "--engine", "spark")
    assert duck_code == spark_code == 1, duck  # nulls in year, a type outside the enum
    assert _checks(json.loads(spark)) == _checks(json.loads(duck))
    # The spark: block's conf reached the session the command ran on.
    assert session.conf.get("spark.sql.shuffle.partitions") == "3"


def test_profile_on_spark_reports_what_duckdb_reports(folder: Path, flights_dir: Path) -> None:
    args = ["profile", "-i", str(flights_dir / "planes.parquet"), "--format", "json"]
    duck_code, duck = _invoke(*args)
    spark_code, spark = _invoke(*args, "--engine", "spark")
    assert (duck_code, spark_code) == (0, 0)
    columns = {
        engine: {
            c["name"]: (c["null_count"], c["distinct_count"], str(c["min"]), str(c["max"]))
            for c in json.loads(text)["columns"]
        }
        for engine, text in (("duckdb", duck), ("spark", spark))
    }
    assert columns["spark"] == columns["duckdb"]


def test_a_session_on_another_master_is_refused_not_ignored(folder: Path) -> None:
    (folder / "lakegate.yaml").write_text("name: cli\nspark: {master: 'local[3]'}\n")
    code, _ = _invoke("profile", "-i", str(folder / "lakegate.yaml"), "--engine", "spark")
    assert code == 2
