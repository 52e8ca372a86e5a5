"""The PostgreSQL walkthrough of `make demo` (examples/postgres/demo.py) on a
`lakegate init` project, against the real server: the seeded table loads whole, the
changed rows merge, the hard deletes are reconciled; with no server it is skipped."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakegate.engines.duckdb import DuckDBEngine
from lakegate.scaffold import create_project
from lakegate.sources.files import resolve_input
from tests.state.conftest import PG_HOST, PG_PORT, _admin

DEMO = Path(__file__).resolve().parent.parent / "examples" / "postgres" / "demo.py"
FLIGHTS = 336_776


@pytest.fixture
def demo_url() -> Iterator[str]:
    from psycopg import sql

    admin, user = _admin()
    name = f"lakegate_demo_{secrets.token_hex(4)}"
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"  # the demo creates it
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


def walkthrough(project: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO), str(project)],
        env={**os.environ, "LAKEGATE_PG_URL": url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_walkthrough_replicates_changes_and_hard_deletes(tmp_path: Path, demo_url: str) -> None:
    project = tmp_path / "demo"
    create_project(project)
    proc = walkthrough(project, demo_url)
    assert proc.returncode == 0, proc.stderr
    assert f"loaded {FLIGHTS:,} flights" in proc.stdout
    assert "keys_deleted_at_source │ 3 " in proc.stdout
    assert demo_url.rsplit("@", 1)[0] not in proc.stdout + proc.stderr  # the URL stays secret
    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(project / "lake" / "flights_replica"))
        count, ids, changed, late = engine.connection.execute(
            "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE year(updated_at) > 2014), "
            "count(*) FILTER (WHERE flight = 9999 AND dest = 'BQN') FROM t"
        ).fetchall()[0]
    finally:
        engine.close()
    assert (count, ids) == (FLIGHTS + 1 - 3, FLIGHTS + 1 - 3)
    assert (changed, late) == (26, 1)  # 25 delayed + the late one, merged on id


def test_without_a_server_it_is_skipped_with_a_message(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    create_project(project)
    proc = walkthrough(project, "postgresql://nobody:hunter2@127.0.0.1:1/nowhere")
    assert proc.returncode == 0, proc.stderr
    assert "skipped: no PostgreSQL server reachable at 127.0.0.1:1" in proc.stdout
    assert "hunter2" not in proc.stdout
