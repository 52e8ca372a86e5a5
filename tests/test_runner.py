"""`lakegate run` end to end on real flights data: the invariants of DESIGN.md."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.runner import KILL_POINTS, RunOptions, run_pipeline
from lakegate.state.store import LockHeldError, StateStore
from tests.conftest import lakegate, lakegate_killed_at

KEYS = ["year", "month", "day", "origin", "carrier", "flight"]

CONTRACT = """\
contract: {name: flights, version: 1.0.0}
schema:
  required: [year, month, day, carrier, flight, origin, time_hour]
  properties:
    year: {type: integer}
    month: {type: integer}
    day: {type: integer}
    dep_delay: {type: integer, minimum: -120, maximum: 1440}
    carrier: {type: string, pattern: "^[A-Z0-9]{2}$"}
    flight: {type: integer}
    origin: {type: string, enum: [EWR, JFK, LGA]}
    time_hour: {type: timestamp}
quality:
  uniqueness: {combination: [year, month, day, origin, carrier, flight]}
"""


def pipeline_yaml(**overrides: str) -> str:
    parts = {
        "extract": "source: {type: file, path: data/*.parquet}\n  strategy: full",
        "load": "target: flights\n  strategy: merge\n  merge_keys: [" + ", ".join(KEYS) + "]\n"
        "  order_by: time_hour\n  partition_by: [day]",
        "extra": "",
    } | overrides
    return (
        f"pipeline: {{name: flights_daily}}\nextract:\n  {parts['extract']}\n"
        f"load:\n  {parts['load']}\ncontract: contracts/flights.yaml\n{parts['extra']}"
    )


@pytest.fixture
def project(tmp_path: Path, flights_dir: Path):
    """A project folder with three days of January flights as one file per day."""
    (tmp_path / "data").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "lakegate.yaml").write_text("name: test_project\n")
    (tmp_path / "contracts" / "flights.yaml").write_text(CONTRACT)
    con = duckdb.connect()
    flights = con.read_parquet(str(flights_dir / "flights.parquet"))
    flights.create_view("flights")
    for day in (1, 2, 3):
        con.execute(
            f"COPY (SELECT * FROM flights WHERE month = 1 AND day = {day}) "
            f"TO '{tmp_path / 'data' / f'day{day}.parquet'}'"
        )
    con.close()

    def write(text: str) -> Path:
        path = tmp_path / "pipelines" / "flights.yaml"
        path.write_text(text)
        return path

    return tmp_path, write


def run(root: Path, pipeline_file: Path, **options):
    return run_pipeline(load_project(root), load_pipeline(pipeline_file), RunOptions(**options))


def table_rows(root: Path, sql: str = "SELECT count(*) FROM t") -> list[tuple]:
    from deltalake import DeltaTable

    files = DeltaTable(str(root / "lake" / "flights")).file_uris()
    con = duckdb.connect()
    con.read_parquet(files, hive_partitioning=True).create_view("t")
    return con.execute(sql).fetchall()


def source_rows(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect()
    con.read_parquet(str(root / "data" / "*.parquet")).create_view("s")
    return con.execute(sql).fetchall()


def dead_letters(root: Path, sql: str) -> list[tuple]:
    """Query the flights dead-letter table (as view ``d``) through DuckDB."""
    from lakegate.engines.duckdb import DuckDBEngine
    from lakegate.sources.files import resolve_input

    engine = DuckDBEngine()  # reads an empty table too (no files, the table's schema)
    try:
        engine.register("d", resolve_input(root / "lake" / "_dead_letter" / "flights"))
        return engine.connection.execute(sql).fetchall()
    finally:
        engine.close()


def cap_dep_delay(root: Path) -> None:
    """Tighten the contract so rows with dep_delay > 300 fail dep_delay.range."""
    (root / "contracts" / "flights.yaml").write_text(
        CONTRACT.replace("maximum: 1440", "maximum: 300")
    )


DUPLICATE_KEYS_SQL = (
    "SELECT count(*) - count(DISTINCT (year, month, day, origin, carrier, flight)) FROM t"
)


def test_merge_run_loads_everything_and_is_idempotent(project) -> None:
    root, write = project
    path = write(pipeline_yaml())
    first = run(root, path)
    assert first.ok, first.record.error_message
    expected = source_rows(root, "SELECT count(*) FROM s")[0][0]
    r = first.record
    assert r.rows_extracted == expected == r.rows_loaded + r.rows_rejected + r.rows_deduplicated
    assert table_rows(root)[0][0] == expected
    content = table_rows(root, "SELECT * FROM t ORDER BY ALL")
    second = run(root, path)
    assert second.ok
    assert table_rows(root, "SELECT * FROM t ORDER BY ALL") == content
    log = [
        json.loads(line) for line in (root / ".lakegate" / "runs.jsonl").read_text().splitlines()
    ]
    assert [entry["status"] for entry in log] == ["success", "success"]
    assert set(log[0]) >= {
        "pipeline_name",
        "run_id",
        "started_at",
        "completed_at",
        "status",
        "stage",
        "rows_extracted",
        "rows_transformed",
        "rows_loaded",
        "rows_rejected",
        "quality_checks_passed",
        "quality_checks_failed",
        "duration_seconds",
        "error_message",
        "watermark_before",
        "watermark_after",
    }


def test_bad_rows_go_to_the_dead_letter_table_with_reasons(project) -> None:
    root, write = project
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN flight % 50 = 0 THEN 'XXX' ELSE origin END AS origin, "
        f"CASE WHEN flight % 70 = 0 THEN 5000 ELSE dep_delay END AS dep_delay) "
        f"FROM '{root / 'data' / 'day2.parquet'}') TO '{root / 'data' / 'day2b.parquet'}'"
    )
    (root / "data" / "day2.parquet").unlink()
    result = run(root, write(pipeline_yaml()))
    assert result.ok, result.record.error_message
    bad_origin, bad_delay, bad_any, total = source_rows(
        root,
        """
        SELECT count(*) FILTER (WHERE origin = 'XXX'), count(*) FILTER (WHERE dep_delay = 5000),
               count(*) FILTER (WHERE origin = 'XXX' OR dep_delay = 5000), count(*) FROM s""",
    )[0]
    r = result.record
    assert r.rows_rejected == bad_any > 0
    assert r.rows_extracted == total == r.rows_loaded + r.rows_rejected + r.rows_deduplicated
    assert table_rows(root)[0][0] == total - bad_any
    rows = dead_letters(root, "SELECT failed_checks, record, run_id FROM d")
    assert len(rows) == bad_any
    reasons = [set(checks) for checks, _, _ in rows]
    assert sum("origin.accepted_values" in c for c in reasons) == bad_origin
    assert sum("dep_delay.range" in c for c in reasons) == bad_delay
    record = json.loads(rows[0][1])
    assert set(record) >= {"origin", "dep_delay", "tailnum", "time_hour"}
    assert {run_id for _, _, run_id in rows} == {r.run_id}
    # A second run of the same input quarantines the same rows again, in a new batch.
    assert run(root, write(pipeline_yaml())).ok
    assert table_rows(root)[0][0] == total - bad_any


def test_a_failing_set_level_check_writes_nothing(project) -> None:
    root, write = project
    path = write(
        pipeline_yaml(extra="quality_gates:\n  pre_load: [{type: row_count, min: 1000000}]\n")
    )
    result = run(root, path)
    assert not result.ok
    assert "row_count" in result.record.error_message
    assert not (root / "lake" / "flights").exists()
    with StateStore(load_project(root).state_url) as state:
        assert state.get_watermark("flights_daily") is None
        assert state.runs("flights_daily")[0].status == "failed"


def test_too_many_rejects_fail_the_run(project) -> None:
    root, write = project
    strict = CONTRACT.replace("enum: [EWR, JFK, LGA]", "enum: [EWR]")
    (root / "contracts" / "flights.yaml").write_text(strict)
    result = run(root, write(pipeline_yaml()))
    assert not result.ok
    assert "max_rejected_fraction" in result.record.error_message
    assert not (root / "lake" / "flights").exists()


def test_incremental_with_lookback_does_not_duplicate(project) -> None:
    root, write = project
    path = write(
        pipeline_yaml(
            extract="source: {type: file, path: data/*.parquet}\n"
            "  strategy: incremental\n  incremental_key: time_hour\n"
            "  lookback: 1 day"
        )
    )
    day3 = root / "data" / "day3.parquet"
    held = day3.rename(root / "day3.later")
    assert run(root, path).ok
    first = table_rows(root)[0][0]
    held.rename(day3)
    second = run(root, path)
    assert second.ok
    total = source_rows(root, "SELECT count(*) FROM s")[0][0]
    assert table_rows(root)[0][0] == total > first
    # The lookback re-read some of day 2 as well: they were merged, not duplicated.
    assert (
        second.record.rows_extracted
        > source_rows(root, "SELECT count(*) FROM s WHERE day = 3")[0][0]
    )
    assert table_rows(root, DUPLICATE_KEYS_SQL)[0][0] == 0
    with StateStore(load_project(root).state_url) as state:
        wm = state.get_watermark("flights_daily")
    assert wm.value == source_rows(root, "SELECT max(time_hour) FROM s")[0][0]


def test_partition_overwrite_by_run_date_replaces_its_partition(project) -> None:
    root, write = project
    for day in (1, 2, 3):
        (root / "data" / f"day{day}.parquet").rename(root / "data" / f"2013-01-0{day}.parquet")
    path = write(
        pipeline_yaml(
            extract='source: {type: file, path: "data/{run_date}.parquet"}\n  strategy: full',
            load="target: flights\n  strategy: partition_overwrite\n  partition_by: [day]",
        )
    )
    for day in (1, 2):
        assert run(root, path, run_date=dt.date(2013, 1, day)).ok
    before = table_rows(root, "SELECT day, count(*) FROM t GROUP BY day ORDER BY day")
    assert run(root, path, run_date=dt.date(2013, 1, 2)).ok
    assert table_rows(root, "SELECT day, count(*) FROM t GROUP BY day ORDER BY day") == before


def test_dry_run_writes_nothing(project) -> None:
    root, write = project
    result = run(root, write(pipeline_yaml()), dry_run=True)
    assert result.ok and result.record.rows_loaded > 0
    assert not (root / "lake").exists()


def test_a_second_writer_is_refused(project) -> None:
    root, write = project
    path = write(pipeline_yaml())
    with (
        StateStore(load_project(root).state_url) as state,
        state.acquire_lock("flights_daily", "other-run"),
    ):
        with pytest.raises(LockHeldError, match="other-run"):
            run(root, path)
        proc = lakegate("run", str(path), cwd=root)
        assert proc.returncode != 0 and "other-run" in proc.stderr


@pytest.mark.parametrize("step", KILL_POINTS)
def test_killed_at_any_step_then_rerun_loads_exactly_once(project, step: str) -> None:
    root, write = project
    # Make some rows bad so the dead-letter step runs too.
    cap_dep_delay(root)
    path = write(pipeline_yaml())
    lakegate_killed_at(step, "run", str(path), cwd=root)
    rerun = run(root, path)
    assert rerun.ok, rerun.record.error_message
    total, bad = source_rows(
        root, "SELECT count(*), count(*) FILTER (WHERE dep_delay > 300) FROM s"
    )[0]
    assert table_rows(root)[0][0] == total - bad
    assert table_rows(root, DUPLICATE_KEYS_SQL)[0][0] == 0
    # Every quarantined row is in the dead-letter table exactly once per batch that saw it.
    per_batch = dead_letters(
        root, "SELECT batch_version, count(*) FROM d GROUP BY ALL ORDER BY ALL"
    )
    assert all(n == bad for _, n in per_batch)
    with StateStore(load_project(root).state_url) as state:
        assert state.runs("flights_daily")[0].status == "success"


def test_dlq_show_lists_the_quarantined_rows(project) -> None:
    root, write = project
    cap_dep_delay(root)
    result = run(root, write(pipeline_yaml()))
    assert result.ok
    bad = source_rows(root, "SELECT count(*) FROM s WHERE dep_delay > 300")[0][0]
    proc = lakegate("dlq", "show", "flights", "--format", "json", "-n", "3", cwd=root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["total"] == bad == result.record.rows_rejected
    assert len(data["rows"]) == 3
    assert all(r["failed_checks"] == ["dep_delay.range"] for r in data["rows"])
    assert all(r["record"]["dep_delay"] > 300 for r in data["rows"])
    proc = lakegate("dlq", "show", "flights", cwd=root)
    assert proc.returncode == 0 and "dep_delay.range" in proc.stdout
    proc = lakegate("dlq", "show", "planes", cwd=root)
    assert proc.returncode == 2 and "no dead-letter table" in proc.stderr


def test_error_handling_strategies(project, monkeypatch) -> None:
    root, write = project
    cap_dep_delay(root)
    bad = source_rows(root, "SELECT count(*) FROM s WHERE dep_delay > 300")[0][0]
    assert bad > 0

    fail_fast = run(root, write(pipeline_yaml(extra="error_handling: {strategy: fail-fast}\n")))
    assert not fail_fast.ok and "fail-fast" in fail_fast.record.error_message
    assert not (root / "lake" / "flights").exists()

    skip = run(root, write(pipeline_yaml(extra="error_handling: {strategy: skip-and-alert}\n")))
    assert skip.ok and skip.record.status == "partial"
    assert skip.record.rows_rejected == bad and "skipped" in skip.record.error_message


def test_retry_runs_again_after_a_transient_failure(project, monkeypatch) -> None:
    from lakegate.sinks import LoadError
    from lakegate.sinks.delta import DeltaSink

    root, write = project
    real_write = DeltaSink.write
    calls: list[int] = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise LoadError("concurrent commit", transient=True)
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(DeltaSink, "write", flaky)
    extra = "error_handling: {strategy: retry, max_retries: 2, retry_delay_seconds: 0}\n"
    result = run(root, write(pipeline_yaml(extra=extra)))
    assert result.ok and len(calls) == 2
    total = source_rows(root, "SELECT count(*) FROM s")[0][0]
    assert table_rows(root)[0][0] == total
    with StateStore(load_project(root).state_url) as state:
        assert [r.status for r in state.runs("flights_daily")] == ["success", "failed"]

    calls.clear()
    monkeypatch.setattr(
        DeltaSink,
        "write",
        lambda self, *a, **k: (_ for _ in ()).throw(LoadError("permanent", transient=False)),
    )
    result = run(root, write(pipeline_yaml(extra=extra)))
    assert not result.ok and "permanent" in result.record.error_message


def test_an_orchestrator_run_leaves_retries_to_the_orchestrator(project, monkeypatch) -> None:
    """retries=False (what generated orchestrator code passes): one attempt, and the
    failure says it is transient so the orchestrator's retry policy can act on it."""
    from lakegate.sinks import LoadError
    from lakegate.sinks.delta import DeltaSink

    root, write = project
    calls: list[int] = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        raise LoadError("concurrent commit", transient=True)

    monkeypatch.setattr(DeltaSink, "write", flaky)
    extra = "error_handling: {strategy: retry, max_retries: 2, retry_delay_seconds: 0}\n"
    path = write(pipeline_yaml(extra=extra))
    result = run_pipeline(load_project(root), load_pipeline(path), RunOptions(retries=False))
    assert not result.ok and result.transient and len(calls) == 1


def test_new_files_mode_loads_each_file_once(project) -> None:
    root, write = project
    path = write(
        pipeline_yaml(
            extract="source: {type: file, path: data}\n  strategy: new_files",
            load="target: flights\n  strategy: append",
        )
    )
    day3 = (root / "data" / "day3.parquet").rename(root / "day3.later")
    first = run(root, path)
    assert (
        first.ok and first.record.rows_loaded == source_rows(root, "SELECT count(*) FROM s")[0][0]
    )
    nothing = run(root, path)
    assert nothing.ok and nothing.record.rows_extracted == 0
    day3.rename(root / "data" / "day3.parquet")
    third = run(root, path)
    day3_rows = source_rows(root, "SELECT count(*) FROM s WHERE day = 3")[0][0]
    assert third.ok and third.record.rows_extracted == day3_rows
    assert table_rows(root)[0][0] == source_rows(root, "SELECT count(*) FROM s")[0][0]


def test_state_in_postgresql(project, postgres_url: str) -> None:
    root, write = project
    (root / "lakegate.yaml").write_text(f"name: test_project\nstate: {postgres_url}\n")
    path = write(pipeline_yaml())
    first, second = run(root, path), run(root, path)
    assert first.ok and second.ok
    with StateStore(postgres_url) as state:
        runs = state.runs("flights_daily")
        assert [r.run_id for r in runs] == [second.record.run_id, first.record.run_id]
        assert state.get_watermark("flights_daily").version == 2
        assert state.lock_info("flights_daily") is None


def test_in_batch_duplicates_keep_the_latest_by_order_by(project) -> None:
    root, write = project
    con = duckdb.connect()
    # A correction of 10 flights of day 1, scheduled an hour later, in another file.
    con.execute(
        f"COPY (SELECT * REPLACE (time_hour + INTERVAL 1 HOUR AS time_hour, 999 AS dep_delay) "
        f"FROM '{root / 'data' / 'day1.parquet'}' ORDER BY flight LIMIT 10) "
        f"TO '{root / 'data' / 'day1_fix.parquet'}'"
    )
    result = run(root, write(pipeline_yaml()))
    assert result.ok, result.record.error_message
    r = result.record
    assert r.rows_deduplicated == 10
    assert r.rows_extracted == r.rows_loaded + r.rows_rejected + r.rows_deduplicated
    assert table_rows(root, "SELECT count(*) FROM t WHERE dep_delay = 999")[0][0] == 10
    assert table_rows(root)[0][0] == r.rows_loaded


def flat(table: str) -> str:
    """A rich table's text without borders, cells wrapped over lines joined by spaces."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", table).split())


def test_a_failed_rejection_limit_names_its_checks_everywhere(project) -> None:
    """max_rejected_fraction names the checks that rejected the rows, with their counts,
    in the run's error: `run` (table and JSON), the logs and `lakegate runs`."""
    root, write = project
    strict = CONTRACT.replace("enum: [EWR, JFK, LGA]", "enum: [EWR]")
    (root / "contracts" / "flights.yaml").write_text(
        strict.replace("maximum: 1440", "maximum: 300")
    )
    path = write(pipeline_yaml())
    origin, delay, total = source_rows(
        root,
        "SELECT count(*) FILTER (WHERE origin <> 'EWR'), count(*) FILTER (WHERE dep_delay > 300), "
        "count(*) FROM s",
    )[0]
    assert origin > delay > 0
    expected = (
        f"origin.accepted_values (accepted_values: {origin:,} rows), "
        f"dep_delay.range (range: {delay:,} rows)"
    )
    proc = lakegate("--log-format", "json", "run", str(path), "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    message = json.loads(proc.stdout)["error_message"]
    assert "max_rejected_fraction" in message and expected in message, message
    assert f"of {total:,} rows rejected" in message
    assert "nothing was written" in message
    logged = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    failures = [entry for entry in logged if entry["level"] == "ERROR"]
    assert len(failures) == 1 and expected in failures[0]["message"]
    assert not (root / "lake" / "flights").exists()

    proc = lakegate("run", str(path), cwd=root)
    assert proc.returncode == 1 and expected in flat(proc.stdout), proc.stdout
    proc = lakegate("runs", cwd=root)
    assert proc.returncode == 0 and expected in flat(proc.stdout), proc.stdout
    proc = lakegate("runs", "--format", "json", cwd=root)
    assert all(expected in r["error_message"] for r in json.loads(proc.stdout))

    fail_fast = run(root, write(pipeline_yaml(extra="error_handling: {strategy: fail-fast}\n")))
    assert not fail_fast.ok and expected in fail_fast.record.error_message
