"""Airflow 3 loads and runs the DAG files ``lakegate generate airflow`` writes.

A demo project (``lakegate init``, without its ``flights_from_postgres`` pipeline: it
needs a database server) gets its DAG files through ``generate_code``. Airflow's own
``DagBag`` imports them with no import error and finds one DAG per schedule group, one
task per pipeline, the DAG settings taken from the pipeline files, and the
dependencies: flights reads airlines, airports and planes, which the demo schedules in
other DAGs, so they are inlet assets of the flights task. With flights and planes moved
to the airlines schedule the same dependencies become task edges of one DAG, and
``airflow dags test`` (a real DAG run against a SQLite metadata database in a temporary
AIRFLOW_HOME) loads the four lake tables in that order, each lakegate run recording the
run's logical date as its ``run_date``. A DAG whose task reads a table another DAG
loads skips that task when the other DAG's pipeline failed, and runs it once that
pipeline has loaded again.

Runs under ``make test-peers`` in ``.venv-airflow`` (Airflow 3 with lakegate installed).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("Airflow is not installed (make test-peers)", allow_module_level=True)

from lakegate.api import RunFailed, run
from lakegate.config.project import load_project
from lakegate.generate import generate_code
from lakegate.scaffold import create_project

PROJECT = "demo"
DAILY = f"lakegate_{PROJECT}_cron_0_4_x_x_x"
FLIGHTS_DAG = f"lakegate_{PROJECT}_cron_0_5_x_x_x"
LOGICAL_DATE = "2013-01-02"
# The post-load gate of the demo's airlines pipeline, and one its 16 rows fail.
AIRLINES_GATE = "{type: row_count, min: 10}"
FAILING_GATE = "{type: row_count, min: 100}"


def _project(root: Path, *, one_schedule: bool) -> Path:
    """A demo project in ``root``; with ``one_schedule``, flights and planes run at 04:00
    daily like airlines and airports."""
    create_project(root)
    (root / "pipelines" / "flights_from_postgres.yaml").unlink()
    if one_schedule:
        for name, old in (("flights", '"0 5 * * *"'), ("planes", '"0 4 * * 1"')):
            path = root / "pipelines" / f"{name}.yaml"
            text = path.read_text()
            assert f"schedule: {old}" in text
            path.write_text(text.replace(f"schedule: {old}", 'schedule: "0 4 * * *"'))
    return root


def _write_dags(project_root: Path, dags: Path) -> list[str]:
    dags.mkdir()
    files = generate_code("airflow", load_project(project_root), command="lakegate generate")
    for name, source in files.items():
        (dags / name).write_text(source)
    return sorted(files)


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """AIRFLOW_HOME in a temporary folder, set before Airflow is first imported."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield {**os.environ, **env}


def _dagbag(dags: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags))
    assert bag.import_errors == {}
    assert bag.captured_warnings == {}  # no deprecated parameter (Airflow 3 dropped sla)
    return bag


def _upstream(dag: Any) -> dict[str, set[str]]:
    return {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}


def test_dagbag_loads_one_dag_per_schedule_group(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    root = _project(tmp_path / PROJECT, one_schedule=False)
    files = _write_dags(root, tmp_path / "dags")
    bag = _dagbag(tmp_path / "dags")

    groups = {  # DAG id -> (cron, tasks)
        DAILY: ("0 4 * * *", {"airlines", "airports"}),
        f"lakegate_{PROJECT}_cron_0_4_x_x_1": ("0 4 * * 1", {"planes"}),
        f"lakegate_{PROJECT}_cron_0_5_x_x_x": ("0 5 * * *", {"flights"}),
        f"lakegate_{PROJECT}_cron_0_5_1_x_x": ("0 5 1 * *", {"weather"}),
    }
    assert files == sorted(f"{dag_id}.py" for dag_id in groups)
    assert set(bag.dags) == set(groups)
    for dag_id, dag in bag.dags.items():
        cron, tasks = groups[dag_id]
        assert set(dag.task_ids) == tasks
        assert dag.schedule == cron
        assert dag.max_active_runs == 1
        assert dag.catchup is False
        assert "lakegate" in dag.tags
        assert dag.doc_md
    # Every dependency of the demo crosses DAGs: none is a task edge, all are inlets.
    assert all(not t.upstream_task_ids for dag in bag.dags.values() for t in dag.tasks)
    flights = bag.dags[f"lakegate_{PROJECT}_cron_0_5_x_x_x"].get_task("flights")
    assert [a.uri for a in flights.inlets] == [
        f"lakegate://{PROJECT}/{t}" for t in ("airlines", "airports", "planes")
    ]
    assert [a.uri for a in flights.outlets] == [f"lakegate://{PROJECT}/flights"]
    assert f"DAG `{DAILY}`" in bag.dags[f"lakegate_{PROJECT}_cron_0_5_x_x_x"].doc_md
    # Settings from the pipeline files: fail-fast and dead-letter mean no retries.
    airlines = bag.dags[DAILY].get_task("airlines")
    assert airlines.retries == 0
    assert airlines.execution_timeout.total_seconds() == 30 * 60
    assert airlines.owner == "data-platform@example.com"
    assert bag.dags[f"lakegate_{PROJECT}_cron_0_5_1_x_x"].get_task(
        "weather"
    ).execution_timeout.total_seconds() == (60 * 60)


def test_retry_strategy_and_manual_dag(airflow_env: dict[str, str], tmp_path: Path) -> None:
    root = _project(tmp_path / PROJECT, one_schedule=False)
    path = root / "pipelines" / "weather.yaml"
    text = path.read_text().replace('  schedule: "0 5 1 * *"\n', "")
    text = text.replace(
        "error_handling:\n  strategy: dead-letter\n",
        "error_handling:\n  strategy: retry\n  max_retries: 4\n  retry_delay_seconds: 90\n",
    )
    path.write_text(text)
    _write_dags(root, tmp_path / "dags")
    bag = _dagbag(tmp_path / "dags")

    manual = bag.dags[f"lakegate_{PROJECT}_manual"]
    assert manual.schedule is None
    weather = manual.get_task("weather")
    assert weather.retries == 4
    assert weather.retry_delay.total_seconds() == 90


def test_dag_run_loads_the_lake_in_order_for_the_logical_date(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    root = _project(tmp_path / PROJECT, one_schedule=True)
    dags = Path(airflow_env["AIRFLOW__CORE__DAGS_FOLDER"])
    _write_dags(root, dags)
    bag = _dagbag(dags)
    assert set(bag.dags) == {DAILY, f"lakegate_{PROJECT}_cron_0_5_1_x_x"}
    assert _upstream(bag.dags[DAILY]) == {
        "airlines": set(),
        "airports": set(),
        "planes": set(),
        "flights": {"airlines", "airports", "planes"},
    }

    airflow = str(Path(sys.executable).with_name("airflow"))
    for args in (["db", "migrate"], ["dags", "test", DAILY, LOGICAL_DATE]):
        done = subprocess.run(
            [airflow, *args],
            env=airflow_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    with sqlite3.connect(root / ".lakegate" / "state.db") as db:
        runs = db.execute(
            "SELECT pipeline_name, status, run_date, started_at FROM lakegate_runs "
            "ORDER BY started_at"
        ).fetchall()
    assert {r[0] for r in runs} == {"airlines", "airports", "planes", "flights"}
    assert all(status == "success" for _, status, _, _ in runs), runs
    assert {str(run_date) for _, _, run_date, _ in runs} == {LOGICAL_DATE}
    assert runs[-1][0] == "flights"  # after everything it reads

    counts = {t: _rows(root / "lake" / t) for t in ("airlines", "airports", "planes", "flights")}
    assert counts["airlines"] == 16
    assert all(n > 0 for n in counts.values()), counts


def _airflow(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run the ``airflow`` command of this virtualenv; its output when it succeeds."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run(
        [airflow, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def _set_airlines_gate(root: Path, old: str, new: str) -> None:
    path = root / "pipelines" / "airlines.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_dag_skips_a_pipeline_whose_upstream_failed_in_another_dag(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    root = _project(tmp_path / PROJECT, one_schedule=False)
    home = tmp_path / "airflow_home"  # its own metadata database and DAG folder
    home.mkdir()
    env = {
        **airflow_env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
    }
    _write_dags(root, home / "dags")
    # What the 04:00 DAGs leave behind: airports and planes loaded, airlines failed.
    for name in ("airports", "planes"):
        run(name, project=root, retries=False)
    _set_airlines_gate(root, AIRLINES_GATE, FAILING_GATE)
    with pytest.raises(RunFailed, match="post-load gate failed"):
        run("airlines", project=root, retries=False)

    _airflow(env, tmp_path, "db", "migrate")
    output = _airflow(env, tmp_path, "dags", "test", FLIGHTS_DAG, LOGICAL_DATE)
    assert _task_states(home, FLIGHTS_DAG) == [("flights", LOGICAL_DATE, "skipped")]
    assert "pipeline 'flights' not run: upstream 'airlines' run" in output
    assert _lakegate_runs(root, "flights") == []  # lakegate did not run it
    assert not (root / "lake" / "flights").exists()

    _set_airlines_gate(root, FAILING_GATE, AIRLINES_GATE)
    run("airlines", project=root, retries=False)  # fixed and run again
    _airflow(env, tmp_path, "dags", "test", FLIGHTS_DAG, "2013-01-03")
    assert _task_states(home, FLIGHTS_DAG)[-1] == ("flights", "2013-01-03", "success")
    assert _lakegate_runs(root, "flights") == [("success", "2013-01-03")]
    assert _rows(root / "lake" / "flights") == 336_776


def _task_states(home: Path, dag_id: str) -> list[tuple[str, str, str]]:
    """``(task, logical date, state)`` of the DAG's task instances, by logical date, from
    Airflow's metadata database."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT ti.task_id, dr.logical_date, ti.state FROM task_instance ti "
            "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
            "WHERE ti.dag_id = ? ORDER BY dr.logical_date",
            [dag_id],
        ).fetchall()
    return [(task, str(date)[:10], state) for task, date, state in rows]


def _lakegate_runs(root: Path, pipeline: str) -> list[tuple[str, str]]:
    """``(status, run_date)`` of the pipeline's lakegate runs, oldest first."""
    with sqlite3.connect(root / ".lakegate" / "state.db") as db:
        rows = db.execute(
            "SELECT status, run_date FROM lakegate_runs WHERE pipeline_name = ? "
            "ORDER BY started_at",
            [pipeline],
        ).fetchall()
    return [(status, str(run_date)) for status, run_date in rows]


def _rows(table: Path) -> int:
    """Rows of the Delta table at ``table`` (its data files read with DuckDB)."""
    import duckdb
    from deltalake import DeltaTable

    files = DeltaTable(str(table)).file_uris()
    assert files
    row = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()
    assert row is not None
    return int(row[0])
