"""A state store written by an older lakegate (schema version 1) is migrated in place."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import sqlalchemy as sa

from lakegate.state import StateStore
from lakegate.state.records import METADATA, SCHEMA_VERSION, Boundary, RunRecord, RunStart


def test_a_version_1_store_gains_the_new_column_and_keeps_its_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what lakegate 0.1 (schema version 1) created
        METADATA.create_all(conn)
        for added in ("source_schema_changes", "keys_deleted_at_source", "quality_score"):
            conn.execute(sa.text(f"ALTER TABLE lakegate_runs DROP COLUMN {added}"))
        conn.execute(sa.text("ALTER TABLE lakegate_watermarks DROP COLUMN boundary"))
        conn.execute(sa.text("INSERT INTO lakegate_meta VALUES ('schema_version', '1')"))
        conn.execute(
            sa.text(
                "INSERT INTO lakegate_runs (run_id, pipeline_name, started_at, status, stage, "
                "rows_extracted, rows_transformed, rows_loaded, rows_rejected, rows_deduplicated, "
                "quality_checks_passed, quality_checks_failed) "
                "VALUES ('old', 'p', '2026-01-01 00:00:00', 'success', 'load', 1, 1, 1, 0, 0, 0, 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO lakegate_watermarks VALUES "
                """('p', '{"type": "int", "value": 7}', 1, '2026-01-01 00:00:00')"""
            )
        )
    engine.dispose()
    start = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    with StateStore(url) as state:
        state.begin_run(RunStart("p", "new", start))
        state.commit_run(
            RunRecord(
                pipeline_name="p",
                run_id="new",
                started_at=start,
                status="success",
                source_schema_changes=("added x BIGINT",),
                keys_deleted_at_source=3,
            ),
            source_schema=[("x", "BIGINT")],
        )
        runs = {r.run_id: r for r in state.runs("p")}
        assert runs["old"].source_schema_changes == ()
        assert runs["new"].source_schema_changes == ("added x BIGINT",)
        assert (runs["old"].keys_deleted_at_source, runs["new"].keys_deleted_at_source) == (None, 3)
        assert state.source_schema("p") == [("x", "BIGINT")]
        # The old watermark reads back without a boundary; a new one stores its own.
        old_mark = state.get_watermark("p")
        assert (old_mark.value, old_mark.boundary) == (7, None)
        boundary = Boundary(("id", "ts"), ("ab" * 16, "ab" * 16))
        state.set_watermark("p", 8, 2, boundary)
        assert state.get_watermark("p").boundary == boundary
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT value FROM lakegate_meta WHERE key = 'schema_version'")
        ).scalar_one()
    engine.dispose()
    assert int(version) == SCHEMA_VERSION


def test_a_migration_skips_a_column_the_store_already_has(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # version 3 by number, but it has the version-4 column
        METADATA.create_all(conn)
        conn.execute(sa.text("INSERT INTO lakegate_meta VALUES ('schema_version', '3')"))
    engine.dispose()
    start = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    with StateStore(url) as state:
        state.begin_run(RunStart("p", "r", start))
        state.commit_run(
            RunRecord(pipeline_name="p", run_id="r", started_at=start, quality_score=97.5)
        )
        assert state.runs("p")[0].quality_score == 97.5


def test_a_version_5_store_gains_the_lock_start_token_and_keeps_its_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what schema version 5 created, with a lock held by a dead pid
        METADATA.create_all(conn)
        conn.execute(sa.text("ALTER TABLE lakegate_locks DROP COLUMN pid_started"))
        conn.execute(sa.text("INSERT INTO lakegate_meta VALUES ('schema_version', '5')"))
        conn.execute(
            sa.text(
                "INSERT INTO lakegate_locks VALUES ('p', 'old-run', :host, 2147483646, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"host": socket.gethostname()},
        )
    engine.dispose()
    with StateStore(url) as state:
        held = state.lock_info("p")
        assert held is not None and (held.run_id, held.pid_started) == ("old-run", None)
        lock = state.acquire_lock("p", "new-run", ttl_seconds=10**9)  # its pid is gone
        assert lock.taken_over == held
        assert lock.info.pid_started is not None and state.lock_info("p") == lock.info
