"""The dead-letter table holds each failing record once: a record that fails again, in a
re-run of the same input, is the row already there, seen again (first and last run, how
many runs rejected it); tables of older lakegates (a row per rejection) are read as they
are and folded by the next run; replay works on both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.runner import Replay, RunOptions, run_pipeline
from tests.conftest import lakegate
from tests.test_runner import (
    CONTRACT,
    DUPLICATE_KEYS_SQL,
    cap_dep_delay,
    dead_letters,
    pipeline_yaml,
    run,
    source_rows,
    table_rows,
)
from tests.test_runner import project as project  # a fixture

PIPELINE = "flights_daily"


def set_cap(root: Path, maximum: int) -> None:
    (root / "contracts" / "flights.yaml").write_text(
        CONTRACT.replace("maximum: 1440", f"maximum: {maximum}")
    )


def replay(root: Path, path: Path, **options: Any):
    return run_pipeline(
        load_project(root), load_pipeline(path), RunOptions(replay=Replay(), **options)
    )


def show(root: Path, *args: str) -> dict[str, Any]:
    proc = lakegate("dlq", "show", "flights", "--format", "json", *args, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def counts(root: Path, sql: str) -> list[tuple]:
    return dead_letters(root, sql)


def test_a_rerun_of_the_same_input_stores_each_failing_record_once(project) -> None:
    root, write = project
    cap_dep_delay(root)  # dep_delay > 300 fails
    path = write(pipeline_yaml())
    first, second = run(root, path), run(root, path)
    assert first.ok and second.ok, (first.record.error_message, second.record.error_message)
    total, bad = source_rows(
        root, "SELECT count(*), count(*) FILTER (WHERE dep_delay > 300) FROM s"
    )[0]
    # Each run rejected every bad row (nothing lost, run by run) ...
    for result in (first, second):
        r = result.record
        assert r.rows_rejected == bad > 0
        assert r.rows_extracted == r.rows_loaded + r.rows_rejected + r.rows_deduplicated
    # ... and the dead-letter table holds each bad record once, seen by both runs.
    assert counts(root, "SELECT count(*), count(DISTINCT record) FROM d")[0] == (bad, bad)
    rows = counts(
        root,
        "SELECT count(*), count(DISTINCT record), count(DISTINCT rejection_id), "
        "min(times_rejected), max(times_rejected), any_value(first_run_id), "
        "count(DISTINCT first_run_id), any_value(run_id), count(DISTINCT run_id) FROM d",
    )[0]
    assert rows == (bad, bad, bad, 2, 2, first.record.run_id, 1, second.record.run_id, 1)
    assert counts(root, "SELECT count(*) FROM d WHERE first_rejected_at < rejected_at")[0][0] == bad

    shown = show(root, "-n", "2")
    assert shown["total"] == bad
    assert all(
        (r["run_id"], r["first_run_id"], r["times_rejected"])
        == (second.record.run_id, first.record.run_id, 2)
        for r in shown["rows"]
    )
    assert show(root, "--run", first.record.run_id)["total"] == bad  # first seen there
    assert show(root, "--run", second.record.run_id)["total"] == bad  # and last
    table = lakegate("dlq", "show", "flights", cwd=root)
    assert "first rejected" in table.stdout and "runs" in table.stdout

    # A tighter contract: the records failing anew join, those failing again are counted.
    set_cap(root, 200)
    third = run(root, path)
    assert third.ok, third.record.error_message
    over_200 = source_rows(root, "SELECT count(*) FROM s WHERE dep_delay > 200")[0][0]
    assert third.record.rows_rejected == over_200
    seen = counts(
        root,
        "SELECT times_rejected, first_run_id = run_id, count(*) FROM d GROUP BY ALL ORDER BY 1",
    )
    assert seen == [(1, True, over_200 - bad), (3, False, bad)]

    # Replay after the fix loads every record once and empties the table.
    set_cap(root, 1440)
    replayed = replay(root, path)
    assert replayed.ok, replayed.record.error_message
    assert (replayed.record.rows_extracted, replayed.record.rows_loaded) == (over_200, over_200)
    assert table_rows(root)[0][0] == total
    assert table_rows(root, DUPLICATE_KEYS_SQL)[0][0] == 0
    assert counts(root, "SELECT count(*) FROM d")[0][0] == 0


def _make_older_table(root: Path, batches: tuple[int, ...]) -> int:
    """Rewrite the flights dead-letter table as an older lakegate left it after one run per
    batch of ``batches`` on the same input: the columns of then, each record once per batch.
    Returns the rows it holds."""
    from deltalake import write_deltalake

    from lakegate.engines.duckdb import DuckDBEngine
    from lakegate.sources.files import resolve_input

    uri = root / "lake" / "_dead_letter" / "flights"
    engine = DuckDBEngine()
    try:
        engine.register("d", resolve_input(uri))
        legacy = engine.connection.sql(
            f"""
            SELECT pipeline || ':' || v || ':' || row_number() OVER (PARTITION BY v) AS rejection_id,
                   pipeline, 'old-run-' || v AS run_id, v::BIGINT AS batch_version,
                   rejected_at + to_hours(v) AS rejected_at, failed_checks, record, record_types,
                   NULL::BIGINT AS replayed_in
            FROM d, unnest({list(batches)}) AS b(v)"""
        ).to_arrow_table()
    finally:
        engine.close()
    write_deltalake(str(uri), legacy, mode="overwrite", schema_mode="overwrite")
    return legacy.num_rows


def test_a_dead_letter_table_of_an_older_lakegate_is_read_then_folded(project) -> None:
    root, write = project
    cap_dep_delay(root)
    path = write(pipeline_yaml())
    assert run(root, path).ok
    bad = source_rows(root, "SELECT count(*) FROM s WHERE dep_delay > 300")[0][0]
    assert _make_older_table(root, (2, 3)) == 2 * bad  # the defect: every record twice
    assert "record_key" not in {
        c for (c,) in counts(root, "SELECT name FROM pragma_table_info('d')")
    }

    # Read as it is: dlq show, and a replay's dry run.
    shown = show(root, "-n", "1")
    assert shown["total"] == 2 * bad
    (row,) = shown["rows"]
    assert (row["run_id"], row["first_run_id"], row["times_rejected"]) == (
        "old-run-3",
        "old-run-3",
        1,
    )
    assert show(root, "--run", "old-run-2")["total"] == bad
    dry = replay(root, path, dry_run=True)
    assert dry.ok and dry.record.rows_extracted == 2 * bad, dry.record.error_message

    # The next run folds the copies: one row per record, all three rejections counted.
    again = run(root, path)
    assert again.ok and again.record.rows_rejected == bad, again.record.error_message
    rows = counts(root, "SELECT record, first_run_id, run_id, times_rejected, rejection_id FROM d")
    assert len(rows) == len({r[0] for r in rows}) == bad
    assert {r[1:4] for r in rows} == {("old-run-2", again.record.run_id, 3)}
    assert all(r[4].startswith(f"{PIPELINE}:2:") for r in rows)  # the first id stays
    assert show(root)["total"] == bad

    # And replay still takes them out exactly once.
    set_cap(root, 1440)
    replayed = replay(root, path)
    assert replayed.ok and replayed.record.rows_loaded == bad, replayed.record.error_message
    total = source_rows(root, "SELECT count(*) FROM s")[0][0]
    assert table_rows(root)[0][0] == total
    assert counts(root, "SELECT count(*) FROM d")[0][0] == 0
