"""`lakegate run` on the Spark engine gives what it gives on DuckDB: the same table, counts
and dead letters for every load strategy, exactly once across a killed driver, and a table
written by one engine continues on the other.

Each test runs the same pipeline in two projects that differ only in ``engine:``; the
tables are compared through DuckDB (EXCEPT ALL both ways). One SparkSession (local[2])
serves the module: the engine reuses the session active in the process.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.engines.duckdb import DuckDBEngine
from lakegate.runner import (
    KILL_POINTS,
    REPLAY_KILL_POINTS,
    Replay,
    RunOptions,
    RunResult,
    run_pipeline,
)
from lakegate.sources.files import resolve_input
from tests.conftest import lakegate_killed_at
from tests.sources.conftest import TABLE, maria_url, pg_url  # noqa: F401
from tests.sources.test_reconcile import copy_table, delete_at_source, write_project
from tests.sources.test_reconcile import run as recon_run
from tests.test_runner import CONTRACT, KEYS, pipeline_yaml

MASTER = "local[2]"
SPARK_YAML = (
    "name: spark_project\nengine: spark\n"
    f"spark: {{master: '{MASTER}', conf: {{spark.sql.shuffle.partitions: '2'}}}}\n"
)
STRATEGIES = {
    "append": "target: flights\n  strategy: append",
    "merge": "target: flights\n  strategy: merge\n  merge_keys: [" + ", ".join(KEYS) + "]\n"
    "  order_by: time_hour\n  partition_by: [day]",
    "overwrite": "target: flights\n  strategy: overwrite",
    "partition_overwrite": "target: flights\n  strategy: partition_overwrite\n"
    "  partition_by: [day]",
    "scd2": "target: flights\n  strategy: scd2\n  merge_keys: [" + ", ".join(KEYS) + "]\n"
    "  order_by: time_hour",
}
COUNTERS = ("status", "rows_extracted", "rows_loaded", "rows_rejected", "rows_deduplicated")


@pytest.fixture(scope="module")
def session(spark: Any) -> Any:
    """The Spark tests' one session (tests/spark/conftest.py): the engine reuses it, as it
    reuses any session active in the process on the same master, and never stops it."""
    return spark


@pytest.fixture
def projects(tmp_path: Path, flights_dir: Path, session: Any) -> dict[str, Path]:
    """Two projects, ``duckdb`` and ``spark``, with the same three days of flights and a
    contract whose dep_delay cap quarantines some rows."""
    con = duckdb.connect()
    con.read_parquet(str(flights_dir / "flights.parquet")).create_view("flights")
    roots = {}
    for engine in ("duckdb", "spark"):
        root = tmp_path / engine
        for folder in ("data", "pipelines", "contracts"):
            (root / folder).mkdir(parents=True)
        (root / "lakegate.yaml").write_text(
            SPARK_YAML if engine == "spark" else "name: duckdb_project\n"
        )
        (root / "contracts" / "flights.yaml").write_text(
            CONTRACT.replace("maximum: 1440", "maximum: 300")
        )
        for day in (1, 2, 3):
            target = root / "data" / f"day{day}.parquet"
            con.execute(
                "COPY (SELECT * FROM flights WHERE month = 1 AND day = $day) TO '"
                + str(target)
                + "'",
                {"day": day},
            )
        roots[engine] = root
    con.close()
    return roots


def _run(root: Path, load: str, **options: Any) -> RunResult:
    path = root / "pipelines" / "flights.yaml"
    path.write_text(pipeline_yaml(load=load))
    return run_pipeline(load_project(root), load_pipeline(path), RunOptions(**options))


def _lake(**tables: Path) -> DuckDBEngine:
    """A DuckDB engine with each Delta table registered under its keyword's name."""
    engine = DuckDBEngine()
    for name, path in tables.items():
        engine.register(name, resolve_input(path))
    return engine


def _differs(a: Path, b: Path, table: str = "flights", drop: tuple[str, ...] = ()) -> int:
    """Rows in one table and not the other (EXCEPT ALL both ways), read by DuckDB."""
    engine = _lake(a=a / "lake" / table, b=b / "lake" / table)
    try:
        kept = f"* EXCLUDE ({', '.join(drop)})" if drop else "*"
        (count,) = engine.connection.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {kept} FROM a EXCEPT ALL SELECT {kept} FROM b))"
            f" + (SELECT count(*) FROM (SELECT {kept} FROM b EXCEPT ALL SELECT {kept} FROM a))"
        ).fetchone()
        return int(count)
    finally:
        engine.close()


def _counters(result: RunResult) -> tuple[Any, ...]:
    return tuple(getattr(result.record, c) for c in COUNTERS)


def _dead_letters(root: Path) -> list[tuple[Any, ...]]:
    engine = _lake(d=root / "lake" / "_dead_letter" / "flights")
    try:
        return engine.connection.execute(
            "SELECT list_sort(failed_checks), times_rejected, count(*) FROM d "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        engine.close()


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_loads_the_same_table_and_counts_on_both_engines(
    projects: dict[str, Path], strategy: str
) -> None:
    runs = {e: _run(root, STRATEGIES[strategy]) for e, root in projects.items()}
    assert runs["spark"].ok, runs["spark"].record.error_message
    assert _counters(runs["spark"]) == _counters(runs["duckdb"])
    assert runs["spark"].record.rows_rejected > 0  # the dep_delay cap quarantined rows
    history = ("valid_from",) if strategy == "scd2" else ()  # each run's own clock
    assert _differs(projects["duckdb"], projects["spark"], drop=history) == 0
    assert _dead_letters(projects["spark"]) == _dead_letters(projects["duckdb"])

    # Again: the same input changes nothing (a full extract re-reads every file).
    again = _run(projects["spark"], STRATEGIES[strategy])
    assert again.ok, again.record.error_message
    twice = _run(projects["duckdb"], STRATEGIES[strategy])
    assert _counters(again) == _counters(twice)
    assert _differs(projects["duckdb"], projects["spark"], drop=history) == 0
    assert _dead_letters(projects["spark"]) == _dead_letters(projects["duckdb"])


def test_a_table_continues_from_duckdb_to_spark_and_back(projects: dict[str, Path]) -> None:
    """The same lake, loaded by turns: both engines write the same Delta ``txn`` actions, so
    each sees the other's committed load versions."""
    duck, spark = projects["duckdb"], projects["spark"]
    shutil.rmtree(spark / "data")
    shutil.copytree(duck / "data", spark / "data")
    day3 = duck / "data" / "day3.parquet"
    held = duck / "day3.parquet"
    day3.rename(held)  # round 1 on DuckDB: days 1 and 2
    incremental = "source: {type: file, path: data/*.parquet}\n  strategy: new_files"
    (duck / "pipelines" / "flights.yaml").write_text(pipeline_yaml(extract=incremental))
    first = run_pipeline(
        load_project(duck), load_pipeline(duck / "pipelines" / "flights.yaml"), RunOptions()
    )
    assert first.ok, first.record.error_message
    # Round 2 on Spark, same lake and state: day 3 only.
    (duck / "lakegate.yaml").write_text(SPARK_YAML)
    held.rename(day3)
    second = run_pipeline(
        load_project(duck), load_pipeline(duck / "pipelines" / "flights.yaml"), RunOptions()
    )
    assert second.ok, second.record.error_message
    assert second.record.rows_extracted == _rows(day3)
    # Round 3 on DuckDB again: nothing new.
    (duck / "lakegate.yaml").write_text("name: duckdb_project\n")
    third = run_pipeline(
        load_project(duck), load_pipeline(duck / "pipelines" / "flights.yaml"), RunOptions()
    )
    assert third.ok and third.record.rows_extracted == 0
    # The same table as one DuckDB run over all three days.
    (spark / "lakegate.yaml").write_text("name: duckdb_project\n")
    (spark / "pipelines" / "flights.yaml").write_text(pipeline_yaml(extract=incremental))
    whole = run_pipeline(
        load_project(spark), load_pipeline(spark / "pipelines" / "flights.yaml"), RunOptions()
    )
    assert whole.ok
    assert _differs(duck, spark) == 0


def _rows(path: Path) -> int:
    con = duckdb.connect()
    try:
        return int(
            con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(path)}).fetchone()[0]
        )
    finally:
        con.close()


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_driver_killed_mid_run_then_rerun_loads_exactly_once(
    projects: dict[str, Path], point: str
) -> None:
    spark, duck = projects["spark"], projects["duckdb"]
    path = spark / "pipelines" / "flights.yaml"
    path.write_text(pipeline_yaml())
    reference = duck / "pipelines" / "flights.yaml"
    reference.write_text(pipeline_yaml())
    for root, file in ((spark, path), (duck, reference)):  # the same kill on both engines
        lakegate_killed_at(point, "run", str(file), cwd=root)
        rerun = run_pipeline(load_project(root), load_pipeline(file), RunOptions())
        assert rerun.ok, rerun.record.error_message
    assert _differs(duck, spark) == 0
    assert _dead_letters(spark) == _dead_letters(duck)


@pytest.mark.parametrize("url_fixture", ["pg_url", "maria_url"])
def test_an_incremental_sql_source_loads_the_same_on_both_engines(
    tmp_path: Path,
    session: Any,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    url_fixture: str,
) -> None:
    """Spark reads the table by JDBC (the watermark pushed down as a typed filter), DuckDB
    through ADBC/PyMySQL: the same merged table, run after run."""
    url = request.getfixturevalue(url_fixture)
    pipeline = (
        "pipeline: {name: from_sql}\nextract:\n"
        f"  source: {{type: sql, url: '${{SRC_URL}}', table: '{TABLE}'}}\n"
        "  strategy: incremental\n  incremental_key: updated_at\n"
        "load: {target: flights, strategy: merge, merge_keys: [id]}\n"
    )
    roots = {}
    for engine, yaml in (("duckdb", "name: sql_duck\n"), ("spark", SPARK_YAML)):
        root = tmp_path / engine
        (root / "pipelines").mkdir(parents=True)
        (root / "lakegate.yaml").write_text(yaml)
        (root / "pipelines" / "p.yaml").write_text(pipeline)
        roots[engine] = root

    def run_both() -> dict[str, RunResult]:
        out = {}
        for engine, root in roots.items():
            out[engine] = run_pipeline(
                load_project(root), load_pipeline(root / "pipelines" / "p.yaml"), RunOptions()
            )
            assert out[engine].ok, (engine, out[engine].record.error_message)
        return out

    monkeypatch.setenv("SRC_URL", url)
    first = run_both()
    assert _counters(first["spark"]) == _counters(first["duckdb"])
    assert first["spark"].record.watermark_after == first["duckdb"].record.watermark_after
    assert _differs(roots["duckdb"], roots["spark"]) == 0
    second = run_both()  # the boundary rows only, read again and dropped
    assert _counters(second["spark"]) == _counters(second["duckdb"])
    assert second["spark"].record.rows_loaded == 0
    assert _differs(roots["duckdb"], roots["spark"]) == 0
    # The DuckDB project moves to Spark: the boundary DuckDB stored is recognised there.
    (roots["duckdb"] / "lakegate.yaml").write_text(SPARK_YAML)
    moved = run_pipeline(
        load_project(roots["duckdb"]),
        load_pipeline(roots["duckdb"] / "pipelines" / "p.yaml"),
        RunOptions(),
    )
    assert moved.ok, moved.record.error_message
    assert moved.record.rows_loaded == 0
    assert moved.record.rows_deduplicated == second["duckdb"].record.rows_deduplicated > 0


def test_a_dead_letter_replay_loads_the_same_on_both_engines(projects: dict[str, Path]) -> None:
    """Rows quarantined by the dep_delay cap, replayed after the contract is relaxed: the
    records come back with their types (parsed from the dead-letter JSON by each engine's
    functions) and land once."""
    merge = STRATEGIES["merge"]
    for root in projects.values():
        assert _run(root, merge).ok
        (root / "contracts" / "flights.yaml").write_text(CONTRACT)  # no cap any more
    replays = {e: _run(root, merge, replay=Replay()) for e, root in projects.items()}
    assert replays["spark"].ok, replays["spark"].record.error_message
    assert _counters(replays["spark"]) == _counters(replays["duckdb"])
    assert replays["spark"].record.rows_loaded > 0
    assert _differs(projects["duckdb"], projects["spark"]) == 0
    for root in projects.values():  # the replayed rows left the dead-letter table
        engine = _lake(d=root / "lake" / "_dead_letter" / "flights")
        try:
            pending = engine.connection.execute(
                "SELECT count(*) FROM d WHERE replayed_in IS NULL"
            ).fetchone()
        finally:
            engine.close()
        assert pending == (0,), root


@pytest.mark.parametrize("action", ["delete", "soft_delete"])
def test_hard_delete_reconcile_gives_the_same_table_on_both_engines(
    tmp_path: Path, session: Any, request: pytest.FixtureRequest, action: str
) -> None:
    """Keys deleted at the source are found by reading every merge key (by JDBC on Spark)
    and removed (or flagged) by each engine's sink, in one commit."""
    url = request.getfixturevalue("pg_url")
    table = copy_table(url)
    roots = {e: tmp_path / e for e in ("duckdb", "spark")}
    paths = {
        e: write_project(root, url, table, reconcile=f"{{action: {action}}}")
        for e, root in roots.items()
    }
    (roots["spark"] / "lakegate.yaml").write_text(SPARK_YAML)
    for e, root in roots.items():
        assert recon_run(root, paths[e]).ok
    delete_at_source(url, table, range(10, 20))
    results = {e: recon_run(root, paths[e]) for e, root in roots.items()}
    assert results["spark"].ok, results["spark"].record.error_message
    assert results["spark"].record.keys_deleted_at_source == 10
    assert _counters(results["spark"]) == _counters(results["duckdb"])
    assert _differs(roots["duckdb"], roots["spark"]) == 0


@pytest.mark.parametrize("point", REPLAY_KILL_POINTS)
def test_a_replay_killed_on_spark_then_rerun_loads_each_row_once(
    projects: dict[str, Path], point: str
) -> None:
    spark, duck = projects["spark"], projects["duckdb"]
    merge = STRATEGIES["merge"]
    for root in (spark, duck):
        assert _run(root, merge).ok
        (root / "contracts" / "flights.yaml").write_text(CONTRACT)  # no cap any more
    lakegate_killed_at(point, "dlq", "replay", "flights", cwd=spark)
    again = _run(spark, merge, replay=Replay())  # settles the dead-letter table first
    assert again.ok, again.record.error_message
    assert _run(duck, merge, replay=Replay()).ok
    assert _differs(duck, spark) == 0
    engine = _lake(d=spark / "lake" / "_dead_letter" / "flights")
    try:
        pending = engine.connection.execute(
            "SELECT count(*) FROM d WHERE replayed_in IS NULL"
        ).fetchone()
    finally:
        engine.close()
    assert pending == (0,)
