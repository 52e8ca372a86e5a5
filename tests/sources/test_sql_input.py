"""What a SQL source refuses, and how `lakegate run` exits for it: a query that writes is
refused when it is parsed (file and line, before anything is sent); a missing table
or column, or a role the server does not know, is bad input (exit 2); a server that
cannot be reached is a failed run (exit 1). Real PostgreSQL and MariaDB servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.errors import ConfigError
from lakegate.runner import run_pipeline
from lakegate.sources.sql import check_source
from tests.conftest import lakegate
from tests.sources.conftest import TABLE
from tests.state.conftest import PG_HOST, PG_PORT


def _project(root: Path, source: str) -> Path:
    (root / "pipelines").mkdir(parents=True)
    (root / "lakegate.yaml").write_text("name: sql_input\n")
    path = root / "pipelines" / "p.yaml"
    path.write_text(f"pipeline: {{name: p}}\nextract:\n  source: {source}\nload: {{target: t}}\n")
    return path


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            f'WITH d AS (DELETE FROM "{TABLE}" WHERE id < 0 RETURNING *) SELECT * FROM d',
            "its WITH query 'd' is a DELETE, which changes the source's data",
        ),
        (
            f'WITH n AS (INSERT INTO "{TABLE}" (id) SELECT -1 WHERE false RETURNING id) '
            "SELECT * FROM n",
            "its WITH query 'n' is an INSERT",
        ),
        (
            f'WITH u AS (UPDATE "{TABLE}" SET note = note WHERE id < 0 RETURNING *) '
            "SELECT id FROM u",
            "its WITH query 'u' is an UPDATE",
        ),
        (f'SELECT * INTO "copy of flights" FROM "{TABLE}"', "SELECT ... INTO creates a table"),
    ],
)
def test_a_query_that_writes_is_refused_when_parsed(
    tmp_path: Path, pg_url: str, query: str, message: str
) -> None:
    path = _project(tmp_path, f"{{type: sql, url: '{pg_url}', query: '{query}'}}")
    with pytest.raises(ConfigError, match=message) as caught:
        load_pipeline(path)
    assert (caught.value.path, caught.value.line) == (str(path), 3)
    if "DELETE" in query:  # and from the command line: bad input, exit 2
        run = lakegate("run", str(path), cwd=tmp_path)
        assert run.returncode == 2, run.stdout + run.stderr
        assert message in run.stderr and "Traceback" not in run.stderr
        assert "lakegate_source" not in run.stderr  # the SQL lakegate would send: not shown


def test_a_query_that_only_reads_is_accepted() -> None:
    from lakegate.config.pipeline import SqlSource

    source = SqlSource(
        type="sql",
        url="postgresql://u@h/db",
        query=f'WITH d AS (SELECT id FROM "{TABLE}") SELECT * FROM d UNION ALL SELECT 1',
    )
    check_source(source)  # no error


def test_bad_input_exits_2_and_an_unreachable_server_exits_1(
    tmp_path: Path, pg_url: str, maria_url: str
) -> None:
    cases = [
        (f"{{type: sql, url: '{pg_url}', table: no_such_table}}", 2, "no_such_table"),
        (f"{{type: sql, url: '{maria_url}', table: no_such_table}}", 2, "no_such_table"),
        (
            f"{{type: sql, url: '{pg_url}', query: 'SELECT no_such_column FROM \"{TABLE}\"'}}",
            2,
            "no_such_column",
        ),
        (
            "{type: sql, table: t, "
            f"url: 'postgresql://no_such_role_here@{PG_HOST}:{PG_PORT}/postgres'}}",
            2,
            "no_such_role_here",
        ),
        ("{type: sql, url: 'postgresql://u@127.0.0.1:1/db', table: t}", 1, "127.0.0.1:1"),
    ]
    for n, (source, code, named) in enumerate(cases):
        path = _project(tmp_path / str(n), source)
        result = run_pipeline(load_project(path.parent.parent), load_pipeline(path))
        assert (result.ok, result.exit_code) == (False, code), result.record.error_message
        assert named in (result.record.error_message or "")
    # The command line exits with it: a missing table is bad input.
    run = lakegate("run", str(tmp_path / "0" / "pipelines" / "p.yaml"), cwd=tmp_path / "0")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no_such_table" in run.stdout and "Traceback" not in run.stderr
